"""IOB/CoNLL readers on hand-written fixtures (tests/fixtures/iob)."""

import shutil
import tarfile
from pathlib import Path

import pytest

from mtaal.corpora.model import Mention
from mtaal.corpora.readers.iob import (
    READERS,
    read_cll,
    read_gellus,
    read_jnlpba_iob,
    read_linnaeus_iob,
    read_scai_iob,
)
from mtaal.errors import CorpusFormatError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "iob"


def _pack(source: Path, archive: Path, prefix: str = "") -> Path:
    """The fixture folder as a release tarball (the readers read archives without extracting)."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=prefix + path.relative_to(source.parent).as_posix(), recursive=False)
    return archive


def _spans(doc):
    return [(doc.text[m.start : m.end], m.entity_type) for m in doc.mentions]


def _by_id(docs):
    return {doc.doc_id: doc for doc in docs}


def test_registered():
    assert set(READERS) == {"cll", "gellus", "linnaeus_iob", "scai_iob", "jnlpba_iob"}


# ---------------------------------------------------------------- CLL


@pytest.fixture
def cll_root(tmp_path):
    _pack(FIX / "cll" / "CLL-1.0.2", tmp_path / "CLL_corpus.tar.gz")
    return tmp_path


def test_cll_original_text_offsets_and_sentences(cll_root):
    docs = _by_id(read_cll(cll_root))
    assert list(docs) == ["PMC-1000001", "PMID-2000002", "PMID-3000003"]
    doc = docs["PMC-1000001"]
    assert doc.text == (FIX / "cll/CLL-1.0.2/standoff/PMC-1000001.txt").read_text(encoding="utf-8")
    assert doc.sentences == [(0, 26), (27, 47)]
    # adjacent B-CL B-CL stay two mentions; the non-BMP character counts as one str index
    assert doc.mentions == [
        Mention(7, 11, "CL"),
        Mention(12, 16, "CL"),
        Mention(18, 25, "CL"),
        Mention(38, 41, "CL"),
    ]
    assert _spans(doc) == [("HeLa", "CL"), ("K562", "CL"), ("NIH 3T3", "CL"), ("\U0001d49c-1", "CL")]
    assert doc.subset is None and doc.problems == []


def test_cll_mentions_equal_standoff_ann(cll_root):
    for doc in read_cll(cll_root):
        ann = (FIX / f"cll/CLL-1.0.2/standoff/{doc.doc_id}.ann").read_text(encoding="utf-8")
        expected = []
        for line in filter(None, ann.split("\n")):
            _, type_span, text = line.split("\t")
            etype, start, end = type_span.split()
            expected.append((int(start), int(end), etype, text))
        assert [(m.start, m.end, m.entity_type, doc.text[m.start : m.end]) for m in doc.mentions] == expected


def test_cll_i_without_b_starts_a_mention_and_is_recorded(cll_root):
    doc = _by_id(read_cll(cll_root))["PMID-2000002"]
    assert _spans(doc) == [("Jurkat", "CL")]
    [problem] = doc.problems
    assert (problem.kind, problem.start, problem.end, problem.entity_type) == ("iob_i_without_b", 0, 6, "CL")
    assert "PMID-2000002.nersuite:1" in problem.detail


def test_cll_empty_document(cll_root):
    doc = _by_id(read_cll(cll_root))["PMID-3000003"]
    assert (doc.text, doc.mentions, doc.sentences, doc.problems) == ("", [], [], [])


def test_cll_malformed_line_names_member_and_line(tmp_path):
    source = tmp_path / "src" / "CLL-1.0.2"
    shutil.copytree(FIX / "cll" / "CLL-1.0.2", source)
    (source / "nersuite" / "PMID-2000002.nersuite").write_text("O\t0\t6\tJurkat\nO\tx\t12\tcells\n")
    _pack(source, tmp_path / "CLL_corpus.tar.gz")
    with pytest.raises(CorpusFormatError) as error:
        read_cll(tmp_path)
    assert error.value.line == 2
    assert str(error.value.path).endswith("CLL_corpus.tar.gz/CLL-1.0.2/nersuite/PMID-2000002.nersuite")
    assert "tag<TAB>start<TAB>end<TAB>token" in str(error.value)


def test_cll_bad_tag_is_an_error(tmp_path):
    source = tmp_path / "src" / "CLL-1.0.2"
    shutil.copytree(FIX / "cll" / "CLL-1.0.2", source)
    (source / "nersuite" / "PMID-2000002.nersuite").write_text("X-CL\t0\t6\tJurkat\n")
    _pack(source, tmp_path / "CLL_corpus.tar.gz")
    with pytest.raises(CorpusFormatError, match=r"PMID-2000002.nersuite:1: expected a tag O, B-<type>"):
        read_cll(tmp_path)


def test_cll_archive_without_token_files(tmp_path):
    (tmp_path / "src" / "other").mkdir(parents=True)
    (tmp_path / "src" / "other" / "x.txt").write_text("x")
    _pack(tmp_path / "src" / "other", tmp_path / "CLL_corpus.tar.gz")
    with pytest.raises(CorpusFormatError, match=r"CLL-1.0.2/nersuite/"):
        read_cll(tmp_path)


# ---------------------------------------------------------------- Gellus


@pytest.mark.parametrize("prefix", ["", "home/smp/cellline_data/"])
def test_gellus_subsets_types_and_prefix(tmp_path, prefix):
    _pack(FIX / "gellus" / "GELLUS-1.0.3", tmp_path / "Gellus_corpus.tar.gz", prefix)
    docs = _by_id(read_gellus(tmp_path))
    assert {doc_id: doc.subset for doc_id, doc in docs.items()} == {
        "PMC-1044634-sec-01": "train",
        "PMID-18451223": "dev",  # the devel/ copy wins over the all/ copy
        "PMID-19738068": "test",
    }
    assert _spans(docs["PMC-1044634-sec-01"]) == [("MCF-7", "Cell-line-name")]
    dev = docs["PMID-18451223"]
    assert dev.text == "In A549 and\tH1299 lines."  # original text kept exactly (tab included)
    assert _spans(dev) == [("A549", "Cell-line-name"), ("H1299", "Cell-line-name")]
    assert dev.sentences == [(0, 24)] and dev.problems == []


def test_gellus_without_standoff_text_rebuilds_it_from_offsets(tmp_path):
    _pack(FIX / "gellus" / "GELLUS-1.0.3", tmp_path / "Gellus_corpus.tar.gz")
    doc = _by_id(read_gellus(tmp_path))["PMID-19738068"]
    assert doc.text == "HepG2 grew.  Well."  # the gap (originally "\n\n") becomes spaces
    assert doc.sentences == [(0, 11), (13, 18)]
    assert _spans(doc) == [("HepG2", "Cell-line-name")]
    assert [p.kind for p in doc.problems] == ["no_original_text"]


# ---------------------------------------------------------------- SCAI chemicals


def test_scai_text_from_offsets_and_stated_mention_text():
    docs = _by_id(read_scai_iob(FIX / "scai", file="chemicals.iob"))
    assert list(docs) == ["111", "222", "333"]
    doc = docs["111"]
    assert doc.text == "Aspirin and 2-hydroxybenzoate (HB) salts."
    assert doc.sentences is None and doc.subset is None
    assert doc.mentions == [
        Mention(0, 7, "TRIVIAL", "Aspirin"),
        Mention(12, 29, "IUPAC", "2-hydroxybenzoate"),  # stated text is stripped
        Mention(31, 33, "ABBREVIATION", "HB"),
        Mention(35, 40, "MODIFIER", "salts"),
    ]
    assert all(doc.text[m.start : m.end] == m.text for m in doc.mentions)


def test_scai_latin1_shifted_offsets_untyped_annotation_and_i_without_b():
    doc = _by_id(read_scai_iob(FIX / "scai", file="chemicals.iob"))["222"]
    # offsets start at 10 in the file and are shifted to 0; byte \xe9 read as Latin-1
    assert doc.text == "Café ethanol  H-Lys NaCl KCl"
    assert _spans(doc) == [("ethanol", "TRIVIAL"), ("NaCl", "SUM"), ("KCl", "SUM")]
    assert [m.text for m in doc.mentions] == [None, "NaCl", "KCl"]
    kinds = {p.kind: p for p in doc.problems}
    assert set(kinds) == {"iob_i_without_b", "annotation_without_type"}
    untyped = kinds["annotation_without_type"]
    assert (untyped.start, untyped.end) == (14, 23) and "'H-Lys-OMe'" in untyped.detail


def test_scai_empty_document():
    doc = _by_id(read_scai_iob(FIX / "scai", file="chemicals.iob"))["333"]
    assert (doc.text, doc.mentions, doc.problems) == ("", [], [])


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("### 1\nAspirin\t0\t7\t\t|B-TRIVIAL\nand\t8\tx\t\t|O\n", 3),  # offset not a number
        ("### 1\nAspirin\t0\t7\t\tB-TRIVIAL\n", 2),  # tag without the | marker
        ("Aspirin\t0\t7\t\t|O\n", 1),  # token before any header
        ("### 1\nAspirin\t5\t9\t\t|O\n", 2),  # end - start differs from the token length
    ],
)
def test_scai_malformed(tmp_path, content, line):
    (tmp_path / "bad.iob").write_text(content, encoding="latin-1")
    with pytest.raises(CorpusFormatError) as error:
        read_scai_iob(tmp_path, file="bad.iob")
    assert (error.value.path, error.value.line) == (tmp_path / "bad.iob", line)
    assert f"bad.iob:{line}: expected" in str(error.value)


# ---------------------------------------------------------------- JNLPBA


def test_jnlpba_documents_text_and_mentions():
    docs = read_jnlpba_iob(FIX / "jnlpba")
    assert [doc.doc_id for doc in docs] == ["90000001", "90000002", "90000001.2"]
    doc = docs[0]
    assert doc.subset == "test"
    assert doc.text == "IL-2 gene expression in T cells .\nNF-κB p50 binds \U0001d6c2-globin ."
    assert doc.sentences == [(0, 33), (34, 60)]
    assert _spans(doc) == [
        ("IL-2 gene", "protein"),
        ("T cells", "cell_type"),
        ("NF-κB", "protein"),  # adjacent B-protein B-protein
        ("p50", "protein"),
        ("\U0001d6c2-globin", "DNA"),
    ]
    assert doc.mentions[4] == Mention(50, 58, "DNA")
    assert doc.problems == []


def test_jnlpba_empty_and_duplicate_documents():
    docs = read_jnlpba_iob(FIX / "jnlpba")
    empty, repeat = docs[1], docs[2]
    assert (empty.text, empty.mentions, empty.sentences) == ("", [], [])
    assert _spans(repeat) == [("Jurkat", "cell_line"), ("mRNA", "RNA")]
    assert sorted(p.kind for p in repeat.problems) == ["duplicate_doc_id", "iob_i_without_b"]


def test_jnlpba_files_option_reads_train_and_test():
    docs = read_jnlpba_iob(
        FIX / "jnlpba", files={"train": "train/Genia4ERtask2.iob2", "test": "test/Genia4EReval2.iob2"}
    )
    assert [(doc.doc_id, doc.subset) for doc in docs][:2] == [("80000001", "train"), ("90000001", "test")]
    assert _spans(docs[0]) == [("c-fos", "DNA")]


def test_jnlpba_file_without_abstract_boundaries_is_refused():
    with pytest.raises(
        CorpusFormatError, match=r"Genia4EReval1.iob2:1: expected a document header ###MEDLINE"
    ):
        read_jnlpba_iob(FIX / "jnlpba", files={"test": "test/Genia4EReval1.iob2"})


@pytest.mark.parametrize(
    ("content", "line", "expected"),
    [
        ("###MEDLINE:1\n\nIL-2\tB-protein\textra\n", 3, "token<TAB>tag"),
        ("###MEDLINE:1\n\nIL-2 B-protein\n", 3, "token<TAB>tag"),
        ("###MEDLINE:1\n\nIL-2\tS-protein\n", 3, "a tag O, B-<type> or I-<type>"),
        ("###PMID 1\n\nIL-2\tO\n", 1, "a document header ###MEDLINE:<id>"),
    ],
)
def test_jnlpba_malformed(tmp_path, content, line, expected):
    (tmp_path / "bad.iob2").write_text(content)
    with pytest.raises(CorpusFormatError) as error:
        read_jnlpba_iob(tmp_path, files={"test": "bad.iob2"})
    assert error.value.line == line
    assert f"bad.iob2:{line}: expected {expected}" in str(error.value)


# ---------------------------------------------------------------- LINNAEUS


def test_linnaeus_documents_from_abstract_headings_and_id_lists():
    docs = read_linnaeus_iob(FIX / "linnaeus")
    assert [(d.doc_id, d.subset) for d in docs] == [
        ("pmcA111", "train"),
        ("pmcA222", "train"),
        ("pmcA333", "dev"),
        ("pmcA444", "test"),
    ]
    first, second = docs[0], docs[1]
    assert first.text == "Yeast genes\nAbstract\nSaccharomyces cerevisiae and Homo sapiens .\nThanks ."
    assert _spans(first) == [
        ("Yeast", "Species"),
        ("Saccharomyces cerevisiae", "Species"),
        ("Homo sapiens", "Species"),
    ]
    assert first.sentences == [(0, 11), (12, 20), (21, 64), (65, 73)]
    # a title broken over two lines ("Mice of the" / "laboratory") stays with its document
    assert second.text.startswith("Mice of the\nlaboratory\nAbstract\n")
    assert _spans(second) == [
        ("Mice", "Species"),
        ("mouse", "Species"),
        ("rat", "Species"),
        ("sapiens", "Species"),
    ]
    assert [p.kind for p in second.problems] == ["iob_i_without_b"]


def test_linnaeus_unicode_and_document_without_heading():
    docs = _by_id(read_linnaeus_iob(FIX / "linnaeus"))
    dev = docs["pmcA333"]
    assert dev.text == "α-Proteobacteria\nAbstract\nThe \U0001d4ae ."
    assert dev.mentions == [Mention(0, 16, "Species"), Mention(30, 31, "Species")]
    assert _spans(docs["pmcA444"]) == [("humans", "Species")]


def test_linnaeus_synthetic_ids_without_id_list():
    docs = read_linnaeus_iob(FIX / "linnaeus", id_lists={"train": None, "dev": None, "test": None})
    assert [d.doc_id for d in docs] == [
        "linnaeus-train-0001",
        "linnaeus-train-0002",
        "linnaeus-dev-0001",
        "linnaeus-test-0001",
    ]


def test_linnaeus_id_count_mismatch_is_an_error(tmp_path):
    shutil.copytree(FIX / "linnaeus", tmp_path / "linnaeus")
    (tmp_path / "linnaeus" / "split" / "train.txt").write_text("pmcA111\n")
    with pytest.raises(CorpusFormatError, match=r"split/train.txt: expected one id per document .*\(2,"):
        read_linnaeus_iob(tmp_path / "linnaeus")


def test_linnaeus_malformed_line(tmp_path):
    (tmp_path / "t.tsv").write_text("Yeast\tB-Species\nmice\n")
    with pytest.raises(CorpusFormatError, match=r"t.tsv:2: expected token<TAB>tag, found 'mice'"):
        read_linnaeus_iob(tmp_path, files={"train": "t.tsv"}, id_lists={})
