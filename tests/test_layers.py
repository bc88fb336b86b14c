"""Tests for helpers.layers: the dense layer by hand and against numerical gradients,
float32 kept, inputs untouched; Xavier limits, statistics and reproducibility."""
import numpy as np
import pytest

from helpers import layers
from helpers.gradcheck import numerical_gradient, relative_error


def test_dense_by_hand():
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]])
    b = np.array([0.0, 1.0, -1.0])
    out, cache = layers.dense_forward(x, W, b)
    np.testing.assert_array_equal(out, [[2.0, 3.0, 2.0]])
    dx, dW, db = layers.dense_backward(np.array([[1.0, 0.0, 1.0]]), cache)
    np.testing.assert_array_equal(dx, [[0.0, 2.5]])
    np.testing.assert_array_equal(dW, [[1.0, 0.0, 1.0], [2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(db, [1.0, 0.0, 1.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_dense_backward_matches_numerical(seed):
    rng = np.random.default_rng(seed)
    N, D, H = (int(n) for n in rng.integers(2, 7, size=3))
    x, W, b = rng.standard_normal((N, D)), rng.standard_normal((D, H)), rng.standard_normal(H)
    dout = rng.standard_normal((N, H))
    _, cache = layers.dense_forward(x, W, b)
    dx, dW, db = layers.dense_backward(dout, cache)

    def f(_):
        return np.sum(layers.dense_forward(x, W, b)[0] * dout)

    for name, analytic, var in (("dx", dx, x), ("dW", dW, W), ("db", db, b)):
        assert analytic.shape == var.shape
        err = relative_error(analytic, numerical_gradient(f, var))
        assert err < 1e-7, f"{name}: relative error {err:.1e}"


def test_dense_keeps_float32_and_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    W = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    dout = rng.standard_normal((5, 3)).astype(np.float32)
    saved = [a.copy() for a in (x, W, b, dout)]
    out, cache = layers.dense_forward(x, W, b)
    grads = layers.dense_backward(dout, cache)
    assert out.dtype == np.float32 and out.shape == (5, 3)
    assert all(g.dtype == np.float32 for g in grads)
    for a, a0 in zip((x, W, b, dout), saved):
        np.testing.assert_array_equal(a, a0)


def test_xavier_init():
    W = layers.xavier_init(300, 100, np.random.default_rng(0))
    limit = np.sqrt(6 / 400)
    assert W.shape == (300, 100) and W.dtype == np.float64
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit  # uses the whole interval
    # U(-a, a) has variance a^2/3 = 2/(fan_in + fan_out) = 0.005
    assert W.var() == pytest.approx(2 / 400, rel=0.03)
    assert abs(W.mean()) < 0.002
    again = layers.xavier_init(300, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(W, again)
    W32 = layers.xavier_init(300, 100, np.random.default_rng(0), dtype=np.float32)
    assert W32.dtype == np.float32
    np.testing.assert_allclose(W32, W, rtol=1e-6)


def test_bad_arguments():
    x, W, b = np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4)
    with pytest.raises(ValueError, match="W must have shape"):
        layers.dense_forward(x, np.zeros((2, 4)), b)
    with pytest.raises(ValueError, match="b must have shape"):
        layers.dense_forward(x, W, np.zeros(3))
    with pytest.raises(ValueError, match="x must have shape"):
        layers.dense_forward(np.zeros(3), W, b)
    _, cache = layers.dense_forward(x, W, b)
    with pytest.raises(ValueError, match="dout must have shape"):
        layers.dense_backward(np.zeros((2, 3)), cache)
    with pytest.raises(ValueError, match="fan_in"):
        layers.xavier_init(0, 3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        layers.xavier_init(2, 3, 0)
