"""Single- and multi-task BERT NER training (Rodriguez, Nguyen & McInnes, JBI 2022), resumable.

Entry point: :func:`run_training` ``(settings, data, out_dir, init_encoder=None)``.

Input, per task: a wordpiece table (columns ``split`` in train/dev/test, ``doc_id``, ``sequence``,
``input_ids``, ``labels`` (-100 on special tokens), ``word_index`` (-1 on special tokens; index of the word in
its document)) and the task's tag list (``O``, ``B-x``, ``I-x``), bundled as :class:`TaskData`.

Choices, each on purpose:

* **Batches.** Length-bucketed with dynamic padding: a task's training sequences are shuffled, cut into pools
  of ``batch_size * bucket_pool_batches``, each pool sorted by length and cut into batches, and the batches
  shuffled; a batch is padded to its own longest sequence. The order is a pure function of (seed, task,
  epoch), so a resumed run draws the same batches.
* **MTL schedule.** Round-robin over the tasks (sorted by name), one batch at a time, a backward pass and an
  optimizer step after every batch; no upsampling: a task whose batches run out leaves the rotation and the
  epoch ends when every training batch of every task has been used once (:func:`round_robin`).
* **Optimisation.** AdamW (no weight decay on biases and LayerNorm weights), linear warm-up over
  ``warmup_fraction`` of all steps then linear decay to 0 (``get_linear_schedule_with_warmup``), gradient
  norm clipped to ``max_grad_norm`` (1.0) by default. ``optimizer="adam"``, ``schedule="constant"`` and
  ``max_grad_norm=None`` give what the authors' code runs (``torch.optim.Adam``, a constant rate, no
  clipping); unlike their code, the heads are always optimised too (FIDELITY.md). Loss: token
  cross-entropy over labelled subwords (every subword of every word, -100 only on special tokens and
  padding). bf16 autocast on CUDA, fp32 on CPU.
* **Model selection.** After every epoch dev and test are scored (:mod:`mtaal.multitask.evaluation`). The
  best epoch is the one with the highest **mean dev score over tasks** (``selection_metric``: by default
  ``word_io_f1``, the paper's primary word-level F1); ties go to the earliest epoch. For MTL this is one
  epoch for all tasks (one shared encoder); every task's dev and test scores at that epoch are reported.
  STL is the one-task case of the same rule.
* **Data ablation.** :func:`ablate` keeps ``round_half_up((1 - fraction) * n)`` of each ablated task's
  training sequences, drawn with a seed derived from (seed, task) so STL and MTL runs with the same seed see
  the same subset; dev and test are never touched. The run records the kept and total counts and, per
  epoch, the training sequences actually used.
* **Entity ablation.** Train MTL on a task subset with ``save_encoder=True``; the best epoch's encoder is
  saved (``save_pretrained``, safetensors) under ``out_dir/encoder``; a held-out task is then fine-tuned
  single-task from it with a new head: ``run_training(settings, {held_out: data}, out, init_encoder=...)``
  (:func:`entity_ablation` does both).
* **Resume.** After each epoch a checkpoint (model, optimizer, scheduler, RNG states, epoch rows, best
  epoch) is written atomically to ``out_dir/checkpoint.safetensors`` (safetensors + JSON, no pickle). Run
  again with the same arguments and training continues after the last finished epoch; on CPU the outcome
  is identical to an uninterrupted run. The checkpoint carries a fingerprint of settings and data and is
  refused when they differ (or unreadable: no pickle is ever loaded). Finished runs
  leave ``epochs.parquet`` and ``best.json`` (and drop the checkpoint unless ``keep_checkpoint``); rerunning
  a finished run returns its stored results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from mtaal.checkpoint import load_checkpoint, save_checkpoint
from mtaal.errors import ConfigError
from mtaal.multitask.evaluation import (
    ALL_O_METRICS,
    DECODINGS,
    IGNORE_INDEX,
    METRICS,
    score_word_tags,
    words_from_sequences,
)
from mtaal.multitask.model import MultiTaskTagger, load_encoder, save_encoder

log = logging.getLogger(__name__)

T = TypeVar("T")
SPLITS = ("train", "dev", "test")
EVAL_SPLITS = ("dev", "test")
REQUIRED_COLUMNS = ("split", "doc_id", "sequence", "input_ids", "labels", "word_index")
CHECKPOINT = "checkpoint.safetensors"
EPOCHS_FILE = "epochs.parquet"
BEST_FILE = "best.json"
ENCODER_DIR = "encoder"
SELECTION_METRICS = ("word_f1", "word_io_f1", "entity_f1")
OPTIMIZERS = ("adamw", "adam")
SCHEDULES = ("linear", "constant")
WORDPIECE_METADATA = b"mtaal.wordpiece"  # parquet schema metadata written by the wordpiece stage


# -------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class TrainSettings:
    """Training hyperparameters; ``from_mapping`` reads them from a config section.

    ``encoder``: a model directory or locally cached id (None: the packaged MiniLM). ``dropout``: the heads'
    dropout (None: the encoder's ``hidden_dropout_prob``). ``ablation_tasks``: the tasks whose training data
    is ablated (None: all). ``device``: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:n]``.
    """

    encoder: str | None = None
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_grad_norm: float | None = 1.0
    optimizer: str = "adamw"
    schedule: str = "linear"
    decoding: str = "last"
    dropout: float | None = None
    seed: int = 1
    ablation_fraction: float = 0.0
    ablation_tasks: tuple[str, ...] | None = None
    bucket_pool_batches: int = 50
    selection_metric: str = "word_io_f1"  # the paper's printed word-level F1
    save_encoder: bool = False
    keep_checkpoint: bool = False
    device: str = "auto"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.ablation_tasks is not None:
            object.__setattr__(self, "ablation_tasks", tuple(str(t) for t in self.ablation_tasks))
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            problems.append("batch_size and eval_batch_size must be >= 1")
        if self.bucket_pool_batches < 1:
            problems.append(f"bucket_pool_batches must be >= 1, got {self.bucket_pool_batches}")
        if not 0.0 <= self.warmup_fraction <= 1.0:
            problems.append(f"warmup_fraction must be in [0, 1], got {self.warmup_fraction}")
        if not 0.0 <= self.ablation_fraction <= 1.0:
            problems.append(f"ablation_fraction must be in [0, 1], got {self.ablation_fraction}")
        if self.learning_rate <= 0 or (self.max_grad_norm is not None and self.max_grad_norm <= 0):
            problems.append("learning_rate and max_grad_norm (unless null) must be > 0")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.decoding not in DECODINGS:
            problems.append(f"decoding must be one of {DECODINGS}, got {self.decoding!r}")
        if self.selection_metric not in SELECTION_METRICS:
            problems.append(
                f"selection_metric must be one of {SELECTION_METRICS}, got {self.selection_metric!r}"
            )
        if problems:
            raise ConfigError("training settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> TrainSettings:
        mapping = dict(mapping or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ConfigError(f"training settings: unknown keys {unknown}; known: {sorted(known)}")
        if mapping.get("ablation_tasks") is not None:
            mapping["ablation_tasks"] = tuple(mapping["ablation_tasks"])
        return cls(**mapping)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["ablation_tasks"] is not None:
            out["ablation_tasks"] = list(out["ablation_tasks"])
        return out


# -------------------------------------------------------------------------------- data


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
            raw = (pq.read_schema(table_path).metadata or {}).get(WORDPIECE_METADATA)
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
    """One split of one task as arrays, sorted by (doc_id, sequence)."""

    doc_ids: list[Hashable]
    input_ids: list[np.ndarray]
    labels: list[np.ndarray]
    word_index: list[np.ndarray]

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
        bad = (b != IGNORE_INDEX) & ((b < 0) | (b >= n_labels))
        if bad.any():
            raise ConfigError(f"task {task}, {split} row {i}: label ids outside 0..{n_labels - 1}")
    return Sequences(list(rows["doc_id"]), ids, labels, words)


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


# -------------------------------------------------------------------------------- pure helpers


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from any parts (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


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


def bucket_batches(
    lengths: Sequence[int], batch_size: int, seed: int, pool_size: int | None = None
) -> list[np.ndarray]:
    """Length-bucketed batches of indices: shuffle, sort by length within pools, cut, shuffle the batches.

    ``pool_size`` defaults to ``50 * batch_size``. Deterministic for a seed; every index appears once.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    pool = pool_size or 50 * batch_size
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def count_batches(n: int, batch_size: int, pool_size: int | None = None) -> int:
    """How many batches :func:`bucket_batches` makes of ``n`` sequences (the same for every seed)."""
    pool = pool_size or 50 * batch_size
    full, rest = divmod(n, pool)
    return full * math.ceil(pool / batch_size) + math.ceil(rest / batch_size)


def eval_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Batches for inference: longest first, so padding is minimal and the peak memory comes first."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def round_robin(batches_per_task: Mapping[str, int]) -> list[tuple[str, int]]:
    """One epoch's MTL schedule: ``(task, batch index)`` taking one batch per task in turn, in the mapping's
    task order; a task that has used all its batches drops out. Every batch appears exactly once."""
    schedule: list[tuple[str, int]] = []
    rounds = max(batches_per_task.values(), default=0)
    for i in range(rounds):
        for task, n in batches_per_task.items():
            if i < n:
                schedule.append((task, i))
    return schedule


def pad_batch(
    input_ids: Sequence[np.ndarray], labels: Sequence[np.ndarray] | None, pad_id: int
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Pad to the batch's longest sequence: ids with ``pad_id``, labels with -100; mask 1 on real tokens."""
    width = max(len(x) for x in input_ids)
    ids = torch.full((len(input_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(input_ids), width), dtype=torch.long)
    out_labels = (
        None if labels is None else torch.full((len(input_ids), width), IGNORE_INDEX, dtype=torch.long)
    )
    for row, seq in enumerate(input_ids):
        ids[row, : len(seq)] = torch.from_numpy(seq)
        mask[row, : len(seq)] = 1
        if out_labels is not None:
            out_labels[row, : len(seq)] = torch.from_numpy(labels[row])
    return ids, mask, out_labels


def select_best_epoch(epochs: pd.DataFrame, metric: str = "word_io_f1") -> int:
    """The epoch with the highest mean dev ``metric`` over tasks; the earliest among ties."""
    dev = epochs[epochs["split"] == "dev"]
    if dev.empty:
        raise ValueError("no dev rows to select an epoch from")
    means = dev.groupby("epoch", sort=True)[metric].mean()
    return int(means.idxmax())


# -------------------------------------------------------------------------------- steps


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but CUDA is not available")
    return device


def autocast(device: torch.device):
    """bf16 autocast on CUDA; nothing (fp32) elsewhere."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """AdamW with decoupled weight decay off for biases and LayerNorm weights, or (``optimizer="adam"``)
    ``torch.optim.Adam`` with ``weight_decay`` as its L2 term, as the authors' code; every trainable
    parameter, heads included, either way."""
    if settings.optimizer == "adam":
        params = [p for p in model.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name else decay).append(
            param
        )
    groups = [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=settings.learning_rate)


def train_step(
    model: MultiTaskTagger,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    task: str,
    ids: Tensor,
    mask: Tensor,
    labels: Tensor,
    device: torch.device,
    max_grad_norm: float | None = 1.0,
) -> float:
    """One forward / backward / clip (unless ``max_grad_norm`` is None) / step on one batch; returns the
    loss."""
    ids, mask, labels = ids.to(device), mask.to(device), labels.to(device)
    with autocast(device):
        logits = model(ids, mask, task)
    loss = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
    loss.backward()
    if max_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


@torch.inference_mode()
def predict(
    model: MultiTaskTagger,
    task: str,
    sequences: Sequences,
    batch_size: int,
    pad_id: int,
    device: torch.device,
) -> list[np.ndarray]:
    """Predicted label id per subword for every sequence (in the order of ``sequences``)."""
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(sequences)
    for batch in eval_batches(sequences.lengths, batch_size):
        ids, mask, _ = pad_batch([sequences.input_ids[i] for i in batch], None, pad_id)
        with autocast(device):
            logits = model(ids.to(device), mask.to(device), task)
        best = logits.argmax(-1).cpu().numpy()
        for row, i in enumerate(batch):
            out[int(i)] = best[row, : len(sequences.input_ids[i])]
    model.train(was_training)
    return out


def evaluate_split(
    model: MultiTaskTagger,
    task: str,
    sequences: Sequences,
    tags: Sequence[str],
    batch_size: int,
    pad_id: int,
    device: torch.device,
    gold_tags: Mapping[Hashable, Sequence[str]] | None = None,
    decoding: str = "last",
) -> dict[str, float]:
    """Word- and entity-level scores of one task on one split (``decoding``: which subword labels a word),
    and an all-O tagger's on the same words."""
    predictions = predict(model, task, sequences, batch_size, pad_id, device)
    words = words_from_sequences(
        sequences.doc_ids, sequences.word_index, sequences.labels, predictions, tags, gold_tags, decoding
    )
    return score_word_tags(words)


# -------------------------------------------------------------------------------- files


def _atomic_write_bytes(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n"))


def _save_encoder(encoder: nn.Module, target: Path) -> None:
    """``save_pretrained`` into a fresh directory, then swap it in."""
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    old = target.with_name(f".{target.name}.old{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    save_encoder(encoder, tmp)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _rng_states(device: torch.device) -> dict[str, Any]:
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


# -------------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    epochs: pd.DataFrame
    best: dict[str, Any]
    out_dir: Path
    encoder_dir: Path | None = None


@dataclass
class _Task:
    name: str
    tags: list[str]
    splits: dict[str, Sequences]
    gold: dict[str, dict[Hashable, list[str]] | None] = field(default_factory=dict)
    train_total: int = 0


def _fingerprint(settings: TrainSettings, tasks: Sequence[_Task], init_encoder: str | None) -> str:
    sha = hashlib.sha256()
    config = settings.as_dict()
    for key in ("keep_checkpoint", "num_threads"):
        config.pop(key)
    sha.update(json.dumps({"settings": config, "init_encoder": init_encoder}, sort_keys=True).encode())
    for task in tasks:
        sha.update(json.dumps([task.name, task.tags]).encode())
        for split in SPLITS:
            seqs = task.splits[split]
            sha.update(f"{split}:{len(seqs)}".encode())
            for doc, a, b, c in zip(seqs.doc_ids, seqs.input_ids, seqs.labels, seqs.word_index, strict=True):
                sha.update(str(doc).encode())
                sha.update(a.tobytes())
                sha.update(b.tobytes())
                sha.update(c.tobytes())
    return sha.hexdigest()


def _is_ablated(settings: TrainSettings, task: str) -> bool:
    return settings.ablation_fraction > 0 and (
        settings.ablation_tasks is None or task in settings.ablation_tasks
    )


def _prepare_tasks(settings: TrainSettings, data: Mapping[str, TaskData]) -> list[_Task]:
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
        if _is_ablated(settings, name):
            keep = ablate(
                range(total), settings.ablation_fraction, derive_seed(settings.seed, "ablate", name)
            )
            splits["train"] = splits["train"].subset(keep)
        for s in EVAL_SPLITS:
            if len(splits[s]) == 0:
                raise ConfigError(f"task {name}: no {s} sequences")
        gold = {s: _gold_tags(item.gold, s) for s in EVAL_SPLITS}
        tasks.append(_Task(name, list(item.tags), splits, gold, total))
    if sum(len(t.splits["train"]) for t in tasks) == 0:
        raise ConfigError("run_training: no training sequences left (after ablation)")
    return tasks


def _check_fits_encoder(tasks: Sequence[_Task], config: Any) -> None:
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


def _data_record(settings: TrainSettings, tasks: Sequence[_Task]) -> dict[str, Any]:
    return {
        t.name: {
            "train_total": t.train_total,
            "train_kept": len(t.splits["train"]),
            "ablation_fraction": settings.ablation_fraction if _is_ablated(settings, t.name) else 0.0,
            "dev": len(t.splits["dev"]),
            "test": len(t.splits["test"]),
            "tags": t.tags,
        }
        for t in tasks
    }


def _best_record(epochs: pd.DataFrame, settings: TrainSettings) -> dict[str, Any]:
    best = select_best_epoch(epochs, settings.selection_metric)
    at_best = epochs[epochs["epoch"] == best]
    per_task: dict[str, Any] = {}
    for row in at_best.itertuples(index=False):
        entry = per_task.setdefault(row.task, {"train_sequences": int(row.train_sequences)})
        entry[row.split] = {m: float(getattr(row, m)) for m in METRICS}
    mean = {
        split: {m: float(at_best.loc[at_best["split"] == split, m].mean()) for m in METRICS}
        for split in EVAL_SPLITS
    }
    return {
        "best_epoch": best,
        "selection": f"mean dev {settings.selection_metric} over tasks",
        "mean": mean,
        "tasks": per_task,
    }


def run_training(
    settings: TrainSettings,
    data: Mapping[str, TaskData],
    out_dir: str | Path,
    init_encoder: str | Path | None = None,
    *,
    stop_after_epoch: int | None = None,
) -> RunResult | None:
    """Train STL (one task) or MTL (several) and write ``epochs.parquet`` + ``best.json`` under ``out_dir``.

    ``init_encoder``: start from this encoder (a saved MTL encoder, for entity ablation) instead of
    ``settings.encoder``; the heads are new. ``stop_after_epoch``: return None after checkpointing that epoch
    (simulates an interrupted job). Returns the run's results when it has finished.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    tasks = _prepare_tasks(settings, data)
    init = None if init_encoder is None else str(init_encoder)
    fingerprint = _fingerprint(settings, tasks, init)
    encoder_dir = out / ENCODER_DIR if settings.save_encoder else None

    best_path = out / BEST_FILE
    if best_path.is_file() and (out / EPOCHS_FILE).is_file():
        stored = json.loads(best_path.read_text())
        if stored.get("fingerprint") == fingerprint:
            log.info("%s: finished run found, returning its results", out)
            return RunResult(pd.read_parquet(out / EPOCHS_FILE), stored, out, encoder_dir)

    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    encoder = load_encoder(init if init is not None else settings.encoder)
    model = MultiTaskTagger(encoder, {t.name: len(t.tags) for t in tasks}, dropout=settings.dropout).to(
        device
    )
    pad_id = int(getattr(encoder.config, "pad_token_id", None) or 0)
    _check_fits_encoder(tasks, encoder.config)
    optimizer = make_optimizer(model, settings)
    pool = settings.batch_size * settings.bucket_pool_batches
    steps_per_epoch = sum(count_batches(len(t.splits["train"]), settings.batch_size, pool) for t in tasks)
    total_steps = steps_per_epoch * settings.epochs
    from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

    warmup = int(settings.warmup_fraction * total_steps)
    if settings.schedule == "constant":
        scheduler = get_constant_schedule_with_warmup(optimizer, warmup)
    else:
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, max(total_steps, 1))

    rows: list[dict[str, Any]] = []
    start_epoch = 1
    ckpt_path = out / CHECKPOINT
    if ckpt_path.is_file():
        try:
            ckpt = load_checkpoint(ckpt_path)  # tensors on the CPU; load_state_dict moves them
        except Exception as error:  # safetensors raises its own error types
            raise ConfigError(
                f"{ckpt_path}: not a readable checkpoint ({type(error).__name__}: {error}); delete it to "
                "start over"
            ) from None
        if ckpt.get("fingerprint") != fingerprint:
            raise ConfigError(
                f"{ckpt_path}: checkpoint from different settings or data; delete it to start over"
            )
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_states(ckpt["rng"])
        rows = list(ckpt["rows"])
        start_epoch = int(ckpt["epoch"]) + 1
        log.info("%s: resuming after epoch %d", out, start_epoch - 1)
    data_record = _data_record(settings, tasks)
    for t in tasks:
        log.info(
            "task %s: %d/%d training sequences (ablation %.2f), %d dev, %d test",
            t.name,
            len(t.splits["train"]),
            t.train_total,
            settings.ablation_fraction,
            len(t.splits["dev"]),
            len(t.splits["test"]),
        )

    best_epoch = select_best_epoch(pd.DataFrame(rows), settings.selection_metric) if rows else None
    for epoch in range(start_epoch, settings.epochs + 1):
        started = time.perf_counter()
        torch.manual_seed(derive_seed(settings.seed, "epoch", epoch))
        batches = {
            t.name: bucket_batches(
                t.splits["train"].lengths,
                settings.batch_size,
                derive_seed(settings.seed, "batches", t.name, epoch),
                pool,
            )
            for t in tasks
        }
        by_name = {t.name: t for t in tasks}
        schedule = round_robin({name: len(b) for name, b in batches.items()})
        loss_sum = dict.fromkeys(by_name, 0.0)
        seen = dict.fromkeys(by_name, 0)
        model.train()
        for task, index in tqdm(schedule, desc=f"epoch {epoch}/{settings.epochs}", leave=False, disable=None):
            seqs = by_name[task].splits["train"]
            batch = batches[task][index]
            ids, mask, labels = pad_batch(
                [seqs.input_ids[i] for i in batch], [seqs.labels[i] for i in batch], pad_id
            )
            loss_sum[task] += train_step(
                model, optimizer, scheduler, task, ids, mask, labels, device, settings.max_grad_norm
            )
            seen[task] += len(batch)
        train_seconds = time.perf_counter() - started
        epoch_rows = []
        for t in tasks:
            n_batches = len(batches[t.name])
            for split in EVAL_SPLITS:
                scores = evaluate_split(
                    model,
                    t.name,
                    t.splits[split],
                    t.tags,
                    settings.eval_batch_size,
                    pad_id,
                    device,
                    t.gold[split],
                    settings.decoding,
                )
                epoch_rows.append(
                    {
                        "epoch": epoch,
                        "task": t.name,
                        "split": split,
                        **{m: scores[m] for m in (*METRICS, *ALL_O_METRICS)},
                        "words": int(scores["words"]),
                        "train_loss": loss_sum[t.name] / n_batches if n_batches else float("nan"),
                        "train_batches": n_batches,
                        "train_sequences": seen[t.name],
                    }
                )
        seconds = time.perf_counter() - started
        for row in epoch_rows:
            row["train_seconds"] = train_seconds
            row["seconds"] = seconds
        rows.extend(epoch_rows)
        frame = pd.DataFrame(rows)
        new_best = select_best_epoch(frame, settings.selection_metric)
        if encoder_dir is not None and new_best == epoch:
            _save_encoder(model.encoder, encoder_dir)
        best_epoch = new_best
        dev = frame[(frame["epoch"] == epoch) & (frame["split"] == "dev")]
        log.info(
            "epoch %d/%d: loss %.4f, dev word F1 (paper's) %.4f, entity F1 %.4f (mean of %d tasks); "
            "best %d; %.1f s",
            epoch,
            settings.epochs,
            float(np.nanmean([r["train_loss"] for r in epoch_rows])),
            dev["word_io_f1"].mean(),
            dev["entity_f1"].mean(),
            len(tasks),
            best_epoch,
            seconds,
        )
        state = {
            "fingerprint": fingerprint,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_states(device),
            "rows": rows,
            "best_epoch": best_epoch,
        }
        save_checkpoint(state, ckpt_path)
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < settings.epochs:
            log.info("%s: stopping after epoch %d as asked", out, epoch)
            return None

    epochs = pd.DataFrame(rows)
    best = {
        **_best_record(epochs, settings),
        "epochs_run": int(epochs["epoch"].max()),
        "ablation_fraction": settings.ablation_fraction,
        "data": data_record,
        "init_encoder": init,
        "encoder_dir": str(encoder_dir) if encoder_dir is not None else None,
        "settings": settings.as_dict(),
        "fingerprint": fingerprint,
    }
    _atomic_write_bytes(out / EPOCHS_FILE, lambda tmp: epochs.to_parquet(tmp, index=False))
    _write_json(best_path, best)
    if not settings.keep_checkpoint:
        ckpt_path.unlink(missing_ok=True)
    log.info(
        "%s: best epoch %d, test word F1 (paper's) %.4f (mean over tasks)",
        out,
        best["best_epoch"],
        best["mean"]["test"]["word_io_f1"],
    )
    return RunResult(epochs, best, out, encoder_dir)
