"""Numerical gradients and the relative error used to compare them (notebook 1 on;
the autograder's gradient checks go through this module).

Work in float64. A centred difference (f(x+h) - f(x-h)) / 2h has a truncation error of
order h**2 |f'''| and a rounding error of order eps * |f| / h. With float64
(eps ~ 1e-16) and h = 1e-5 both are around 1e-10, so a correct gradient agrees to a
relative error of about 1e-7 or better. In float32 (eps ~ 1e-7) the rounding term alone is
about 1e-2: every gradient, right or wrong, would look wrong. Hence the float64 checks.
"""
import numbers

import numpy as np


def _check_x(x, name="x"):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array (it is perturbed in place), "
                        f"got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(
            f"{name} has dtype {x.dtype}; gradient checks need float64: in float32 the "
            "rounding error of a difference quotient with h = 1e-5 is about 1e-2, larger "
            f"than the errors the check must detect. Pass {name}.astype(np.float64).")
    if not x.flags.writeable:
        raise ValueError(f"{name} is read-only; the check perturbs it in place and restores it")


def _check_h(h):
    if not isinstance(h, numbers.Real) or not h > 0:
        raise ValueError(f"h must be a positive step size, got {h!r}")


def _scalar(value):
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {value.shape}")
    return float(value.reshape(()))


def _centred(f, x, index, h):
    """(f(x + h e_i) - f(x - h e_i)) / 2h for one coordinate ``index``; x restored."""
    old = x[index]
    try:
        x[index] = old + h
        f_plus = _scalar(f(x))
        x[index] = old - h
        f_minus = _scalar(f(x))
    finally:
        x[index] = old  # the saved value, not old + h - h, so x comes back bit for bit
    return (f_plus - f_minus) / (2 * h)


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of the scalar function f at x, every coordinate.

    f: callable taking x and returning a scalar (it may also ignore its argument and read
    x through a closure). x: float64 array of any shape; each coordinate is changed in
    place during the call and restored exactly afterwards (also if f raises).
    Returns a float64 array shaped like x. Costs 2 * x.size calls of f.
    """
    _check_x(x)
    _check_h(h)
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        grad[index] = _centred(f, x, index, h)
    return grad


def relative_error(a, b, floor=1e-12):
    """max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), floor), a number in [0, 1].

    a, b: arrays (or numbers) of the same shape. Both maxima run over all coordinates,
    so the error is measured against the size of the gradient as a whole. (A ratio taken
    coordinate by coordinate would call a correct gradient wrong wherever its true value
    is 0: the finite difference there is rounding noise of ~1e-11, and 1e-11 / 1e-11 is 1.)
    ``floor`` keeps the ratio defined when both are all zeros (then the error is 0).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: a has shape {a.shape} but b has shape {b.shape}")
    if not isinstance(floor, numbers.Real) or not floor > 0:
        raise ValueError(f"relative_error: floor must be > 0, got {floor!r}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), floor)
    return float(np.max(np.abs(a - b))) / scale


def sparse_gradient_check(f, x, analytic, k=10, rng=None, h=1e-5):
    """Compare ``analytic`` with centred differences at k random coordinates of x.

    For big tensors (a 784 x 500 weight matrix) where checking every coordinate is slow.
    f, x, h: as in :func:`numerical_gradient` (x float64, restored exactly).
    analytic: the claimed gradient, shaped like x. k: coordinates to check, drawn without
    replacement (all of them if x has fewer). rng: a np.random.Generator (default
    ``np.random.default_rng(0)``, so the same coordinates every run).
    Returns the :func:`relative_error` between the analytic and numerical values at the
    chosen coordinates.
    """
    _check_x(x)
    _check_h(h)
    analytic = np.asarray(analytic)
    if analytic.shape != x.shape:
        raise ValueError(f"sparse_gradient_check: analytic has shape {analytic.shape} but "
                         f"x has shape {x.shape}")
    if not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"sparse_gradient_check: k must be an integer >= 1, got {k!r}")
    if rng is None:
        rng = np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("sparse_gradient_check: rng must be a np.random.Generator or None, "
                        f"got {type(rng).__name__}")
    if x.size == 0:
        return 0.0
    flat = rng.choice(x.size, size=min(k, x.size), replace=False)
    numeric = np.empty(flat.size)
    claimed = np.empty(flat.size)
    for j, i in enumerate(flat):
        index = np.unravel_index(i, x.shape)
        numeric[j] = _centred(f, x, index, h)
        claimed[j] = analytic[index]
    return relative_error(claimed, numeric)
