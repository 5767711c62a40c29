"""The corpus registry (``config/corpora.yaml``): corpora, their files and digests, and datasets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    corpus: str
    paper: str
    entity_types: Mapping[str, str]
    split: Mapping[str, str]


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


def load_registry(path: str | Path = DEFAULT_REGISTRY) -> Registry:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    corpora = {}
    for name, entry in raw["corpora"].items():
        files = tuple(
            FileSpec(file_path, spec.get("sha256"), spec.get("url"))
            for file_path, spec in sorted((entry.pop("files", None) or {}).items())
        )
        corpora[name] = CorpusSpec(
            name=name,
            files=files,
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
