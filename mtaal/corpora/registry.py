"""The corpus registry (``config/corpora.yaml``): corpora, their files and digests, and datasets.

A corpus's ``files`` is one YAML block of lines ``<path> <sha256 or -> <url or ->``: a single scalar to
the YAML parser, split here in Python, so the 5000-file registry parses in a few tens of milliseconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from mtaal.errors import ConfigError

DEFAULT_REGISTRY = Path(__file__).resolve().parents[2] / "config" / "corpora.yaml"


@dataclass(frozen=True)
class FileSpec:
    path: str
    sha256: str | None
    url: str | None


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    title: str
    homepage: str
    license: str
    format: str
    reader: str | None
    files: tuple[FileSpec, ...]
    reader_options: Mapping = field(default_factory=dict)
    patches: Mapping[str, str] = field(default_factory=dict)
    # Zip archives to extract before patching and reading (a patch targets the extracted file).
    unpack: tuple[str, ...] = ()
    citation: str = ""
    manual: str | None = None

    def where_to_get(self) -> str:
        text = f"official page: {self.homepage}"
        return f"{text}; {self.manual}" if self.manual else text

    def download_fingerprint(self) -> str:
        """What a download depends on: each file's path and digest (its URL only when no digest pins it)."""
        return _fingerprint([(f.path, f.sha256, None if f.sha256 else f.url) for f in self.files])

    def reading_fingerprint(self) -> str:
        """What reading the downloaded files depends on: reader, its options, patches and archives."""
        return _fingerprint([self.reader, self.reader_options, self.patches, self.unpack])


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    corpus: str
    paper: str
    entity_types: Mapping[str, str]
    split: Mapping[str, str]


    def fingerprint(self) -> str:
        return _fingerprint(asdict(self))

    @property
    def entity_type(self) -> str:
        """The one canonical type every label maps to (each HUNER task has one); a dataset of several
        types (``bc5cdr``) has none."""
        types = sorted(set(self.entity_types.values()))
        if len(types) != 1:
            raise ConfigError(f"dataset {self.name!r} has entity types {', '.join(types) or 'none'}, not one")
        return types[0]


def _fingerprint(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=list).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Registry:
    corpora: Mapping[str, CorpusSpec]
    datasets: Mapping[str, DatasetSpec]

    def corpus(self, name: str) -> CorpusSpec:
        if name not in self.corpora:
            raise ConfigError(f"unknown corpus {name!r}; the registry has: {', '.join(sorted(self.corpora))}")
        return self.corpora[name]

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            known = ", ".join(sorted(self.datasets))
            raise ConfigError(f"unknown dataset {name!r}; the registry has: {known}")
        return self.datasets[name]

    def entity_types(self) -> dict[str, str]:
        """dataset -> its entity type, for every one-type dataset (each HUNER task; not ``bc5cdr``)."""
        types = {name: set(spec.entity_types.values()) for name, spec in self.datasets.items()}
        return {name: one for name, kinds in types.items() if len(kinds) == 1 for one in kinds}


def load_registry(path: str | Path = DEFAULT_REGISTRY) -> Registry:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    corpora = {}
    for name, entry in raw["corpora"].items():
        corpora[name] = CorpusSpec(
            name=name,
            files=parse_files(entry.pop("files", None) or "", f"{path}: corpus {name}"),
            reader_options=entry.pop("reader_options", None) or {},
            patches=entry.pop("patches", None) or {},
            unpack=tuple(entry.pop("unpack", None) or ()),
            **entry,
        )
    datasets = {name: DatasetSpec(name=name, **entry) for name, entry in raw["datasets"].items()}
    for dataset in datasets.values():
        if dataset.corpus not in corpora:
            raise ConfigError(f"{path}: dataset {dataset.name!r} names unknown corpus {dataset.corpus!r}")
    return Registry(corpora, datasets)


@functools.cache
def default_registry() -> Registry:
    """The repository's registry (``config/corpora.yaml``), read once per process."""
    return load_registry()


def entity_type_of(dataset: str) -> str:
    """A one-type dataset's canonical entity type from the registry: ``cll_cellline`` -> ``cell_line``."""
    return default_registry().dataset(dataset).entity_type


def parse_files(block: str, where: str) -> tuple[FileSpec, ...]:
    """``<path> <sha256|-> <url|->`` per line, sorted by path."""
    if not isinstance(block, str):
        raise ConfigError(f"{where}: files must be a block of lines '<path> <sha256|-> <url|->'")
    files = []
    for number, line in enumerate(block.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or (parts[1] != "-" and len(parts[1]) != 64):
            raise ConfigError(f"{where}, files line {number}: expected '<path> <sha256|-> <url|->', "
                              f"found {line.strip()[:120]!r}")
        path, sha256, url = parts
        files.append(FileSpec(path, None if sha256 == "-" else sha256, None if url == "-" else url))
    return tuple(sorted(files, key=lambda spec: spec.path))


def format_files(files: Mapping[str, Mapping]) -> list[str]:
    """The lines of a ``files`` block for ``{path: {sha256, url}}`` (tools/make_registry.py)."""
    return [f"{path} {spec.get('sha256') or '-'} {spec.get('url') or '-'}"
            for path, spec in sorted(files.items())]
