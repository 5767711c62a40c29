"""One dataset from its verified raw corpus files to the tidy parquet tables."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from mtaal.corpora.readers import read_corpus
from mtaal.corpora.registry import CorpusSpec, Registry
from mtaal.corpora.tidy import (
    DOCUMENTS_SCHEMA,
    MENTIONS_SCHEMA,
    PROBLEMS_SCHEMA,
    SPLITS,
    TOKENS_SCHEMA,
    DatasetTables,
    assign_splits,
    build_tables,
)
from mtaal.errors import MissingInputError, MtaalError
from mtaal.io import write_json, write_parquet

log = logging.getLogger(__name__)
TABLES = ("documents", "mentions", "tokens", "problems")


def read_split_lists(splits_dir: Path, prefix: str) -> dict[str, list[str]]:
    """HUNER split lists ``<prefix>.train/.dev/.test``: one id per line (some files have CR endings)."""
    lists = {}
    for split in SPLITS:
        path = Path(splits_dir) / f"{prefix}.{split}"
        if not path.is_file():
            raise MissingInputError(f"HUNER split list {path} is missing: fetch the split lists with "
                                    "`mtaal download huner_splits` (workflow: rule download, huner_splits)")
        lines = path.read_text(encoding="utf-8").splitlines()
        lists[split] = [line.strip() for line in lines if line.strip()]
    return lists


@contextmanager
def prepared(
    root: Path, unpack: tuple[str, ...], patches: dict[str, str], patches_dir: Path | None
) -> Iterator[Path]:
    """``root`` itself, or a temporary copy with archives unpacked and patches applied (GNU patch)."""
    if patches_dir is None:
        patches = {}
    if not patches and not unpack:
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="mtaal-prepared-") as temporary:
        copy = Path(temporary) / "root"
        shutil.copytree(root, copy, symlinks=True)
        for archive in unpack:
            with zipfile.ZipFile(copy / archive) as bundle:
                bundle.extractall(copy / Path(archive).parent)
        for target, patch_name in patches.items():
            if not (Path(patches_dir) / patch_name).is_file():
                raise MissingInputError(
                    f"HUNER patch {Path(patches_dir) / patch_name} is missing: fetch the patches with `mtaal "
                    "download huner_patches` (workflow: rule download, huner_patches), or set "
                    "apply_huner_patches: false"
                )
            result = subprocess.run(
                ["patch", "--forward", "--batch", str(copy / target), str(Path(patches_dir) / patch_name)],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise MtaalError(
                    f"patch {patch_name} does not apply to {target}: {result.stdout}{result.stderr}"
                )
        yield copy


def load_download_status(corpus_dir: Path) -> dict:
    return json.loads((Path(corpus_dir) / "download.json").read_text(encoding="utf-8"))


def build_dataset(
    registry: Registry,
    name: str,
    corpus_dir: Path,
    splits_dir: Path | None,
    out_dir: Path,
    patches_dir: Path | None = None,
    max_documents_per_split: int | None = None,
) -> dict:
    """Read, split, validate and tokenize dataset ``name``; write its tables and ``summary.json``.

    ``corpus_dir`` is what the download step made: ``download.json`` plus ``files/``. A corpus that
    download marked missing yields empty tables and a summary that says why.
    """
    started = time.perf_counter()
    dataset = registry.dataset(name)
    corpus = registry.corpus(dataset.corpus)
    status = load_download_status(corpus_dir)
    summary = {"dataset": name, "corpus": corpus.name, "paper": dataset.paper}
    if status["status"] != "ok":
        tables = _empty_tables()
        summary.update(status="skipped", reason=status["reason"])
    else:
        tables = _read_and_tidy(
            corpus, dataset, Path(corpus_dir) / "files", splits_dir, patches_dir, max_documents_per_split
        )
        summary.update(status="built", reason="")
    out_dir = Path(out_dir)
    for table_name in TABLES:
        write_parquet(getattr(tables, table_name), out_dir / f"{table_name}.parquet")
    summary.update(
        documents=tables.documents.num_rows,
        mentions=tables.mentions.num_rows,
        tokens=tables.tokens.num_rows,
        problems=tables.problems.num_rows,
        seconds=round(time.perf_counter() - started, 3),
    )
    write_json(summary, out_dir / "summary.json")
    log.info("%s: %s", name, summary)
    return summary


def _read_and_tidy(corpus: CorpusSpec, dataset, root: Path, splits_dir, patches_dir, cap) -> DatasetTables:
    with prepared(root, corpus.unpack, dict(corpus.patches), patches_dir) as readable:
        documents = read_corpus(corpus.reader, readable, dict(corpus.reader_options))
    lists = None
    if dataset.split["scheme"] == "huner":
        lists = read_split_lists(splits_dir, dataset.split["list"])
    assigned, problems = assign_splits(documents, dataset.split["scheme"], lists)
    if cap is not None:
        assigned = _cap(assigned, cap)
    return build_tables(assigned, dataset.entity_types, problems)


def _cap(assigned, per_split: int):
    kept, counts = [], dict.fromkeys(SPLITS, 0)
    for document, split in assigned:
        if counts.get(split, 0) < per_split:
            counts[split] = counts.get(split, 0) + 1
            kept.append((document, split))
    return kept


def _empty_tables() -> DatasetTables:
    return DatasetTables(
        *(
            pa.Table.from_pylist([], schema)
            for schema in (DOCUMENTS_SCHEMA, MENTIONS_SCHEMA, TOKENS_SCHEMA, PROBLEMS_SCHEMA)
        )
    )
