"""Corpus statistics and coverage tables (parquet + markdown) from the tidy dataset tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text

STATS_COLUMNS = [
    "dataset",
    "paper",
    "split",
    "documents",
    "sentences",
    "tokens",
    "mentions",
    "unique_mentions",
    "annotation_density",
    "vocabulary_size",
    "ner_labels",
    "nen_labels",
    "problems",
]


def dataset_stats(dataset: str, paper: str, dataset_dir: Path) -> pd.DataFrame:
    """One row per split plus an ``all`` row; problems of excluded documents count only in ``all``."""
    documents = pd.read_parquet(dataset_dir / "documents.parquet", columns=["doc_id", "split"])
    mentions = pd.read_parquet(dataset_dir / "mentions.parquet", columns=["doc_id", "text"])
    tokens = pd.read_parquet(
        dataset_dir / "tokens.parquet", columns=["doc_id", "split", "sentence", "token", "tag", "concept_id"]
    )
    problems = pd.read_parquet(dataset_dir / "problems.parquet", columns=["doc_id"])
    split_of = documents.set_index("doc_id")["split"]
    mentions["split"] = mentions["doc_id"].map(split_of)
    problems["split"] = problems["doc_id"].map(split_of)
    rows = []
    splits = sorted(documents["split"].unique(), key=["train", "dev", "test"].index)
    for split in [*splits, "all"]:
        pick = (
            (lambda frame: frame) if split == "all" else (lambda frame, s=split: frame[frame["split"] == s])
        )
        split_tokens, split_mentions = pick(tokens), pick(mentions)
        token_count = len(split_tokens)
        rows.append(
            {
                "dataset": dataset,
                "paper": paper,
                "split": split,
                "documents": len(pick(documents)),
                "sentences": len(split_tokens[["doc_id", "sentence"]].drop_duplicates()),
                "tokens": token_count,
                "mentions": len(split_mentions),
                "unique_mentions": split_mentions["text"].nunique(),
                "annotation_density": len(split_mentions) / token_count if token_count else 0.0,
                "vocabulary_size": split_tokens["token"].nunique(),
                "ner_labels": split_tokens["tag"].nunique(),
                "nen_labels": split_tokens["concept_id"].dropna().nunique(),
                "problems": len(pick(problems)),
            }
        )
    return pd.DataFrame(rows, columns=STATS_COLUMNS)


def coverage_table(summaries: Sequence[Path]) -> pd.DataFrame:
    records = [json.loads(Path(path).read_text(encoding="utf-8")) for path in summaries]
    columns = [
        "dataset",
        "corpus",
        "paper",
        "status",
        "reason",
        "documents",
        "mentions",
        "tokens",
        "problems",
    ]
    return pd.DataFrame(records)[columns]


def write_corpus_tables(
    summaries: Sequence[Path], stats_path: Path, stats_md: Path, coverage_path: Path, coverage_md: Path
) -> None:
    coverage = coverage_table(summaries)
    frames = [
        dataset_stats(row.dataset, row.paper, Path(path).parent)
        for row, path in zip(coverage.itertuples(), summaries, strict=True)
        if row.status == "built"
    ]
    stats = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STATS_COLUMNS)
    write_parquet(pa.Table.from_pandas(stats, preserve_index=False), stats_path)
    write_parquet(pa.Table.from_pandas(coverage, preserve_index=False), coverage_path)
    write_text("# Corpus statistics\n\n" + stats.to_markdown(index=False, floatfmt=".4f") + "\n", stats_md)
    shown = coverage.assign(reason=coverage["reason"].str.slice(0, 160))
    write_text("# Corpus coverage\n\n" + shown.to_markdown(index=False) + "\n", coverage_md)
