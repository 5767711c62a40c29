"""Batches for the multitask taggers: seeds, training batches (plain shuffled, or length-bucketed), the MTL
round-robin, padding.

Every order here is a pure function of its seed, so a resumed run draws the same batches.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mtaal.multitask.labels import IGNORE_LABEL


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from any parts (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


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


def shuffled_batches(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    """Plain shuffled batches of indices (as the release's ``DataLoader(shuffle=True)``): one seeded
    permutation cut into consecutive batches, the last one possibly smaller."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def training_batches(
    lengths: Sequence[int], batch_size: int, seed: int, pool_batches: int
) -> list[np.ndarray]:
    """An epoch's batches of one task: :func:`bucket_batches` over pools of ``pool_batches`` batches, or
    (``pool_batches`` 0) :func:`shuffled_batches`."""
    if pool_batches == 0:
        return shuffled_batches(len(lengths), batch_size, seed)
    return bucket_batches(lengths, batch_size, seed, batch_size * pool_batches)


def count_training_batches(n: int, batch_size: int, pool_batches: int) -> int:
    """How many batches :func:`training_batches` makes of ``n`` sequences (the same for every seed)."""
    if pool_batches == 0:
        return math.ceil(n / batch_size)
    return count_batches(n, batch_size, batch_size * pool_batches)


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
    # Filled in numpy and handed to torch once: the sequences may be read-only views of a parquet column.
    width = max(len(x) for x in input_ids)
    ids = np.full((len(input_ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(input_ids), width), dtype=np.int64)
    out_labels = None if labels is None else np.full((len(input_ids), width), IGNORE_LABEL, dtype=np.int64)
    for row, seq in enumerate(input_ids):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
        if out_labels is not None:
            out_labels[row, : len(seq)] = labels[row]
    return (torch.from_numpy(ids), torch.from_numpy(mask),
            None if out_labels is None else torch.from_numpy(out_labels))

