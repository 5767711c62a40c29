"""Errors that name what went wrong and where, so a user can fix their input."""

from __future__ import annotations

from pathlib import Path


class MtaalError(Exception):
    """Base class for errors the workflow reports to users."""


class CorpusFormatError(MtaalError):
    """A corpus file does not have the expected form."""

    def __init__(self, path: str | Path, line: int | None, expected: str, found: str = ""):
        self.path = Path(path)
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        message = f"{where}: expected {expected}"
        if found:
            message += f", found {found[:120]!r}"
        super().__init__(message)


class ChecksumError(MtaalError):
    """A downloaded or mirrored file does not have its registered sha256."""


class MissingCorpusError(MtaalError):
    """A corpus file has no automatic source: not in the mirror, and no (verifiable) download URL."""


class DownloadError(MtaalError):
    """A download from a registry URL failed (network, HTTP error, timeout, truncated body)."""


class MissingInputError(MtaalError):
    """A step's input file does not exist yet; the message names the command or rule that makes it."""


class ConfigError(MtaalError):
    """A configuration value is invalid."""
