"""Tests for helpers.regularization: values by hand, gradient checks, the subgradient at 0,
dtypes kept, inputs untouched, clear errors; the L1 soft-threshold by hand."""
import numpy as np
import pytest

from helpers import regularization as reg
from helpers.gradcheck import numerical_gradient, relative_error


def test_values_by_hand():
    w = np.array([3.0, -4.0, 0.0])
    p, d = reg.l2_penalty(w, 0.1)
    assert p == pytest.approx(0.1 / 2 * 25)  # (9 + 16) * 0.05
    np.testing.assert_allclose(d, [0.3, -0.4, 0.0])
    p, d = reg.l1_penalty(w, 0.1)
    assert p == pytest.approx(0.7)
    np.testing.assert_array_equal(d, [0.1, -0.1, 0.0])  # subgradient 0 at w = 0
    assert reg.l2_penalty(w, 0.0) == (0.0, pytest.approx(np.zeros(3)))


@pytest.mark.parametrize("name", ["l2_penalty", "l1_penalty"])
def test_gradient_matches_numerical(name):
    rng = np.random.default_rng(0)
    shape = tuple(int(n) for n in rng.integers(2, 7, size=2))
    w = rng.standard_normal(shape)
    w[np.abs(w) < 1e-3] = 0.5  # |w| is not differentiable at 0
    lam = float(rng.uniform(0.01, 2.0))
    _, d = getattr(reg, name)(w, lam)
    num = numerical_gradient(lambda v: getattr(reg, name)(v, lam)[0], w)
    assert relative_error(d, num) < 1e-7


@pytest.mark.parametrize("name", ["l2_penalty", "l1_penalty"])
def test_dtype_and_input_untouched(name):
    w = np.array([[1.5, -2.0]], dtype=np.float32)
    w0 = w.copy()
    p, d = getattr(reg, name)(w, 0.5)
    assert isinstance(p, float) and d.dtype == np.float32 and d.shape == w.shape
    np.testing.assert_array_equal(w, w0)


def test_penalty_dispatch():
    w = np.array([1.0, -2.0])
    assert reg.penalty(w, 0.2, "l1")[0] == reg.l1_penalty(w, 0.2)[0]
    assert reg.penalty(w, 0.2, "l2")[0] == reg.l2_penalty(w, 0.2)[0]
    with pytest.raises(ValueError, match="unknown penalty name 'l3'"):
        reg.penalty(w, 0.2, "l3")


def test_bad_lambda():
    with pytest.raises(ValueError, match="lam must be >= 0"):
        reg.l2_penalty(np.ones(2), -0.1)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        reg.l1_penalty(np.ones(2), -1)
    with pytest.raises(TypeError, match="lam must be a finite real number"):
        reg.l2_penalty(np.ones(2), float("nan"))
    with pytest.raises(TypeError, match="lam must be a finite real number"):
        reg.l1_penalty(np.ones(2), "0.1")


def test_soft_threshold_by_hand():
    w = np.array([-2.0, -0.5, 0.0, 0.3, 1.5])
    np.testing.assert_allclose(reg.soft_threshold(w, 0.5), [-1.5, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(w, [-2.0, -0.5, 0.0, 0.3, 1.5])    # not changed
    np.testing.assert_array_equal(reg.soft_threshold(w, 0.0), w)
    with pytest.raises(ValueError, match="threshold"):
        reg.soft_threshold(w, -0.1)
