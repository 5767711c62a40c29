"""The multitask taggers' input: wordpiece tables and tag lists per task, checked, split and data-ablated."""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from mtaal.errors import ConfigError
from mtaal.multitask.batching import derive_seed
from mtaal.multitask.labels import IGNORE_LABEL
from mtaal.multitask.settings import TrainSettings
from mtaal.multitask.wordpiece import METADATA_KEY

T = TypeVar("T")
SPLITS = ("train", "dev", "test")
EVAL_SPLITS = ("dev", "test")
REQUIRED_COLUMNS = ("split", "doc_id", "sequence", "input_ids", "labels", "word_index")


@dataclass
class TaskData:
    """One task's wordpiece table and tag list.

    ``gold``, optional, holds every word's gold tag (columns ``split``, ``doc_id``, ``word_index``, ``tag``)
    so that words lost to truncation are scored (as predicted O); without it the gold is read from the table.
    """

    table: pd.DataFrame
    tags: list[str]
    gold: pd.DataFrame | None = None

    @classmethod
    def read(
        cls,
        table_path: str | Path,
        tags: str | Path | Sequence[str] | None = None,
        gold: pd.DataFrame | None = None,
    ) -> TaskData:
        """Read the table (parquet) and the tag list: a sequence, a JSON list / ``{"tags": [...]}`` file,
        a text file with one tag per line, or (None) the ``tags`` entry of the parquet's ``mtaal.wordpiece``
        metadata."""
        table = pd.read_parquet(table_path)
        if tags is None:
            raw = (pq.read_schema(table_path).metadata or {}).get(METADATA_KEY)
            if raw is None:
                raise ConfigError(f"{table_path}: no tag list given and none in the parquet metadata")
            tag_list = json.loads(raw)["tags"]
        elif isinstance(tags, str | Path):
            path = Path(tags)
            text = path.read_text()
            if path.suffix == ".json":
                loaded = json.loads(text)
                tag_list = loaded["tags"] if isinstance(loaded, dict) else loaded
            else:
                tag_list = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            tag_list = list(tags)
        return cls(table, [str(t) for t in tag_list], gold)


def gold_from_tokens(tokens: pd.DataFrame) -> pd.DataFrame:
    """Gold word tags from a corpus ``tokens.parquet`` (split, doc_id, sentence, position, tag): words are
    numbered in document order (by sentence, then position), which is the wordpiece tables' ``word_index``."""
    frame = tokens.sort_values(["split", "doc_id", "sentence", "position"], kind="stable")
    frame = frame.assign(word_index=frame.groupby(["split", "doc_id"], sort=False).cumcount())
    return frame[["split", "doc_id", "word_index", "tag"]].reset_index(drop=True)


@dataclass
class Sequences:
    """One split of one task as arrays, sorted by (doc_id, sequence). ``doc_ids``: each sequence's first
    document; ``docs``: every document it holds, in order (more than one where a stream of documents was
    packed); ``doc_index``: per position, the index of its document in ``docs`` (-1 on special tokens)."""

    doc_ids: list[Hashable]
    input_ids: list[np.ndarray]
    labels: list[np.ndarray]
    word_index: list[np.ndarray]
    docs: list[tuple[Hashable, ...]] = field(default_factory=list)
    doc_index: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.docs:  # one document per sequence
            self.docs = [(doc,) for doc in self.doc_ids]
            self.doc_index = [np.where(w >= 0, 0, -1).astype(np.int16) for w in self.word_index]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self.input_ids))

    def subset(self, indices: Sequence[int]) -> Sequences:
        return Sequences(
            [self.doc_ids[i] for i in indices],
            [self.input_ids[i] for i in indices],
            [self.labels[i] for i in indices],
            [self.word_index[i] for i in indices],
            [self.docs[i] for i in indices],
            [self.doc_index[i] for i in indices],
        )


def split_sequences(table: pd.DataFrame, split: str, n_labels: int, task: str = "?") -> Sequences:
    """The rows of one split as :class:`Sequences`, validated."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"task {task}: wordpiece table lacks columns {missing}")
    rows = table[table["split"] == split].sort_values(["doc_id", "sequence"], kind="stable")
    ids = [np.asarray(x, dtype=np.int64) for x in rows["input_ids"]]
    labels = [np.asarray(x, dtype=np.int64) for x in rows["labels"]]
    words = [np.asarray(x, dtype=np.int64) for x in rows["word_index"]]
    for i, (a, b, c) in enumerate(zip(ids, labels, words, strict=True)):
        if not len(a) == len(b) == len(c) or len(a) == 0:
            raise ConfigError(f"task {task}, {split} row {i}: input_ids, labels, word_index differ in length")
        bad = (b != IGNORE_LABEL) & ((b < 0) | (b >= n_labels))
        if bad.any():
            raise ConfigError(f"task {task}, {split} row {i}: label ids outside 0..{n_labels - 1}")
    if "doc_ids" not in rows.columns:  # tables from before stream packing: one document per sequence
        return Sequences(list(rows["doc_id"]), ids, labels, words)
    docs = [tuple(x) for x in rows["doc_ids"]]
    index = [np.asarray(x, dtype=np.int16) for x in rows["doc_index"]]
    for i, (d, x, w) in enumerate(zip(docs, index, words, strict=True)):
        if len(x) != len(w) or ((x >= 0) != (w >= 0)).any() or x.max(initial=-1) >= len(d):
            raise ConfigError(f"task {task}, {split} row {i}: doc_index does not match doc_ids / word_index")
    return Sequences(list(rows["doc_id"]), ids, labels, words, docs, index)


def _gold_tags(gold: pd.DataFrame | None, split: str) -> dict[Hashable, list[str]] | None:
    if gold is None:
        return None
    rows = gold[gold["split"] == split].sort_values(["doc_id", "word_index"], kind="stable")
    out: dict[Hashable, list[str]] = {}
    for doc, group in rows.groupby("doc_id", sort=True):
        if not np.array_equal(group["word_index"].to_numpy(), np.arange(len(group))):
            raise ConfigError(f"gold tags of document {doc!r} ({split}): word_index is not 0..n-1")
        out[doc] = [str(t) for t in group["tag"]]
    return out


def n_kept(n: int, fraction: float) -> int:
    """How many of ``n`` training sequences data ablation keeps: ``(1 - fraction) * n`` rounded half up,
    computed exactly for the fraction as written (``n_kept(25, 0.9) == 3``)."""
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"ablation fraction must be in [0, 1], got {fraction}")
    exact = (1 - Fraction(repr(float(fraction)))) * n  # 0.9 is read as 9/10, not as its binary neighbour
    return math.floor(exact + Fraction(1, 2))


def ablate(sequences: Sequence[T], fraction: float, seed: int) -> list[T]:
    """Remove ``fraction`` of ``sequences`` at random (seeded); the kept ones stay in their original order."""
    n = len(sequences)
    keep = n_kept(n, fraction)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n, size=keep, replace=False)) if keep else np.array([], dtype=np.int64)
    return [sequences[int(i)] for i in chosen]


@dataclass
class PreparedTask:
    """One task as a run uses it: splits as :class:`Sequences` (training data ablated), gold words per
    evaluation split (None: from the table), and the training count before ablation."""

    name: str
    tags: list[str]
    splits: dict[str, Sequences]
    gold: dict[str, dict[Hashable, list[str]] | None] = field(default_factory=dict)
    train_total: int = 0


def is_ablated(settings: TrainSettings, task: str) -> bool:
    return settings.ablation_fraction > 0 and (
        settings.ablation_tasks is None or task in settings.ablation_tasks
    )


def prepare_tasks(settings: TrainSettings, data: Mapping[str, TaskData]) -> list[PreparedTask]:
    """The tasks sorted by name, checked, split and (where asked) data-ablated."""
    if not data:
        raise ConfigError("run_training: no tasks given")
    if settings.ablation_tasks is not None and (unknown := sorted(set(settings.ablation_tasks) - set(data))):
        raise ConfigError(f"ablation_tasks names tasks not in the data: {unknown}")
    tasks = []
    for name in sorted(data):
        item = data[name]
        if not isinstance(item, TaskData):
            raise ConfigError(f"task {name}: expected TaskData (table + tags), got {type(item).__name__}")
        if not item.tags or item.tags[0] != "O":
            raise ConfigError(f"task {name}: tag list must start with 'O', got {item.tags[:3]}")
        splits = {s: split_sequences(item.table, s, len(item.tags), name) for s in SPLITS}
        total = len(splits["train"])
        if is_ablated(settings, name):
            keep = ablate(
                range(total), settings.ablation_fraction, derive_seed(settings.seed, "ablate", name)
            )
            splits["train"] = splits["train"].subset(keep)
        for s in EVAL_SPLITS:
            if len(splits[s]) == 0:
                raise ConfigError(f"task {name}: no {s} sequences")
        gold = {s: _gold_tags(item.gold, s) for s in EVAL_SPLITS}
        tasks.append(PreparedTask(name, list(item.tags), splits, gold, total))
    if sum(len(t.splits["train"]) for t in tasks) == 0:
        raise ConfigError("run_training: no training sequences left (after ablation)")
    return tasks


def check_fits_encoder(tasks: Sequence[PreparedTask], config: Any) -> None:
    """Token ids inside the encoder's vocabulary and sequences within its position embeddings."""
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    positions = int(getattr(config, "max_position_embeddings", 0) or 0)
    for t in tasks:
        for split, seqs in t.splits.items():
            if not len(seqs):
                continue
            longest = int(seqs.lengths.max())
            top = max(int(x.max()) for x in seqs.input_ids)
            if positions and longest > positions:
                raise ConfigError(
                    f"task {t.name} ({split}): a sequence of {longest} tokens exceeds the encoder's "
                    f"{positions} positions; build the wordpiece tables with a smaller max_len"
                )
            if vocab and top >= vocab:
                raise ConfigError(
                    f"task {t.name} ({split}): token id {top} outside the encoder's vocabulary ({vocab}); "
                    "were the tables made with this encoder's tokenizer?"
                )


def data_record(settings: TrainSettings, tasks: Sequence[PreparedTask]) -> dict[str, Any]:
    """Per task, the sequences a run had (``best.json``'s ``data``)."""
    return {
        t.name: {
            "train_total": t.train_total,
            "train_kept": len(t.splits["train"]),
            "ablation_fraction": settings.ablation_fraction if is_ablated(settings, t.name) else 0.0,
            "dev": len(t.splits["dev"]),
            "test": len(t.splits["test"]),
            "tags": t.tags,
        }
        for t in tasks
    }

