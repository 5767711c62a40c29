"""Query strategies for pool-based active learning over sentences: pure numpy, one interface.

Every strategy answers ``select(k, candidates, probs=..., diversity=..., rng=...)`` with at most ``k``
candidate ids, most informative first. ``probs`` maps a task ("ner", "nen") to one ``(length, n_labels)``
array of per-token label probabilities per candidate, aligned with ``candidates``; ``diversity`` is one
``1 - DD(E(x))`` score per candidate.

Sentence scores (higher = queried first), for one task with token distributions ``p_t`` (t = 1..n):

* entropy: ``H_t = -Σ_j p_tj log p_tj`` aggregated over tokens: ``sum`` (default, total token entropy),
  ``mean`` (length-normalised token entropy, Settles & Craven 2008) or ``max`` (what the authors' release
  computes).
* least confidence: ``1 - Π_t max_j p_tj``: one minus the probability of the most likely sequence, with the
  sequence probability approximated by the product of per-token maxima (the decoders are token-wise
  softmaxes, no CRF, so this is the greedy sequence's probability under the model's factorisation).
* MNLP (Shen et al. 2017): ``-(1/n) Σ_t log max_j p_tj``: the sentences with the lowest length-normalised
  log-probability of their most likely labelling come first. (The release computes ``-log(mean_t max_j
  p_tj)`` instead; ``MNLPStrategy(release_form=True)`` gives that.)
* diversity: the ``1 - DD(E(x))`` score itself (the sentences the diversity discriminator finds least like
  the labeled set).

Multi-task: a sentence's uncertainty is the sum of its per-task scores over the tasks present in ``probs``
(the release sums NER and NEN the same way). Ties are broken by ascending candidate id, so the result does
not depend on the order candidates are listed in; random sampling also first puts candidates in id order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

Probs = Mapping[str, Sequence[np.ndarray]]

_TINY = 1e-12


def token_entropy(p: np.ndarray) -> np.ndarray:
    """``-Σ_j p_tj log p_tj`` per token (natural log; 0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=-1)


def sentence_entropy(p: np.ndarray, aggregate: str = "sum") -> float:
    ent = token_entropy(p)
    if aggregate == "sum":
        return float(ent.sum())
    if aggregate == "mean":
        return float(ent.mean())
    if aggregate == "max":
        return float(ent.max())
    raise ValueError(f"entropy aggregate must be 'sum', 'mean' or 'max', got {aggregate!r}")


def least_confidence(p: np.ndarray) -> float:
    """``1 - Π_t max_j p_tj``."""
    return float(1.0 - np.prod(np.asarray(p, dtype=np.float64).max(axis=-1)))


def mnlp(p: np.ndarray) -> float:
    """``-(1/n) Σ_t log max_j p_tj`` (Shen et al. 2017; higher = less confident)."""
    top = np.asarray(p, dtype=np.float64).max(axis=-1)
    return float(-np.mean(np.log(np.maximum(top, _TINY))))


def release_mnlp(p: np.ndarray) -> float:
    """The release's variant: ``-log(mean_t max_j p_tj)``."""
    top = np.asarray(p, dtype=np.float64).max(axis=-1)
    return float(-np.log(max(float(np.mean(top)), _TINY)))


def _id_ranks(candidates: Sequence) -> np.ndarray:
    """Rank of each candidate in ascending id order (ids must be mutually comparable)."""
    positions = sorted(range(len(candidates)), key=lambda i: candidates[i])
    ranks = np.empty(len(candidates), dtype=np.int64)
    ranks[positions] = np.arange(len(candidates))
    if len(set(candidates)) != len(candidates):
        raise ValueError("candidates: ids must be unique")
    return ranks


def top_k(candidates: Sequence, scores: np.ndarray, k: int) -> list:
    """The ``k`` highest-scoring ids, best first; equal scores in ascending id order."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(candidates),):
        raise ValueError(f"{scores.shape[0] if scores.ndim else 0} scores for {len(candidates)} candidates")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    order = np.lexsort((_id_ranks(candidates), -scores))
    return [candidates[i] for i in order[: max(0, k)]]


class QueryStrategy(ABC):
    """Pick up to ``k`` ids from ``candidates``; subclasses say which inputs they read."""

    name: ClassVar[str]

    @abstractmethod
    def select(
        self,
        k: int,
        candidates: Sequence,
        *,
        probs: Probs | None = None,
        diversity: Sequence[float] | np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> list: ...


class RandomStrategy(QueryStrategy):
    """Uniform sampling without replacement with a seeded ``numpy.random.Generator`` (required).

    ``replace=True`` samples with replacement, as the release's ``np.random.choice(..., query_num)``
    (``activelearning.py`` ``random``): a query may then name a sentence more than once.
    """

    name = "random"

    def __init__(self, replace: bool = False):
        self.replace = bool(replace)

    def select(self, k, candidates, *, probs=None, diversity=None, rng=None) -> list:
        if rng is None:
            raise ValueError("RandomStrategy needs a seeded numpy Generator (rng)")
        by_id = np.argsort(_id_ranks(candidates))
        size = max(0, k) if self.replace and len(candidates) else min(max(0, k), len(candidates))
        picked = rng.choice(len(candidates), size=size, replace=self.replace)
        return [candidates[by_id[i]] for i in picked]


class UncertaintyStrategy(QueryStrategy):
    """Sum over tasks of a per-sentence uncertainty; the highest sums are queried."""

    @abstractmethod
    def sentence_score(self, p: np.ndarray) -> float: ...

    def scores(self, probs: Probs, n: int) -> np.ndarray:
        if not probs:
            raise ValueError(f"{type(self).__name__} needs per-token probabilities (probs)")
        total = np.zeros(n, dtype=np.float64)
        for task, arrays in probs.items():
            if len(arrays) != n:
                raise ValueError(f"{task}: {len(arrays)} probability arrays for {n} candidates")
            total += np.array([self.sentence_score(p) for p in arrays], dtype=np.float64)
        return total

    def select(self, k, candidates, *, probs=None, diversity=None, rng=None) -> list:
        return top_k(candidates, self.scores(probs or {}, len(candidates)), k)


class EntropyStrategy(UncertaintyStrategy):
    name = "entropy"

    def __init__(self, aggregate: str = "sum"):
        sentence_entropy(np.ones((1, 1)), aggregate)  # validates the name early
        self.aggregate = aggregate

    def sentence_score(self, p: np.ndarray) -> float:
        return sentence_entropy(p, self.aggregate)


class LeastConfidenceStrategy(UncertaintyStrategy):
    name = "lc"

    def sentence_score(self, p: np.ndarray) -> float:
        return least_confidence(p)


class MNLPStrategy(UncertaintyStrategy):
    name = "mnlp"

    def __init__(self, release_form: bool = False):
        self.release_form = release_form

    def sentence_score(self, p: np.ndarray) -> float:
        return release_mnlp(p) if self.release_form else mnlp(p)


class DiversityStrategy(QueryStrategy):
    """Highest ``1 - DD(E(x))`` first."""

    name = "diversity"

    def select(self, k, candidates, *, probs=None, diversity=None, rng=None) -> list:
        if diversity is None:
            raise ValueError("DiversityStrategy needs diversity scores (1 - DD(E(x)))")
        return top_k(candidates, np.asarray(diversity, dtype=np.float64), k)


STRATEGIES: dict[str, type[QueryStrategy]] = {
    cls.name: cls
    for cls in (RandomStrategy, EntropyStrategy, LeastConfidenceStrategy, MNLPStrategy, DiversityStrategy)
}


def make_strategy(name: str, **options) -> QueryStrategy:
    """A strategy by name: random, entropy, lc, mnlp, diversity (options go to its constructor)."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown query strategy {name!r}; choose from {sorted(STRATEGIES)}")
    return STRATEGIES[name](**options)
