"""The vectors file every embedding becomes: ``<name>.safetensors``, the vectors as one float32 matrix and
the words as one UTF-8 block, one word a line, written atomically. The reader parses that form and refuses
anything else: a pickle (gensim's ``KeyedVectors.save``, the ``.kv`` files of earlier versions) can run code
when loaded, and a shared ``results/`` folder must never be code."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from mtaal.errors import MtaalError
from mtaal.io import atomic_path

log = logging.getLogger(__name__)

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


def as_keyed_vectors(kv: KeyedVectors | str | Path) -> KeyedVectors:
    """``kv`` itself, or the vectors file it names (:func:`load_keyed_vectors`)."""
    return kv if isinstance(kv, KeyedVectors) else load_keyed_vectors(kv)
