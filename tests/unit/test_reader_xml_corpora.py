"""Unit tests for the XML corpus readers on small hand-written fixtures (tests/fixtures/xml_corpora/)."""

import tarfile
from pathlib import Path

import pytest

from mtaal.corpora.model import Mention
from mtaal.corpora.readers.xml_corpora import (
    READERS,
    read_chebi,
    read_mirna_xml,
    read_osiris,
    read_ppi_xml,
)
from mtaal.errors import CorpusFormatError


@pytest.fixture
def xml_fixtures(fixtures: Path) -> Path:
    return fixtures / "xml_corpora"


def _tar(source: Path, target: Path, mode: str = "w") -> Path:
    """Pack the hand-written fixture tree ``source`` as the release archive ``target`` (members relative)."""
    with tarfile.open(target, mode) as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    return target


def _by_id(documents):
    return {document.doc_id: document for document in documents}


def _assert_contiguous_texts(documents):
    for document in documents:
        for mention in document.mentions:
            if mention.text is not None and not mention.fragments:
                assert document.text[mention.start : mention.end] == mention.text


def test_readers_registered():
    assert set(READERS) == {"ppi_xml", "mirna_xml", "osiris", "chebi"}


# --- unified PPI XML ------------------------------------------------------------------------------


def test_ppi_sentence_unit_orders_all_files_by_orig_id(xml_fixtures):
    documents = read_ppi_xml(xml_fixtures / "bioinfer", unit="sentence")
    # origIds 4 (train file), 12 (test file), 235 (train file) -> ids 0, 1, 2
    assert [d.doc_id for d in documents] == ["0", "1", "2"]
    assert documents[0].text == "No protein is named in this sentence at all."
    assert documents[0].mentions == []
    assert documents[0].sentences == [(0, 44)]
    assert all(d.subset is None for d in documents)
    _assert_contiguous_texts(documents)


def test_ppi_discontinuous_and_overlapping_entities(xml_fixtures):
    document = _by_id(read_ppi_xml(xml_fixtures / "bioinfer", unit="sentence"))["2"]
    assert document.text == "Birch profilin bound muscle and brain actin in vitro."
    muscle, brain = document.mentions[1], document.mentions[2]
    assert muscle == Mention(21, 43, "Individual_protein", "muscle actin", fragments=((21, 27), (38, 43)))
    assert " ".join(document.text[a:b] for a, b in muscle.fragments) == "muscle actin"
    assert (brain.start, brain.end, brain.text) == (32, 43, "brain actin")


def test_ppi_unicode_nested_and_bad_offset(xml_fixtures):
    document = _by_id(read_ppi_xml(xml_fixtures / "bioinfer", unit="sentence"))["1"]
    spans = [(m.start, m.end, m.entity_type) for m in document.mentions]
    assert spans == [
        (0, 9, "Individual_protein"),
        (16, 32, "Gene/protein/RNA"),
        (16, 35, "Protein_family_or_group"),
        (40, 45, "Gene"),
    ]
    assert document.text[16:35] == "Caféine-receptor 𝛼2"  # non-BMP 𝛼 is one str index
    assert [(p.kind, p.entity_type) for p in document.problems] == [("bad_offset", "Gene")]
    assert "40-x" in document.problems[0].detail


def test_ppi_document_unit_joins_sentences(xml_fixtures):
    documents = read_ppi_xml(xml_fixtures / "iepa", id_replace={".": "_"})
    assert [d.doc_id for d in documents] == ["IEPA_d2", "IEPA_d7"]
    document = documents[0]
    assert document.text == "Oxytocin raised IP3 in the é-tissue.\nThus oTP-1 may block oxytocin&IP3"
    # the joined text reproduces the source's own sentence charOffsets (0-36, 37-70)
    assert document.sentences == [(0, 36), (37, 70)]
    assert [(m.start, m.end, m.entity_type) for m in document.mentions] == [
        (0, 8, "protein"),
        (16, 19, "protein"),
        (42, 47, "protein"),
        (58, 66, "protein"),
        (67, 70, "protein"),
    ]
    _assert_contiguous_texts(documents)


def test_ppi_empty_document(xml_fixtures):
    document = _by_id(read_ppi_xml(xml_fixtures / "iepa"))["IEPA.d7"]
    assert (document.text, document.mentions, document.sentences, document.problems) == ("", [], [], [])


def test_ppi_end_inclusive_and_missing_type(xml_fixtures):
    inclusive = read_ppi_xml(xml_fixtures / "iepa", end_inclusive=True)[0]
    assert (inclusive.mentions[0].start, inclusive.mentions[0].end) == (0, 9)
    untyped = read_ppi_xml(xml_fixtures / "iepa", default_type=None)[0]
    assert untyped.mentions == []
    assert [p.kind for p in untyped.problems] == ["missing_type"] * 5


def test_ppi_explicit_files(xml_fixtures):
    documents = read_ppi_xml(xml_fixtures / "bioinfer", files=["BioInfer-test.xml"], unit="sentence")
    assert [d.text[:9] for d in documents] == ["α-catenin"]


def test_ppi_malformed_xml_names_file_and_line(xml_fixtures):
    with pytest.raises(CorpusFormatError) as caught:
        read_ppi_xml(xml_fixtures / "ppi_broken")
    assert caught.value.path.name == "Broken.xml"
    assert caught.value.line == 5
    assert "Broken.xml:5" in str(caught.value) and "well-formed XML" in str(caught.value)


def test_ppi_sentence_without_text_names_line(xml_fixtures):
    with pytest.raises(CorpusFormatError) as caught:
        read_ppi_xml(xml_fixtures / "ppi_no_text")
    assert caught.value.line == 5
    assert "<sentence> with a 'text' attribute" in str(caught.value)


def test_ppi_missing_file_and_bad_unit(xml_fixtures, tmp_path):
    with pytest.raises(CorpusFormatError, match=r"Nope\.xml"):
        read_ppi_xml(xml_fixtures / "iepa", files=["Nope.xml"])
    with pytest.raises(CorpusFormatError, match=r"\*\.xml"):
        read_ppi_xml(tmp_path)
    with pytest.raises(ValueError, match="unit"):
        read_ppi_xml(xml_fixtures / "iepa", unit="paragraph")


# --- SCAI miRNA XML -------------------------------------------------------------------------------


def test_mirna_ids_subsets_and_text(xml_fixtures):
    documents = read_mirna_xml(xml_fixtures / "mirna")
    assert [(d.doc_id, d.subset) for d in documents] == [
        ("21295623", "train"),
        ("18525125", "test"),
        ("19196975", "test"),
    ]
    first = documents[0]
    s0 = "Blood microRNAs mark Parkinson\u0301s disease.  "
    s1 = "miR-1 and miR-22* were reduced in PD patients. "
    s2 = "One CPC sample was missing. "
    assert first.text == "\n".join([s0, s1, s2])
    assert first.sentences == [(0, 43), (44, 91), (92, 120)]
    _assert_contiguous_texts(documents)


def test_mirna_inclusive_offsets_nesting_and_stray_entities(xml_fixtures):
    first = read_mirna_xml(xml_fixtures / "mirna")[0]
    spans = {(m.start, m.end, m.entity_type, m.text) for m in first.mentions}
    assert (21, 40, "Diseases", "Parkinson\u0301s disease") in spans  # combining accent: two str indices
    assert (78, 80, "Diseases", "PD") in spans
    assert (78, 89, "Species", "PD patients") in spans  # overlaps "PD" and "patients"
    assert (96, 99, "Diseases", "CPC") in spans  # stray entity attached to the sentence its id names
    assert len(first.mentions) == 9
    assert [p.kind for p in first.problems] == ["stray_entity"]
    assert "miRNA-corp.d0.s7.e0" in first.problems[0].detail


def test_mirna_empty_document_and_files_option(xml_fixtures):
    empty = read_mirna_xml(xml_fixtures / "mirna")[-1]
    assert (empty.text, empty.mentions, empty.sentences) == ("", [], [])
    only_test = read_mirna_xml(xml_fixtures / "mirna", files={"test": "miRNA-Test-Corpus.xml"})
    assert [d.doc_id for d in only_test] == ["18525125", "19196975"]
    kras = only_test[0].mentions[-1]
    assert (kras.start, kras.end, kras.entity_type) == (20, 24, "Genes/Proteins")


# --- OSIRIS v0.2 ----------------------------------------------------------------------------------


def test_osiris_reads_tar(xml_fixtures, tmp_path):
    _tar(xml_fixtures / "osiris", tmp_path / "OSIRIScorpusv02.tar")
    documents = read_osiris(tmp_path)
    assert [d.doc_id for d in documents] == ["12890863", "article2"]
    document = documents[0]
    assert document.text.startswith("12890863\n\nTGFB1 polymorphisms")
    assert "Müller" in document.text
    spans = [(m.start, m.end, m.entity_type, m.concept_ids) for m in document.mentions]
    assert spans == [
        (10, 15, "ge", ()),
        (71, 76, "ge", ()),
        (77, 78, "so", ("1801133",)),
        (78, 81, "lo", ("1801133",)),
        (81, 82, "sa", ("1801133",)),
        (83, 90, "ty", ()),
        (95, 100, "ge", ()),
    ]
    assert [document.text[m.start : m.end] for m in document.mentions if m.entity_type == "ge"] == [
        "TGFB1",
        "MTHFR",
        "TGFB1",
    ]
    assert all(m.text is None for m in document.mentions)
    assert [(p.kind, p.entity_type) for p in document.problems] == [("bad_offset", "ge")]


def test_osiris_empty_text_gets_file_name_id(xml_fixtures, tmp_path):
    _tar(xml_fixtures / "osiris", tmp_path / "OSIRIScorpusv02.tar")
    empty = read_osiris(tmp_path)[1]
    assert (empty.text, empty.mentions) == ("", [])
    assert [p.kind for p in empty.problems] == ["no_pmid"]


def test_osiris_malformed_annotation_file(xml_fixtures, tmp_path):
    _tar(xml_fixtures / "osiris_broken", tmp_path / "OSIRIScorpusv02.tar")
    with pytest.raises(CorpusFormatError) as caught:
        read_osiris(tmp_path)
    assert str(caught.value.path).endswith("OSIRIScorpusv02.tar/OSIRIScorpusv02/article9.txt.ann")
    assert caught.value.line == 6


def test_osiris_missing_archive(tmp_path):
    with pytest.raises(CorpusFormatError, match=r"OSIRIScorpusv02\.tar"):
        read_osiris(tmp_path)


# --- ChEBI patents (chapati) ----------------------------------------------------------------------


def test_chebi_inline_mentions(xml_fixtures, tmp_path):
    _tar(xml_fixtures / "chebi", tmp_path / "PatentAnnotations_GoldStandard.tgz", "w:gz")
    documents = read_chebi(tmp_path)
    assert [d.doc_id for d in documents] == ["WO2007000001", "WO2007000002"]
    document = documents[0]
    assert document.text == (
        "The salt of sodium chloride was dissolved in water.\n"
        "Then α-D-glucose esters were added."
        "\n"
        "Crystals of café-𝛼 acid & an unknown formed."
    )
    mentions = [(m.start, m.end, m.entity_type, m.text) for m in document.mentions]
    assert mentions == [
        (12, 27, "CHEMICAL", "sodium chloride"),
        (45, 50, "CM", "water"),
        (57, 60, "FORMULA", "α-D"),
        (57, 75, "CLASS", "α-D-glucose esters"),
        (100, 111, "LIGAND", "café-𝛼 acid"),
    ]
    assert document.mentions[0].concept_ids == ("CHEBI:26710", "CHEBI:32588")
    assert document.mentions[3].concept_ids == ()
    _assert_contiguous_texts(documents)
    assert [(p.kind, p.start, p.end) for p in document.problems] == [("missing_type", 117, 124)]


def test_chebi_empty_document(xml_fixtures, tmp_path):
    _tar(xml_fixtures / "chebi", tmp_path / "PatentAnnotations_GoldStandard.tgz", "w:gz")
    empty = read_chebi(tmp_path)[1]
    assert (empty.text, empty.mentions, empty.problems) == ("", [], [])


def test_chebi_malformed_source(xml_fixtures, tmp_path):
    _tar(xml_fixtures / "chebi_broken", tmp_path / "PatentAnnotations_GoldStandard.tgz", "w:gz")
    with pytest.raises(CorpusFormatError) as caught:
        read_chebi(tmp_path)
    assert str(caught.value.path).endswith("scrapbook/WO2007000003/source.xml")
    assert caught.value.line == 3
