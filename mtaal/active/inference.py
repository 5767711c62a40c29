"""Scoring with a trained MTAAL model, no gradients: per-token label probabilities and DD diversity scores,
returned in the caller's sentence order (batches are length-sorted inside)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mtaal.active.batching import Batch, Vocab, collate, length_sorted_batches
from mtaal.active.network import MTAALModel, autocast_for


def _unsort(rows: list, order: np.ndarray) -> list:
    out: list = [None] * len(rows)
    for row, original in enumerate(order):
        out[int(original)] = rows[row]
    return out


def predict_proba(model: MTAALModel, batch: Batch) -> dict[str, list[np.ndarray]]:
    """Per task, one float32 (length, n_labels) probability array per sentence, in ``collate`` input order."""
    model.eval()
    batch = batch.to(model.device)
    with torch.inference_mode(), autocast_for(model.device):
        out = model(batch)
    lengths = batch.lengths.tolist()
    result = {}
    for task, logits in out.logits.items():
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        result[task] = _unsort([probs[row, :n] for row, n in enumerate(lengths)], batch.order)
    return result


def predict_labels(model: MTAALModel, batch: Batch) -> dict[str, list[np.ndarray]]:
    """Per task, the argmax label id of every token, one int64 array per sentence, in input order."""
    return {task: [p.argmax(-1) for p in probs] for task, probs in predict_proba(model, batch).items()}


def diversity_scores(model: MTAALModel, batch: Batch) -> np.ndarray:
    """``1 - DD(E(x))`` (higher = looks less like the labeled set), one float per sentence, in input order.
    Per-word DD: ``1 - prod_words DD(E(x))_word`` (the release's score; long sentences score higher)."""
    model.eval()
    batch = batch.to(model.device)
    with torch.inference_mode(), autocast_for(model.device):
        logits = model.dd_logits(model.encode(batch), batch).float()
    if model.per_word_discriminators:
        log_p = (F.logsigmoid(logits) * batch.mask).sum(dim=1).double()
    else:
        log_p = F.logsigmoid(logits).double()
    out = np.empty(len(batch), dtype=np.float64)
    out[batch.order] = -torch.expm1(log_p).cpu().numpy()  # 1 - p, exact for p near 1
    return out


@dataclass
class PoolPredictions:
    probs: dict[str, list[np.ndarray]]
    diversity: np.ndarray | None


def predict_pool(
    model: MTAALModel,
    sentences: Sequence[Sequence[str]],
    vocab: Vocab,
    *,
    batch_size: int = 256,
    with_probs: bool = True,
    with_diversity: bool = False,
) -> PoolPredictions:
    """Score a whole pool in length-sorted batches (minimal padding); results come back in input order."""
    probs: dict[str, list] = {task: [None] * len(sentences) for task in model.tasks} if with_probs else {}
    diversity = np.empty(len(sentences), dtype=np.float64) if with_diversity else None
    for idx in length_sorted_batches([len(s) for s in sentences], batch_size):
        batch = collate([sentences[i] for i in idx], vocab, device=model.device)
        if with_probs:
            for task, arrays in predict_proba(model, batch).items():
                for i, arr in zip(idx, arrays, strict=True):
                    probs[task][i] = arr
        if diversity is not None:
            diversity[idx] = diversity_scores(model, batch)
    return PoolPredictions(probs=probs, diversity=diversity)
