"""Fetch a corpus from a mirror directory or its pinned URLs, verifying every file's sha256; and the one
download function the pretrained vector files use too (:func:`download`).

Downloads go through pooch (:func:`pooch.retrieve`): each attempt writes a temporary, checks it against the
registry's pinned digest (pooch's ``known_hash``, ``sha256:<hex>``) and only then moves it to its name. The
registry's ``<path> <sha256> <url>`` lines are pooch's registry format. The bytes come through
:class:`PacedDownloader`, a pooch downloader (any callable ``(url, output_file, pooch)``) that adds what
pooch's ``HTTPDownloader`` lacks: a whole-file deadline (it reads whole chunks, which at a byte a second
takes hours), a truncated body as an error, 404 told apart from 500, an HTML page refused where a data file
was due. Retries with exponential back-off are ours (config ``downloads``): pooch's ``retry_if_failed``
waits a fixed 1, 2, ... 10 s and would retry a 404 and a wrong digest.

All-or-nothing: a corpus's files are staged in a new directory beside ``<dest>``
(:func:`mtaal.io.atomic_directory`) that takes ``<dest>``'s place only when every file verified, and a single
file is built in a folder beside its target (:func:`mtaal.io.staging_directory`) and renamed onto it, so an
interrupted or failed fetch leaves nothing where a rule reads (and a killed one's leftovers are removed by
the next).

Two kinds of failure, kept apart on purpose:

- *missing*: the registry has no automatic source for a file (no URL: registration or a manual step; or
  no pinned digest while unpinned downloads are not allowed) and no mirror holds it. Decided before any
  network access; ``on_missing_corpus: skip`` may skip such a corpus.
- *failed*: a source exists but fetching it failed (network, HTTP error, timeout, a server too slow for the
  file's deadline, truncated body, wrong digest). Always an error, never recorded as missing, so a later run
  (or Snakemake's retries) tries again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pooch
import requests
import urllib3
from tqdm import tqdm

from mtaal.corpora.registry import CorpusSpec, FileSpec
from mtaal.errors import ChecksumError, DownloadError, MissingCorpusError
from mtaal.io import atomic_directory, sha256_file, staging_directory, write_json

log = logging.getLogger(__name__)
# pooch logs to stderr on a logger of its own, in the words of its own API ("use this value as the
# 'known_hash' argument of 'pooch.retrieve'"); ours say what happened in the config's terms.
pooch.get_logger().setLevel(logging.WARNING)

MIRROR_ENV = "MTAAL_CORPUS_MIRROR"
CHUNK = 1 << 16
# Answers worth another attempt; any other 4xx (404, 403, ...) will not change by retrying.
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
HTML_STARTS = (b"<!doctype html", b"<html")

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
    progressbar: bool = True,
) -> list[dict]:
    """Place every registry file of ``corpus`` under ``dest``; return one record per file.

    Each file is copied from ``mirror/<corpus>/<path>`` when there (no network), else downloaded
    (:func:`download`). ``progress`` is called after every chunk of a download; without it, a bar is shown
    on a terminal when ``progressbar`` (rule jobs pass False). Raises MissingCorpusError when a file has no
    automatic source (checked before fetching anything), DownloadError when a download fails after
    ``policy.attempts`` tries, and ChecksumError when a file's digest differs from the registry's.
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
    with atomic_directory(dest) as staging:
        for spec in corpus.files:
            name = f"{corpus.name}/{spec.path}"
            shown = progress or (_progress_bar(name) if progressbar else None)
            source, actual = _fetch_file(corpus, spec, staging / spec.path, mirror, policy, shown)
            if spec.sha256 is None:
                log.warning("%s: no pinned sha256; accepted %s (allow_unpinned_downloads)", name, actual)
            records.append({"path": spec.path, "sha256": actual, "source": source})
    return records


def _fetch_file(corpus: CorpusSpec, spec: FileSpec, target: Path, mirror: Path | None, policy: DownloadPolicy,
                progress: Progress | None) -> tuple[str, str]:
    """(source, sha256) of one registry file placed at ``target``: the mirror's copy, else the URL's."""
    name = f"{corpus.name}/{spec.path}"
    intact = f"Get an intact copy from the {corpus.where_to_get()}"
    if mirror is not None:
        mirrored = mirror / corpus.name / spec.path
        if mirrored.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mirrored, target)
            actual = sha256_file(target)
            if spec.sha256 is not None and actual != spec.sha256:
                raise ChecksumError(f"{name}: sha256 mismatch (from {mirrored}): expected {spec.sha256}, "
                                    f"got {actual}. {intact}")
            return str(mirrored), actual
    try:
        actual = download(spec.url, target, policy, sha256=spec.sha256, progress=progress)
    except ChecksumError as error:
        raise ChecksumError(f"{name}: {error} {intact}") from None
    except DownloadError as error:
        place = (f"place the file at {mirror or '<mirror>'}/{name} and set corpus_mirror or ${MIRROR_ENV} "
                 f"({corpus.where_to_get()})")
        if isinstance(error, DownloadRefused):
            todo = f"{place}, or correct its URL in the registry ({corpus.name} in config/corpora.yaml)"
        else:
            todo = (f"check the network (or proxy) and run the download again "
                    f"(`mtaal download {corpus.name}` or snakemake); or {place}")
        raise type(error)(f"{name}: {error} What to do: {todo}.") from None
    return spec.url, actual


def download(
    url: str,
    target: str | Path,
    policy: DownloadPolicy = DownloadPolicy(),
    *,
    sha256: str | None = None,
    progress: Progress | None = None,
    refuse_html: bool = False,
) -> str:
    """Download ``url`` to ``target`` through pooch with bounded retries and back-off; return its sha256.

    ``sha256``: the pinned digest (pooch's ``known_hash``); None accepts any body and returns its digest.
    ``target`` appears only complete and verified (built beside it, then renamed); a failure leaves nothing.
    Raises DownloadError when every attempt failed, DownloadRefused at once for an answer retrying will not
    change (404, 403, ...; with ``refuse_html`` an HTML page), and ChecksumError when the body is not the
    pinned file.
    """
    target = Path(target)
    known_hash = f"sha256:{sha256}" if sha256 else None
    last = ""
    with requests.Session() as session, staging_directory(target) as staging:
        fetch = PacedDownloader(policy, session, progress, refuse_html)
        for attempt in range(1, policy.attempts + 1):
            if attempt > 1:
                time.sleep(policy.backoff_s * 2 ** (attempt - 2))
            started = time.monotonic()
            try:
                fetched = pooch.retrieve(url, known_hash, fname=target.name, path=staging, downloader=fetch,
                                         progressbar=False)
            except _Permanent as error:
                raise DownloadRefused(f"downloading {url} failed: {error}.") from None
            except (requests.RequestException, OSError, _Transient) as error:
                last = _describe(error, url, policy.timeout_s)
                log.warning("attempt %d/%d of %s failed: %s", attempt, policy.attempts, url, last)
                continue
            except ValueError:  # pooch: the body's digest is not known_hash
                if fetch.sha256 is None or fetch.sha256 == sha256:
                    raise
                raise ChecksumError(f"sha256 mismatch (from {url}): expected {sha256}, got {fetch.sha256}."
                                    ) from None
            os.replace(fetched, target)
            log.info("downloaded %s (%d bytes, %.1f s, sha256 %s)", url, fetch.size,
                     time.monotonic() - started, fetch.sha256)
            return fetch.sha256
    raise DownloadError(f"downloading {url} failed after {policy.attempts} attempt(s); last error: {last}.")


def _describe(error: Exception, url: str, timeout: float) -> str:
    """One readable cause instead of urllib3's nested retry message."""
    host = urlsplit(url).netloc
    text = str(error)
    if isinstance(error, _Transient):
        return text
    if isinstance(error, requests.Timeout):
        return f"timed out: no answer from {host} within {timeout:g} s"
    if "NameResolutionError" in text or "Name or service not known" in text:
        return f"ConnectionError: cannot resolve host {host} (no network or DNS?)"
    if "Connection refused" in text:
        return f"ConnectionError: connection refused by {host}"
    return f"{type(error).__name__}: {text[:300]}"


class DownloadRefused(DownloadError):
    """The server's answer will not change by retrying (404, 403, an HTML page, a malformed URL)."""


class _Transient(Exception):
    """An attempt failed in a way another attempt may not (5xx, 429, truncated, too slow)."""


class _Permanent(Exception):
    """An answer another attempt will not change (404, 403, a malformed URL, an HTML page)."""


class PacedDownloader:
    """One attempt at one file, as a pooch downloader: ``downloader(url, output_file, pooch)``.

    requests, streaming; ``policy.timeout_s`` bounds connecting and each wait for bytes, and the body must
    keep the pace of ``policy.min_bytes_per_s`` (:func:`_keep_pace`). Reads with ``read1`` (what has arrived,
    at most CHUNK), so the pace is checked at least every ``timeout_s``: ``iter_content``, as pooch's
    ``HTTPDownloader`` uses it, waits for a full chunk. Asks for the identity encoding: the exact release
    bytes, and a Content-Length that counts them (a shorter body is an error). After a complete body,
    ``sha256`` and ``size`` describe it (pooch checks the digest; ours names the one it got).
    """

    def __init__(self, policy: DownloadPolicy, session: requests.Session, progress: Progress | None = None,
                 refuse_html: bool = False):
        self.policy = policy
        self.session = session
        self.progress = progress
        self.refuse_html = refuse_html
        self.sha256: str | None = None
        self.size = 0

    def __call__(self, url: str, output_file, pooch_instance=None) -> None:
        self.sha256, self.size = None, 0
        policy, timeout = self.policy, self.policy.timeout_s
        started = time.monotonic()
        try:
            response = self.session.get(url, stream=True, timeout=(timeout, timeout),
                                        headers={"Accept-Encoding": "identity"})
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as error:
            raise _Permanent(f"not a URL that can be downloaded ({error})") from None
        digest = hashlib.sha256()
        head = b""
        with response, _writable(output_file) as handle:
            if response.status_code != 200:
                kind = _Transient if response.status_code in RETRY_STATUS else _Permanent
                raise kind(f"the server answered {response.status_code} {response.reason}")
            declared = response.headers.get("Content-Length")
            total = int(declared) if declared and not response.headers.get("Content-Encoding") else None
            done = 0
            while True:
                try:
                    chunk = response.raw.read1(CHUNK, decode_content=True)
                except urllib3.exceptions.ReadTimeoutError as error:
                    raise requests.exceptions.ReadTimeout(str(error)) from None
                except urllib3.exceptions.HTTPError as error:  # IncompleteRead, reset, ...
                    raise _Transient(f"truncated body: the connection broke after {done} of {total} bytes "
                                     f"({error})") from None
                if not chunk:
                    break
                handle.write(chunk)
                digest.update(chunk)
                if len(head) < 512:
                    head += chunk[:512 - len(head)]
                done += len(chunk)
                if self.progress is not None:
                    self.progress(done, total)
                _keep_pace(done, total, time.monotonic() - started, policy)
        if total is not None and done != total:
            raise _Transient(f"truncated body: {done} of {total} bytes")
        if self.refuse_html and head.lstrip().lower().startswith(HTML_STARTS):
            raise _Permanent("the server answered with an HTML page, not the file (a sign-in, consent or "
                             "virus-scan page?)")
        self.sha256, self.size = digest.hexdigest(), done


def _writable(output_file):
    """pooch passes a path (str); its API allows an open binary file too."""
    if hasattr(output_file, "write"):
        return contextlib.nullcontext(output_file)
    return open(output_file, "wb")


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
    progressbar: bool = True,
) -> dict:
    """Fetch ``corpus`` into ``corpus_dir/files`` and record the outcome in ``corpus_dir/download.json``.

    A corpus with no automatic source fails (``on_missing: fail``) or is recorded as missing with the
    reason (``skip``). A failed download or a checksum mismatch always fails and records nothing, so the
    next run tries again.
    """
    corpus_dir = Path(corpus_dir)
    try:
        records = fetch_corpus(corpus, corpus_dir / "files", mirror, allow_unpinned, policy, progress,
                               progressbar)
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
