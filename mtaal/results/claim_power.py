"""The permutation designs behind the claim tests, and the smallest effect each test detects with power 0.8
at a given level (the minimum detectable effect, MDE), computed for the test actually used.

The sign-flip and group-permutation tests are discrete: at n = 5 units a one-sided sign-flip test rejects at
0.05 only when all five differences are positive, so its power at a shift delta is Phi(delta / sd)^5, far
from what a t-test formula promises. Their power is therefore computed by enumerating the test's own sign
patterns or splits (or the seeded sample the test draws above its exact size) against :data:`DRAWS` seeded
normal draws of the data with the observed spread. Welch's t uses the noncentral t; correlations Fisher's z
(the usual approximation for Pearson's r).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np
from scipy import optimize, stats

EXACT_UP_TO = 16  # sign-flip: 2^16 sign patterns enumerated, above that RESAMPLES drawn
RESAMPLES = 20_000
POWER = 0.8
DRAWS = 2000  # normal draws of the data per power computation
PATTERNS = 4096  # patterns per power computation: a seeded sample of the test's own where it has more
BLOCK = 1_000_000  # draws x patterns held in memory at once


# -------------------------------------------------------------------------------- the designs


@lru_cache(maxsize=32)
def sign_patterns(n: int) -> np.ndarray:
    """Rows of +-1, the first the observed assignment: all 2^n patterns up to :data:`EXACT_UP_TO` units,
    else :data:`RESAMPLES` seeded draws."""
    if n <= EXACT_UP_TO:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2.0 - 1
        return np.ascontiguousarray(signs[::-1])  # all +1 first
    signs = np.random.default_rng(0).choice([-1, 1], size=(RESAMPLES, n)).astype(float)
    signs[0] = 1
    return signs


@lru_cache(maxsize=32)
def group_splits(n1: int, n2: int) -> np.ndarray:
    """Rows of the n1 indices (into the pooled n1 + n2 values) labelled as the first group, the first row
    the observed labels: every split up to :data:`RESAMPLES`, else that many seeded permutations."""
    if math.comb(n1 + n2, n1) <= RESAMPLES:
        return np.array(list(combinations(range(n1 + n2), n1)))
    rng = np.random.default_rng(0)
    index = np.array([rng.permutation(n1 + n2)[:n1] for _ in range(RESAMPLES)])
    index[0] = np.arange(n1)
    return index


def _draws(width: int) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((DRAWS, width)).astype(np.float32)


def _some(rows: np.ndarray) -> np.ndarray:
    """The observed row and a seeded sample of the others, :data:`PATTERNS` in all: the test's permutation
    distribution, sampled as the test itself samples above its exact size."""
    if len(rows) <= PATTERNS:
        return rows
    rest = np.random.default_rng(2).choice(np.arange(1, len(rows)), size=PATTERNS - 1, replace=False)
    return rows[np.concatenate([[0], np.sort(rest)])]


def _blocks(z: np.ndarray, patterns: int) -> list[np.ndarray]:
    return np.array_split(z, max(1, len(z) * patterns // BLOCK))


# -------------------------------------------------------------------------------- permutation power


def rejecting_shift(c: np.ndarray, always: int, rows: int, level: float) -> np.ndarray:
    """Per draw (row of ``c``): the shift above which a permutation test rejects at ``level``. A pattern
    counts as at least as extreme as the observed one while the shift is <= its entry in ``c``; ``always``
    patterns (the observed one among them) count whatever the shift; p = counted / ``rows``."""
    spare = math.ceil(level * rows) - 1 - always  # patterns that may still count with p < level
    if spare < 0:
        return np.full(len(c), math.inf)
    if spare >= c.shape[1]:
        return np.full(len(c), -math.inf)
    k = c.shape[1] - spare - 1  # the (spare + 1)-th largest entry
    return np.partition(c, k, axis=1)[:, k]


def _quantile(shifts: np.ndarray) -> float:
    # "higher": no interpolation, which would turn a test that never rejects (inf - inf) into NaN
    return max(0.0, float(np.quantile(shifts, POWER, method="higher")))


@lru_cache(maxsize=64)
def signflip_quantiles(n: int, level: float) -> tuple[float, float]:
    """For unit spread: the shift the one-sided sign-flip test on n units detects with power 0.8 at
    ``level``, and the margin its TOST detects with power 0.8 when the true difference is 0."""
    signs = _some(sign_patterns(n))
    flips = (signs < 0).astype(np.float32)
    sizes = flips.sum(axis=1)
    always, flips, sizes = int(np.sum(sizes == 0)), flips[sizes > 0], sizes[sizes > 0]
    up, down = [], []
    for z in _blocks(_draws(n), len(flips)):
        means = (z @ flips.T) / sizes  # each pattern's mean over its flipped units
        # d = shift + z: flipping T keeps the sum as large while sum_T d <= 0, i.e. shift <= -mean_T z
        up.append(rejecting_shift(-means, always, len(signs), level))
        down.append(rejecting_shift(means, always, len(signs), level))
    up, down = np.concatenate(up), np.concatenate(down)
    return _quantile(up), _quantile(np.maximum(up, down))


def signflip_mde(n: int, sd: float, level: float, equivalence: bool = False) -> float:
    """Smallest mean difference (``equivalence``: TOST margin) the sign-flip test on n units with spread
    ``sd`` detects with power 0.8 at ``level``; NaN without a spread to plan with."""
    if n < 2 or not np.isfinite(sd) or sd == 0:
        return math.nan
    return sd * signflip_quantiles(n, level)[int(equivalence)]


@lru_cache(maxsize=64)
def _two_sample_quantile(n1: int, n2: int, level: float) -> float:
    index = _some(group_splits(n1, n2))
    member = np.zeros((len(index), n1 + n2), dtype=np.float32)
    np.put_along_axis(member, index, 1.0, axis=1)
    shared = member[:, :n1].sum(axis=1)  # of the observed first group
    # A shift of the first group moves the observed statistic by shift and a split's by less, by gap x shift.
    gap = 1 - shared / n1 + (n1 - shared) / n2
    moving = gap > 1e-12
    shifts = []
    for z in _blocks(_draws(n1 + n2), len(index)):
        first = z @ member.T
        stat = first / n1 - (z.sum(axis=1, keepdims=True) - first) / n2
        c = (stat[:, moving] - stat[:, :1]) / gap[moving]
        shifts.append(rejecting_shift(c, int((~moving).sum()), len(index), level))
    return _quantile(np.concatenate(shifts))


def two_sample_mde(n1: int, n2: int, sd: float, level: float) -> float:
    """Smallest difference of means the group-label permutation test detects with power 0.8 at ``level``
    (both groups with spread ``sd``)."""
    if min(n1, n2) < 1 or not np.isfinite(sd) or sd == 0:
        return math.nan
    return sd * _two_sample_quantile(n1, n2, level)


# -------------------------------------------------------------------------------- t and Fisher z


def welch_mde(se: float, df: float, level: float) -> float:
    """Smallest difference of means Welch's t (standard error ``se``, ``df`` degrees of freedom) detects
    with power 0.8 at ``level``, from the noncentral t."""
    if not (np.isfinite(se) and se > 0 and np.isfinite(df)):
        return math.nan
    critical = stats.t.ppf(1 - level, df)
    gap = optimize.brentq(lambda shift: stats.nct.sf(critical, df, shift) - POWER, 0.0, critical + 50.0)
    return float(gap * se)


def correlation_mde(n: int, level: float) -> float:
    """Smallest correlation a one-sided test over n units detects with power 0.8 at ``level``."""
    if n <= 3:
        return math.nan
    return math.tanh((stats.norm.ppf(1 - level) + stats.norm.ppf(POWER)) / math.sqrt(n - 3))


def negligible_mde(n: int, level: float) -> float:
    """Smallest margin |r| the Fisher-z TOST over n units shows with power 0.8 when rho is 0."""
    if n <= 3:
        return math.nan
    return math.tanh((stats.norm.ppf(1 - level) + stats.norm.ppf(1 - (1 - POWER) / 2)) / math.sqrt(n - 3))
