"""helpers.stats: McNemar's exact test and the paired bootstrap, against small cases
worked by hand and against scipy where it is installed."""
import math

import numpy as np
import pytest

from helpers import stats


def test_binomial_two_sided_by_hand():
    # 0 of 5 heads: 2 * (1/32) = 1/16
    assert stats.binomial_two_sided(0, 5) == pytest.approx(1 / 16)
    # 1 of 6: 2 * (1 + 6) / 64
    assert stats.binomial_two_sided(1, 6) == pytest.approx(14 / 64)
    assert stats.binomial_two_sided(3, 6) == 1.0          # the middle: capped at 1
    assert stats.binomial_two_sided(0, 0) == 1.0
    with pytest.raises(ValueError):
        stats.binomial_two_sided(4, 3)


def test_binomial_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n in [(3, 20), (40, 100), (7, 7), (12, 30)]:
        want = scipy_stats.binomtest(k, n, 0.5).pvalue
        assert stats.binomial_two_sided(k, n) == pytest.approx(want, rel=1e-9)


def test_mcnemar_counts_the_discordant_images():
    a = np.array([1, 1, 1, 0, 0, 1, 1, 0], bool)
    b = np.array([1, 0, 0, 0, 1, 1, 0, 0], bool)
    result = stats.mcnemar(a, b)
    assert (result.b, result.c) == (3, 1)              # only A: 1, 2, 6; only B: 4
    assert result.p == pytest.approx(stats.binomial_two_sided(1, 4))
    same = stats.mcnemar(a, a)
    assert same == stats.McNemar(0, 0, 1.0)


def test_mcnemar_rejects_bad_input():
    with pytest.raises(ValueError, match="different numbers"):
        stats.mcnemar(np.ones(3, bool), np.ones(4, bool))
    with pytest.raises(ValueError, match="booleans"):
        stats.mcnemar(np.array([0.5, 1.0]), np.array([1, 1]))
    with pytest.raises(ValueError, match="one model with one model"):
        stats.mcnemar(np.ones((2, 3), bool), np.ones(3, bool))


def test_paired_bootstrap_difference_interval_and_p():
    rng = np.random.default_rng(0)
    truth = rng.random(2000) < 0.9
    better = truth | (rng.random(2000) < 0.5)            # right on about 95 %
    result = stats.paired_bootstrap(better, truth, n_boot=2000, seed=1)
    assert result.diff == pytest.approx(better.mean() - truth.mean())
    assert result.low < result.diff < result.high
    assert result.p < 0.001 and result.n_boot == 2000
    # the same model against itself: no difference, p = 1
    same = stats.paired_bootstrap(truth, truth, n_boot=500)
    assert same.diff == 0 and same.p == 1.0
    # reproducible from its seed
    assert stats.paired_bootstrap(better, truth, n_boot=300, seed=3) == \
        stats.paired_bootstrap(better, truth, n_boot=300, seed=3)


def test_paired_bootstrap_averages_seeds_per_image():
    a = np.array([[1, 0, 1, 1], [1, 1, 0, 1]], bool)   # two seeds of A
    b = np.array([1, 0, 0, 1], bool)                     # one seed of B
    result = stats.paired_bootstrap(a, b, n_boot=200, chunk=64)
    assert result.diff == pytest.approx(a.mean() - b.mean())


def test_paired_bootstrap_agrees_with_mcnemar_on_a_clear_and_a_null_case():
    rng = np.random.default_rng(5)
    a = rng.random(1000) < 0.8
    b = rng.random(1000) < 0.8                             # as good as A: a null case
    assert stats.mcnemar(a, b).p > 0.05 and stats.paired_bootstrap(a, b, n_boot=2000).p > 0.05
    c = a | (rng.random(1000) < 0.3)                       # A plus a third of its mistakes
    assert stats.mcnemar(c, a).p < 0.001 and stats.paired_bootstrap(c, a, n_boot=2000).p < 0.001


def test_mean_sd():
    mean, sd = stats.mean_sd([0.97, 0.98, 0.99])
    assert mean == pytest.approx(0.98) and sd == pytest.approx(0.01)
    mean, sd = stats.mean_sd([0.5])
    assert mean == 0.5 and math.isnan(sd)
    with pytest.raises(ValueError):
        stats.mean_sd([])


def test_format_p():
    assert stats.format_p(0.0312) == "p = 0.031"
    assert stats.format_p(0.0004) == "p < 0.001"
