"""The papers' pretrained vectors (config ``mtaal.pretrained_vectors``, ``embedding_source: pretrained``):
GoogleNews word2vec and GloVe 300d, taken from a file already there, the mirror or their URL
(:func:`mtaal.corpora.download.download`: pooch, the pinned digest, retries and the whole-file deadline),
cut to the corpus vocabulary and saved as a vectors file."""

from __future__ import annotations

import logging
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from mtaal.corpora.download import DownloadPolicy, download
from mtaal.embeddings.vectors import EmbeddingError, save_keyed_vectors
from mtaal.embeddings.word2vec_format import read_user_vectors
from mtaal.errors import ChecksumError, DownloadError
from mtaal.io import atomic_path, sha256_file, write_json

log = logging.getLogger(__name__)


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
    source, digest = _get_file(spec, target, mirror, policy or DownloadPolicy())
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


def _get_file(
    spec: Mapping, target: Path, mirror: str | Path | None, policy: DownloadPolicy
) -> tuple[str, str]:
    """(source, sha256) of the release file at ``target``: there already, copied from the mirror, or
    downloaded; a pinned digest is checked before a copy or a download takes ``target``'s place."""
    pinned = spec.get("sha256") or None
    if target.is_file():
        digest = sha256_file(target)
        if pinned and digest != pinned:
            raise EmbeddingError(f"{target}: sha256 mismatch: expected {pinned}, got {digest}; delete it and "
                                 "fetch again")
        return "present", digest
    mirrored = Path(mirror) / "embeddings" / spec["file"] if mirror else None
    if mirrored is not None and mirrored.is_file():
        with atomic_path(target) as temporary:
            shutil.copyfile(mirrored, temporary)
            digest = sha256_file(temporary)
            if pinned and digest != pinned:
                raise EmbeddingError(f"{mirrored}: sha256 mismatch: expected {pinned}, got {digest}; replace "
                                     "the mirror's copy with an intact one")
        return f"mirror {mirrored}", digest
    url, homepage = spec["url"], spec.get("homepage")
    manual = f"download it by hand{f' (from {homepage})' if homepage else ''} and place it at {target}"
    log.info("downloading %s", url)
    try:
        # refuse_html: Google Drive answers a large file with a confirmation page
        digest = download(url, target, policy, sha256=pinned, refuse_html=True)
    except ChecksumError as error:
        raise EmbeddingError(f"{target.name}: {error} What to do: {manual}; or, if the release itself "
                             "changed, pin its new digest under mtaal.pretrained_vectors") from None
    except DownloadError as error:
        raise EmbeddingError(f"{error} What to do: {manual}") from None
    return f"download {url}", digest
