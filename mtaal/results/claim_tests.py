"""The tests behind the claim verdicts, each aware of the smallest p its design can reach.

Every test returns a :class:`Result`: the p of the claimed direction, the p of the opposite ("does not
hold"), the smallest p the design can reach with its n (``attainable_p``), the effect with a 95% interval,
what the design needs and the smallest effect (for equivalence: margin) it detects with power 0.8, both as
functions of the level (the claims table evaluates them at each claim's Holm threshold), and a rank-based
test of the same claim (:class:`RankCheck`).

Paired differences are tested by the exact sign-flip permutation test on their mean (Fisher's
randomisation test; enumerated up to 16 units, else 20,000 seeded draws): it needs no normality and its
smallest p is 2^-n, so with alpha 0.05 it needs n >= 5. Equivalence ("changes little") is two one-sided
such tests against +/- the margin (TOST). Correlations use Pearson's t test and, for "not correlated", TOST
on Fisher's z; two groups of units an exact permutation test of group labels; two summaries (mean, std, n)
Welch's t. Power: :mod:`mtaal.results.claim_power`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from mtaal.results import claim_power as P
from mtaal.stats import t_interval

TOLERANCE = 1e-12  # ties in floating-point permutation statistics count as "at least as extreme"


@dataclass
class RankCheck:
    """A rank-based test of the same claim, so a reader sees when a verdict hangs on the choice of test.
    ``p`` is NaN where a rank test can only speak against the claim (a two-sided test of any difference
    beside an equivalence test)."""

    test: str = ""
    p: float = math.nan  # the claimed direction
    p_against: float = math.nan  # the opposite


@dataclass
class Result:
    test: str
    n: int
    p: float  # the claimed direction (holds)
    p_against: float  # the opposite (does not hold)
    attainable_p: float  # smallest p this design can reach
    needs: Callable[[float], str]  # level -> the design it takes for attainable_p < level, in words
    effect: float
    low: float  # 95% interval of the effect
    high: float
    mde: Callable[[float], float]  # level -> smallest effect (equivalence: margin) found with power 0.8
    effect_label: str = "mean difference"
    rank: RankCheck = field(default_factory=RankCheck)
    problem: str = ""  # why the test is undefined on these data (degenerate), if it is

    def testable(self, alpha: float) -> bool:
        return self.n > 0 and not self.problem and np.isfinite(self.p) and self.attainable_p < alpha


def _said(text: str) -> Callable[[float], str]:
    return lambda level: text


def _none(level: float) -> float:
    return math.nan


# -------------------------------------------------------------------------------- paired differences


def min_units(level: float) -> int:
    """Smallest n whose exact sign-flip test can reach p < ``level`` (one-sided: 2^-n < level)."""
    return math.floor(math.log2(1 / level)) + 1


def _units_needed(level: float) -> str:
    return f"n >= {min_units(level)} units"


def signflip_p(diff: Sequence[float], alternative: str = "greater") -> float:
    """Exact (or, above 16 units, seeded Monte Carlo) sign-flip p for the mean of ``diff`` being > 0
    (``greater``) or < 0 (``less``)."""
    d = np.asarray(diff, dtype=float)
    if len(d) == 0:
        return math.nan
    sums = P.sign_patterns(len(d)) @ d
    observed = d.sum()
    if alternative == "greater":
        return float(np.mean(sums >= observed - TOLERANCE))
    return float(np.mean(sums <= observed + TOLERANCE))


def signflip_floor(n: int) -> float:
    return 1.0 / len(P.sign_patterns(n)) if n > 0 else 1.0


def _wilcoxon(d: np.ndarray, alternative: str) -> float:
    if not np.any(d):  # no non-zero difference: no evidence either way
        return 1.0
    return float(stats.wilcoxon(d, alternative=alternative).pvalue)


def wilcoxon_check(d: np.ndarray) -> RankCheck:
    """One-sided Wilcoxon signed-rank tests (scipy) in both directions."""
    if len(d) == 0:
        return RankCheck()
    return RankCheck("Wilcoxon signed-rank, one-sided", _wilcoxon(d, "greater"), _wilcoxon(d, "less"))


def wilcoxon_difference(d: np.ndarray) -> RankCheck:
    """Two-sided Wilcoxon signed-rank test of any difference: evidence against "no difference" only."""
    if len(d) == 0:
        return RankCheck()
    return RankCheck("Wilcoxon signed-rank, two-sided (any difference)", math.nan, _wilcoxon(d, "two-sided"))


def _clean(values: Sequence[float]) -> np.ndarray:
    return pd.Series(values, dtype=float).dropna().to_numpy()


def greater(diff: Sequence[float]) -> Result:
    """One-sided sign-flip test that the mean paired difference is > 0."""
    d = _clean(diff)
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    low, high = t_interval(mean, sd, n)
    return Result("exact sign-flip, one-sided", n, signflip_p(d, "greater"), signflip_p(d, "less"),
                  signflip_floor(n), _units_needed, mean, low, high, partial(P.signflip_mde, n, sd),
                  rank=wilcoxon_check(d))


def equivalent(diff: Sequence[float], margin: float) -> Result:
    """TOST: two one-sided sign-flip tests that the mean difference lies within +/- ``margin``;
    ``p_against``: that it lies outside (the smaller one-sided p, doubled). The rank check is a two-sided
    Wilcoxon test of any difference."""
    d = _clean(diff)
    base = replace(greater(d), test=f"TOST (sign-flip), margin +/-{margin:g}")
    if len(d) == 0:
        return base
    p = max(signflip_p(d + margin, "greater"), signflip_p(d - margin, "less"))
    outside = min(1.0, 2 * min(signflip_p(d - margin, "greater"), signflip_p(d + margin, "less")))
    sd = float(d.std(ddof=1)) if len(d) > 1 else math.nan
    return replace(base, p=p, p_against=outside, mde=partial(P.signflip_mde, len(d), sd, equivalence=True),
                   rank=wilcoxon_difference(d))


# -------------------------------------------------------------------------------- two groups


def permutation_floor(n1: int, n2: int) -> float:
    """Smallest p of an exact permutation test of two groups' labels: one split in C(n1 + n2, n1)."""
    return 1.0 / math.comb(n1 + n2, n1) if min(n1, n2) > 0 else 1.0


def _repeats_needed(level: float) -> str:
    k = next(k for k in range(1, 100) if permutation_floor(k, k) < level)
    return f"n >= {k} repeats per group (1 / C(2n, n) < {level:.3g})"


def welch_greater(a: pd.Series, b: pd.Series) -> Result:
    """One-sided Welch t test of mean(a) > mean(b) from summary statistics (``mean``, ``std``, ``n``).
    Normality cannot be checked from a mean and a std, so the test counts as testable only where an exact
    permutation test of the same repeats could reach the level too: its attainable p is 1 / C(n1 + n2, n1)
    (2 repeats each: 1/6)."""
    n1, n2 = int(a["n"]), int(b["n"])
    effect = float(a["mean"] - b["mean"])
    result = Result("Welch t, one-sided", min(n1, n2), math.nan, math.nan, permutation_floor(n1, n2),
                    _repeats_needed, effect, math.nan, math.nan, _none, "difference of means",
                    RankCheck("none: summary statistics only"))
    if min(n1, n2) < 2 or not (np.isfinite(a["std"]) and np.isfinite(b["std"])):
        return result
    if a["std"] == 0 and b["std"] == 0:
        return replace(result, problem="degenerate: both stds are 0, so Welch's t is undefined")
    v1, v2 = a["std"] ** 2 / n1, b["std"] ** 2 / n2
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = float(stats.t.ppf(0.975, df)) * se
    summaries = (a["mean"], a["std"], n1, b["mean"], b["std"], n2)
    p, p_against = (float(stats.ttest_ind_from_stats(*summaries, equal_var=False, alternative=side).pvalue)
                    for side in ("greater", "less"))
    return replace(result, p=p, p_against=p_against, low=effect - half, high=effect + half,
                   mde=partial(P.welch_mde, se, df))


def _permutation_p(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    pooled = np.concatenate([a, b])
    first = pooled[P.group_splits(len(a), len(b))].sum(axis=1)
    diffs = first / len(a) - (pooled.sum() - first) / len(b)
    observed = a.mean() - b.mean()
    return float(np.mean(diffs >= observed - TOLERANCE)), float(np.mean(diffs <= observed + TOLERANCE))


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> RankCheck:
    p, p_against = (float(stats.mannwhitneyu(a, b, alternative=side).pvalue) for side in ("greater", "less"))
    return RankCheck("Mann-Whitney U, one-sided", p, p_against)


def two_sample_greater(a: Sequence[float], b: Sequence[float]) -> Result:
    """Permutation test of group labels (exact up to 20,000 splits) for mean(a) > mean(b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(a), len(b)
    label = "permutation of group labels, one-sided"
    if n1 == 0 or n2 == 0:
        return Result(label, min(n1, n2), math.nan, math.nan, 1.0, _said("tasks in both groups"), math.nan,
                      math.nan, math.nan, _none, "difference of means")
    p, p_against = _permutation_p(a, b)
    v1 = a.var(ddof=1) / n1 if n1 > 1 else math.nan
    v2 = b.var(ddof=1) / n2 if n2 > 1 else math.nan
    se = math.sqrt(v1 + v2) if np.isfinite(v1 + v2) else math.nan
    half = math.nan
    if np.isfinite(se) and se > 0:
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        half = float(stats.t.ppf(0.975, df)) * se
    pooled_sd = math.sqrt((np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2)) / (n1 + n2 - 2)) if (
        n1 + n2 > 2) else math.nan
    observed = float(a.mean() - b.mean())
    return Result(label, n1 + n2, p, p_against, permutation_floor(n1, n2),
                  _said(f"more tasks per group (now {n1} vs {n2})"), observed, observed - half,
                  observed + half, partial(P.two_sample_mde, n1, n2, pooled_sd), "difference of means",
                  _mann_whitney(a, b))


# -------------------------------------------------------------------------------- correlations


def _fisher_interval(r: float, n: int) -> tuple[float, float]:
    if n < 4 or not np.isfinite(r):
        return math.nan, math.nan
    z, half = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12)), 1.959964 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def spearman_check(x: Sequence[float], y: Sequence[float], positive: bool) -> RankCheck:
    """Spearman's rank correlation (scipy): one-sided for "correlates positively", else two-sided (any
    correlation, evidence against "not correlated" only)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return RankCheck()
    if positive:
        p, p_against = (float(stats.spearmanr(x, y, alternative=side).pvalue) for side in ("greater", "less"))
        return RankCheck("Spearman rho, one-sided", p, p_against)
    return RankCheck("Spearman rho, two-sided (any correlation)", math.nan,
                     float(stats.spearmanr(x, y).pvalue))


def correlation_positive(r: float, n: int) -> Result:
    """One-sided t test of Pearson r > 0 over n units."""
    needs = _said("n >= 3 units")
    if n < 3 or not np.isfinite(r):
        return Result("Pearson t, one-sided", n, math.nan, math.nan, 1.0, needs, r, math.nan, math.nan,
                      _none, "Pearson r")
    r = max(min(r, 1.0), -1.0)
    df = n - 2
    t = r * math.sqrt(df) / math.sqrt(max(1 - r * r, 1e-300))
    low, high = _fisher_interval(r, n)
    return Result("Pearson t, one-sided", n, float(stats.t.sf(t, df)), float(stats.t.cdf(t, df)), 0.0, needs,
                  r, low, high, partial(P.correlation_mde, n), "Pearson r")


def correlation_negligible(r: float, n: int, margin: float) -> Result:
    """TOST on Fisher's z that |rho| < ``margin``. Even r = 0 gives p = Phi(-atanh(margin) sqrt(n - 3)): the
    attainable p, so few units can never show "not correlated"."""
    zm = math.atanh(margin)
    test = f"TOST (Fisher z), margin |r| < {margin:g}"

    def needs(level: float) -> str:
        units = 4 + math.floor((stats.norm.ppf(1 - level) / zm) ** 2)
        return f"n >= {units} units for margin |r| < {margin:g}"

    if n < 4 or not np.isfinite(r):
        return Result(test, n, math.nan, math.nan, 1.0, needs, r, math.nan, math.nan, _none, "Pearson r")
    z, se = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12)), 1 / math.sqrt(n - 3)
    p = max(float(stats.norm.cdf((z - zm) / se)), float(stats.norm.sf((z + zm) / se)))
    outside = min(1.0, 2 * min(float(stats.norm.sf((z - zm) / se)), float(stats.norm.cdf((z + zm) / se))))
    low, high = _fisher_interval(r, n)
    return Result(test, n, p, outside, float(stats.norm.cdf(-zm / se)), needs, r, low, high,
                  partial(P.negligible_mde, n), "Pearson r")


# -------------------------------------------------------------------------------- claims of several parts


def _either_way(ps: list[float]) -> float:
    """Bonferroni over the parts: "some part fails" (Holm's first step, the one that decides whether any
    part's reverse test rejects)."""
    finite = [p for p in ps if np.isfinite(p)]
    return min(1.0, len(ps) * min(finite)) if finite else math.nan


def _combined_rank(parts: Mapping[str, Result]) -> RankCheck:
    ranks = [r.rank for r in parts.values()]
    names = list(dict.fromkeys(rank.test for rank in ranks if rank.test))
    if not any(np.isfinite(rank.p_against) for rank in ranks):
        return RankCheck("; ".join(names))  # e.g. "none: summary statistics only"
    p = max(rank.p for rank in ranks) if all(np.isfinite(rank.p) for rank in ranks) else math.nan
    return RankCheck(f"intersection-union over {len(ranks)} parts ({'; '.join(names)})", p,
                     _either_way([rank.p_against for rank in ranks]))


def _problems(parts: Mapping[str, Result]) -> str:
    """Each problem once, with the parts that have it."""
    names: dict[str, list[str]] = {}
    for name, r in parts.items():
        if r.problem:
            names.setdefault(r.problem, []).append(name)
    return "; ".join(f"{problem} ({', '.join(which)})" for problem, which in names.items())


def intersection(parts: dict[str, Result]) -> tuple[Result, str]:
    """Intersection-union test of a claim made of several parts (it holds only if every part does): p is
    the largest part p, valid without independence between the parts; "does not hold" if some part's
    reverse test rejects after Holm over the parts (its first step: the smallest reverse p times the number
    of parts). The effect shown is the binding part's (the one with the largest p); the design needs what
    every part needs, and its detectable effect is the largest part's (each part must reject)."""
    usable = {name: r for name, r in parts.items() if np.isfinite(r.p)}
    pool = usable or parts
    binding = max(pool, key=lambda name: (pool[name].p if np.isfinite(pool[name].p) else math.inf,
                                          pool[name].attainable_p))
    worst = pool[binding]
    results = list(parts.values())
    result = replace(
        worst,
        test=f"intersection-union over {len(parts)} parts ({worst.test})",
        n=min(r.n for r in results),
        p=max(r.p for r in results) if len(usable) == len(parts) else math.nan,
        p_against=_either_way([r.p_against for r in results]),
        attainable_p=max(r.attainable_p for r in results),
        needs=lambda level: "; ".join(dict.fromkeys(r.needs(level) for r in results)),
        mde=lambda level: max(r.mde(level) for r in results),
        rank=_combined_rank(parts),
        problem=_problems(parts),
    )
    return result, binding


# -------------------------------------------------------------------------------- Holm


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


def holm_levels(floors: Mapping[int, float], alpha: float) -> dict[int, float]:
    """The claims Holm leaves a chance to hold, each with the threshold it meets at best: ``floors`` maps a
    claim to its attainable p. A claim can hold only if Holm's adjusted p of the attainable p values is
    < alpha (adjusted p values only grow with the p values); the others are dropped from the family (their
    p can never reject, so leaving them out keeps the error rate, as in Tarone's refinement). A kept claim
    is tested, at best, when every claim with a smaller floor has been rejected: alpha / (the claims left
    then)."""
    keys = list(floors)
    adjusted = holm([floors[k] for k in keys])
    kept = [k for k, a in zip(keys, adjusted, strict=True) if a < alpha]
    return {k: alpha / sum(floors[j] >= floors[k] for j in kept) for k in kept}


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
