"""Vocabulary coverage: out-of-vocabulary counts of every embedding on every dataset split."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from gensim.models import KeyedVectors

from mtaal.embeddings.vectors import as_keyed_vectors
from mtaal.io import write_parquet, write_text

log = logging.getLogger(__name__)

SPLIT_ORDER = ("train", "dev", "test")
ALL_SPLITS = "all"

COVERAGE_COLUMNS = [
    "embedding", "dataset", "split", "tokens", "types", "oov_tokens", "oov_types", "oov_token_rate",
    "oov_type_rate", "oov_tokens_fallback", "oov_types_fallback", "oov_token_rate_fallback",
    "oov_type_rate_fallback",
]


def _split_order(splits: Iterable[str]) -> list[str]:
    present = set(splits)
    return [s for s in SPLIT_ORDER if s in present] + sorted(present - set(SPLIT_ORDER))


def _coverage_row(codes: np.ndarray, hit: np.ndarray, hit_fallback: np.ndarray) -> dict[str, float]:
    types = np.unique(codes)
    tokens = int(codes.size)
    row: dict[str, float] = {"tokens": tokens, "types": int(types.size)}
    for suffix, found in (("", hit), ("_fallback", hit_fallback)):
        oov_tokens = int(np.count_nonzero(~found[codes]))
        oov_types = int(np.count_nonzero(~found[types]))
        row[f"oov_tokens{suffix}"] = oov_tokens
        row[f"oov_types{suffix}"] = oov_types
        row[f"oov_token_rate{suffix}"] = oov_tokens / tokens if tokens else math.nan
        row[f"oov_type_rate{suffix}"] = oov_types / types.size if types.size else math.nan
    return row


def coverage_table(kv_paths: Mapping[str, str | Path | KeyedVectors],
                   token_tables: Mapping[str, str | Path]) -> pd.DataFrame:
    """Out-of-vocabulary counts of every embedding on every dataset split, and on the dataset ("all").

    ``oov_*``: a token is covered when its exact (case-sensitive) string is a key. ``oov_*_fallback``:
    covered when the exact string or its lower-cased form is a key. Types are distinct exact token strings.
    Rows with split "all" cover the whole dataset (do not add them to the per-split rows). A dataset without
    tokens (e.g. a skipped corpus) has no rows.
    """
    datasets = []
    for dataset, path in token_tables.items():
        frame = pq.read_table(path, columns=["split", "token"]).to_pandas()
        if frame.empty:
            log.warning("%s: no tokens; no coverage rows for dataset %s", path, dataset)
            continue
        codes, types = pd.factorize(frame["token"], sort=False)
        splits = frame["split"].to_numpy()
        split_codes = {split: codes[splits == split] for split in _split_order(splits)}
        split_codes[ALL_SPLITS] = codes
        datasets.append((dataset, list(types), split_codes))
    rows = []
    for name, source in kv_paths.items():
        keys = as_keyed_vectors(source).key_to_index
        for dataset, types, split_codes in datasets:
            hit = np.fromiter((t in keys for t in types), dtype=bool, count=len(types))
            lower = np.fromiter((t.lower() in keys for t in types), dtype=bool, count=len(types))
            for split, codes in split_codes.items():
                if codes.size:
                    rows.append({"embedding": name, "dataset": dataset, "split": split,
                                 **_coverage_row(codes, hit, hit | lower)})
    table = pd.DataFrame(rows, columns=COVERAGE_COLUMNS)
    return table.astype({column: "int64" for column in COVERAGE_COLUMNS[3:] if "rate" not in column})


def write_coverage(
    kv_paths: Mapping[str, str | Path],
    token_tables: Mapping[str, str | Path],
    parquet: str | Path,
    markdown: str | Path | None = None,
) -> pd.DataFrame:
    """Compute :func:`coverage_table` and write it as parquet (and a markdown table when asked)."""
    table = coverage_table(kv_paths, token_tables)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), parquet)
    if markdown is not None:
        shown = table[["embedding", "dataset", "split", "tokens", "types", "oov_token_rate", "oov_type_rate",
                       "oov_token_rate_fallback", "oov_type_rate_fallback"]]
        text = "# Embedding coverage\n\n" + (
            "Out-of-vocabulary rates: exact (case-sensitive) lookup; *_fallback: exact, else lower-cased.\n\n"
            + shown.to_markdown(index=False, floatfmt=".4f")
        )
        write_text(text + "\n", markdown)
    log.info("coverage: %d rows (%d embeddings x %d datasets)", len(table), len(kv_paths), len(token_tables))
    return table
