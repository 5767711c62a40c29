import zipfile
from pathlib import Path

import pytest

from mtaal.corpora.model import Mention
from mtaal.corpora.readers import read_corpus
from mtaal.corpora.readers.bioc import read_bioc
from mtaal.errors import CorpusFormatError, MissingCorpusError


@pytest.fixture
def bioc(fixtures: Path) -> Path:
    return fixtures / "bioc"


def _by_id(documents):
    return {document.doc_id: document for document in documents}


def test_cdr_bioc_passages_placed_at_their_offsets(bioc):
    documents = _by_id(read_bioc(bioc / "cdr", files={"train": "CDR_TrainingSet.BioC.xml"}))
    document = documents["2234245"]
    assert document.subset == "train"
    title = "Ocular and auditory toxicity after desferrioxamine (DFO) in café owners."
    assert document.text.startswith(title + "\nNaloxone and [3H]-naloxone reversed α-methyldopa")
    assert len(document.text) == 73 + 100
    assert document.sentences is None
    contiguous = [m for m in document.mentions if not m.fragments]
    assert len(document.mentions) == 10 and len(contiguous) == 9
    assert all(document.text[m.start : m.end] == m.text for m in contiguous)
    methyldopa = next(m for m in document.mentions if m.text == "α-methyldopa")
    assert methyldopa == Mention(109, 121, "Chemical", "α-methyldopa", ("D008750",))


def test_cdr_bioc_composite_individual_and_no_id(bioc):
    documents = _by_id(read_corpus("bioc", bioc / "cdr", {"files": {"training": "CDR_TrainingSet.BioC.xml"}}))
    document = documents["2234245"]
    composite, ocular, auditory = document.mentions[:3]
    assert composite == Mention(0, 28, "Disease", "Ocular and auditory toxicity", ("D014786", "D006311"))
    # Discontinuous individual mention: two locations -> fragments, covering span first start .. last end.
    assert ocular == Mention(0, 28, "Disease", "Ocular toxicity", ("D014786",), ((0, 6), (20, 28)))
    assert [document.text[s:e] for s, e in ocular.fragments] == ["Ocular", "toxicity"]
    assert auditory.fragments == () and document.text[11:28] == "auditory toxicity"
    no_id = next(m for m in document.mentions if m.text == "[3H]-naloxone")
    assert no_id.concept_ids == ()


def test_empty_document_keeps_gap(bioc):
    documents = _by_id(read_bioc(bioc / "cdr", files={"train": "CDR_TrainingSet.BioC.xml"}))
    assert documents["354896"].text == "\n"
    assert documents["354896"].mentions == []


def test_variome_style_single_passage_unicode(bioc):
    documents = read_bioc(bioc / "variome")  # default: an extracted hvp_bioc.xml
    assert [d.doc_id for d in documents] == ["1064099-01-Abstract-p01", "1064099-02-Introduction-p01"]
    document = documents[0]
    assert document.subset is None
    assert document.text.startswith("** IGNORE LINE **\nAbstract\n\nMLH1 mutations in 𝒮wedish")
    types = [(m.entity_type, m.text, m.start, m.end) for m in document.mentions]
    assert types == [
        ("gene", "MLH1", 28, 32),
        ("Living_Beings", "mice", 54, 58),  # after the non-BMP "𝒮": one Python character
        ("Living_Beings", "Mus musculus", 60, 72),
        ("disease", "colorectal cancer", 80, 97),
        ("mutation", "MLH1 mutations", 28, 42),  # overlaps "MLH1": kept, the tidy stage resolves it
    ]
    assert all(document.text[m.start : m.end] == m.text for m in document.mentions)
    assert documents[1].text == "" and documents[1].mentions == []


@pytest.mark.parametrize("member", ["", "/hvp_bioc.xml"])
def test_zip_archive_and_member(bioc, tmp_path, member):
    with zipfile.ZipFile(tmp_path / "hvp_bioc.xml.zip", "w") as archive:
        archive.write(bioc / "variome" / "hvp_bioc.xml", "hvp_bioc.xml")
    from_zip = read_bioc(tmp_path, files="hvp_bioc.xml.zip" + member)
    assert from_zip == read_bioc(bioc / "variome", files="hvp_bioc.xml")
    assert read_bioc(tmp_path) == from_zip  # default layout falls back to the zip


def test_sentences_document_annotations_and_gene_ids(bioc):
    [document] = read_bioc(bioc, files={"test": "sentences.xml"})
    assert document.doc_id == "PMC1" and document.subset == "test"
    # Passage 1 starts at offset 5 and has no text of its own: its sentences are placed instead.
    assert document.text == "\n" * 5 + "BRCA1 binds p53.\nTP53;MDM2 loop."
    brca1, tp53 = document.mentions
    assert brca1 == Mention(5, 10, "Gene", "BRCA1", ("672",))
    assert tp53 == Mention(22, 31, "Gene", "TP53;MDM2", ("7157", "4193"))
    [problem] = document.problems  # annotation a3 has no type infon
    assert problem.kind == "incomplete_annotation" and "sentences.xml:" in problem.detail


def test_bad_location_names_file_and_line(bioc):
    with pytest.raises(CorpusFormatError) as error:
        read_bioc(bioc, files="bad_offset.xml")
    assert error.value.line == 6
    assert "bad_offset.xml:6: expected <location offset=INT length=INT>" in str(error.value)


def test_not_well_formed_xml(bioc):
    with pytest.raises(CorpusFormatError, match=r"not_well_formed\.xml:5: expected well-formed BioC XML"):
        read_bioc(bioc, files="not_well_formed.xml")


def test_overlapping_passages(bioc):
    with pytest.raises(
        CorpusFormatError, match=r"overlapping_passages\.xml:5: expected a passage offset >= 11"
    ):
        read_bioc(bioc, files="overlapping_passages.xml")


def test_missing_file(bioc):
    with pytest.raises(MissingCorpusError, match=r"absent\.xml"):
        read_bioc(bioc, files={"train": "absent.xml"})
