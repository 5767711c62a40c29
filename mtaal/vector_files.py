"""Word vectors from files: a user's word2vec / GloVe file in any of its common forms, and the papers'
pretrained vectors downloaded (or taken from the mirror), checksummed and cut to the corpus vocabulary. Each
writes one vectors file through :func:`mtaal.embeddings.save_keyed_vectors` (safetensors, never a pickle)."""

from __future__ import annotations

import bz2
import gzip
import logging
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from mtaal.corpora.download import DownloadPolicy, download
from mtaal.embeddings import CHUNK_ROWS, EmbeddingError, EmbeddingFormatError, save_keyed_vectors
from mtaal.errors import DownloadError
from mtaal.io import atomic_path, sha256_file, write_json

log = logging.getLogger(__name__)

USER_FORMS = (
    "a word2vec file: binary (header line 'COUNT DIM', then per word the word, one space and DIM float32 "
    "values) or text (header line 'COUNT DIM', then one line per word: the word and DIM numbers separated by "
    "single spaces; a GloVe-style text file without the header line is accepted too); '.gz' / '.bz2' "
    "compression must show in the file name"
)


# ----------------------------------------------------------------------------------------------------------
# 3. User-supplied word2vec binary / text vectors


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


# ----------------------------------------------------------------------------------------------------------
# The papers' pretrained vectors (config mtaal.pretrained_vectors, embedding_source: pretrained)


def fetch_pretrained_vectors(
    spec: Mapping,
    raw_dir: str | Path,
    out: str | Path,
    words: Iterable[str],
    *,
    mirror: str | Path | None = None,
    allow_unpinned: bool = False,
    policy: DownloadPolicy | None = None,
) -> dict:
    """Get one of the release's vector files and save the rows the corpora need as a vectors file.

    ``spec`` is a ``mtaal.pretrained_vectors`` entry (url, file, member, binary, no_header, sha256). The file
    is taken from ``raw_dir/<file>`` when already there (placed by hand, or an earlier fetch), else from
    ``mirror/embeddings/<file>``, else downloaded from ``url`` with ``policy`` (config ``downloads``). Its
    sha256 must match ``spec["sha256"]``; an unpinned digest (null: neither Google nor Stanford publishes
    one) is accepted only with ``allow_unpinned`` and is recorded in the returned record, to be pinned in the
    config afterwards. Only the lower-cased ``words`` are kept (the release looks words up lower-cased), so
    the vectors file stays small.
    """
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    target = raw_dir / spec["file"]
    source = "present"
    if not target.is_file():
        mirrored = Path(mirror) / "embeddings" / spec["file"] if mirror else None
        if mirrored is not None and mirrored.is_file():
            with atomic_path(target) as temporary:
                shutil.copyfile(mirrored, temporary)
            source = f"mirror {mirrored}"
        else:
            _download_vectors(spec["url"], target, spec.get("homepage"), policy or DownloadPolicy())
            source = f"download {spec['url']}"
    digest = sha256_file(target)
    if spec.get("sha256") and digest != spec["sha256"]:
        raise EmbeddingError(f"{target}: sha256 mismatch: expected {spec['sha256']}, got {digest}; delete "
                             "it and fetch again")
    if not spec.get("sha256") and not allow_unpinned:
        raise EmbeddingError(f"{target}: no sha256 is pinned for it (none is published); its digest is "
                             f"{digest}. Pin it under mtaal.pretrained_vectors, or set "
                             "allow_unpinned_downloads: true to accept and record it")
    vectors_path = target
    if spec.get("member"):
        vectors_path = raw_dir / spec["member"]
        if not vectors_path.is_file():
            with zipfile.ZipFile(target) as archive, archive.open(spec["member"]) as member, \
                    atomic_path(vectors_path) as temporary, open(temporary, "wb") as handle:
                shutil.copyfileobj(member, handle, 1 << 20)
    kv = read_user_vectors(vectors_path, binary=spec["binary"])
    wanted = {w.lower() for w in words}
    keep = [key for key in kv.index_to_key if key in wanted]
    small = KeyedVectors(kv.vector_size, dtype=np.float32)
    small.add_vectors(keep, kv.vectors[[kv.key_to_index[k] for k in keep]])
    save_keyed_vectors(small, out)
    record = {"url": spec["url"], "file": spec["file"], "member": spec.get("member"), "source": source,
              "sha256": digest, "pinned": bool(spec.get("sha256")), "bytes": target.stat().st_size,
              "vectors_in_file": len(kv), "dim": kv.vector_size, "kept": len(keep),
              "corpus_words": len(wanted)}
    log.info("%s: kept %d of %d vectors (%d corpus words), sha256 %s", target, len(keep), len(kv),
             len(wanted), digest)
    return record


def write_pretrained_vectors(
    spec: Mapping,
    raw_dir: str | Path,
    token_tables: Sequence[str | Path],
    out: str | Path,
    record: str | Path,
    *,
    mirror: str | Path | None = None,
    allow_unpinned: bool = False,
    policy: DownloadPolicy | None = None,
) -> dict:
    """:func:`fetch_pretrained_vectors` for the words of ``token_tables``; its record written to ``record``
    (JSON)."""
    words: set[str] = set()
    for path in token_tables:
        words.update(pd.read_parquet(path, columns=["token"])["token"].unique())
    fetched = fetch_pretrained_vectors(spec, raw_dir, out, words, mirror=mirror,
                                       allow_unpinned=allow_unpinned, policy=policy)
    write_json(fetched, record)
    return fetched


def _download_vectors(url: str, target: Path, homepage: str | None, policy: DownloadPolicy) -> None:
    """Download ``url`` to ``target`` atomically (:func:`mtaal.corpora.download.download`: retries, the
    per-read timeout and the whole file's deadline); an HTML answer (Google Drive's confirmation page for
    large files) is refused with the path to place the file at by hand."""
    log.info("downloading %s", url)
    manual = f"download it by hand{f' (from {homepage})' if homepage else ''} and place it at {target}"
    with atomic_path(target) as temporary:
        try:
            download(url, temporary, policy)
        except DownloadError as error:
            raise EmbeddingError(f"{error} What to do: {manual}") from None
        with open(temporary, "rb") as handle:
            start = handle.read(512).lstrip().lower()
        if start.startswith((b"<!doctype html", b"<html")):
            raise EmbeddingError(f"{url} answered with an HTML page, not the file: {manual}")
