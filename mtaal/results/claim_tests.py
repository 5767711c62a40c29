"""The tests behind the claim verdicts, each aware of the smallest p its design can reach.

Every test returns a :class:`Result`: the p of the claimed direction, the p of the opposite ("does not
hold"), the smallest p the design can reach with its n (``attainable_p``), the effect with a 95% interval,
and the smallest effect (or, for equivalence, the smallest margin) the design detects with power 0.8.

Paired differences are tested by the exact sign-flip permutation test on their mean (Fisher's
randomisation test; enumerated up to :data:`EXACT_UP_TO` units, else :data:`RESAMPLES` seeded draws): it
needs no normality and its smallest p is 2^-n, so with alpha 0.05 it needs n >= 5. Equivalence ("changes
little") is two one-sided such tests against +/- the margin (TOST). Correlations use Pearson's t test and,
for "not correlated", TOST on Fisher's z; two groups of units an exact permutation test of group labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from mtaal.results.aggregate import t_interval

EXACT_UP_TO = 16  # 2^16 sign patterns
RESAMPLES = 20_000
POWER = 0.8
TOLERANCE = 1e-12  # ties in floating-point permutation statistics count as "at least as extreme"


@dataclass
class Result:
    test: str
    n: int
    p: float  # the claimed direction (holds)
    p_against: float  # the opposite (does not hold)
    attainable_p: float  # smallest p this design can reach
    needs: str  # the design it takes for attainable_p < alpha, in words
    effect: float
    low: float  # 95% interval of the effect
    high: float
    mde: float  # smallest effect (equivalence: margin) detectable with power 0.8; inf below the minimum n
    effect_label: str = "mean difference"

    def testable(self, alpha: float) -> bool:
        return self.n > 0 and np.isfinite(self.p) and self.attainable_p < alpha


def min_units(alpha: float) -> int:
    """Smallest n whose exact sign-flip test can reach p < alpha (one-sided: 2^-n < alpha)."""
    return math.floor(math.log2(1 / alpha)) + 1


def signflip_p(diff: Sequence[float], alternative: str = "greater") -> float:
    """Exact (or, above :data:`EXACT_UP_TO` units, seeded Monte Carlo) sign-flip p for the mean of
    ``diff`` being > 0 (``greater``) or < 0 (``less``)."""
    d = np.asarray(diff, dtype=float)
    n = len(d)
    if n == 0:
        return math.nan
    if n <= EXACT_UP_TO:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
    else:
        signs = np.random.default_rng(0).choice([-1, 1], size=(RESAMPLES, n))
        signs[0] = 1  # the observed assignment is one of the draws
    sums = signs @ d
    observed = d.sum()
    if alternative == "greater":
        return float(np.mean(sums >= observed - TOLERANCE))
    return float(np.mean(sums <= observed + TOLERANCE))


def _signflip_floor(n: int) -> float:
    return 2.0**-n if n <= EXACT_UP_TO else 1 / RESAMPLES


def _t_quantiles(n: int, alpha: float, second: float) -> float:
    return float(stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(second, n - 1))


def greater(diff: Sequence[float], alpha: float) -> Result:
    """One-sided sign-flip test that the mean paired difference is > 0."""
    d = pd.Series(diff, dtype=float).dropna().to_numpy()
    n = len(d)
    need = min_units(alpha)
    if n == 0:
        return Result("exact sign-flip, one-sided", 0, math.nan, math.nan, 1.0, f"n >= {need} units",
                      math.nan, math.nan, math.nan, math.inf)
    mean, sd = float(d.mean()), float(d.std(ddof=1)) if n > 1 else math.nan
    low, high = t_interval(mean, sd, n)
    mde = _t_quantiles(n, alpha, POWER) * sd / math.sqrt(n) if n >= need else math.inf
    return Result("exact sign-flip, one-sided", n, signflip_p(d, "greater"), signflip_p(d, "less"),
                  _signflip_floor(n), f"n >= {need} units", mean, low, high, mde)


def equivalent(diff: Sequence[float], margin: float, alpha: float) -> Result:
    """TOST: two one-sided sign-flip tests that the mean difference lies within +/- ``margin``;
    ``p_against``: that it lies outside (the smaller one-sided p, doubled)."""
    d = pd.Series(diff, dtype=float).dropna().to_numpy()
    n = len(d)
    base = greater(d, alpha)
    if n == 0:
        return replace(base, test=f"TOST (sign-flip), margin +/-{margin:g}")
    p = max(signflip_p(d + margin, "greater"), signflip_p(d - margin, "less"))
    outside = min(1.0, 2 * min(signflip_p(d - margin, "greater"), signflip_p(d + margin, "less")))
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    detectable = n >= min_units(alpha)
    mde = _t_quantiles(n, alpha, 1 - (1 - POWER) / 2) * sd / math.sqrt(n) if detectable else math.inf
    return replace(base, test=f"TOST (sign-flip), margin +/-{margin:g}", p=p, p_against=outside, mde=mde)


def welch_greater(a: pd.Series, b: pd.Series, alpha: float) -> Result:
    """One-sided Welch t test of mean(a) > mean(b) from summary statistics (``mean``, ``std``, ``n``)."""
    n1, n2 = int(a["n"]), int(b["n"])
    effect = float(a["mean"] - b["mean"])
    needs = "n >= 2 repeats per group"
    if min(n1, n2) < 2 or not (np.isfinite(a["std"]) and np.isfinite(b["std"])):
        return Result("Welch t, one-sided", min(n1, n2), math.nan, math.nan, 1.0, needs, effect, math.nan,
                      math.nan, math.inf, "difference of means")
    v1, v2 = a["std"] ** 2 / n1, b["std"] ** 2 / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        p = 0.0 if effect > 0 else 1.0
        return Result("Welch t, one-sided", min(n1, n2), p, 1.0 - p if effect != 0 else 1.0, 0.0, needs,
                      effect, effect, effect, 0.0, "difference of means")
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    t = effect / se
    half = float(stats.t.ppf(0.975, df)) * se
    mde = float(stats.t.ppf(1 - alpha, df) + stats.t.ppf(POWER, df)) * se
    return Result("Welch t, one-sided", min(n1, n2), float(stats.t.sf(t, df)), float(stats.t.cdf(t, df)),
                  0.0, needs, effect, effect - half, effect + half, mde, "difference of means")


def _fisher_interval(r: float, n: int) -> tuple[float, float]:
    if n < 4 or not np.isfinite(r):
        return math.nan, math.nan
    z, half = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12)), 1.959964 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def correlation_positive(r: float, n: int, alpha: float) -> Result:
    """One-sided t test of Pearson r > 0 over n units."""
    needs = "n >= 3 units"
    if n < 3 or not np.isfinite(r):
        return Result("Pearson t, one-sided", n, math.nan, math.nan, 1.0, needs, r, math.nan, math.nan,
                      math.inf, "Pearson r")
    r = max(min(r, 1.0), -1.0)
    df = n - 2
    t = r * math.sqrt(df) / math.sqrt(max(1 - r * r, 1e-300))
    low, high = _fisher_interval(r, n)
    quantiles = stats.norm.ppf(1 - alpha) + stats.norm.ppf(POWER)
    mde = math.tanh(quantiles / math.sqrt(n - 3)) if n > 3 else math.inf
    return Result("Pearson t, one-sided", n, float(stats.t.sf(t, df)), float(stats.t.cdf(t, df)), 0.0, needs,
                  r, low, high, mde, "Pearson r")


def correlation_negligible(r: float, n: int, margin: float, alpha: float) -> Result:
    """TOST on Fisher's z that |rho| < ``margin``. Even r = 0 gives p = Phi(-atanh(margin) sqrt(n - 3)): the
    attainable p, so few units can never show "not correlated"."""
    zm = math.atanh(margin)
    need = 4 + math.floor((stats.norm.ppf(1 - alpha) / zm) ** 2)
    needs = f"n >= {need} units for margin |r| < {margin:g}"
    if n < 4 or not np.isfinite(r):
        return Result(f"TOST (Fisher z), margin |r| < {margin:g}", n, math.nan, math.nan, 1.0, needs, r,
                      math.nan, math.nan, math.inf, "Pearson r")
    z, se = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12)), 1 / math.sqrt(n - 3)
    p = max(float(stats.norm.cdf((z - zm) / se)), float(stats.norm.sf((z + zm) / se)))
    outside = min(1.0, 2 * min(float(stats.norm.sf((z - zm) / se)), float(stats.norm.cdf((z + zm) / se))))
    attainable = float(stats.norm.cdf(-zm / se))
    low, high = _fisher_interval(r, n)
    mde = math.tanh((stats.norm.ppf(1 - alpha) + stats.norm.ppf(1 - (1 - POWER) / 2)) * se)
    return Result(f"TOST (Fisher z), margin |r| < {margin:g}", n, p, outside, attainable, needs, r, low, high,
                  mde if n >= need else math.inf, "Pearson r")


def two_sample_greater(a: Sequence[float], b: Sequence[float], alpha: float) -> Result:
    """Permutation test of group labels (exact up to :data:`RESAMPLES` splits) for mean(a) > mean(b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(a), len(b)
    label = "permutation of group labels, one-sided"
    if n1 == 0 or n2 == 0:
        return Result(label, min(n1, n2), math.nan, math.nan, 1.0, "tasks in both groups", math.nan, math.nan,
                      math.nan, math.inf, "difference of means")
    pooled = np.concatenate([a, b])
    splits = math.comb(n1 + n2, n1)
    if splits <= RESAMPLES:
        index = np.array(list(combinations(range(n1 + n2), n1)))
        floor = 1 / splits
    else:
        rng = np.random.default_rng(0)
        index = np.array([rng.permutation(n1 + n2)[:n1] for _ in range(RESAMPLES)])
        index[0] = np.arange(n1)
        floor = 1 / RESAMPLES
    first = pooled[index].sum(axis=1)
    diffs = first / n1 - (pooled.sum() - first) / n2
    observed = a.mean() - b.mean()
    p = float(np.mean(diffs >= observed - TOLERANCE))
    p_against = float(np.mean(diffs <= observed + TOLERANCE))
    v1 = a.var(ddof=1) / n1 if n1 > 1 else math.nan
    v2 = b.var(ddof=1) / n2 if n2 > 1 else math.nan
    se = math.sqrt(v1 + v2) if np.isfinite(v1 + v2) else math.nan
    if np.isfinite(se) and se > 0:
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        half = float(stats.t.ppf(0.975, df)) * se
        mde = float(stats.t.ppf(1 - alpha, df) + stats.t.ppf(POWER, df)) * se
    else:
        half, mde = math.nan, math.inf
    return Result(label, n1 + n2, p, p_against, floor, f"more tasks per group (now {n1} vs {n2})",
                  float(observed), float(observed - half), float(observed + half),
                  mde if floor < alpha else math.inf, "difference of means")


def intersection(parts: dict[str, Result]) -> tuple[Result, str]:
    """Intersection-union test of a claim made of several parts (it holds only if every part does): p is
    the largest part p, valid without independence between the parts; "does not hold" if any part fails
    (Bonferroni over the parts). The effect shown is the binding part's (the one with the largest p)."""
    usable = {name: r for name, r in parts.items() if np.isfinite(r.p)}
    pool = usable or parts
    binding = max(pool, key=lambda name: (pool[name].p if np.isfinite(pool[name].p) else math.inf,
                                          pool[name].attainable_p))
    worst = pool[binding]
    against = [r.p_against for r in parts.values() if np.isfinite(r.p_against)]
    result = replace(
        worst,
        test=f"intersection-union over {len(parts)} parts ({worst.test})",
        n=min(r.n for r in parts.values()),
        p=max(r.p for r in parts.values()) if len(usable) == len(parts) else math.nan,
        p_against=min(1.0, len(parts) * min(against)) if against else math.nan,
        attainable_p=max(r.attainable_p for r in parts.values()),
        needs="; ".join(dict.fromkeys(r.needs for r in parts.values())),
    )
    return result, binding


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p values; NaN stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, math.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def ordering_confidence(scores: pd.Series, groups: pd.Series, top: str, bottom: str,
                        resamples: int = 2000) -> float:
    """Share of stratified bootstrap resamples (units resampled within each group) in which ``top`` has the
    highest group mean and ``bottom`` the lowest."""
    rng = np.random.default_rng(0)
    values = {g: scores[groups == g].to_numpy(dtype=float) for g in sorted(groups.unique())}
    hits = 0
    for _ in range(resamples):
        means = {g: rng.choice(v, size=len(v)).mean() for g, v in values.items()}
        ranked = sorted(means, key=means.get)
        hits += ranked[-1] == top and ranked[0] == bottom
    return hits / resamples
