"""Drawing an exercise's random cases, and the finite differences they are judged by.

Every exercise draws its cases from ``np.random.default_rng(case_seed(...))``: fixed per
exercise and per visible/hidden check, with the grader's fresh ``$COURSE_CHECK_SEED``
mixed in when it is set. A case is a dict (:func:`case`) with a ``label`` for messages,
``N`` (the batch size, or None) for the mistake diagnosis, and the inputs.
"""
import hashlib

import numpy as np

from helpers import gradcheck

#: Step of the centred finite differences of the reference.
FD_STEP = 1e-5


def case_seed(name, hidden, course_seed=None):
    """The integer seed of an exercise's cases.

    Fixed per exercise and per visible/hidden when ``course_seed`` is None; otherwise
    ``course_seed`` (the grader's fresh ``$COURSE_CHECK_SEED``) is mixed in, so answers
    captured from one run do not pass another. A SHA-256 hash, stable across processes
    and Python versions (unlike ``hash()``).
    """
    text = f"coursepack-check\0{name}\0{'hidden' if hidden else 'visible'}\0"
    if course_seed is not None:
        text += str(course_seed)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def case(label, N=None, **fields):
    """One case: its ``label`` (shown in messages), its batch size ``N`` and its inputs."""
    return {"label": label, "N": N, **fields}


def dims(rng, low, high, n, distinct=True):
    """n integer sizes in [low, high]; pairwise different when ``distinct`` (so that a
    transposed result shows as a shape mismatch).

    Distinct sizes are drawn by rejection (up to 100 draws), then, if none was distinct,
    as a random choice without replacement. The rejection alone failed for some seeds:
    five distinct sizes out of five values come in 3.8 % of draws, so 100 draws all
    failed for 2 % of seeds, and a grading run with such a seed gave every submission 0
    on that exercise. The first step is kept so that every seed it served draws the same
    cases as before."""
    if distinct and n > high - low + 1:
        raise ValueError(f"cannot draw {n} distinct sizes in [{low}, {high}]")
    for _ in range(100):
        sizes = [int(v) for v in rng.integers(low, high + 1, size=n)]
        if not distinct or len(set(sizes)) == n:
            return sizes
    return [int(v) for v in rng.choice(np.arange(low, high + 1), size=n, replace=False)]


def away_from_zero(rng, shape, scale=1.0, gap=1e-2):
    """Normal values times ``scale`` with |value| >= gap (no kinks inside +-h)."""
    x = rng.normal(0.0, scale, size=shape)
    small = np.abs(x) < gap
    x[small] = np.copysign(gap, x[small])
    return x


def labels(rng, N, K):
    """N integer labels in 0..K-1 (int64)."""
    return rng.integers(0, K, size=N).astype(np.int64)


def with_bias_column(rng, N, D, scale=1.0):
    """(N, D) float64 design matrix whose column 0 is ones (the bias input x0 = 1)."""
    X = rng.normal(0.0, scale, size=(N, D))
    X[:, 0] = 1.0
    return X


def fd(f, x):
    """Centred differences (h = FD_STEP) of the scalar function f at a float64 copy of x."""
    return gradcheck.numerical_gradient(f, np.array(x, dtype=np.float64), h=FD_STEP)


def params_fd(loss_of_params, params, prefix="grads"):
    """{(prefix, key): centred differences of loss_of_params(params) in params[key]}."""
    out = {}
    for key in params:
        def f(value, key=key):
            trial = dict(params)
            trial[key] = value
            return loss_of_params(trial)
        out[(prefix, key)] = fd(f, params[key])
    return out
