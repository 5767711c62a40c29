from pathlib import Path

import pytest

from mtaal.corpora.model import Mention
from mtaal.corpora.readers import read_corpus
from mtaal.corpora.readers.pubtator import concept_id_tuple, read_pubtator, subset_name
from mtaal.errors import CorpusFormatError


@pytest.fixture
def pubtator(fixtures: Path) -> Path:
    return fixtures / "pubtator"


def _by_id(documents):
    return {document.doc_id: document for document in documents}


def test_ncbi_style_text_offsets_and_unicode(pubtator):
    documents = _by_id(read_pubtator(pubtator, files={"train": "ncbi_sample.txt"}))
    assert list(documents) == ["1001", "1002", "1003"]
    document = documents["1001"]
    assert document.subset == "train"
    assert document.text.startswith("Familial α-thalassemia and café-au-lait spots.\nAtaxia-telangiectasia")
    # The abstract's trailing space is part of the release text and is kept.
    assert document.text.endswith("febrile seizures plus. ")
    assert document.sentences is None
    first = document.mentions[0]
    assert first == Mention(9, 22, "SpecificDisease", "α-thalassemia", ("D017086",))
    # Offsets after the non-BMP "𝔐" still count Python characters.
    last = document.mentions[-1]
    assert (last.start, last.end) == (142, 188)
    assert all(document.text[m.start : m.end] == m.text for m in document.mentions)


def test_ncbi_concept_ids_composite_nested_and_combination(pubtator):
    document = _by_id(read_pubtator(pubtator, files={"train": "ncbi_sample.txt"}))["1001"]
    by_text = {m.text: m for m in document.mentions}
    composite = by_text["breast or ovarian cancer"]
    assert composite.entity_type == "CompositeMention"
    assert composite.concept_ids == ("D001943", "D010051")
    # Nested mention inside the composite one is kept as is (the tidy stage resolves nesting).
    assert (by_text["ovarian cancer"].start, by_text["ovarian cancer"].end) == (89, 103)
    assert by_text["generalized epilepsy and febrile seizures plus"].concept_ids == ("D004829+D003294",)
    assert by_text["café-au-lait spots"].concept_ids == ("OMIM:114030",)


def test_empty_document_and_duplicate(pubtator):
    documents = _by_id(read_pubtator(pubtator, files={"dev": "ncbi_sample.txt"}))
    assert documents["1002"].text == "\n"
    assert documents["1002"].mentions == []
    kept = documents["1003"]
    assert [m.text for m in kept.mentions] == ["Fragile X syndrome"]  # the first copy wins
    [problem] = kept.problems
    assert problem.kind == "duplicate_document"
    assert "ncbi_sample.txt:19" in problem.detail and "differs" in problem.detail


def test_cdr_style_crlf_no_id_relations_and_individual_mentions(pubtator):
    documents = _by_id(read_pubtator(pubtator, files={"test": "CDR_sample.PubTator.txt"}))
    document = documents["2234245"]
    assert document.subset == "test"
    assert "\r" not in document.text
    assert document.text == (
        "Ocular and auditory toxicity after desferrioxamine (DFO).\n"
        "Naloxone and [3H]-naloxone reversed hypotension."
    )
    assert len(document.mentions) == 6  # the CID relation line is not a mention
    composite = document.mentions[0]
    assert composite == Mention(0, 28, "Disease", "Ocular and auditory toxicity", ("D014786", "D006311"))
    no_id = next(m for m in document.mentions if m.text == "[3H]-naloxone")
    assert (no_id.start, no_id.end, no_id.concept_ids) == (71, 84, ())
    assert all(document.text[m.start : m.end] == m.text for m in document.mentions)
    assert documents["354896"].mentions[1] == Mention(18, 26, "Disease", "asystole", ("D006323",))


def test_separator_option(pubtator):
    document = read_pubtator(pubtator, files={"train": "CDR_sample.PubTator.txt"}, separator=" ")[0]
    assert document.text[57] == " "
    assert document.text[58:66] == "Naloxone"


def test_malformed_offset_names_file_and_line(pubtator):
    with pytest.raises(CorpusFormatError) as error:
        read_pubtator(pubtator, files={"train": "malformed.txt"})
    assert error.value.line == 3
    assert error.value.path.name == "malformed.txt"
    assert "malformed.txt:3" in str(error.value) and "annotation line" in str(error.value)


@pytest.mark.parametrize("line", ["7\t-5\t3\tTit\tDisease", "7\tx1\t3\tTit\tDisease",
                                  "7\t1.5\t3\tTit\tDisease", "7\t\t3\tTit\tDisease", "7\tCID\tD1",
                                  "7\t0\t3\tTit"],
                         ids=["negative", "non-numeric", "fraction", "empty", "short-relation", "no-type"])
# A four-field line with a word second is a relation line (PubTator's own shape): a mention line has five.
def test_a_line_neither_mention_nor_relation_is_an_error_never_skipped(tmp_path, line):
    (tmp_path / "x.txt").write_text(f"7|t|Title.\n7|a|Text.\n7\t0\t5\tTitle\tDisease\n{line}\n")
    with pytest.raises(CorpusFormatError, match=r"x\.txt:4: expected an annotation line: a mention line .* "
                                                r"or a relation line"):
        read_pubtator(tmp_path, files={"train": "x.txt"})


def test_relation_lines_of_other_shapes_are_not_mentions(tmp_path):
    relations = ["7\tCID\tD1\tD2", "7\tPositive_Correlation\t7157\tMESH:D001"]
    (tmp_path / "x.txt").write_text("7|t|Title.\n7|a|Text.\n7\t0\t5\tTitle\tDisease\n"
                                    + "".join(f"{line}\n" for line in relations))
    [document] = read_pubtator(tmp_path, files={"train": "x.txt"})
    assert [m.text for m in document.mentions] == ["Title"] and document.problems == []


def test_missing_abstract_line(pubtator):
    with pytest.raises(CorpusFormatError, match=r"missing_abstract\.txt:2: expected an abstract line"):
        read_pubtator(pubtator, files={"train": "missing_abstract.txt"})


def test_empty_span_is_a_problem(tmp_path):
    (tmp_path / "x.txt").write_text("7|t|Title.\n7|a|Text.\n7\t3\t3\t\tDisease\tD1\n", encoding="utf-8")
    [document] = read_pubtator(tmp_path, files={"train": "x.txt"})
    assert document.mentions == []
    assert [(p.kind, p.start, p.end) for p in document.problems] == [("empty_span", 3, 3)]


def test_registry_entry_point_and_helpers(pubtator):
    documents = read_corpus("pubtator", pubtator, {"files": {"training": "ncbi_sample.txt"}})
    assert {d.subset for d in documents} == {"train"}
    assert concept_id_tuple("-1") == ()
    assert concept_id_tuple("D1|D2") == ("D1", "D2")
    assert subset_name("development") == "dev" and subset_name("evaluation") == "test"
