"""Standoff readers (brat, bc2gm, s800, deca, fsu) on hand-written fixtures in each release format."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from mtaal.corpora.model import Document, Mention
from mtaal.corpora.readers.standoff import READERS, read_bc2gm, read_brat, read_deca, read_fsu, read_s800
from mtaal.errors import CorpusFormatError

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "standoff"


def _by_id(documents: list[Document]) -> dict[str, Document]:
    return {document.doc_id: document for document in documents}


def _spans(document: Document) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.entity_type) for m in document.mentions]


def _tar(source: Path, target: Path) -> Path:
    """Packs a fixture release directory the way the official archives are packed."""
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted(source.rglob("*")):
            archive.add(path, arcname=path.relative_to(source.parent).as_posix(), recursive=False)
    return target


def test_all_five_readers_are_registered():
    assert set(READERS) == {"brat", "bc2gm", "s800", "deca", "fsu"}


# ------------------------------------------------------------------------------------------------- brat


def test_brat_offsets_unicode_nesting_and_discontinuous_fragments():
    docs = _by_id(read_brat(ROOT / "brat"))
    doc = docs["doc1"]
    assert doc.subset == "train"
    assert doc.text.endswith("The β and γ chains bind.\n")
    assert _spans(doc) == [
        (0, 21, "protein"),
        (0, 4, "protein"),
        (25, 37, "cell_line"),
        (39, 52, "cell_type"),
        (57, 65, "protein"),
        (71, 85, "protein"),
        (77, 85, "protein"),
    ]
    # Non-BMP "𝔸" counts as one character, as in brat.
    assert doc.text[57:65] == "𝔸-kinase"
    for mention in doc.mentions:
        if not mention.fragments:
            assert doc.text[mention.start : mention.end] == mention.text
    beta = doc.mentions[5]
    assert beta.fragments == ((71, 72), (79, 85))
    assert beta.text == "β chains"
    assert " ".join(doc.text[a:b] for a, b in beta.fragments) == "β chains"


def test_brat_normalizations_become_concept_ids_even_before_their_t_line():
    doc = _by_id(read_brat(ROOT / "brat"))["doc1"]
    assert doc.mentions[1].concept_ids == ("HGNC:6008", "UniProt:P60568")
    assert doc.mentions[4].concept_ids == ("PR:000001",)
    assert doc.mentions[0].concept_ids == ()
    [problem] = doc.problems
    assert problem.kind == "unknown_reference"
    assert "T9" in problem.detail and "doc1.ann:16" in problem.detail


def test_brat_empty_document_and_annotations_without_text():
    docs = _by_id(read_brat(ROOT / "brat"))
    assert sorted(docs) == ["doc1", "empty", "orphan"]
    assert docs["empty"].text == "" and docs["empty"].mentions == [] and docs["empty"].problems == []
    orphan = docs["orphan"]
    assert orphan.text == "" and orphan.mentions == []
    assert [p.kind for p in orphan.problems] == ["missing_document"]


def test_brat_id_map_and_subset_directories():
    docs = read_brat(ROOT / "brat", directories={"dev": "standoff/train"}, id_map="id_map.txt")
    assert sorted(d.doc_id for d in docs) == ["12345678", "empty", "orphan"]
    assert {d.subset for d in docs} == {"dev"}


def test_brat_malformed_line_names_file_and_line():
    with pytest.raises(CorpusFormatError) as error:
        read_brat(ROOT / "brat_bad")
    assert error.value.path.name == "bad.ann"
    assert error.value.line == 2
    assert "bad.ann:2" in str(error.value) and "text-bound" in str(error.value)


def test_brat_missing_directory_is_reported():
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_brat(ROOT / "brat", directories={"train": "nowhere"})


# ------------------------------------------------------------------------------------------------ bc2gm


def test_bc2gm_non_space_offsets_with_end_inclusive():
    docs = _by_id(read_bc2gm(ROOT / "bc2gm"))
    doc = docs["P00000001T0000"]
    assert doc.text == "The  α-actinin gene and IL-2 receptor alpha are expressed."
    assert doc.subset == "train"
    assert doc.sentences == [(0, len(doc.text))]
    assert doc.mentions == [
        Mention(5, 19, "GENE", "α-actinin gene"),
        Mention(24, 43, "GENE", "IL-2 receptor alpha"),
        Mention(24, 28, "GENE", "IL-2"),
    ]
    for mention in doc.mentions:
        assert doc.text[mention.start : mention.end] == mention.text
    [problem] = doc.problems
    assert problem.kind == "out_of_range" and "GENE.eval:4" in problem.detail


def test_bc2gm_test_ids_empty_sentence_orphans_and_altgene_ignored():
    docs = _by_id(read_bc2gm(ROOT / "bc2gm"))
    assert sorted(docs) == ["BC2GM000000001", "P00000001T0000", "P00000002A0001", "P00000099T0000"]
    test = docs["BC2GM000000001"]
    assert test.subset == "test"
    assert [(m.start, m.end, m.text) for m in test.mentions] == [(6, 9, "p53")]
    # ALTGENE.eval's alternative "No" is not a gold mention.
    assert docs["P00000002A0001"].mentions == []
    orphan = docs["P00000099T0000"]
    assert orphan.text == "" and orphan.mentions == []
    [problem] = orphan.problems
    assert problem.kind == "missing_document" and "GENE.eval:5" in problem.detail


def test_bc2gm_malformed_annotation_names_file_and_line():
    subsets = {"train": {"text": "train/train.in", "annotations": "train/GENE.eval"}}
    with pytest.raises(CorpusFormatError) as error:
        read_bc2gm(ROOT / "bc2gm_bad", subsets=subsets)
    assert error.value.path.name == "GENE.eval" and error.value.line == 2
    assert "SENTENCE_ID|start end|text" in str(error.value)


# ------------------------------------------------------------------------------------------------- s800


def test_s800_inclusive_ends_taxonomy_ids_and_nesting():
    docs = _by_id(read_s800(ROOT / "s800"))
    doc = docs["species001"]
    assert doc.subset is None and doc.sentences is None
    assert [(m.start, m.end, m.concept_ids[0]) for m in doc.mentions] == [
        (0, 16, "NCBITaxon:562"),
        (21, 33, "NCBITaxon:9606"),
        (58, 70, "NCBITaxon:562"),
        (58, 65, "NCBITaxon:562"),
        (77, 81, "NCBITaxon:10090"),
        (83, 95, "NCBITaxon:10090"),
        (102, 107, "NCBITaxon:9606"),
    ]
    assert {m.entity_type for m in doc.mentions} == {"Species"}
    for mention in doc.mentions:
        assert doc.text[mention.start : mention.end] == mention.text
    # The title line and the blank line belong to the text the offsets count.
    assert doc.text.startswith("Escherichia coli and Homo sapiens: a café study.\n\n")


def test_s800_unannotated_abstract_and_missing_abstract():
    docs = _by_id(read_s800(ROOT / "s800"))
    assert list(docs) == ["species001", "species002", "species003"]
    assert docs["species002"].text == "" and docs["species002"].mentions == []
    missing = docs["species003"]
    assert missing.text == "" and missing.mentions == []
    [problem] = missing.problems
    assert problem.kind == "missing_document" and "S800.tsv:8" in problem.detail and "yeast" in problem.detail


def test_s800_malformed_line_names_file_and_line():
    with pytest.raises(CorpusFormatError) as error:
        read_s800(ROOT / "s800_bad")
    assert error.value.path.name == "S800.tsv" and error.value.line == 2


# ------------------------------------------------------------------------------------------------- deca


@pytest.fixture
def deca_archive(tmp_path: Path) -> Path:
    _tar(ROOT / "deca" / "species_corpus_0.2", tmp_path / "species_corpus_0.2.tar.gz")
    return tmp_path


def _check_deca(documents: list[Document]) -> None:
    docs = _by_id(documents)
    # HUNER's ids: name.strip(".txt") also eats the final "t" of "devtest".
    assert sorted(docs) == ["12345678", "9451016", "mouse_00001_devtes", "yeast_00053_devtes"]
    gal = docs["9451016"]
    assert _spans(gal) == [(0, 4, "Gene"), (15, 19, "Gene"), (34, 52, "Gene"), (39, 44, "Gene")]
    assert gal.mentions[2].text == "Gal4–Gal80 complex"
    yeast = docs["yeast_00053_devtes"]
    assert [m.text for m in yeast.mentions] == ["Pax6", "PAX6", "𝔸-Sox2"]
    for doc in (gal, yeast):
        for mention in doc.mentions:
            assert doc.text[mention.start : mention.end] == mention.text
    assert docs["mouse_00001_devtes"].text == "" and docs["mouse_00001_devtes"].mentions == []
    assert docs["12345678"].mentions == []
    assert [p.kind for p in docs["12345678"].problems] == ["missing_document"]
    assert "gold.txt:9" in docs["12345678"].problems[0].detail


def test_deca_reads_the_release_archive(deca_archive: Path):
    _check_deca(read_deca(deca_archive))


def test_deca_reads_an_unpacked_release():
    _check_deca(read_deca(ROOT / "deca", archive="species_corpus_0.2"))


def test_deca_malformed_gold_names_file_and_line(tmp_path: Path):
    _tar(ROOT / "deca_bad" / "species_corpus_0.2", tmp_path / "species_corpus_0.2.tar.gz")
    with pytest.raises(CorpusFormatError) as error:
        read_deca(tmp_path)
    assert error.value.line == 2
    assert str(error.value.path).endswith("species_corpus_0.2.tar.gz/species_corpus_0.2/gold.txt")


def test_deca_without_gold_file_is_a_format_error(tmp_path: Path):
    shutil.copytree(ROOT / "deca" / "species_corpus_0.2" / "text", tmp_path / "release" / "text")
    with pytest.raises(CorpusFormatError, match=r"gold\.txt"):
        read_deca(tmp_path, archive="release")


# -------------------------------------------------------------------------------------------------- fsu

FSU_TEXT = "IL-2 and α-catenin bind .\nMüller cells express IL-2 receptor alpha and beta chains ."


@pytest.fixture
def fsu_archive(tmp_path: Path) -> Path:
    _tar(ROOT / "fsu" / "fsu-prge-release-v1.0", tmp_path / "fsu_prge_release_v1_0.tgz")
    return tmp_path


def _check_fsu(documents: list[Document]) -> None:
    docs = _by_id(documents)
    assert sorted(docs) == ["10092847", "10194230", "10342536"]
    doc = docs["10194230"]
    assert doc.text == FSU_TEXT
    assert doc.sentences == [(0, 25), (26, 84)]
    assert _spans(doc) == [
        (0, 4, "protein"),
        (9, 18, "protein"),
        (47, 66, "protein_complex"),
        (47, 51, "protein"),
        (47, 82, "protein_enum"),
        (71, 82, "protein_familiy_or_group"),
    ]
    assert doc.text[9:18] == "α-catenin"
    assert doc.mentions[4].fragments == ((47, 60), (71, 82))
    assert [doc.text[a:b] for a, b in doc.mentions[4].fragments] == ["IL-2 receptor", "beta chains"]
    # "word_13,word_14" names adjacent words: one contiguous span, not a discontinuous one.
    assert doc.mentions[5].fragments == ()
    assert all(m.text is None for m in doc.mentions)
    assert sorted(p.kind for p in doc.problems) == ["unknown_word", "unreadable_annotation"]
    for broken in ("10092847", "10342536"):
        assert docs[broken].text == "" and [p.kind for p in docs[broken].problems] == ["unreadable_document"]
    assert "proteins.xml" in docs["10092847"].problems[0].detail
    assert "invalid XML" in docs["10342536"].problems[0].detail


def test_fsu_reads_the_release_archive(fsu_archive: Path):
    _check_fsu(read_fsu(fsu_archive))


def test_fsu_reads_an_unpacked_release():
    _check_fsu(read_fsu(ROOT / "fsu", archive="fsu-prge-release-v1.0"))


def test_fsu_malformed_span_names_file_and_line():
    with pytest.raises(CorpusFormatError) as error:
        read_fsu(ROOT / "fsu_bad", archive="fsu-prge-release-v1.0")
    assert error.value.path.name == "proteins.xml" and error.value.line == 5
    assert "MMAX2 span" in str(error.value)


def test_fsu_missing_archive_is_reported(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"fsu_prge_release_v1_0\.tgz"):
        read_fsu(tmp_path)
