"""Is a difference between two classifiers more than noise? (notebooks 2 to 5)

Both tests are **paired**: the two models are scored on the same test images, so what
matters is the images on which they disagree, not the two accuracies on their own.

- :func:`mcnemar`: McNemar's exact test. Of the images exactly one model gets right,
  ``b`` go to model A and ``c`` to model B; if both models were equally good each such
  image would be a fair coin, so ``b ~ Binomial(b + c, 1/2)``.
- :func:`paired_bootstrap`: resample the test images with replacement and look at the
  spread of the accuracy difference; the inputs may also hold several seeds per model
  (``(S, N)``), then the difference is that of the seed-averaged accuracies.
- :func:`mean_sd`: the mean and the sample standard deviation over seeds.

Inputs are boolean "was this image classified correctly" arrays, e.g. ``pred == y``.
NumPy and the standard library only.
"""
import math
from typing import NamedTuple

import numpy as np


class McNemar(NamedTuple):
    """``b``: images only A gets right; ``c``: only B; ``p``: two-sided exact p-value."""

    b: int
    c: int
    p: float


class Bootstrap(NamedTuple):
    """Accuracy difference A - B (fraction), its 95% percentile interval, the p-value of
    "no difference" (two-sided, from the bootstrap distribution shifted to 0) and the
    number of resamples."""

    diff: float
    low: float
    high: float
    p: float
    n_boot: int


def _correct(name, values):
    arr = np.asarray(values)
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must hold booleans (or 0/1): was each image right?")
        arr = arr.astype(bool)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(f"{name} must be (N,) or (S, N) with N >= 1, got shape {arr.shape}")
    return arr


def _pair(correct_a, correct_b):
    a, b = _correct("correct_a", correct_a), _correct("correct_b", correct_b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"the two models were scored on different numbers of images: "
                         f"{a.shape[-1]} and {b.shape[-1]}")
    return a, b


def binomial_two_sided(k, n):
    """Exact two-sided p-value of ``k`` successes in ``n`` fair coin flips:
    ``min(1, 2 P(X <= min(k, n - k)))``, X ~ Binomial(n, 1/2). Exact integer arithmetic."""
    if not (0 <= k <= n):
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1))
    return min(1.0, 2 * tail / 2**n)


def mcnemar(correct_a, correct_b):
    """McNemar's exact test for two classifiers on the same N images.

    correct_a, correct_b: (N,) booleans. Returns ``McNemar(b, c, p)``.
    """
    a, b = _pair(correct_a, correct_b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("mcnemar compares one model with one model: pass (N,) arrays "
                         "(one seed each), or use paired_bootstrap for several seeds")
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(b & ~a))
    return McNemar(only_a, only_b, binomial_two_sided(only_a, only_a + only_b))


def paired_bootstrap(correct_a, correct_b, n_boot=10_000, seed=0, chunk=500):
    """Paired bootstrap over test images of the accuracy difference A - B.

    correct_a, correct_b: (N,) or (S, N) booleans (S seeds of a model, averaged per image
    first; the two may have different S). Returns ``Bootstrap``; resamples are drawn from
    ``np.random.default_rng(seed)``, ``chunk`` at a time (memory ``chunk * N`` indices).
    """
    a, b = _pair(correct_a, correct_b)
    per_image = np.atleast_2d(a).mean(axis=0) - np.atleast_2d(b).mean(axis=0)   # (N,)
    n = per_image.size
    diff = float(per_image.mean())
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws[start:start + size] = per_image[rng.integers(0, n, size=(size, n))].mean(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    # Shift the bootstrap distribution to mean 0 (the null of no difference) and count
    # how often it lands at least as far from 0 as the observed difference.
    extreme = np.count_nonzero(np.abs(draws - diff) >= abs(diff) - 1e-12)
    p = (1 + extreme) / (1 + n_boot)
    return Bootstrap(diff, float(low), float(high), float(min(1.0, p)), int(n_boot))


def mean_sd(values):
    """(mean, sample standard deviation with ddof=1) of a sequence; sd is nan for one value."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("mean_sd needs at least one value")
    sd = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return float(arr.mean()), sd


def format_p(p):
    """A p-value for a sentence: 'p = 0.031', 'p < 0.001'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
