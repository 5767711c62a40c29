"""Fetch a corpus from a mirror directory or its pinned URLs, verifying every file's sha256.

All-or-nothing: files are staged in a new directory beside ``<dest>`` (:func:`mtaal.io.atomic_directory`)
that takes ``<dest>``'s place only when every file verified, so an interrupted or failed fetch leaves nothing
where a rule reads.

Two kinds of failure, kept apart on purpose:

- *missing*: the registry has no automatic source for a file (no URL: registration or a manual step; or
  no pinned digest while unpinned downloads are not allowed) and no mirror holds it. Decided before any
  network access; ``on_missing_corpus: skip`` may skip such a corpus.
- *failed*: a source exists but fetching it failed (network, HTTP error, timeout, a server too slow for the
  file's deadline, truncated body, wrong digest). Always an error, never recorded as missing, so a later run
  (or Snakemake's retries) tries again.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from tqdm import tqdm

from mtaal.corpora.registry import CorpusSpec, FileSpec
from mtaal.errors import ChecksumError, DownloadError, MissingCorpusError
from mtaal.io import atomic_directory, sha256_file, write_json

log = logging.getLogger(__name__)
MIRROR_ENV = "MTAAL_CORPUS_MIRROR"
CHUNK = 1 << 16
# Answers worth another attempt; any other 4xx (404, 403, ...) will not change by retrying.
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}

# progress(bytes_so_far, total_bytes_or_None) after every chunk of one file.
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class DownloadPolicy:
    """Bounded retries with exponential back-off. ``timeout_s`` bounds connecting and each wait for bytes;
    ``min_bytes_per_s`` the whole file: N bytes are due within ``timeout_s + N / min_bytes_per_s`` seconds,
    and every part of the body keeps that pace (a server that drips bytes fails then, not at the end)."""

    timeout_s: float = 60.0
    attempts: int = 4
    backoff_s: float = 2.0  # wait before the 2nd attempt, doubled before each later one
    min_bytes_per_s: float = 10_000.0

    @classmethod
    def from_config(cls, settings: dict | None) -> DownloadPolicy:
        return cls(**(settings or {}))


def resolve_mirror(configured: str | None) -> Path | None:
    """The configured mirror, else ``$MTAAL_CORPUS_MIRROR``, else none (download from URLs)."""
    chosen = configured or os.environ.get(MIRROR_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


def unavailable_files(
    corpus: CorpusSpec, mirror: Path | None, allow_unpinned: bool = False
) -> list[tuple[FileSpec, str]]:
    """(file, why) for each file with no automatic source: unverifiable, or neither mirrored nor at a URL."""
    found = []
    for spec in corpus.files:
        if spec.sha256 is None and not allow_unpinned:
            found.append((spec, "the registry pins no sha256 for it, so no copy can be verified (add the "
                                "digest to config/corpora.yaml, or set allow_unpinned_downloads: true)"))
            continue
        if mirror is not None and (mirror / corpus.name / spec.path).is_file():
            continue
        if spec.url is None:
            where = f"not in mirror {mirror}" if mirror is not None else "no mirror configured"
            found.append((spec, f"{where} and no download URL (manual download or registration)"))
    return found


def fetch_corpus(
    corpus: CorpusSpec,
    dest: Path,
    mirror: Path | None = None,
    allow_unpinned: bool = False,
    policy: DownloadPolicy = DownloadPolicy(),
    progress: Progress | None = None,
) -> list[dict]:
    """Place every registry file of ``corpus`` under ``dest``; return one record per file.

    Raises MissingCorpusError when a file has no automatic source (checked before fetching anything),
    DownloadError when a download fails after ``policy.attempts`` tries, and ChecksumError when a file's
    digest differs from the registry's.
    """
    dest = Path(dest)
    if not corpus.files:
        raise MissingCorpusError(
            f"{corpus.name}: the registry lists no files. Get it from the {corpus.where_to_get()}"
        )
    unavailable = unavailable_files(corpus, mirror, allow_unpinned)
    if unavailable:
        listed = "; ".join(f"{corpus.name}/{spec.path}: {why}" for spec, why in unavailable[:5])
        more = f" (and {len(unavailable) - 5} more)" if len(unavailable) > 5 else ""
        raise MissingCorpusError(
            f"{corpus.name}: no automatic source for {len(unavailable)} file(s): {listed}{more}. "
            f"Get it from the {corpus.where_to_get()}, then place the files as "
            f"<mirror>/{corpus.name}/<file> and set corpus_mirror or ${MIRROR_ENV}"
        )
    records = []
    with atomic_directory(dest) as staging, requests.Session() as session:
        for spec in corpus.files:
            target = staging / spec.path
            target.parent.mkdir(parents=True, exist_ok=True)
            source = _fetch_file(corpus, spec, target, mirror, session, policy, progress)
            actual = sha256_file(target)
            if spec.sha256 is not None and actual != spec.sha256:
                raise ChecksumError(
                    f"{corpus.name}/{spec.path}: sha256 mismatch (from {source}): expected "
                    f"{spec.sha256}, got {actual}. Get an intact copy from the {corpus.where_to_get()}"
                )
            if spec.sha256 is None:
                log.warning("%s/%s: no pinned sha256; accepted %s (allow_unpinned_downloads)",
                            corpus.name, spec.path, actual)
            records.append({"path": spec.path, "sha256": actual, "source": source})
    return records


def _fetch_file(corpus, spec, target, mirror, session, policy, progress) -> str:
    if mirror is not None:
        mirrored = mirror / corpus.name / spec.path
        if mirrored.is_file():
            shutil.copyfile(mirrored, target)
            return str(mirrored)
    try:
        download(spec.url, target, policy, session, progress or _progress_bar(f"{corpus.name}/{spec.path}"))
    except DownloadError as error:
        where = mirror or "<mirror>"
        raise DownloadError(
            f"{corpus.name}/{spec.path}: {error} What to do: check the network (or proxy) and run the "
            f"download again (`mtaal download {corpus.name}` or snakemake); or place the file at "
            f"{where}/{corpus.name}/{spec.path} and set corpus_mirror or ${MIRROR_ENV} "
            f"({corpus.where_to_get()})."
        ) from None
    return spec.url


def download(
    url: str,
    target: Path,
    policy: DownloadPolicy = DownloadPolicy(),
    session: requests.Session | None = None,
    progress: Progress | None = None,
) -> None:
    """Download ``url`` to ``target`` with bounded retries and back-off; raise DownloadError if all fail.

    A body shorter than its Content-Length counts as a failed attempt. ``target`` is removed on failure.
    """
    if session is None:
        with requests.Session() as own:
            return download(url, target, policy, own, progress)
    last = ""
    for attempt in range(1, policy.attempts + 1):
        if attempt > 1:
            time.sleep(policy.backoff_s * 2 ** (attempt - 2))
        started = time.monotonic()
        try:
            size = _attempt(url, target, policy, session, progress)
            log.info("downloaded %s (%d bytes, %.1f s)", url, size, time.monotonic() - started)
            return
        except _Permanent as error:
            target.unlink(missing_ok=True)
            raise DownloadError(f"downloading {url} failed: {error}.") from None
        except (requests.RequestException, OSError, _Transient) as error:
            target.unlink(missing_ok=True)
            last = _describe(error, url, policy.timeout_s)
            log.warning("attempt %d/%d of %s failed: %s", attempt, policy.attempts, url, last)
    raise DownloadError(f"downloading {url} failed after {policy.attempts} attempt(s); last error: {last}.")


def _describe(error: Exception, url: str, timeout: float) -> str:
    """One readable cause instead of urllib3's nested retry message."""
    host = urlsplit(url).netloc
    text = str(error)
    if isinstance(error, requests.Timeout):
        return f"timed out: no answer from {host} within {timeout:g} s"
    if "NameResolutionError" in text or "Name or service not known" in text:
        return f"ConnectionError: cannot resolve host {host} (no network or DNS?)"
    if "Connection refused" in text:
        return f"ConnectionError: connection refused by {host}"
    return f"{type(error).__name__}: {text[:300]}"


class _Transient(Exception):
    pass


class _Permanent(Exception):
    pass


def _attempt(url: str, target: Path, policy: DownloadPolicy, session, progress: Progress | None) -> int:
    # identity: the exact release bytes, and a Content-Length that counts them (truncation check)
    headers = {"Accept-Encoding": "identity"}
    timeout = policy.timeout_s
    started = time.monotonic()
    with session.get(url, stream=True, timeout=(timeout, timeout), headers=headers) as response:
        if response.status_code != 200:
            kind = _Transient if response.status_code in RETRY_STATUS else _Permanent
            raise kind(f"the server answered {response.status_code} {response.reason}")
        declared = response.headers.get("Content-Length")
        total = int(declared) if declared and not response.headers.get("Content-Encoding") else None
        done = 0
        with open(target, "wb") as handle:
            while True:
                try:
                    # read1: what has arrived, at most CHUNK (iter_content waits for a full chunk, which
                    # at 1 byte/s is hours), so the pace is checked at least every timeout_s
                    chunk = response.raw.read1(CHUNK, decode_content=True)
                except urllib3.exceptions.ReadTimeoutError as error:
                    raise requests.exceptions.ReadTimeout(str(error)) from None
                except urllib3.exceptions.HTTPError as error:  # IncompleteRead, reset, ...
                    raise _Transient(f"truncated body: the connection broke after {done} of {total} bytes "
                                     f"({error})") from None
                if not chunk:
                    break
                handle.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
                _keep_pace(done, total, time.monotonic() - started, policy)
    if total is not None and done != total:
        raise _Transient(f"truncated body: {done} of {total} bytes")
    return done


def _keep_pace(done: int, total: int | None, elapsed: float, policy: DownloadPolicy) -> None:
    """Fail once the body falls behind ``timeout_s + bytes / min_bytes_per_s`` (the whole file's deadline,
    applied to the part received so far)."""
    if elapsed <= policy.timeout_s + done / policy.min_bytes_per_s:
        return
    size, due = "?", ""
    if total is not None:
        deadline = policy.timeout_s + total / policy.min_bytes_per_s
        size, due = total, f"; the whole file was due within {deadline:.0f} s"
    raise _Transient(f"too slow: {done} of {size} bytes after {elapsed:.0f} s, under the floor of "
                     f"downloads.min_bytes_per_s = {policy.min_bytes_per_s:g}{due}")


def _progress_bar(name: str) -> Progress:
    """A tqdm bar on stderr, shown on a terminal only (logs get one line per file instead)."""
    bar = None

    def update(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=name, unit="B", unit_scale=True, leave=False, file=sys.stderr,
                       disable=None)
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    return update


def download_corpus(
    corpus: CorpusSpec,
    corpus_dir: Path,
    mirror: Path | None,
    on_missing: str = "skip",
    allow_unpinned: bool = False,
    policy: DownloadPolicy = DownloadPolicy(),
    progress: Progress | None = None,
) -> dict:
    """Fetch ``corpus`` into ``corpus_dir/files`` and record the outcome in ``corpus_dir/download.json``.

    A corpus with no automatic source fails (``on_missing: fail``) or is recorded as missing with the
    reason (``skip``). A failed download or a checksum mismatch always fails and records nothing, so the
    next run tries again.
    """
    corpus_dir = Path(corpus_dir)
    try:
        records = fetch_corpus(corpus, corpus_dir / "files", mirror, allow_unpinned, policy, progress)
        status = {"corpus": corpus.name, "status": "ok", "reason": "", "files": records}
        status["mirror"] = str(mirror) if mirror is not None else None
    except MissingCorpusError as error:
        if on_missing == "fail":
            raise
        log.warning("skipping corpus %s: %s", corpus.name, error)
        shutil.rmtree(corpus_dir / "files", ignore_errors=True)
        (corpus_dir / "files").mkdir(parents=True, exist_ok=True)
        status = {"corpus": corpus.name, "status": "missing", "reason": str(error), "files": [],
                  "mirror": str(mirror) if mirror is not None else None}
    write_json(status, corpus_dir / "download.json")
    return status
