"""Tests for helpers.activations: values by hand, stability at +-1000, gradient checks of
every backward, dtypes kept, inputs untouched, clear errors."""
import warnings

import numpy as np
import pytest

from helpers import activations as act
from helpers.gradcheck import numerical_gradient, relative_error

LAYERS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
EXTREME = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])


def _shape(rng):
    return tuple(int(n) for n in rng.integers(2, 6, size=2))


def test_values_by_hand():
    assert act.sigmoid(0.0) == 0.5 and np.ndim(act.sigmoid(0)) == 0
    np.testing.assert_allclose(act.sigmoid(np.log(3.0)), 0.75, rtol=1e-15)  # 1/(1+1/3)
    np.testing.assert_allclose(act.sigmoid(-np.log(3.0)), 0.25, rtol=1e-15)
    np.testing.assert_allclose(act.log_sigmoid(0.0), -np.log(2.0), rtol=1e-15)
    # softmax of [0, log 3] is [1/4, 3/4]; adding a constant to a row changes nothing
    np.testing.assert_allclose(act.softmax(np.array([[0.0, np.log(3.0)], [5.0, 5.0]])),
                               [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(act.log_softmax(np.array([[0.0, np.log(3.0)]])),
                               np.log([[0.25, 0.75]]), rtol=1e-14)
    out, _ = act.leaky_relu_forward(np.array([-2.0, 3.0]))
    np.testing.assert_array_equal(out, [-0.02, 3.0])
    out, _ = act.relu_forward(np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(out, [0.0, 0.0, 3.0])


def test_sigmoid_and_log_sigmoid_are_stable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.sigmoid(EXTREME)
        ls = act.log_sigmoid(EXTREME)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls))
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(ls[0], -1000.0, rtol=1e-15)  # log sigmoid(z) ~ z for z << 0
    assert ls[-1] == 0.0
    # agree with the naive formulas where those are safe
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(act.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(act.log_sigmoid(z), -np.log1p(np.exp(-z)), rtol=1e-12)


def test_softmax_is_row_wise_stable_and_leaves_input_alone():
    Z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1001.0], [1.0, 2.0, 3.0]])
    Z0 = Z.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = act.softmax(Z)
        logP = act.log_softmax(Z)
    np.testing.assert_array_equal(Z, Z0)
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(logP))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)
    # the second row is far below the global maximum: a global shift would give 0/0
    e = np.exp([0.0, 0.0, -1.0])
    np.testing.assert_allclose(P[1], e / e.sum(), rtol=1e-15)
    np.testing.assert_allclose(logP[0], [0.0, -2000.0, -1000.0])
    np.testing.assert_allclose(np.exp(logP), P, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name", LAYERS)
def test_backward_matches_numerical_gradient(name):
    rng = np.random.default_rng(0)
    shape = _shape(rng)
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kinks of relu / leaky relu
    dout = rng.standard_normal(shape)
    forward = getattr(act, name + "_forward")
    backward = getattr(act, name + "_backward")
    _, cache = forward(x)
    dx = backward(dout, cache)
    num = numerical_gradient(lambda v: np.sum(forward(v)[0] * dout), x)
    err = relative_error(dx, num)
    assert err < 1e-7, f"{name}: relative error {err:.1e}"


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "log_sigmoid", "sigmoid"])
def test_plain_functions_match_their_derivatives(fn):
    # softmax: J = diag(p) - p p^T, so d(sum(P * G))/dZ = P * (G - sum(P * G)).
    # log_softmax: d/dZ sum(G * logP) = G - P * sum(G). sigmoid' = s(1 - s);
    # log_sigmoid' = 1 - s.
    rng = np.random.default_rng(0)
    Z = rng.standard_normal(_shape(rng))
    G = rng.standard_normal(Z.shape)
    f = getattr(act, fn)
    P, s = act.softmax(Z), act.sigmoid(Z)
    analytic = {
        "softmax": P * (G - np.sum(P * G, axis=1, keepdims=True)),
        "log_softmax": G - P * G.sum(axis=1, keepdims=True),
        "sigmoid": G * s * (1 - s),
        "log_sigmoid": G * (1 - s),
    }[fn]
    num = numerical_gradient(lambda v: np.sum(f(v) * G), Z)
    assert relative_error(analytic, num) < 1e-7


def test_relu_subgradient_at_zero_is_zero():
    _, cache = act.relu_forward(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(act.relu_backward(np.array([5.0, 5.0]), cache), [0.0, 5.0])


@pytest.mark.parametrize("name", LAYERS)
def test_layer_pairs_keep_float32_and_do_not_modify_inputs(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    dout = rng.standard_normal((4, 3)).astype(np.float32)
    x0, dout0 = x.copy(), dout.copy()
    out, cache = getattr(act, name + "_forward")(x)
    dx = getattr(act, name + "_backward")(dout, cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert out.shape == x.shape and dx.shape == x.shape
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


@pytest.mark.parametrize("fn", ["sigmoid", "log_sigmoid", "softmax", "log_softmax"])
def test_plain_functions_keep_float32(fn):
    z = np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = getattr(act, fn)(z)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


def test_layers_at_extremes_are_finite():
    x = EXTREME.reshape(1, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in LAYERS:
            out, cache = getattr(act, name + "_forward")(x)
            dx = getattr(act, name + "_backward")(np.ones_like(x), cache)
            assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx)), name


def test_bad_arguments():
    _, cache = act.sigmoid_forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="dout has shape"):
        act.sigmoid_backward(np.zeros((3, 2)), cache)
    with pytest.raises(ValueError, match="alpha"):
        act.leaky_relu_forward(np.zeros(2), alpha=-1)
    with pytest.raises(ValueError, match="Z must have at least one axis"):
        act.softmax(3.0)
    with pytest.raises(TypeError, match="z must hold real numbers"):
        act.sigmoid(np.array(["a"]))
