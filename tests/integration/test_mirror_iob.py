"""IOB/CoNLL readers on the corpus mirror (skipped without it). Counts were measured on the mirror and
agree with the releases' own statistics where those exist (see each test)."""

import tarfile
from collections import Counter
from pathlib import Path

import pytest

from mtaal.corpora.readers.iob import read_cll, read_jnlpba_iob, read_linnaeus_iob, read_scai_iob


def _split_ids(mirror: Path, prefix: str) -> set[str]:
    """HUNER split ids, each file read on its own (the files lack a final newline)."""
    ids: set[str] = set()
    for subset in ("train", "dev", "test"):
        text = (mirror / "huner_splits" / f"{prefix}.{subset}").read_text(encoding="utf-8")
        ids.update(line.strip() for line in text.splitlines() if line.strip())
    return ids


def _types(docs) -> Counter:
    return Counter(m.entity_type for doc in docs for m in doc.mentions)


def _problems(docs) -> Counter:
    return Counter(p.kind for doc in docs for p in doc.problems)


@pytest.fixture(scope="module")
def cll(mirror):
    return read_cll(mirror / "cll")


def test_cll_counts_and_huner_ids(mirror, cll):
    assert len(cll) == 201
    assert {doc.doc_id for doc in cll} == _split_ids(mirror, "cll")  # 201 docs = HUNER cll.*
    assert _types(cll) == {"CL": 341}
    assert sum(len(doc.sentences) for doc in cll) == 201  # CLL documents are single sentences
    assert _problems(cll) == {}


def test_cll_mentions_equal_the_standoff_annotations(mirror, cll):
    """The NERsuite tags reproduce the 341 standoff annotations exactly (offsets and text)."""
    expected = set()
    with tarfile.open(mirror / "cll" / "CLL_corpus.tar.gz") as tar:
        for member in tar.getmembers():
            if member.name.startswith("CLL-1.0.2/standoff/") and member.name.endswith(".ann"):
                doc_id = Path(member.name).stem
                for line in tar.extractfile(member).read().decode("utf-8").splitlines():
                    _, type_span, text = line.split("\t")
                    etype, start, end = type_span.split()
                    expected.add((doc_id, int(start), int(end), etype, text))
    found = {
        (d.doc_id, m.start, m.end, m.entity_type, d.text[m.start : m.end]) for d in cll for m in d.mentions
    }
    assert found == expected


def test_scai_chemicals(mirror):
    docs = read_scai_iob(mirror / "scai_chemicals")
    assert len(docs) == 100
    ids = {doc.doc_id for doc in docs}
    # HUNER's converter writes a document only when the next header comes, so it loses the last one
    assert ids - _split_ids(mirror, "scai_chemicals") == {"18420559"} == {docs[-1].doc_id}
    assert _types(docs) == {
        "TRIVIAL": 395,
        "IUPAC": 391,
        "ABBREVIATION": 161,
        "MODIFIER": 104,
        "FAMILY": 99,
        "PARTIUPAC": 92,
        "SUM": 49,
        "TRIVIALVAR": 19,
    }
    assert all(doc.sentences is None for doc in docs)
    # 10 annotations (peptides such as H-Lys-Trp(NPS)-OMe) carry mention text but tag O
    assert _problems(docs) == {"annotation_without_type": 10}
    # The stated text differs from the text rebuilt from offsets for 11 of 1310 mentions: 4 tokens the
    # file lacks (NNC 90-1515, TEI-6720 twice, the "10" of 2'-fluoro-10-propargyl...) and 7 where the
    # offsets leave a gap the stated text has not ("iron (III)" vs "iron(III)").
    mismatched = [(d.doc_id, m.text) for d in docs for m in d.mentions if d.text[m.start : m.end] != m.text]
    assert len(mismatched) == 11
    assert ("10479279", "NNC 90-1515") in mismatched


def test_jnlpba_test_file(mirror):
    docs = read_jnlpba_iob(mirror / "jnlpba")
    # the JNLPBA 2004 test set: 404 abstracts, 3,856 sentences and the published mention counts
    assert len(docs) == 404
    assert sum(len(doc.sentences) for doc in docs) == 3856
    assert _types(docs) == {"protein": 5067, "cell_type": 1921, "DNA": 1056, "cell_line": 500, "RNA": 118}
    # two abstracts occur twice (with slightly different tokenization)
    assert _problems(docs) == {"duplicate_doc_id": 2}
    assert {d.doc_id for d in docs if d.problems} == {"98281994.2", "98282479.2"}
    # HUNER genia.* lists the 1,999 training abstracts; 10 of them are also in the test file
    genia = _split_ids(mirror, "genia")
    assert len(genia) == 1999
    assert len({doc.doc_id for doc in docs} & genia) == 10


def test_linnaeus_iob(mirror):
    docs = read_linnaeus_iob(mirror / "linnaeus")
    assert Counter(doc.subset for doc in docs) == {"train": 50, "dev": 17, "test": 33}
    assert Counter((doc.subset, m.entity_type) for doc in docs for m in doc.mentions) == {
        ("train", "Species"): 2119,
        ("dev", "Species"): 711,
        ("test", "Species"): 1433,
    }
    assert sum(len(doc.sentences) for doc in docs) == 11935 + 4078 + 7142
    assert _problems(docs) == {}
    first = docs[0]
    assert first.doc_id == "pmcA102792"
    assert first.text.startswith(
        "Scp160p , a multiple KH - domain protein , is a component of mRNP complexes"
    )
    # the ids come from the split lists, so all 98 HUNER linneaus.* ids are present
    assert _split_ids(mirror, "linneaus") <= {doc.doc_id for doc in docs}
    # a title broken over two lines stays with its own document
    culex = next(doc for doc in docs if doc.doc_id == "pmcA1891629")
    assert culex.text.startswith("A secondary structural common core in the ribosomal ITS2")
