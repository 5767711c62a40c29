from pathlib import Path

import pytest

from mtaal.corpora.model import Mention
from mtaal.corpora.readers import read_corpus
from mtaal.corpora.readers.biocreative import (
    read_annotations,
    read_chemdner,
    read_chemdner_patents,
    read_texts,
)
from mtaal.errors import CorpusFormatError, MissingCorpusError


@pytest.fixture
def biocreative(fixtures: Path) -> Path:
    return fixtures / "biocreative"


def _by_id(documents):
    return {document.doc_id: document for document in documents}


def test_chemdner_title_and_abstract_offsets(biocreative):
    documents = _by_id(read_chemdner(biocreative / "chemdner"))  # release layout found by default
    document = documents["21826085"]
    assert document.subset == "train"
    title = "Effects of α-tocopherol on NaCl uptake."
    assert (
        document.text
        == title + "\nVitamin E (α-tocopherol) and sodium chloride were given; 𝐂𝐮 ions were not."
    )
    shift = len(title) + 1  # 40
    assert [(m.start, m.end, m.text) for m in document.mentions] == [
        (11, 23, "α-tocopherol"),
        (27, 31, "NaCl"),
        (shift + 11, shift + 23, "α-tocopherol"),
        (shift + 29, shift + 44, "sodium chloride"),
        (shift + 29, shift + 35, "sodium"),  # nested in "sodium chloride": kept
        (shift + 57, shift + 59, "𝐂𝐮"),  # two non-BMP characters
    ]
    assert document.mentions[1] == Mention(27, 31, "FORMULA", "NaCl")
    assert all(document.text[m.start : m.end] == m.text for m in document.mentions)


def test_chemdner_unannotated_documents_kept_and_orphans_reported(biocreative):
    documents = _by_id(read_chemdner(biocreative / "chemdner"))
    assert documents["22080034"].mentions == [] and documents["22080034"].problems == []
    orphan = documents["99999999"]  # annotated, but absent from the abstracts file
    assert orphan.text == "" and orphan.mentions == []
    [problem] = orphan.problems
    assert problem.kind == "missing_document" and "training.annotations.txt:7" in problem.detail


def test_chemdner_empty_span_and_test_labels(biocreative):
    documents = _by_id(read_chemdner(biocreative / "chemdner"))
    dev = documents["23000001"]
    assert dev.subset == "dev"
    assert [m.text for m in dev.mentions] == ["Aspirin", "ASA"]
    [problem] = dev.problems
    assert problem.kind == "empty_span" and problem.entity_type == "MULTIPLE"
    # The background abstract labelled 'N' is left out of the test subset.
    assert "23845789" not in documents
    assert documents["23887075"].subset == "test"
    assert len(documents["23887075"].mentions) == 2
    without_labels = _by_id(read_chemdner(biocreative / "chemdner", test_labels=None))
    assert without_labels["23845789"].subset == "test"


def test_cemp_patents(biocreative):
    documents = _by_id(read_corpus("chemdner_patents", biocreative / "cemp"))
    assert {d.doc_id: d.subset for d in documents.values()} == {
        "WO2009026621A1": "train",
        "US20050101595": "train",
        "CA2077637C": "dev",
    }
    patent = documents["WO2009026621A1"]
    title = "Novel 2-aminothiazole compounds"
    assert patent.mentions == [
        Mention(6, 21, "SYSTEMATIC", "2-aminothiazole"),
        Mention(len(title) + 1 + 25, len(title) + 1 + 52, "SYSTEMATIC", "N-(4-chlorophenyl)acetamide"),
    ]
    [problem] = patent.problems  # T:20:99 runs past the 31-character title
    assert problem.kind == "bad_offsets" and "T:20:99" in problem.detail
    assert documents["US20050101595"].mentions == []


def test_gpro_patents_classes_and_ids(biocreative):
    documents = _by_id(read_chemdner_patents(biocreative / "gpro"))
    patent = documents["CA2113023C"]
    assert [(m.entity_type, m.text, m.concept_ids) for m in patent.mentions] == [
        ("FAMILY", "TNF receptor promoter", ()),
        ("FULL_NAME", "Human p55", ("P19438",)),
        ("FAMILY", "TNF receptor", ()),
        ("ABBREVIATION", "TNF", ("P01375",)),
        ("ABBREVIATION", "βhd 2", ()),  # "-": type 1 without a database id
    ]
    assert all(patent.text[m.start : m.end] == m.text for m in patent.mentions)
    assert documents["CA2102780C"].mentions == [Mention(0, 3, "ABBREVIATION", "EGF", ("P01133",))]


def test_gpro_type_option(biocreative):
    patent = _by_id(read_chemdner_patents(biocreative / "gpro", gpro_type=True))["CA2113023C"]
    assert [m.entity_type for m in patent.mentions] == [
        "GPRO_TYPE_2",
        "GPRO_TYPE_1",
        "GPRO_TYPE_2",
        "GPRO_TYPE_1",
        "GPRO_TYPE_1",
    ]


def test_missing_patent_texts(tmp_path, biocreative):
    gold = biocreative / "gpro" / "gpro_training_set_v02" / "chemdner_gpro_gold_standard_train_v02.tsv"
    (tmp_path / "gpro_training_set_v02").mkdir()
    (tmp_path / "gpro_training_set_v02" / gold.name).write_bytes(gold.read_bytes())
    with pytest.raises(MissingCorpusError, match=r"chemdner_patents_train_text\.txt"):
        read_chemdner_patents(
            tmp_path,
            texts={"train": "gpro_training_set_v02/chemdner_patents_train_text.txt"},
            annotations={"train": f"gpro_training_set_v02/{gold.name}"},
        )


def test_annotation_parser(biocreative):
    gold = biocreative / "gpro" / "gpro_training_set_v02" / "chemdner_gpro_gold_standard_train_v02.tsv"
    annotations = list(read_annotations(gold))
    assert len(annotations) == 5
    assert annotations[1][:7] == ("CA2113023C", "A", 0, 9, "Human p55", "FULL_NAME", "P19438")
    assert annotations[1].line == 2


def test_malformed_annotation_names_file_and_line(biocreative):
    with pytest.raises(CorpusFormatError) as error:
        list(read_annotations(biocreative / "malformed" / "annotations.tsv"))
    assert error.value.line == 2
    assert "annotations.tsv:2: expected 'id<TAB>T|A<TAB>start" in str(error.value)


def test_malformed_text_names_file_and_line(biocreative):
    with pytest.raises(CorpusFormatError, match=r"texts\.txt:1: expected 'id<TAB>title<TAB>abstract'"):
        read_texts(biocreative / "malformed" / "texts.txt")
