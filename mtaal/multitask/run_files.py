"""What a multitask training run keeps under its directory, and how it resumes.

``checkpoint.safetensors`` (:mod:`mtaal.checkpoint`: model, optimizer, scheduler, RNG states, epoch rows,
best epoch; refused when its fingerprint of settings and data differs), ``epochs.parquet`` and ``best.json``
once finished, and (``save_encoder``) the best epoch's encoder under ``encoder/``. Every write is atomic.
``best.json`` also carries the run's identity (:mod:`mtaal.multitask.identity`).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from torch import nn

from mtaal.checkpoint import load_checkpoint, save_checkpoint
from mtaal.errors import ConfigError
from mtaal.io import atomic_directory, write_json, write_parquet
from mtaal.multitask.data import SPLITS, PreparedTask
from mtaal.multitask.identity import BEST_FILE, EPOCHS_FILE
from mtaal.multitask.model import save_encoder
from mtaal.multitask.settings import TrainSettings
from mtaal.planning import MULTITASK_CHECKPOINT

CHECKPOINT = MULTITASK_CHECKPOINT
ENCODER_DIR = "encoder"


@dataclass
class RunResult:
    """A finished run: its epoch rows (``epochs.parquet``), ``best.json`` and where they are."""

    epochs: pd.DataFrame
    best: dict[str, Any]
    out_dir: Path
    encoder_dir: Path | None = None


def run_fingerprint(
    settings: TrainSettings,
    tasks: Sequence[PreparedTask],
    init_encoder: str | None,
    test_every_epoch: bool = False,
) -> str:
    """What a checkpoint or a finished run must match: the settings (bar thread count and checkpoint
    keeping; later-added settings at their earlier value left out), the initial encoder, whether test is
    scored every epoch (MTL; its rows are in the checkpoint) and every task's tags and sequences."""
    sha = hashlib.sha256()
    head: dict[str, Any] = {"settings": settings.hashed_dict(), "init_encoder": init_encoder}
    if test_every_epoch:
        head["test_every_epoch"] = True
    sha.update(json.dumps(head, sort_keys=True).encode())
    for task in tasks:
        sha.update(json.dumps([task.name, task.tags]).encode())
        for split in SPLITS:
            seqs = task.splits[split]
            sha.update(f"{split}:{len(seqs)}".encode())
            for doc, a, b, c, docs, d in zip(
                seqs.doc_ids, seqs.input_ids, seqs.labels, seqs.word_index, seqs.docs, seqs.doc_index,
                strict=True,
            ):
                sha.update(str(doc).encode())
                sha.update(a.tobytes())
                sha.update(b.tobytes())
                sha.update(c.tobytes())
                if len(docs) > 1:  # (a sequence of one document hashes as before stream packing)
                    sha.update(json.dumps([str(x) for x in docs]).encode())
                    sha.update(d.tobytes())
    return sha.hexdigest()


def finished_run(out: Path, fingerprint: str, encoder_dir: Path | None) -> RunResult | None:
    """The stored results of a finished run with this fingerprint, or None."""
    best_path = out / BEST_FILE
    if best_path.is_file() and (out / EPOCHS_FILE).is_file():
        stored = json.loads(best_path.read_text())
        if stored.get("fingerprint") == fingerprint:
            return RunResult(pd.read_parquet(out / EPOCHS_FILE), stored, out, encoder_dir)
    return None


def write_finished_run(out: Path, epochs: pd.DataFrame, best: Mapping[str, Any]) -> None:
    write_parquet(pa.Table.from_pandas(epochs, preserve_index=False), out / EPOCHS_FILE)
    write_json(best, out / BEST_FILE)


def read_resume_state(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (tensors on the CPU), None when there is none; a ConfigError when it is
    unreadable (no pickle is ever loaded) or from other settings or data."""
    if not path.is_file():
        return None
    try:
        state = load_checkpoint(path)
    except Exception as error:  # safetensors raises its own error types
        raise ConfigError(
            f"{path}: not a readable checkpoint ({type(error).__name__}: {error}); delete it to start over"
        ) from None
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(f"{path}: checkpoint from different settings or data; delete it to start over")
    return state


def write_resume_state(
    path: Path,
    fingerprint: str,
    epoch: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    device: torch.device,
    rows: list[dict[str, Any]],
    best_epoch: int,
    best_weights: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Everything needed to continue after ``epoch``, in one atomic safetensors file; ``best_weights``:
    the best epoch's model when it is an earlier one (test is scored with it at the end)."""
    state = {
        "fingerprint": fingerprint,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_states(device),
        "rows": rows,
        "best_epoch": best_epoch,
    }
    if best_weights is not None:
        state["best_model"] = dict(best_weights)
    save_checkpoint(state, path)


def restore_resume_state(
    state: Mapping[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> tuple[list[dict[str, Any]], int, dict[str, torch.Tensor] | None]:
    """Load a checkpoint's states into the run's objects; returns (epoch rows so far, next epoch, the best
    epoch's weights when that is an earlier epoch than the checkpointed one, else None)."""
    model.load_state_dict(state["model"])  # tensors on the CPU; load_state_dict moves them
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_states(state["rng"])
    return list(state["rows"]), int(state["epoch"]) + 1, state.get("best_model")


def save_best_encoder(encoder: nn.Module, target: Path) -> None:
    """``save_pretrained`` into a fresh directory, then swap it in for the previous best."""
    with atomic_directory(target) as temporary:
        save_encoder(encoder, temporary)


def rng_states(device: torch.device) -> dict[str, Any]:
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


