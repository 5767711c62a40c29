"""Standoff readers on the real corpus mirror: counts, HUNER split-id coverage and text/offset agreement.

DECA and FSU-PRGE are not in the mirror (see its README); their readers are tested on fixtures only.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from mtaal.corpora.model import Document
from mtaal.corpora.readers.standoff import read_bc2gm, read_brat, read_s800

# A generous bound: each reader takes well under a second on the mirror; the whole corpus layer has minutes.
MAX_SECONDS = 15


def _split_ids(mirror: Path, prefix: str) -> set[str]:
    """Ids of HUNER's ``<prefix>.{train,dev,test}``, read file by file (some lack a final newline and
    have CR line ends, so concatenating them would merge two ids)."""
    ids: set[str] = set()
    for part in ("train", "dev", "test"):
        text = (mirror / "huner_splits" / f"{prefix}.{part}").read_text(encoding="utf-8")
        ids |= {line.strip() for line in text.replace("\r", "").split("\n") if line.strip()}
    return ids


def _timed(reader, *args, **kwargs) -> list[Document]:
    began = time.perf_counter()
    documents = reader(*args, **kwargs)
    assert time.perf_counter() - began < MAX_SECONDS
    return documents


def _mismatches(documents: list[Document]) -> list[tuple[str, int, int, str]]:
    return [
        (doc.doc_id, m.start, m.end, m.text)
        for doc in documents
        for m in doc.mentions
        if m.text is not None and doc.text[m.start : m.end] != m.text
    ]


def test_jnlpba_brat_matches_huner_genia_ids(mirror: Path):
    docs = _timed(read_brat, mirror / "jnlpba")
    ids = {doc.doc_id for doc in docs}
    assert len(docs) == len(ids) == 2000
    assert {doc.subset for doc in docs} == {"train"}
    types = Counter(m.entity_type for doc in docs for m in doc.mentions)
    assert types == {"protein": 30269, "DNA": 9533, "cell_type": 6718, "cell_line": 3830, "RNA": 951}
    assert not any(m.fragments for doc in docs for m in doc.mentions)
    assert _mismatches(docs) == []
    assert not any(doc.problems for doc in docs)
    # Every HUNER genia.* id (MEDLINE UIDs) is a document. The one extra file, 97218353-2, is a second,
    # differently annotated copy of abstract 97218353 (the JNLPBA training data holds that abstract twice;
    # HUNER gives both copies the id 97218353).
    huner = _split_ids(mirror, "genia")
    assert len(huner) == 1999
    assert huner <= ids
    assert ids - huner == {"97218353-2"}
    by_id = {doc.doc_id: doc for doc in docs}
    assert by_id["97218353-2"].text == by_id["97218353"].text


def test_jnlpba_id_map_renames_muids_to_pmids(mirror: Path):
    docs = read_brat(mirror / "jnlpba", id_map="conversion/MUID-PMID-map.txt")
    ids = {doc.doc_id for doc in docs}
    assert len(ids) == 2000
    assert "97218353-2" in ids  # the map has no row for the duplicate's file name
    # HUNER's genia.* lists MEDLINE UIDs, so the registry must not set id_map for the HUNER splits.
    assert ids.isdisjoint(_split_ids(mirror, "genia"))


def test_bc2gm_matches_huner_ids(mirror: Path):
    docs = _timed(read_bc2gm, mirror / "bc2gm")
    assert Counter(doc.subset for doc in docs) == {"train": 15000, "test": 5000}
    assert Counter(doc.subset for doc in docs for _ in doc.mentions) == {"train": 18265, "test": 6331}
    assert {m.entity_type for doc in docs for m in doc.mentions} == {"GENE"}
    assert all(doc.sentences == [(0, len(doc.text))] for doc in docs)
    assert not any(doc.problems for doc in docs)
    # Train ids are P…; test ids are the release's random BC2GM… ids (test.idmap maps them back to P… ids,
    # which HUNER does not use). All 20,000 are HUNER bc2gm.* ids.
    ids = {doc.doc_id for doc in docs}
    assert ids == _split_ids(mirror, "bc2gm")
    # One gold end offset in the release counts the sentence's final period.
    assert _mismatches(docs) == [("P02196565T0000", 184, 212, "translation upstream factor")]


def test_s800_matches_huner_ids(mirror: Path):
    docs = _timed(read_s800, mirror / "s800")
    ids = {doc.doc_id for doc in docs}
    assert len(docs) == len(ids) == 800
    assert ids == _split_ids(mirror, "s800")
    assert sum(len(doc.mentions) for doc in docs) == 3708
    assert sum(1 for doc in docs if doc.mentions) == 625
    assert {m.entity_type for doc in docs for m in doc.mentions} == {"Species"}
    assert all(
        len(m.concept_ids) == 1 and m.concept_ids[0].startswith("NCBITaxon:")
        for d in docs
        for m in d.mentions
    )
    # The S800.tsv offsets (end inclusive) index the abstract file exactly, title line included.
    assert _mismatches(docs) == []
    assert not any(doc.problems for doc in docs)


@pytest.mark.parametrize("corpus", ["deca", "fsu"])
def test_missing_corpora_are_absent_from_the_mirror(mirror: Path, corpus: str):
    # If a later mirror adds them, this test is the reminder to add real-data checks for their readers.
    assert not (mirror / corpus).exists()
