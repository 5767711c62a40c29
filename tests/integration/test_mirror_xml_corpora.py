"""The XML corpus readers on the real mirror (counts measured on it; see the corpus README / MANIFEST)."""

from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from mtaal.corpora.readers.xml_corpora import read_chebi, read_mirna_xml, read_osiris, read_ppi_xml


def _split_ids(mirror: Path, prefix: str) -> set[str]:
    ids: set[str] = set()
    for part in ("train", "dev", "test"):
        text = (mirror / "huner_splits" / f"{prefix}.{part}").read_text()
        ids |= {line.strip() for line in text.splitlines() if line.strip()}
    return ids


def _types(documents) -> Counter:
    return Counter(m.entity_type for d in documents for m in d.mentions)


def _text_mismatches(documents) -> int:
    """Mentions whose stated text differs from the document slice (fragments joined by a space)."""
    bad = 0
    for document in documents:
        for m in document.mentions:
            pieces = m.fragments or ((m.start, m.end),)
            if m.text is not None and " ".join(document.text[a:b] for a, b in pieces) != m.text:
                bad += 1
    return bad


def test_bioinfer(mirror):
    documents = read_ppi_xml(mirror / "bioinfer", unit="sentence")
    # all 1100 sentences of BioInfer 1.1.1, one document each, ids = HUNER bioinfer.* (0..1099)
    assert [d.doc_id for d in documents] == [str(i) for i in range(1100)]
    assert {d.doc_id for d in documents} == _split_ids(mirror, "bioinfer")
    assert _types(documents) == {
        "Individual_protein": 2802,
        "Gene/protein/RNA": 1228,
        "Protein_family_or_group": 192,
        "Gene": 178,
        "Protein_complex": 18,
        "DNA_family_or_group": 3,
    }
    assert sum(1 for d in documents for m in d.mentions if m.fragments) == 122
    assert _text_mismatches(documents) == 0
    assert all(d.problems == [] and d.sentences == [(0, len(d.text))] for d in documents)
    # origId order: the first sentence is origId 2; index 681 is the one sentence without any entity
    # (an independent BioInfer_corpus_1.1.1.xml user excludes sample 681 as "has no entities").
    assert documents[0].text.startswith("alpha-catenin inhibits beta-catenin signaling")
    assert [d.doc_id for d in documents if not d.mentions] == ["681"]


def test_iepa(mirror):
    documents = read_ppi_xml(mirror / "iepa", id_replace={".": "_"})
    assert len(documents) == 200
    assert {d.doc_id for d in documents} == _split_ids(mirror, "iepa")
    assert sum(len(d.sentences) for d in documents) == 486
    assert _types(documents) == {"protein": 1117}
    assert _text_mismatches(documents) == 0
    assert all(d.problems == [] and d.subset is None for d in documents)
    # joining with "\n" puts every sentence at the document offset the source states for it
    stated = {}
    for name in ("IEPA-train.xml", "IEPA-test.xml"):
        for element in ET.parse(mirror / "iepa" / name).getroot().iter("document"):
            offsets = [s.get("charOffset").split("-") for s in element.iter("sentence")]
            stated[element.get("id").replace(".", "_")] = [(int(a), int(b)) for a, b in offsets]
    assert {d.doc_id: d.sentences for d in documents} == stated


def test_mirna(mirror):
    documents = read_mirna_xml(mirror / "mirna")
    assert {d.doc_id for d in documents} == _split_ids(mirror, "miRNA_new")
    train = [d for d in documents if d.subset == "train"]
    test = [d for d in documents if d.subset == "test"]
    assert (len(train), len(test)) == (201, 100)
    assert sum(len(d.sentences) for d in train) == 1864
    assert sum(len(d.sentences) for d in test) == 780
    assert _types(train) == {
        "Genes/Proteins": 734,
        "Species": 546,
        "Diseases": 1522,  # includes the entity stranded after self-closed sentence d199.s5
        "Specific_miRNAs": 529,
        "Non-Specific_miRNAs": 1170,
        "Relation_Trigger": 1335,
    }
    assert _types(test) == {
        "Genes/Proteins": 324,
        "Species": 182,
        "Diseases": 640,
        "Specific_miRNAs": 376,
        "Non-Specific_miRNAs": 336,
        "Relation_Trigger": 625,
    }
    assert _text_mismatches(documents) == 0
    assert all(d.problems == [] for d in documents)


def test_osiris(mirror):
    documents = read_osiris(mirror / "osiris")
    assert len(documents) == 106
    ids = {d.doc_id for d in documents}
    huner = _split_ids(mirror, "osiris")
    assert huner <= ids
    # 15047636 (article57) is annotated but not in HUNER's lists; article74.txt is empty
    assert ids - huner == {"15047636", "article74"}
    assert _types(documents) == {"ge": 971, "lo": 669, "ty": 539, "sa": 504, "so": 449, "sg": 110, "ev": 53}
    assert [(p.doc_id, p.kind) for d in documents for p in d.problems] == [("article74", "no_pmid")]
    assert all(m.end <= len(d.text) for d in documents for m in d.mentions)


def test_chebi(mirror):
    if not (mirror / "chebi" / "PatentAnnotations_GoldStandard.tgz").is_file():
        pytest.skip("the mirror lacks chebi/PatentAnnotations_GoldStandard.tgz (chapati CVS only)")
    documents = read_chebi(mirror / "chebi")
    # HUNER's converter names documents by their scrapbook directory, as this reader does
    assert _split_ids(mirror, "chebi") <= {d.doc_id for d in documents}
    assert _text_mismatches(documents) == 0
