"""Seeds -> mean, std and n per group, and the intervals around a mean over seeds.

Every report of both papers summarises its seeds here: the mean, the sample std (ddof 1; NaN with one
seed) and n, the number of distinct seeds; the t interval of that mean, and the prediction interval of one
more run (what a single printed number is judged against).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def over_seeds(
    frame: pd.DataFrame,
    by: Sequence[str],
    *,
    value: str = "value",
    seed: str = "seed",
    n: str = "n_seeds",
    sort: bool = False,
    **extra: tuple[str, str],
) -> pd.DataFrame:
    """Per group of ``by`` (missing keys are a group too): ``extra`` named aggregations (pandas ``agg``
    pairs), then ``mean`` and ``std`` of ``value`` and ``n``, the distinct seeds of the group."""
    grouped = frame.groupby(list(by), sort=sort, dropna=False)
    return grouped.agg(
        **extra, mean=(value, "mean"), std=(value, "std"), **{n: (seed, "nunique")}
    ).reset_index()


def _half_width(std: float, n: int, level: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, n - 1)) * std


def t_interval(mean: float, std: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Two-sided t interval of a mean over ``n`` seeds, ``mean ± t · s / sqrt(n)``; NaN below two seeds."""
    if n < 2 or not np.isfinite(std):
        return math.nan, math.nan
    half = _half_width(std, n, level) / math.sqrt(n)
    return mean - half, mean + half


def prediction_interval(mean: float, std: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Where one more run (a single printed number) falls with probability ``level``, from ``n`` seeds:
    ``mean ± t · s · sqrt(1 + 1/n)``. NaN below two seeds."""
    if n < 2 or not np.isfinite(std):
        return math.nan, math.nan
    half = _half_width(std, n, level) * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def spearman(
    x: Sequence[float], y: Sequence[float], resamples: int = 9999, seed: int = 0
) -> tuple[float, float]:
    """Spearman's rho and its two-sided permutation p: exact over all n! pairings when they number at most
    ``resamples`` (n <= 7; at n = 3 the smallest p is 1/3), else ``resamples`` seeded random pairings. The
    t approximation scipy's ``spearmanr`` reports is unusable at a handful of tasks (p = 0 at n = 3)."""
    result = stats.permutation_test(
        (np.asarray(x, float), np.asarray(y, float)),
        lambda a, b: stats.spearmanr(a, b).statistic,
        permutation_type="pairings",
        n_resamples=resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(result.statistic), float(result.pvalue)
