"""Atomic output and checksums: a reader of our outputs never sees a half-written file."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

# A temporary beside a target is named .<target>.<host>-<pid>.<random>.part (.old: a directory moved aside),
# so that the next writer of the target can tell a killed writer's leftovers from a live writer's: only
# those of this host whose process is gone are removed. Host: letters, digits and "_" only.
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"
_RANDOM = r"[a-z0-9_]+"  # tempfile's names


def _owner_prefix(target: Path) -> str:
    return f".{target.name}.{_HOST}-{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_parts(target: str | Path) -> list[Path]:
    """Remove the temporaries of ``target`` that a writer killed on this host left (its process gone);
    return them. A live writer's, or another host's, are kept."""
    target = Path(target)
    stale = re.compile(re.escape(f".{target.name}.") + rf"([A-Za-z0-9_]+)-([0-9]+)\.{_RANDOM}\.(?:part|old)")
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = stale.fullmatch(entry.name)
        if match is None or match[1] != _HOST or int(match[2]) == os.getpid() or _alive(int(match[2])):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("removed %d temporaries of %s left by writers that were killed: %s", len(removed), target,
                 ", ".join(p.name for p in removed))
    return removed


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success. Temporaries of
    ``target`` that killed writers left are removed first (:func:`remove_stale_parts`)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(target)
    handle, temporary = tempfile.mkstemp(prefix=_owner_prefix(target), suffix=".part", dir=target.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        # mkstemp creates 0600; outputs get the usual umask-derived mode instead.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary_path, 0o666 & ~umask)
        os.replace(temporary_path, target)
    finally:
        temporary_path.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a new empty directory beside ``target``; on success it takes ``target``'s place, on failure it
    is removed and ``target`` stays as it was.

    A previous ``target`` is renamed aside before the new one is renamed in and removed after, so a crash
    between the two renames leaves it as ``.<name>.<host>-<pid>.<random>.old`` beside the missing target,
    never half of each (POSIX has no atomic exchange of two directories). Temporaries of ``target`` that
    killed writers left are removed first (:func:`remove_stale_parts`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(target)
    temporary = Path(tempfile.mkdtemp(prefix=_owner_prefix(target), suffix=".part", dir=target.parent))
    aside = temporary.with_name(temporary.name.removesuffix(".part") + ".old")  # unique: mkdtemp's name
    try:
        yield temporary
        umask = os.umask(0)  # mkdtemp creates 0700, as mkstemp 0600 above
        os.umask(umask)
        os.chmod(temporary, 0o777 & ~umask)
        if target.exists() or target.is_symlink():
            os.replace(target, aside)
        try:
            os.replace(temporary, target)
        except BaseException:
            if aside.exists() or aside.is_symlink():
                os.replace(aside, target)
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)


@contextmanager
def staging_directory(target: str | Path) -> Iterator[Path]:
    """Yield a new empty directory beside ``target`` to build ``target`` in (e.g. a download whose library
    writes temporaries of its own), removed on exit whatever happened; the caller moves the finished file
    onto ``target`` itself (``os.replace``: same folder, so atomic). Named as the temporaries above, so one
    a killed writer left is removed by the next writer of ``target`` (:func:`remove_stale_parts`)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(target)
    temporary = Path(tempfile.mkdtemp(prefix=_owner_prefix(target), suffix=".part", dir=target.parent))
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def write_parquet(table: pa.Table, target: str | Path) -> None:
    with atomic_path(target) as temporary:
        pq.write_table(table, temporary)


def write_text(text: str, target: str | Path) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(data: object, target: str | Path) -> None:
    write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", target)


def png_and_svg(base: str | Path) -> list[Path]:
    """A figure's two files: ``base`` with ``.png`` and with ``.svg``."""
    return [Path(base).with_suffix(f".{suffix}") for suffix in ("png", "svg")]


def save_figure(fig, targets: Iterable[str | Path], *, dpi: int, metadata: dict | None = None) -> None:
    """Write a matplotlib figure to each target atomically, in the format its suffix names, then close it."""
    import matplotlib.pyplot as plt  # here, so that importing this module does not load matplotlib

    for target in targets:
        target = Path(target)
        form = target.suffix.lstrip(".")
        # The same figure gives the same file: no date stamp, SVG ids from a fixed salt.
        stamp = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(form, {})
        with atomic_path(target) as temporary, plt.rc_context({"svg.hashsalt": "mtaal"}):
            fig.savefig(temporary, format=form, dpi=dpi, metadata={**stamp, **(metadata or {})})
    plt.close(fig)


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
