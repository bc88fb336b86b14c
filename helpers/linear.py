"""The pack's linear models: logistic regression (notebooks 2 and 3) and softmax regression
(notebook 4), as loss-and-gradient functions and predictions built from the kernels.

The notebooks' experiments call these by name, so a student release shows no complete
loss of a model whose pieces are graded exercises. Each ``*_loss_grad`` has the contract
``helpers.training.train`` expects once ``lam`` and ``penalty`` are bound
(``functools.partial``): ``loss_grad(w, X, y) -> (loss, grad)``.

Shapes: N examples, D inputs (logistic: the bias column of ones first, ``data.add_bias``),
K classes. The penalty never touches the bias: ``w[0]`` (logistic) or ``b`` (softmax).
"""
import numpy as np

from helpers import losses, regularization


def logistic_loss_grad(w, X, t, lam=0.0, penalty="l2"):
    """Mean binary cross-entropy of sigmoid(X @ w) plus ``penalty`` on w[1:], and its gradient.

    w: (D,) with w[0] the bias; X: (N, D), first column all ones; t: (N,) in {0, 1};
    lam >= 0; penalty "l2" (lam/2 |w[1:]|^2) or "l1" (lam |w[1:]|_1, subgradient 0 at 0).
    Returns (loss, dw (D,)). Nothing is changed in place.
    """
    loss, dz = losses.binary_cross_entropy(X @ w, t)
    dw = X.T @ dz                        # chain rule through z = X w
    if lam > 0:
        pen, dpen = regularization.penalty(w[1:], lam, penalty)
        loss += pen
        dw[1:] += dpen
    return loss, dw


def logistic_loss(w, X, t):
    """Mean binary cross-entropy of sigmoid(X @ w), without a penalty and without the
    gradient's matrix product (for evaluating). w (D,), X (N, D), t (N,). Returns a float."""
    return losses.binary_cross_entropy(X @ w, t)[0]


def logistic_predict(w, X):
    """Labels (N,) int64: 1 where sigmoid(X @ w) >= 0.5, i.e. where X @ w >= 0."""
    return (X @ w >= 0).astype(np.int64)


def softmax_loss_grad(params, X, y, lam=0.0, penalty="l2"):
    """Mean cross-entropy of softmax(X @ W + b) plus ``penalty`` on W (never b), and its
    gradient.

    params: {"W": (D, K), "b": (K,)}; X: (N, D); y: (N,) integer labels in 0..K-1;
    lam >= 0; penalty "l2" or "l1". Returns (loss, grads) with grads keyed like params.
    Nothing is changed in place.
    """
    loss, dZ = losses.softmax_cross_entropy(X @ params["W"] + params["b"], y)
    pen, dpen = regularization.penalty(params["W"], lam, penalty)
    # Z = X W + b: dW = X^T dZ, and b is added to every row, so db sums dZ over them.
    return loss + pen, {"W": X.T @ dZ + dpen, "b": dZ.sum(axis=0)}


def softmax_loss(params, X, y):
    """Mean cross-entropy of softmax(X @ W + b) without a penalty (for evaluating)."""
    return losses.softmax_cross_entropy(X @ params["W"] + params["b"], y)[0]


def softmax_predict(params, X):
    """The most probable class of each row of X (N, D): int64 (N,)."""
    return np.argmax(X @ params["W"] + params["b"], axis=1)
