"""Losses computed from logits, each returning (loss, dlogits) (notebooks 1, 2, 4, 5).

All losses are means over the N examples of the batch, so every gradient carries a 1/N.
They work from logits (pre-activation scores) rather than probabilities so that the logs
can be taken in a stable form: log-sigmoid and log-softmax, never log(0).
Float32 logits give a float32 gradient; the loss is returned as a Python float.
"""
import numbers

import numpy as np

from helpers.activations import log_sigmoid, log_softmax, sigmoid, softmax


def _check_logits(logits, ndim, name="logits"):
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":             # not np.floating
        if logits.dtype.kind in "iu":        # np.integer
            logits = logits.astype(np.float64)
        else:
            raise TypeError(f"{name} must hold real numbers, got dtype {logits.dtype}")
    if logits.ndim != ndim:
        want = "(N,)" if ndim == 1 else "(N, K)"
        raise ValueError(f"{name} must have shape {want}, got shape {logits.shape}")
    if logits.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (N = 0); the mean loss is undefined")
    return logits


def _check_labels(y, N, K):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != N:
        raise ValueError(f"y must have shape (N,) = ({N},) to match logits, got shape {y.shape}")
    if y.dtype.kind not in "iu":             # not np.integer
        raise TypeError(f"y must hold integer class labels 0..K-1, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"y holds labels from {y.min()} to {y.max()}, outside 0..{K - 1} "
                         f"for K = {K} classes")
    return y


def one_hot(y, K, dtype=np.float64):
    """One-hot encoding. y: (N,) integer labels in 0..K-1. Returns (N, K) of ``dtype``."""
    if not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K must be a positive integer number of classes, got {K!r}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must have shape (N,), got shape {y.shape}")
    y = _check_labels(y, y.shape[0], K)
    out = np.zeros((y.shape[0], K), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def binary_cross_entropy(logits, t):
    """Mean binary cross-entropy of sigmoid(logits) against targets t in {0, 1}.

    logits: (N,) scores z; t: (N,) 0/1 (bool, int or float). Returns (loss, dlogits) with
    loss = -mean(t log s + (1 - t) log(1 - s)), s = sigmoid(z), and dlogits (N,) like
    logits. Finite for logits of +-1000. Nothing is changed in place.
    """
    z = _check_logits(logits, 1)
    t = np.asarray(t)
    if t.shape != z.shape:
        raise ValueError(f"t must have shape {z.shape} to match logits, got shape {t.shape}")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError("t must hold binary targets 0 or 1; found other values "
                         f"{np.unique(t[(t != 0) & (t != 1)])[:5]}")
    t = t.astype(z.dtype)
    N = z.shape[0]
    # log(1 - sigmoid(z)) = log(sigmoid(-z)): both logs through log_sigmoid, never log(0).
    loss = -np.mean(t * log_sigmoid(z) + (1 - t) * log_sigmoid(-z))
    # dL_n/dz_n = s_n - t_n: the derivative s(1 - s) of the sigmoid cancels against the
    # 1/s and 1/(1 - s) of the logs. The mean over N adds the 1/N.
    dlogits = (sigmoid(z) - t) / N
    return float(loss), dlogits


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against integer labels.

    logits: (N, K) scores; y: (N,) integer labels in 0..K-1. Returns (loss, dlogits) with
    loss = -mean_n log P[n, y_n] and dlogits = (P - onehot(y)) / N, shape (N, K).
    Finite for logits of +-1000. Nothing is changed in place.
    """
    Z = _check_logits(logits, 2)
    N, K = Z.shape
    y = _check_labels(y, N, K)
    log_p = log_softmax(Z)  # via log-sum-exp: no exp overflow, no log(0)
    rows = np.arange(N)
    loss = -np.mean(log_p[rows, y])
    # For one example, L = -z_y + log sum_j exp(z_j), so dL/dz_k = p_k - [k == y]:
    # the softmax Jacobian diag(p) - p p^T times dL/dp = -onehot/p collapses to
    # p - onehot. The loss is a mean over N, hence the division by N.
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1
    dlogits /= N
    return float(loss), dlogits


def mse_softmax(logits, y):
    """Mean squared error between softmax(logits) and one-hot labels.

    logits: (N, K); y: (N,) integer labels. Returns (loss, dlogits) with
    loss = sum((P - onehot)**2) / (2N) and dlogits (N, K) through the full softmax
    Jacobian. Nothing is changed in place.
    """
    Z = _check_logits(logits, 2)
    N, K = Z.shape
    y = _check_labels(y, N, K)
    P = softmax(Z)
    R = P - one_hot(y, K, dtype=P.dtype)
    loss = np.sum(R * R) / (2 * N)
    dP = R / N
    # Unlike cross-entropy, nothing cancels here: dlogits = J^T dP with the (symmetric)
    # Jacobian J = diag(p) - p p^T, i.e. p * (dP - <p, dP>) row by row. Its factor p is
    # why a saturated wrong softmax learns slowly under MSE (notebook 5).
    dlogits = P * (dP - np.sum(P * dP, axis=1, keepdims=True))
    return float(loss), dlogits
