"""The PubTator, BioC and BioCreative readers on the real corpus mirror (counts measured on it)."""

import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from mtaal.corpora.readers.bioc import read_bioc
from mtaal.corpora.readers.biocreative import read_annotations, read_chemdner, read_chemdner_patents
from mtaal.corpora.readers.pubtator import read_pubtator
from mtaal.errors import MissingCorpusError


def huner_ids(mirror: Path, prefix: str) -> set[str]:
    ids: set[str] = set()
    for split in ("train", "dev", "test"):
        text = (mirror / "huner_splits" / f"{prefix}.{split}").read_text(encoding="utf-8")
        ids |= {line.strip() for line in text.replace("\r", "").split("\n") if line.strip()}
    return ids


def mismatches(documents) -> list[tuple[str, int, int]]:
    return [
        (d.doc_id, m.start, m.end)
        for d in documents
        for m in d.mentions
        if m.text is not None and d.text[m.start : m.end] != m.text
    ]


def test_ncbi_disease(mirror):
    documents = read_pubtator(mirror / "ncbi_disease")
    assert Counter(d.subset for d in documents) == {"train": 592, "dev": 100, "test": 100}
    # 593 train abstracts in the release, but PMID 8528200 occurs twice (identical copies): one is kept.
    [duplicate] = [p for d in documents for p in d.problems]
    assert (duplicate.doc_id, duplicate.kind) == ("8528200", "duplicate_document")
    assert "identical" in duplicate.detail
    per_subset = Counter(d.subset for d in documents for _ in d.mentions)
    assert per_subset == {"train": 5134, "dev": 787, "test": 960}
    types = Counter(m.entity_type for d in documents for m in d.mentions)
    assert types == {"SpecificDisease": 3929, "Modifier": 1766, "DiseaseClass": 1016, "CompositeMention": 170}
    # The one mismatch is the mention that huner_patches/NCBItrainset_corpus.patch fixes.
    assert mismatches(documents) == [("10923035", 711, 761)]
    ids = {d.doc_id for d in documents}
    split_ids = huner_ids(mirror, "ncbi")
    assert len(split_ids) == 789
    assert split_ids - ids == {"10208645"}  # listed by HUNER, in no copy of the corpus
    assert ids - split_ids == {"10085150", "2404853", "7959767", "8528200"}


def test_bc5cdr_pubtator(mirror):
    documents = read_pubtator(mirror / "bc5cdr")
    assert Counter(d.subset for d in documents) == {"train": 500, "dev": 500, "test": 500}
    counts = Counter((d.subset, m.entity_type) for d in documents for m in d.mentions)
    assert counts == {
        ("train", "Chemical"): 5203,
        ("train", "Disease"): 4182,
        ("dev", "Chemical"): 5347,
        ("dev", "Disease"): 4244,
        ("test", "Chemical"): 5385,
        ("test", "Disease"): 4424,
    }
    assert mismatches(documents) == []
    assert not any(d.problems for d in documents)
    no_id = sum(1 for d in documents for m in d.mentions if not m.concept_ids)
    assert no_id == 28785 - 28559  # concept "-1"
    ids = {d.doc_id for d in documents}
    for prefix in ("CDRChem", "CDRDisease"):
        split_ids = huner_ids(mirror, prefix)
        assert split_ids <= ids and len(split_ids) == 1498
        assert ids - split_ids == {"24618873", "9549528"}


def test_variome_bioc_zip(mirror):
    documents = read_bioc(mirror / "variome")
    assert len(documents) == 392 and {d.subset for d in documents} == {None}
    types = Counter(m.entity_type for d in documents for m in d.mentions)
    assert sum(types.values()) == 22988
    # The types HUNER converts: gene; Living_Beings (species); disease + Disorder (disease).
    huner_types = ("gene", "Living_Beings", "disease", "Disorder")
    assert [types[name] for name in huner_types] == [4613, 182, 5632, 906]
    assert not any(m.fragments for d in documents for m in d.mentions)
    # Unpatched release: 478 stated texts differ from their slice (huner_patches/variome.patch fixes them).
    assert len(mismatches(documents)) == 478
    ids = {d.doc_id for d in documents}
    for prefix in ("variome_gene", "variome_species", "variome_disease"):
        assert huner_ids(mirror, prefix) == ids


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch not installed")
def test_variome_patched(mirror, tmp_path):
    with zipfile.ZipFile(mirror / "variome" / "hvp_bioc.xml.zip") as archive:
        (tmp_path / "hvp_bioc.xml").write_bytes(archive.read("hvp_bioc.xml"))
    patch = mirror / "huner_patches" / "variome.patch"
    command = ["patch", "--batch", str(tmp_path / "hvp_bioc.xml"), str(patch)]
    subprocess.run(command, check=True, capture_output=True)
    documents = read_bioc(tmp_path)  # the extracted XML is preferred over a zip
    # What remains after the patch: three annotations whose stated text is lowercase ("Cancer" in the text).
    assert len(documents) == 392
    assert len(mismatches(documents)) == 3


def test_chemdner(mirror):
    documents = read_chemdner(mirror / "chemdner")
    assert Counter(d.subset for d in documents) == {"train": 3500, "dev": 3500, "test": 3000}
    per_subset = Counter(d.subset for d in documents for _ in d.mentions)
    # 29,478 + 29,526 + 25,351 = 84,355 gold lines; 4 test lines are empty spans (class MULTIPLE, no text).
    assert per_subset == {"train": 29478, "dev": 29526, "test": 25347}
    problems = [p for d in documents for p in d.problems]
    assert Counter((p.kind, p.entity_type) for p in problems) == {("empty_span", "MULTIPLE"): 4}
    types = Counter(m.entity_type for d in documents for m in d.mentions)
    assert types == {
        "TRIVIAL": 25610,
        "SYSTEMATIC": 19138,
        "ABBREVIATION": 13118,
        "FORMULA": 12028,
        "FAMILY": 11935,
        "IDENTIFIER": 1824,
        "MULTIPLE": 585,
        "NO CLASS": 113,
    }
    assert mismatches(documents) == []
    assert {d.doc_id for d in documents} == huner_ids(mirror, "chemdner")


@pytest.mark.parametrize(
    ("corpus", "files", "mentions", "patents", "in_huner"),
    [
        (
            "cemp",
            [
                "cemp_training_set/chemdner_cemp_gold_standard_train.tsv",
                "cemp_development_set_v03/chemdner_cemp_gold_standard_development_v03.tsv",
            ],
            [33543, 32142],
            [5521, 5422],
            10937,
        ),
        (
            "gpro",
            [
                "gpro_training_set_v02/chemdner_gpro_gold_standard_train_v02.tsv",
                "gpro_development_set/chemdner_gpro_gold_standard_development.tsv",
            ],
            [6876, 6263],
            [2298, 1956],
            4253,
        ),
    ],
)
def test_patent_annotations_parse(mirror, corpus, files, mentions, patents, in_huner):
    annotated: set[str] = set()
    for relative, expected_mentions, expected_patents in zip(files, mentions, patents, strict=True):
        annotations = list(read_annotations(mirror / corpus / relative))
        assert len(annotations) == expected_mentions
        assert len({a.doc_id for a in annotations}) == expected_patents
        assert all(a.end - a.start == len(a.text) for a in annotations)
        annotated |= {a.doc_id for a in annotations}
    assert len(annotated & huner_ids(mirror, corpus)) == in_huner
    # The patent texts are missing from the mirror: the reader says which file it needs.
    with pytest.raises(MissingCorpusError, match=r"chemdner_patents_train_text\.txt"):
        read_chemdner_patents(mirror / corpus)
