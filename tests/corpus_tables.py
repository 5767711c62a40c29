"""Corpus tables of made-up HUNER tasks, with the schema the corpus layer and the WordPiece step write
(results/tables/corpus_stats.parquet, wordpiece_<encoder>.parquet), for tests of the readers of both."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

CORPUS_SPLITS = ("train", "dev", "test", "all")
SEQUENCE_SPLITS = ("train", "dev", "test")


def corpus_stats(density: Mapping[str, float], mentions=lambda task, split: 10) -> pd.DataFrame:
    """One row per task and split; ``density`` gives each task's annotation density."""
    return pd.DataFrame(
        [
            {"dataset": task, "paper": "huner", "split": split, "documents": 5, "sentences": 20,
             "tokens": 400, "mentions": mentions(task, split), "unique_mentions": 5,
             "annotation_density": value, "vocabulary_size": 100, "ner_labels": 3, "nen_labels": 0,
             "problems": 0}
            for task, value in density.items()
            for split in CORPUS_SPLITS
        ]
    )


def wordpiece_stats(encoder: str, tasks: Iterable[str], train_sequences: Mapping[str, int], *,
                    train_subwords: Mapping[str, int] | None = None, max_len: int = 512,
                    packing_counts: bool = False) -> pd.DataFrame:
    """One row per task and split; dev and test have 10 sequences and 900 subwords. ``packing_counts``
    adds the stream / per-document sequence counts at 512 (the comparison with Supplemental Table 1)."""
    rows = []
    for task in tasks:
        for split in SEQUENCE_SPLITS:
            train = split == "train"
            row = {"encoder": encoder, "dataset": task, "split": split, "documents": 5, "words": 400,
                   "mentions": 10, "subwords": train_subwords[task] if train and train_subwords else 900,
                   "sequences": train_sequences[task] if train else 10, "split_mentions": 0,
                   "split_words": 0, "unk_words": 0, "max_len": max_len, "mean_length": 400.0, "fill": 0.8}
            if packing_counts:
                row |= {"stream_sequences_512": row["sequences"],
                        "document_sequences_512": round(1.2 * row["sequences"])}
            rows.append(row)
    return pd.DataFrame(rows)
