"""helpers.linear: the pack's logistic and softmax regression against the kernels they are
built from, gradients against centred finite differences (float64), the bias never
penalised, predictions by hand."""
import numpy as np
import pytest

from helpers import data, gradcheck, linear, losses, regularization


def logistic_case(rng, N=7, D=5):
    X = data.add_bias(rng.standard_normal((N, D - 1)))
    return rng.standard_normal(D), X, rng.integers(0, 2, N)


@pytest.mark.parametrize("lam, penalty", [(0.0, "l2"), (0.3, "l2"), (0.3, "l1")])
def test_logistic_loss_grad_matches_finite_differences(lam, penalty):
    w, X, t = logistic_case(np.random.default_rng(0))
    loss, dw = linear.logistic_loss_grad(w, X, t, lam, penalty)
    numeric = gradcheck.numerical_gradient(
        lambda v: linear.logistic_loss_grad(v, X, t, lam, penalty)[0], w.copy())
    assert gradcheck.relative_error(dw, numeric) < 1e-7
    expected = losses.binary_cross_entropy(X @ w, t)[0] + (
        regularization.penalty(w[1:], lam, penalty)[0] if lam else 0.0)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_logistic_bias_is_not_penalised_and_inputs_untouched():
    w, X, t = logistic_case(np.random.default_rng(1))
    w_before = w.copy()
    plain = linear.logistic_loss_grad(w, X, t)[1]
    penalised = linear.logistic_loss_grad(w, X, t, 0.5, "l2")[1]
    assert penalised[0] == plain[0]
    np.testing.assert_allclose(penalised[1:] - plain[1:], 0.5 * w[1:])
    np.testing.assert_array_equal(w, w_before)
    assert linear.logistic_loss(w, X, t) == linear.logistic_loss_grad(w, X, t)[0]


def test_logistic_predict_by_hand():
    X = np.array([[1.0, 2.0], [1.0, -2.0], [1.0, 0.0]])
    w = np.array([0.0, 1.0])
    pred = linear.logistic_predict(w, X)
    np.testing.assert_array_equal(pred, [1, 0, 1])     # z = 0 counts as sigmoid >= 0.5
    assert pred.dtype == np.int64


@pytest.mark.parametrize("lam, penalty", [(0.0, "l2"), (0.2, "l2"), (0.2, "l1")])
def test_softmax_loss_grad_matches_finite_differences(lam, penalty):
    rng = np.random.default_rng(2)
    N, D, K = 6, 4, 3
    params = {"W": rng.standard_normal((D, K)), "b": rng.standard_normal(K)}
    X, y = rng.standard_normal((N, D)), rng.integers(0, K, N)
    loss, grads = linear.softmax_loss_grad(params, X, y, lam, penalty)
    assert set(grads) == {"W", "b"}
    for key in params:
        def f(value, key=key):
            return linear.softmax_loss_grad({**params, key: value}, X, y, lam, penalty)[0]
        numeric = gradcheck.numerical_gradient(f, params[key].copy())
        assert gradcheck.relative_error(grads[key], numeric) < 1e-7
    assert linear.softmax_loss(params, X, y) == pytest.approx(
        losses.softmax_cross_entropy(X @ params["W"] + params["b"], y)[0])
    np.testing.assert_array_equal(linear.softmax_predict(params, X),
                                  np.argmax(X @ params["W"] + params["b"], axis=1))
