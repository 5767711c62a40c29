"""The embedding matrix of a model vocabulary: found words take their vectors, the others random rows."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from gensim.models import KeyedVectors

from mtaal.embeddings.vectors import CHUNK_ROWS, EmbeddingError, as_keyed_vectors

log = logging.getLogger(__name__)

Lookup = Literal["exact", "lower", "exact_or_lower"]
LOOKUPS: tuple[str, ...] = ("exact", "lower", "exact_or_lower")


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
    kv = as_keyed_vectors(kv)
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
