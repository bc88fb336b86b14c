"""The dense (fully connected) layer and Xavier/Glorot and He initialisation (notebook 5).

``dense_forward(x, W, b) -> (out, cache)``, ``dense_backward(dout, cache) -> (dx, dW, db)``;
``xavier_init`` and ``he_init(fan_in, fan_out, rng, dtype)`` draw uniform weights.
All-float32 inputs give float32 outputs (the MLP fast path).
"""
import numbers

import numpy as np


def dense_forward(x, W, b):
    """Affine map out = x @ W + b.

    x: (N, D); W: (D, H); b: (H,). Returns (out (N, H), cache). Nothing is changed.
    """
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    if x.ndim != 2:
        raise ValueError(f"dense_forward: x must have shape (N, D), got shape {x.shape}")
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(f"dense_forward: W must have shape (D, H) with D = {x.shape[1]} "
                         f"(columns of x), got shape {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"dense_forward: b must have shape (H,) = ({W.shape[1]},), "
                         f"got shape {b.shape}")
    out = x @ W + b
    return out, (x, W)


def dense_backward(dout, cache):
    """Gradients of the affine map given dout = dL/dout.

    dout: (N, H); cache from dense_forward. Returns (dx (N, D), dW (D, H), db (H,)):
    dx = dout @ W.T, dW = x.T @ dout, db = sum of dout over the batch.
    """
    x, W = cache
    dout = np.asarray(dout)
    if dout.shape != (x.shape[0], W.shape[1]):
        raise ValueError(f"dense_backward: dout must have shape (N, H) = "
                         f"{(x.shape[0], W.shape[1])}, got shape {dout.shape}")
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


def _check_init_args(name, fan_in, fan_out, rng):
    for arg, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name}: {arg} must be a positive integer, got {value!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}: rng must be a np.random.Generator "
                        f"(e.g. np.random.default_rng(0)), got {type(rng).__name__}")


def xavier_init(fan_in, fan_out, rng, dtype=np.float64):
    """Glorot/Xavier uniform weights U(-a, a), a = sqrt(6 / (fan_in + fan_out)).

    The limit keeps the variance 2 / (fan_in + fan_out), a compromise between preserving
    the signal's variance forward (1/fan_in) and the gradient's backward (1/fan_out).
    rng: np.random.Generator. Returns W (fan_in, fan_out) of ``dtype``.
    """
    _check_init_args("xavier_init", fan_in, fan_out, rng)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype, copy=False)


def he_init(fan_in, fan_out, rng, dtype=np.float64):
    """He (Kaiming) uniform weights U(-a, a), a = sqrt(6 / fan_in): variance 2 / fan_in.

    A ReLU sets about half of its inputs to 0, which halves the second moment the next
    layer sees; twice the forward condition 1/fan_in keeps it constant from layer to
    layer (He et al. 2015). rng: np.random.Generator. Returns W (fan_in, fan_out).
    """
    _check_init_args("he_init", fan_in, fan_out, rng)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype, copy=False)
