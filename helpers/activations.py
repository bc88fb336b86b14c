"""Activation functions and their layer pairs (notebooks 1, 4 and 5).

Plain functions: ``sigmoid``, ``log_sigmoid``, ``softmax``, ``log_softmax``; and for the
MLP the pairs ``<name>_forward(x) -> (out, cache)`` / ``<name>_backward(dout, cache) -> dx``
for ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu`` and ``identity``.

Nothing here changes its argument. Floating inputs keep their dtype (float32 stays
float32 for the MLP fast path); integer inputs are computed in float64.
"""
import numbers

import numpy as np


def _as_float(z, name):
    """``z`` as a floating array (integers and Python numbers become float64)."""
    z = np.asarray(z)
    kind = z.dtype.kind          # what np.issubdtype tells, in a tenth of its time
    if kind == "f":              # np.floating
        return z
    if kind in "iub":            # np.integer, np.bool_
        return z.astype(np.float64)
    raise TypeError(f"{name} must hold real numbers, got dtype {z.dtype}")


def _unwrap(out):
    """A 0-d result as a NumPy scalar (sigmoid(0) prints 0.5, not array(0.5))."""
    return out[()] if out.ndim == 0 else out


# ----------------------------------------------------------------- plain functions

def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), elementwise, without overflow.

    z: any shape. Returns an array shaped like z (same float dtype; a NumPy scalar for a
    scalar z); z is not changed.
    """
    z = _as_float(z, "z")
    # exp(-|z|) lies in (0, 1], so neither branch can overflow at z = +-1000:
    # z >= 0: 1 / (1 + e^-z);  z < 0: e^z / (1 + e^z), the same value rewritten.
    e = np.exp(-np.abs(z))
    return _unwrap(np.where(z >= 0, 1 / (1 + e), e / (1 + e)))


def log_sigmoid(z):
    """log(sigmoid(z)) = min(z, 0) - log1p(exp(-|z|)), elementwise, finite for finite z.

    z: any shape. Returns an array shaped like z (a NumPy scalar for a scalar z);
    z is not changed.
    """
    z = _as_float(z, "z")
    # log(1/(1+e^-z)) = -log(1+e^-z); for z < 0 write it as z - log(1+e^z). Both are
    # min(z, 0) - log(1 + e^-|z|), where log1p keeps precision when e^-|z| is tiny.
    return _unwrap(np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z))))


def _check_rows(Z, name):
    Z = _as_float(Z, name)
    if Z.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (K scores per row), got a scalar")
    if Z.shape[-1] == 0:
        raise ValueError(f"{name} has no classes: shape {Z.shape}")
    return Z


def softmax(Z):
    """Row-wise softmax P[n, k] = exp(Z[n, k]) / sum_j exp(Z[n, j]).

    Z: (N, K) scores (or (K,), or any shape: the last axis holds the classes).
    Returns P shaped like Z, rows summing to 1. Z is not changed.
    """
    Z = _check_rows(Z, "Z")
    # Subtracting each row's own maximum leaves P unchanged (the factor exp(-max)
    # cancels) and makes every exponent <= 0, so exp cannot overflow. A *global* maximum
    # would not do: rows far below it would underflow to 0/0.
    shifted = Z - Z.max(axis=-1, keepdims=True)  # a new array; Z stays as it was
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(Z):
    """Row-wise log(softmax(Z)) = Z - max - log(sum(exp(Z - max))), finite for finite Z.

    Z: (N, K) (the last axis holds the classes). Returns an array shaped like Z;
    Z is not changed.
    """
    Z = _check_rows(Z, "Z")
    shifted = Z - Z.max(axis=-1, keepdims=True)
    # The row maximum contributes exp(0) = 1 to the sum, so the log is >= 0: no log(0).
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# ----------------------------------------------------------------------- layer pairs

def _check_dout(dout, shape, name):
    dout = _as_float(dout, "dout")
    if dout.shape != shape:
        raise ValueError(f"{name}: dout has shape {dout.shape} but the forward output had "
                         f"shape {shape}")
    return dout


def sigmoid_forward(x):
    """Sigmoid layer. x: any shape. Returns (out, cache) with out = sigmoid(x)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """dx = dout * s * (1 - s), where s = sigmoid(x) is the cache. Shapes like x."""
    s = cache
    dout = _check_dout(dout, s.shape, "sigmoid_backward")
    return dout * s * (1 - s)


def tanh_forward(x):
    """Tanh layer. x: any shape. Returns (out, cache) with out = tanh(x)."""
    out = np.tanh(_as_float(x, "x"))
    return out, out


def tanh_backward(dout, cache):
    """dx = dout * (1 - tanh(x)**2), the cache being tanh(x). Shapes like x."""
    t = cache
    dout = _check_dout(dout, t.shape, "tanh_backward")
    return dout * (1 - t * t)


def relu_forward(x):
    """ReLU layer. x: any shape. Returns (out, cache) with out = max(x, 0), cache = x."""
    x = _as_float(x, "x")
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0 (the subgradient 0 is used at x = 0). Shapes like x."""
    x = cache
    dout = _check_dout(dout, x.shape, "relu_backward")
    return np.where(x > 0, dout, 0)


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU layer: out = x for x > 0, alpha * x otherwise.

    x: any shape; alpha: slope for negative inputs (>= 0). Returns (out, cache).
    """
    if not isinstance(alpha, numbers.Real) or not alpha >= 0:
        raise ValueError(f"leaky_relu_forward: alpha must be a number >= 0, got {alpha!r}")
    x = _as_float(x, "x")
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    """dx = dout for x > 0, alpha * dout otherwise. Shapes like x."""
    x, alpha = cache
    dout = _check_dout(dout, x.shape, "leaky_relu_backward")
    return np.where(x > 0, dout, alpha * dout)


def identity_forward(x):
    """Identity layer (a linear output). Returns (a copy of x, cache=shape of x)."""
    x = _as_float(x, "x")
    return x.copy(), x.shape


def identity_backward(dout, cache):
    """dx = dout (returned as a copy, so later in-place changes do not alias)."""
    dout = _check_dout(dout, cache, "identity_backward")
    return dout.copy()
