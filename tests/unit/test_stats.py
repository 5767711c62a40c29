"""Statistics helpers on known answers."""

import pytest

from mtaal.stats import spearman


def test_spearman_p_is_exact_over_pairings_at_few_units():
    rho, p = spearman([1, 2, 3], [10, 20, 30])
    assert rho == 1.0 and p == pytest.approx(2 / 6)  # rho = +1 or -1: 2 of the 3! pairings
    rho, p = spearman(range(10), [0, 2, 1, 3, 5, 4, 6, 8, 7, 9])  # 10! pairings: seeded sample
    assert rho > 0.9 and 0 < p < 0.01
