"""Scoring with a trained MTAAL model, no gradients: per-token label probabilities and DD diversity scores,
returned in the caller's sentence order (batches are length-sorted inside). A pool is scored with one
spelling table for all its batches, so the char BiLSTM runs once per distinct spelling of the pool."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mtaal.active.batching import Batch, SpellingTable, Vocab, collate, length_sorted_batches
from mtaal.active.network import MTAALModel, autocast_for


def _unsort(rows: list, order: np.ndarray) -> list:
    out: list = [None] * len(rows)
    for row, original in enumerate(order):
        out[int(original)] = rows[row]
    return out


def predict_proba(
    model: MTAALModel, batch: Batch, spelling_features: torch.Tensor | None = None
) -> dict[str, list[np.ndarray]]:
    """Per task, one float32 (length, n_labels) probability array per sentence, in ``collate`` input order.
    ``spelling_features``: the char features of the batch's spelling table, when precomputed."""
    model.eval()
    batch = batch.to(model.device)
    with torch.inference_mode(), autocast_for(model.device):
        out = model(batch, spelling_features)
    lengths = batch.lengths.tolist()
    result = {}
    for task, logits in out.logits.items():
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        result[task] = _unsort([probs[row, :n] for row, n in enumerate(lengths)], batch.order)
    return result


def predict_labels(model: MTAALModel, batch: Batch) -> dict[str, list[np.ndarray]]:
    """Per task, the argmax label id of every token, one int64 array per sentence, in input order."""
    return {task: [p.argmax(-1) for p in probs] for task, probs in predict_proba(model, batch).items()}


def diversity_scores(
    model: MTAALModel, batch: Batch, spelling_features: torch.Tensor | None = None
) -> np.ndarray:
    """``1 - DD(E(x))`` (higher = looks less like the labeled set), one float per sentence, in input order.
    Per-word DD: ``1 - prod_words DD(E(x))_word`` (the release's score; long sentences score higher)."""
    model.eval()
    batch = batch.to(model.device)
    with torch.inference_mode(), autocast_for(model.device):
        logits = model.dd_logits(model.encode(batch, spelling_features), batch).float()
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


def iter_pool_predictions(
    model: MTAALModel,
    sentences: Sequence[Sequence[str]],
    vocab: Vocab,
    *,
    batch_size: int = 256,
    with_probs: bool = True,
    with_diversity: bool = False,
) -> Iterator[tuple[np.ndarray, PoolPredictions]]:
    """Score ``sentences`` in length-sorted batches (minimal padding), one spelling table for all of them
    (its char features computed once); yields each batch's sentence indices and its predictions, in the
    order of those indices, so a caller can reduce batch by batch."""
    table = SpellingTable(vocab).add(sentences)
    features = None
    if model.encoder.chars.distinct_spellings:
        model.eval()
        chars, lengths = table.tensors()
        with torch.inference_mode():
            features = model.encoder.chars.spelling_features(chars.to(model.device), lengths)
    for idx in length_sorted_batches([len(s) for s in sentences], batch_size):
        batch = collate([sentences[i] for i in idx], vocab, spellings=table, device=model.device)
        probs = predict_proba(model, batch, features) if with_probs else {}
        diversity = diversity_scores(model, batch, features) if with_diversity else None
        yield idx, PoolPredictions(probs=probs, diversity=diversity)


def predict_pool(
    model: MTAALModel, sentences: Sequence[Sequence[str]], vocab: Vocab, **options
) -> PoolPredictions:
    """Score a whole pool (:func:`iter_pool_predictions`, which takes ``options``); results in input order."""
    probs: dict[str, list] = {}
    diversity = None
    for idx, pred in iter_pool_predictions(model, sentences, vocab, **options):
        for task, arrays in pred.probs.items():
            rows = probs.setdefault(task, [None] * len(sentences))
            for i, arr in zip(idx, arrays, strict=True):
                rows[i] = arr
        if pred.diversity is not None:
            if diversity is None:
                diversity = np.empty(len(sentences), dtype=np.float64)
            diversity[idx] = pred.diversity
    return PoolPredictions(probs=probs, diversity=diversity)
