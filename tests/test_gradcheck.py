"""Tests for helpers.gradcheck: known derivatives, x restored bit for bit, the relative
error's definition, the sparse check catching a wrong gradient, clear errors."""
import numpy as np
import pytest

from helpers.gradcheck import numerical_gradient, relative_error, sparse_gradient_check


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 2))
    A = rng.standard_normal(x.shape)
    # f = sum(A * x**3) has gradient 3 A x**2
    num = numerical_gradient(lambda v: np.sum(A * v**3), x)
    assert num.shape == x.shape and num.dtype == np.float64
    assert relative_error(num, 3 * A * x**2) < 1e-8
    # by hand: f(x) = x0 * x1 at (2, 5) has gradient (5, 2)
    np.testing.assert_allclose(numerical_gradient(lambda v: v[0] * v[1], np.array([2.0, 5.0])),
                               [5.0, 2.0], rtol=1e-9)


def test_numerical_gradient_works_through_a_closure_and_on_0d():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    num = numerical_gradient(lambda _: np.sum(W**2), W)  # f reads W, not its argument
    np.testing.assert_allclose(num, 2 * W, rtol=1e-9)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sin(v), np.array(0.3)),
                               np.cos(0.3), rtol=1e-9)


def test_x_is_restored_exactly_even_on_error():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20) * 1e3 + 0.1  # values where x + h - h != x in float64
    x0 = x.copy()
    numerical_gradient(lambda v: np.sum(np.tanh(v)), x)
    np.testing.assert_array_equal(x, x0)

    calls = []

    def failing(v):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(failing, x)
    np.testing.assert_array_equal(x, x0)


def test_non_contiguous_x_is_perturbed_in_place():
    base = np.arange(12.0).reshape(3, 4)
    view = base[:, ::2]  # a strided view: the gradient must be taken on it, not a copy
    num = numerical_gradient(lambda v: np.sum(v**2), view)
    np.testing.assert_allclose(num, 2 * view, rtol=1e-9)
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4))


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(1.0, 1.0) == 0.0
    # max |a - b| = 0.5, max (|a| + |b|) = 4 + 4.5 = 8.5
    assert relative_error(np.array([1.0, 4.0]), np.array([1.0, 4.5])) == pytest.approx(0.5 / 8.5)
    # a coordinate whose true value is 0 does not blow the error up
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-11])) < 1e-10
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    # the floor only matters when both are (nearly) zero
    assert relative_error(np.array([1e-13]), np.array([0.0]), floor=1e-12) == pytest.approx(0.1)


def test_sparse_check_accepts_right_and_rejects_wrong_gradients():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((40, 30))
    X = rng.standard_normal((5, 40))

    def f(_):
        return np.sum(np.tanh(X @ W))

    right = X.T @ (1 - np.tanh(X @ W) ** 2)
    W0 = W.copy()
    err = sparse_gradient_check(f, W, right, k=15, rng=np.random.default_rng(1))
    assert err < 1e-7
    np.testing.assert_array_equal(W, W0)
    wrong = right.copy()
    wrong *= 1.01  # 1% too large everywhere
    assert sparse_gradient_check(f, W, wrong, k=15) > 1e-3
    # default rng is seeded: the same coordinates and error every run
    assert sparse_gradient_check(f, W, wrong, k=5) == sparse_gradient_check(f, W, wrong, k=5)
    # k larger than the tensor checks every coordinate
    small = np.array([0.5, -0.2])
    assert sparse_gradient_check(lambda v: np.sum(v**2), small, 2 * small, k=100) < 1e-9


def test_bad_arguments():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: v.sum(), np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="float64"):
        sparse_gradient_check(lambda v: v.sum(), np.ones(3, dtype=np.float32), np.ones(3))
    with pytest.raises(TypeError, match="NumPy array"):
        numerical_gradient(lambda v: v, [1.0, 2.0])
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="h must be"):
        numerical_gradient(lambda v: v.sum(), np.ones(3), h=0)
    with pytest.raises(ValueError, match="a has shape"):
        relative_error(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="analytic has shape"):
        sparse_gradient_check(lambda v: v.sum(), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="k must be"):
        sparse_gradient_check(lambda v: v.sum(), np.ones(3), np.ones(3), k=0)
    with pytest.raises(TypeError, match="rng"):
        sparse_gradient_check(lambda v: v.sum(), np.ones(3), np.ones(3), rng=0)
