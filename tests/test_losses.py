"""Tests for helpers.losses: values by hand, gradient checks in float64, stability at
+-1000, dtypes kept, inputs untouched, clear errors."""
import warnings

import numpy as np
import pytest

from helpers import losses
from helpers.gradcheck import numerical_gradient, relative_error


def _case(rng):
    N, K = (int(n) for n in rng.integers(2, 8, size=2))
    return rng.standard_normal((N, K)) * 3, rng.integers(0, K, size=N)


def test_values_by_hand():
    # 2 classes, logits [0, log 3]: P = [1/4, 3/4]; label 1 costs -log(3/4), label 0
    # costs -log(1/4); the mean over the two rows is (log 4 + log(4/3)) / 2.
    Z = np.array([[0.0, np.log(3.0)], [0.0, np.log(3.0)]])
    loss, d = losses.softmax_cross_entropy(Z, np.array([1, 0]))
    assert loss == pytest.approx((np.log(4.0) + np.log(4.0 / 3.0)) / 2, rel=1e-14)
    np.testing.assert_allclose(d, [[0.25 / 2, -0.25 / 2], [-0.75 / 2, 0.75 / 2]], rtol=1e-14)
    # binary: z = 0 gives s = 1/2 and loss log 2 whatever the target
    loss, d = losses.binary_cross_entropy(np.array([0.0, 0.0]), np.array([1, 0]))
    assert loss == pytest.approx(np.log(2.0), rel=1e-15)
    np.testing.assert_allclose(d, [-0.25, 0.25])
    # MSE: P = [1/4, 3/4] against onehot(0): ((3/4)^2 + (3/4)^2) / 2
    loss, _ = losses.mse_softmax(Z[:1], np.array([0]))
    assert loss == pytest.approx(0.5625, rel=1e-14)
    np.testing.assert_array_equal(losses.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_cross_entropy_gradient(seed):
    rng = np.random.default_rng(seed)
    Z, y = _case(rng)
    _, d = losses.softmax_cross_entropy(Z, y)
    num = numerical_gradient(lambda v: losses.softmax_cross_entropy(v, y)[0], Z)
    assert relative_error(d, num) < 1e-7
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    onehot = np.eye(Z.shape[1])[y]
    np.testing.assert_allclose(d, (P - onehot) / len(y), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_cross_entropy_gradient(seed):
    rng = np.random.default_rng(seed)
    N = int(rng.integers(2, 12))
    z = rng.standard_normal(N) * 3
    t = rng.integers(0, 2, size=N)
    loss, d = losses.binary_cross_entropy(z, t)
    num = numerical_gradient(lambda v: losses.binary_cross_entropy(v, t)[0], z)
    assert relative_error(d, num) < 1e-7
    s = 1 / (1 + np.exp(-z))
    assert loss == pytest.approx(-np.mean(t * np.log(s) + (1 - t) * np.log(1 - s)), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mse_softmax_gradient(seed):
    rng = np.random.default_rng(seed)
    Z, y = _case(rng)
    loss, d = losses.mse_softmax(Z, y)
    num = numerical_gradient(lambda v: losses.mse_softmax(v, y)[0], Z)
    assert relative_error(d, num) < 1e-7
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(np.sum((P - np.eye(Z.shape[1])[y]) ** 2) / (2 * len(y)))


def test_stable_at_extremes():
    Z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    y = np.array([1, 0])
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    t = np.array([0, 1, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ce, dce = losses.softmax_cross_entropy(Z, y)
        bce, dbce = losses.binary_cross_entropy(z, t)
        mse, dmse = losses.mse_softmax(Z, y)
        ce32, _ = losses.softmax_cross_entropy(Z.astype(np.float32), y)
    # a confident wrong answer costs its margin: row 0 misses by 2000, row 1 by 2000
    # plus log 2 (two classes tie at the top)
    assert ce == pytest.approx(2000.0 + np.log(2.0) / 2, rel=1e-12)
    assert bce == pytest.approx(500.0)  # two wrong by 1000, two right by ~0
    assert ce32 == pytest.approx(2000.0 + np.log(2.0) / 2, rel=1e-6)
    for value in (ce, bce, mse, dce, dbce, dmse):
        assert np.all(np.isfinite(value))


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "mse_softmax"])
def test_multiclass_losses_keep_float32_and_inputs(name):
    rng = np.random.default_rng(0)
    Z, y = _case(rng)
    Z = Z.astype(np.float32)
    Z0, y0 = Z.copy(), y.copy()
    loss, d = getattr(losses, name)(Z, y)
    assert isinstance(loss, float)
    assert d.dtype == np.float32 and d.shape == Z.shape
    np.testing.assert_array_equal(Z, Z0)
    np.testing.assert_array_equal(y, y0)


def test_binary_keeps_float32_and_inputs():
    z = np.array([0.5, -2.0, 3.0], dtype=np.float32)
    t = np.array([1, 0, 0])
    z0 = z.copy()
    _, d = losses.binary_cross_entropy(z, t)
    assert d.dtype == np.float32
    np.testing.assert_array_equal(z, z0)


def test_bad_arguments():
    Z = np.zeros((3, 4))
    with pytest.raises(ValueError, match="outside 0..3"):
        losses.softmax_cross_entropy(Z, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="outside 0..3"):
        losses.mse_softmax(Z, np.array([0, -1, 2]))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(3,\)"):
        losses.softmax_cross_entropy(Z, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer class labels"):
        losses.softmax_cross_entropy(Z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, K\)"):
        losses.softmax_cross_entropy(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="empty batch"):
        losses.softmax_cross_entropy(np.zeros((0, 3)), np.array([], dtype=int))
    with pytest.raises(ValueError, match="t must have shape"):
        losses.binary_cross_entropy(np.zeros(3), np.array([0, 1]))
    with pytest.raises(ValueError, match="binary targets"):
        losses.binary_cross_entropy(np.zeros(2), np.array([0, 2]))
    with pytest.raises(ValueError, match="K must be"):
        losses.one_hot(np.array([0]), 0)
