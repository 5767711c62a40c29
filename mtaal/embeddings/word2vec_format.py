"""Word vectors in word2vec form (binary or text, with or without the header line, plain or compressed):
a user's file read into KeyedVectors and converted to a vectors file (:func:`.vectors.save_keyed_vectors`);
the papers' pretrained files are read here too (:mod:`.pretrained`)."""

from __future__ import annotations

import bz2
import gzip
import logging
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from mtaal.embeddings.vectors import CHUNK_ROWS, EmbeddingError, EmbeddingFormatError, save_keyed_vectors

log = logging.getLogger(__name__)

USER_FORMS = (
    "a word2vec file: binary (header line 'COUNT DIM', then per word the word, one space and DIM float32 "
    "values) or text (header line 'COUNT DIM', then one line per word: the word and DIM numbers separated by "
    "single spaces; a GloVe-style text file without the header line is accepted too); '.gz' / '.bz2' "
    "compression must show in the file name"
)


def _open_maybe_compressed(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(3)
    suffix = path.suffix.lower()
    if magic[:2] == b"\x1f\x8b":
        if suffix != ".gz":
            raise EmbeddingFormatError(path, USER_FORMS, "gzip-compressed data in a file not named '*.gz'")
        return gzip.open(path, "rb")
    if magic == b"BZh":
        if suffix != ".bz2":
            raise EmbeddingFormatError(path, USER_FORMS, "bzip2-compressed data in a file not named '*.bz2'")
        return bz2.open(path, "rb")
    return open(path, "rb")


def _text_vector(line: bytes, dim: int | None) -> bool:
    """Whether ``line`` reads as 'word v1 ... vDIM' (any DIM >= 1 when ``dim`` is None)."""
    try:
        parts = line.decode("utf-8").rstrip().split(" ")
    except UnicodeDecodeError:
        return False
    numbers = parts[1:]
    if len(parts) < 2 or (dim is not None and len(numbers) != dim):
        return False
    try:
        [float(value) for value in numbers]
    except ValueError:
        return False
    return True


def detect_vectors_format(path: str | Path) -> tuple[bool, bool]:
    """(binary, no_header) for a word2vec-format file, read from its first two lines."""
    path = Path(path)
    try:
        with _open_maybe_compressed(path) as handle:
            first = handle.readline(1 << 20)
            second = handle.readline(1 << 20)
    except (OSError, EOFError) as error:
        raise EmbeddingFormatError(path, USER_FORMS, f"unreadable file ({error})") from error
    if not first:
        raise EmbeddingFormatError(path, USER_FORMS, "an empty file")
    header = first.split()
    if len(header) == 2 and all(field.isdigit() for field in header):
        count, dim = (int(field) for field in header)
        if dim == 0:
            raise EmbeddingFormatError(path, USER_FORMS, f"header {first[:80]!r} with 0 dimensions")
        if count == 0 or _text_vector(second, dim):
            return False, False
        word, space, _ = second.partition(b" ")
        if space and word:
            return True, False
        raise EmbeddingFormatError(path, USER_FORMS, f"header {first[:80]!r}, then {second[:80]!r}")
    if _text_vector(first, None):
        return False, True
    raise EmbeddingFormatError(path, USER_FORMS, f"first line {first[:80]!r}")


def _check_finite(kv: KeyedVectors, path: Path) -> None:
    for start in range(0, len(kv), CHUNK_ROWS):
        block = kv.vectors[start:start + CHUNK_ROWS]
        if not np.isfinite(block).all():
            row = start + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            raise EmbeddingFormatError(path, USER_FORMS, f"a non-finite value in the vector of "
                                                         f"{kv.index_to_key[row]!r}")


def read_user_vectors(
    path: str | Path, binary: bool | None = None, *, limit: int | None = None, unicode_errors: str = "strict"
) -> KeyedVectors:
    """Read a word2vec binary or text file (``binary=None``: decide from the header) as KeyedVectors."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingError(f"{path}: embeddings file not found (expected {USER_FORMS})")
    detected_binary, no_header = detect_vectors_format(path)
    if binary is None:
        binary = detected_binary
    elif binary and no_header:
        raise EmbeddingFormatError(path, USER_FORMS, "binary=true but no 'COUNT DIM' header line")
    elif binary and not detected_binary:
        # Reading text as binary would not fail: it would silently turn digits into float32 garbage.
        raise EmbeddingFormatError(path, USER_FORMS, "binary=true but the file is word2vec text (binary=null "
                                                     "detects the form)")
    elif not binary and detected_binary:
        found = "binary=false but the line after the header is not a word and DIM numbers"
        raise EmbeddingFormatError(path, USER_FORMS, found + " (binary=null detects the form)")
    form = "binary" if binary else "text" + (" without a header line" if no_header else "")
    try:
        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=binary, no_header=no_header, limit=limit, unicode_errors=unicode_errors
        )
    except (ValueError, EOFError, UnicodeError, IndexError, OSError, AssertionError) as error:
        found = f"a damaged word2vec {form} file ({type(error).__name__}: {error})"
        raise EmbeddingFormatError(path, USER_FORMS, found) from error
    if len(kv) == 0:
        raise EmbeddingFormatError(path, USER_FORMS, "no vectors")
    _check_finite(kv, path)
    log.info("%s: read %d vectors x %d dimensions (word2vec %s)", path, len(kv), kv.vector_size, form)
    return kv


def load_user_vectors(
    path: str | Path,
    binary: bool | None,
    out: str | Path,
    *,
    limit: int | None = None,
    unicode_errors: str = "strict",
) -> KeyedVectors:
    """Convert a user's word2vec binary / text file to a vectors file at ``out`` (:func:`save_keyed_vectors`).

    ``limit`` keeps the file's first ``limit`` words (e.g. the most frequent of GoogleNews' 3M);
    ``unicode_errors='ignore'`` tolerates words cut inside a UTF-8 character, as word2vec.c may write them.
    """
    kv = read_user_vectors(path, binary, limit=limit, unicode_errors=unicode_errors)
    save_keyed_vectors(kv, out)
    return kv
