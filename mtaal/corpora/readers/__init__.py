"""Corpus readers: one module per source format, each exposing ``READERS`` (name -> function).

A reader is called as ``reader(root, **options)``: ``root`` is the directory that holds the
corpus files at the paths the registry (``config/corpora.yaml``) lists, ``options`` come from
the registry entry's ``reader_options``. It returns a list of :class:`~mtaal.corpora.model.Document`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from mtaal.corpora.model import Document

Reader = Callable[..., list[Document]]

_MODULES = ("pubtator", "bioc", "biocreative", "iob", "standoff", "xml_corpora")


def available_readers() -> dict[str, Reader]:
    readers: dict[str, Reader] = {}
    for name in _MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        readers.update(module.READERS)
    return readers


def read_corpus(reader: str, root: Path, options: dict | None = None) -> list[Document]:
    readers = available_readers()
    if reader not in readers:
        raise KeyError(f"unknown reader {reader!r}; known: {', '.join(sorted(readers))}")
    return readers[reader](Path(root), **(options or {}))
