"""L2 and L1 penalties, each returning (penalty, dW), and the L1 proximal step
(notebooks 1 and 3).

Convention: the L2 penalty is lam/2 * ||w||^2 with gradient lam * w (the weight-decay
form). The course report (seed 001) writes lam * ||w||^2 with gradient 2 * lam * w, so
its lambda is half of ours. Callers choose which weights to penalise (never the bias):
pass only those, e.g. ``l2_penalty(w[1:], lam)`` or ``l2_penalty(params["W"], lam)``.
"""
import numbers

import numpy as np

PENALTIES = ("l1", "l2")


def _check(w, lam, name):
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not np.isfinite(lam):
        raise TypeError(f"{name}: lam must be a finite real number, got {lam!r}")
    if lam < 0:
        raise ValueError(f"{name}: lam must be >= 0 (a negative penalty rewards large "
                         f"weights), got {lam!r}")
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(np.float64)
    return w


def l2_penalty(w, lam):
    """L2 penalty lam/2 * sum(w**2) and its gradient lam * w.

    w: array of any shape (e.g. (D,) or (D, K)); lam >= 0. Returns (penalty, dW) with
    penalty a float and dW shaped like w. w is not changed.
    """
    w = _check(w, lam, "l2_penalty")
    return float(lam / 2 * np.sum(w * w)), lam * w


def l1_penalty(w, lam):
    """L1 penalty lam * sum(|w|) and its subgradient lam * sign(w) (0 where w == 0).

    w: array of any shape; lam >= 0. Returns (penalty, dW) with dW shaped like w.
    w is not changed.
    """
    w = _check(w, lam, "l1_penalty")
    return float(lam * np.sum(np.abs(w))), lam * np.sign(w)


def penalty(w, lam, name):
    """Dispatch to the penalty called ``name`` ("l1" or "l2"); returns (penalty, dW)."""
    if name == "l2":
        return l2_penalty(w, lam)
    if name == "l1":
        return l1_penalty(w, lam)
    raise ValueError(f"unknown penalty name {name!r}; expected one of {', '.join(PENALTIES)}")


def soft_threshold(w, threshold):
    """The proximal step of the L1 penalty: sign(w) * max(|w| - threshold, 0).

    After a gradient step of size eta on the data loss alone, ``soft_threshold(w, eta *
    lam)`` minimises lam |w|_1 + |w - w_step|^2 / (2 eta) exactly: weights within the
    threshold of 0 become exactly 0 (plain subgradient steps only jitter around it).
    w: array of any shape; threshold >= 0. Returns a new array shaped like w.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
            or not threshold >= 0 or not np.isfinite(threshold):
        raise ValueError(f"soft_threshold: threshold must be a finite number >= 0, got "
                         f"{threshold!r}")
    w = _check(w, 0.0, "soft_threshold")
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)
