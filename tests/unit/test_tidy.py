import pytest

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.corpora.tidy import assign_splits, build_tables

TYPES = {"Disease": "disease", "Chemical": "chemical"}


def build(document, split="train"):
    return build_tables([(document, split)], TYPES)


def rows(table):
    return table.to_pylist()


def test_iob2_tags_concepts_and_offsets():
    text = "Cisplatin causes renal failure."
    doc = Document(
        "d1",
        text,
        [
            Mention(0, 9, "Chemical", "Cisplatin", ("D002945",)),
            Mention(17, 30, "Disease", "renal failure", ("D051437", "D007674")),
            Mention(0, 5, "Gene", "Cispl"),  # a type this dataset does not use
        ],
    )
    tables = build(doc)
    tokens = rows(tables.tokens)
    assert [(t["token"], t["tag"], t["concept_id"]) for t in tokens] == [
        ("Cisplatin", "B-chemical", "D002945"),
        ("causes", "O", None),
        ("renal", "B-disease", "D051437|D007674"),
        ("failure", "I-disease", "D051437|D007674"),
        (".", "O", None),
    ]
    assert all(text[t["start"] : t["end"]] == t["token"] for t in tokens)
    assert [m["text"] for m in rows(tables.mentions)] == ["Cisplatin", "renal failure"]
    assert tables.problems.num_rows == 0


def test_mention_boundary_inside_a_word_splits_the_word():
    doc = Document("d1", "anti-TNFalpha therapy", [Mention(5, 8, "Chemical", "TNF")])
    tokens = rows(build(doc).tokens)
    assert [(t["token"], t["tag"]) for t in tokens] == [
        ("anti", "O"),
        ("-", "O"),
        ("TNF", "B-chemical"),
        ("alpha", "O"),
        ("therapy", "O"),
    ]


def test_nested_overlapping_duplicate_and_broken_mentions_are_resolved_and_reported():
    text = "Acute renal failure and kidney stones here."
    doc = Document(
        "d1",
        text,
        [
            Mention(0, 19, "Disease", "Acute renal failure", ("A",)),
            Mention(6, 19, "Disease", "renal failure"),  # nested -> not tagged
            Mention(0, 19, "Disease", "Acute renal failure", ("B",)),  # duplicate -> merged
            Mention(15, 30, "Chemical", "lure and kidney"),  # overlap -> not tagged
            Mention(40, 99, "Disease", "x"),  # out of range -> dropped
            Mention(24, 30, "Disease", "kidnee"),  # text mismatch, not nearby -> dropped
            Mention(26, 37, "Disease", "kidney stones"),  # shifted offsets -> moved to 24
            Mention(0, 30, "Disease", None, fragments=((0, 5), (24, 30))),  # discontinuous
        ],
    )
    tables = build(doc)
    problems = {(p["kind"], p["action"]) for p in rows(tables.problems)}
    assert problems == {
        ("duplicate", "merged"),
        ("nested", "not_tagged"),
        ("overlap", "not_tagged"),
        ("out_of_range", "dropped"),
        ("text_mismatch", "dropped"),
        ("text_mismatch", "moved"),
        ("discontinuous", "covering_span"),
    }
    mentions = {(m["start"], m["end"], m["entity_type"]): m for m in rows(tables.mentions)}
    # The discontinuous covering span (0-30) is the longest, so it wins the overlap resolution.
    assert mentions[(0, 30, "disease")]["in_tokens"]
    assert mentions[(0, 19, "disease")]["concept_ids"] == ["A", "B"]
    assert not mentions[(0, 19, "disease")]["in_tokens"]
    assert (24, 37, "disease") in mentions
    tags = [t["tag"] for t in rows(tables.tokens)]
    assert tags[:6] == ["B-disease", "I-disease", "I-disease", "I-disease", "I-disease", "O"]


def test_mention_across_a_given_sentence_boundary_restarts_with_b():
    text = "alpha beta\ngamma delta"
    doc = Document("d1", text, [Mention(6, 16, "Disease", "beta\ngamma")], sentences=[(0, 10), (11, 22)])
    tables = build(doc)
    assert [(t["sentence"], t["tag"]) for t in rows(tables.tokens)] == [
        (0, "O"),
        (0, "B-disease"),
        (1, "B-disease"),
        (1, "O"),
    ]
    assert [p["kind"] for p in rows(tables.problems)] == ["crosses_sentence"]


def test_empty_document_and_reader_problems_are_kept():
    doc = Document("d0", "", [], problems=[Problem("d0", "bad_line", "line 3 unparseable")])
    tables = build(doc)
    assert tables.documents.num_rows == 1 and tables.tokens.num_rows == 0
    assert rows(tables.problems)[0]["kind"] == "bad_line"


def test_huner_split_assignment_reports_excluded_missing_and_duplicate_documents():
    docs = [Document("1", "a"), Document("2", "b"), Document("2", "b again"), Document("9", "c")]
    assigned, problems = assign_splits(docs, "huner", {"train": ["1"], "dev": ["2"], "test": ["3"]})
    assert [(d.doc_id, s) for d, s in assigned] == [("1", "train"), ("2", "dev")]
    assert sorted((p.doc_id, p.kind) for p in problems) == [
        ("2", "duplicate_document"),
        ("3", "missing_document"),
        ("9", "not_in_split"),
    ]


def test_release_split_uses_subset_and_rejects_unknown_scheme():
    assigned, problems = assign_splits([Document("1", "a", subset="test"), Document("2", "b")], "release")
    assert [(d.doc_id, s) for d, s in assigned] == [("1", "test")]
    assert [p.kind for p in problems] == ["no_subset"]
    with pytest.raises(ValueError, match="unknown split scheme"):
        assign_splits([], "random")
