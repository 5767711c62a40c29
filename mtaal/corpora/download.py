"""Fetch a corpus from a mirror directory or its pinned URLs, verifying every file's sha256.

All-or-nothing: files are staged in ``<dest>.partial`` and the directory is renamed into place only when
every file verified, so an interrupted or failed fetch leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import urllib.request
from pathlib import Path

from mtaal.corpora.registry import CorpusSpec, FileSpec
from mtaal.errors import ChecksumError, MissingCorpusError
from mtaal.io import sha256_file, write_json

log = logging.getLogger(__name__)
MIRROR_ENV = "MTAAL_CORPUS_MIRROR"


def resolve_mirror(configured: str | None) -> Path | None:
    """The configured mirror, else ``$MTAAL_CORPUS_MIRROR``, else none (download from URLs)."""
    chosen = configured or os.environ.get(MIRROR_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


def fetch_corpus(
    corpus: CorpusSpec, dest: Path, mirror: Path | None = None, allow_unpinned: bool = False
) -> list[dict]:
    """Place every registry file of ``corpus`` under ``dest``; return one record per file.

    Raises MissingCorpusError when a file is in neither the mirror nor reachable at its URL, and
    ChecksumError when a file's digest differs from the registry's.
    """
    dest = Path(dest)
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    if not corpus.files:
        raise MissingCorpusError(
            f"{corpus.name}: the registry lists no files. Get it from the {corpus.where_to_get()}"
        )
    records = []
    try:
        for spec in corpus.files:
            target = staging / spec.path
            target.parent.mkdir(parents=True, exist_ok=True)
            source = _fetch_file(corpus, spec, target, mirror)
            actual = sha256_file(target)
            if spec.sha256 is None and not allow_unpinned:
                raise ChecksumError(
                    f"{corpus.name}/{spec.path}: the registry pins no sha256 for this file, so it cannot be "
                    f"verified (fetched from {source}, sha256 {actual}). "
                    "Add the digest to config/corpora.yaml "
                    "or set allow_unpinned_downloads: true."
                )
            if spec.sha256 is not None and actual != spec.sha256:
                raise ChecksumError(
                    f"{corpus.name}/{spec.path}: sha256 mismatch (from {source}): expected {spec.sha256}, "
                    f"got {actual}. Get an intact copy from the {corpus.where_to_get()}"
                )
            records.append({"path": spec.path, "sha256": actual, "source": source})
        shutil.rmtree(dest, ignore_errors=True)
        staging.mkdir(parents=True, exist_ok=True)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return records


def missing_files(corpus: CorpusSpec, mirror: Path | None) -> list[FileSpec]:
    """Files that neither the mirror holds nor any URL offers (these cannot be fetched at all)."""
    return [
        spec
        for spec in corpus.files
        if spec.url is None and (mirror is None or not (mirror / corpus.name / spec.path).is_file())
    ]


def _fetch_file(corpus: CorpusSpec, spec: FileSpec, target: Path, mirror: Path | None) -> str:
    tried = []
    if mirror is not None:
        mirrored = mirror / corpus.name / spec.path
        if mirrored.is_file():
            shutil.copyfile(mirrored, target)
            return str(mirrored)
        tried.append(f"not in mirror {mirror}")
    if spec.url:
        try:
            _download(spec.url, target)
            return spec.url
        except OSError as error:
            tried.append(f"download from {spec.url} failed: {error}")
    else:
        tried.append("no download URL (manual download)")
    raise MissingCorpusError(
        f"{corpus.name}/{spec.path}: cannot fetch ({'; '.join(tried)}). "
        f"Get it from the {corpus.where_to_get()}"
    )


def _download(url: str, target: Path, timeout: float = 60.0) -> None:
    log.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as handle:
        shutil.copyfileobj(response, handle, 1 << 20)


def download_corpus(
    corpus: CorpusSpec,
    corpus_dir: Path,
    mirror: Path | None,
    on_missing: str = "skip",
    allow_unpinned: bool = False,
) -> dict:
    """Fetch ``corpus`` into ``corpus_dir/files`` and record the outcome in ``corpus_dir/download.json``.

    A corpus that cannot be fetched fails (``on_missing: fail``) or is recorded as missing with the
    reason (``skip``). A checksum mismatch always fails: a corrupt file is never skipped quietly.
    """
    corpus_dir = Path(corpus_dir)
    try:
        records = fetch_corpus(corpus, corpus_dir / "files", mirror, allow_unpinned)
        status = {"corpus": corpus.name, "status": "ok", "reason": "", "files": records}
    except MissingCorpusError as error:
        if on_missing == "fail":
            raise
        log.warning("skipping corpus %s: %s", corpus.name, error)
        (corpus_dir / "files").mkdir(parents=True, exist_ok=True)
        status = {"corpus": corpus.name, "status": "missing", "reason": str(error), "files": []}
    write_json(status, corpus_dir / "download.json")
    return status
