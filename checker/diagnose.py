"""Name the likely mistake when a student's output is wrong in a recognisable way.

One helper serves every autograded exercise. ``diagnose(got, expected)`` compares a wrong
output with the right one and looks for the usual suspects: a constant factor (a missing
1/N, a factor 2), the opposite sign, a transposed or mis-shaped result, a gradient left at
zero, NaN from an overflow. Mistakes that are not a simple transformation of the answer
(a dropped regularisation term, only the diagonal of the softmax Jacobian, a missing bias
term) are recognised through ``variants``: wrong answers that the exercise computes from
the reference pieces, keyed by the name of the mistake.

Outputs may be arrays, scalars, tuples/lists (e.g. ``(loss, grad)``) or dicts (e.g.
``grads``); the message says which entry is wrong (``"dW: ..."``).

One piece of advice that misleads is named wherever a loss is graded: "add a small epsilon
inside the log" (``log(p + 1e-7)``, or ``p`` clipped to ``[eps, 1 - eps]``) makes a
cross-entropy wrong by up to ~1e-4 for confident predictions, and far more where the
true class has a tiny probability. :func:`epsilon_in_log` gives the losses those forms
produce, for the exercises to offer as variants (:data:`EPSILON_IN_LOG`).

The grading code imports this module; it imports numpy only.
"""
import dataclasses

import numpy as np

#: Relative error under which ``got`` counts as matching a transformed answer or a variant.
MATCH_TOLERANCE = 1e-5
#: How closely a :class:`Near` variant must be matched when it lies close to the answer.
NEAR_TOLERANCE = 1e-10


@dataclasses.dataclass(frozen=True)
class Near:
    """A variant's value that must be matched to ``tolerance`` (relative) rather than
    MATCH_TOLERANCE: for a mistake whose answer lies so close to the right one (an
    epsilon inside a log: 1e-6 off) that only an exact reproduction names it."""
    value: float
    tolerance: float = NEAR_TOLERANCE


#: The diagnosis of a loss computed with an epsilon inside the log.
EPSILON_IN_LOG = "epsilon inside the log: use log-sum-exp / logaddexp instead"
#: The epsilons people put there.
EPSILONS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15)


def epsilon_in_log(log_q, extra=0.0, judged=1e-6):
    """{diagnosis: loss} for a mean cross-entropy -mean(log q) computed with an epsilon
    inside the log, in the two usual forms: log(q + eps) and log(clip(q, eps, 1 - eps))
    (a clipped or ``np.maximum``-ed probability), for each eps of :data:`EPSILONS`.

    log_q: the log-probabilities the loss averages, one per term (the true class of each
    example; for a binary loss the probability of each target), computed stably by the
    exercise; extra: what the loss adds to the mean (a penalty). A loss that differs
    from the right one by more than 10 * MATCH_TOLERANCE (relative) is matched like any
    variant; one closer to it (the usual case: 1e-7 inside the log moves a loss of ~3 by
    ~1e-5) is returned as :class:`Near`, matched only when reproduced to NEAR_TOLERANCE;
    forms the judge would accept (relative error <= ``judged``, checker.judge.TOLERANCE)
    are left out, so a loss that passed is never called wrong."""
    log_q = np.asarray(log_q, dtype=np.float64).ravel()
    if log_q.size == 0 or not np.all(np.isfinite(log_q)):
        return {}
    q = np.exp(log_q)
    right = float(-np.mean(log_q)) + extra
    out = {}
    with np.errstate(all="ignore"):
        for eps in EPSILONS:
            forms = ((f"log(p + {eps:g})", np.log(q + eps)),
                     (f"log(clip(p, {eps:g}, 1 - {eps:g}))", np.log(np.clip(q, eps, 1 - eps))))
            for form, logs in forms:
                loss = float(-np.mean(logs)) + extra
                gap = abs(loss - right) / max(abs(loss), abs(right), 1e-300)
                name = f"{EPSILON_IN_LOG} (the loss equals the one with {form})"
                if gap > 10 * MATCH_TOLERANCE:
                    out[name] = loss
                elif abs(loss - right) > judged * (abs(loss) + abs(right)):
                    out[name] = Near(loss)
    return out


def diagnose(got, expected, variants=None, *, batch_size=None, names=None):
    """Return a one-line guess at the mistake that turns ``expected`` into ``got``, or None.

    got, expected : array-likes, scalars, tuples/lists or dicts of those, same structure.
    variants      : optional dict ``{description: wrong_answer}``; each wrong answer has the
                    structure of ``expected`` and is what a known mistake would produce
                    (e.g. ``{"a missing regularisation term": (loss_without, dw_without)}``).
                    Variants are tried before the generic transformations.
    batch_size    : N of the case, so a factor of N or 1/N is reported as a 1/N mistake.
    names         : optional labels for the entries of a tuple/list ``expected``
                    (e.g. ``("loss", "dw")``); dict entries are labelled by their keys.

    Returns None when ``got`` matches ``expected`` or no known mistake explains it.
    Never raises on malformed input: a structure mismatch is itself a diagnosis.
    """
    variants = dict(variants or {})
    return _diagnose(got, expected, variants, batch_size, names, path="")


def _diagnose(got, expected, variants, batch_size, names, path):
    """Recursive worker for :func:`diagnose`; ``path`` labels the current entry."""
    prefix = f"{path}: " if path else ""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{prefix}expected a dict with keys {sorted(expected)}, got {describe_kind(got)}"
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(map(str, got)) - set(map(str, expected)))
        if missing:
            return (f"{prefix}missing key(s) {missing} "
                    "(the result must be keyed like the parameters)")
        if extra:
            return f"{prefix}unexpected key(s) {extra}"
        for key in expected:
            sub = {name: v[key] for name, v in variants.items()
                   if isinstance(v, dict) and key in v}
            found = _diagnose(got[key], expected[key], sub, batch_size, None,
                              _join(path, str(key)))
            if found:
                return found
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return (f"{prefix}expected a tuple of {len(expected)} "
                    f"({', '.join(names) if names else 'items'}), got {describe_kind(got)}")
        if len(got) != len(expected):
            return f"{prefix}expected {len(expected)} items, got {len(got)}"
        for i, exp_item in enumerate(expected):
            label = names[i] if names and i < len(names) else i
            sub = {name: v[i] for name, v in variants.items()
                   if isinstance(v, (tuple, list)) and len(v) == len(expected)}
            found = _diagnose(got[i], exp_item, sub, batch_size, None, _join(path, label))
            if found:
                return found
        return None
    found = _diagnose_leaf(got, expected, variants, batch_size, path)
    return f"{prefix}{found}" if found else None


def _diagnose_leaf(got, expected, variants, batch_size, path):
    """Diagnose one array or scalar; returns the message without the path prefix."""
    exp = np.asarray(expected)
    if isinstance(got, (dict, tuple, list)) and exp.ndim == 0:
        return f"expected a single number, got {describe_kind(got)}"
    try:
        arr = np.asarray(got)
    except Exception:  # an object numpy cannot even wrap
        return f"expected a number or array, got {describe_kind(got)}"
    if arr.dtype.kind not in "biufc":
        return f"expected numbers, got {describe_kind(got)}"
    if arr.shape != exp.shape:
        return _shape_message(arr.shape, exp.shape, batch_size)
    if exp.dtype.kind in "biu":
        # integer outputs (labels) are compared exactly
        if np.array_equal(arr, exp):
            return None
        for name, wrong in variants.items():
            if np.shape(wrong) == exp.shape and np.array_equal(arr, np.asarray(wrong)):
                return name
        if exp.size and np.array_equal(arr, 1 - exp):
            return "every label is flipped (the comparison is the wrong way round?)"
        return None
    arr = arr.astype(np.float64)
    exp = exp.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        return (f"contains {bad}: an overflow in exp, a log of 0 or a division by 0? "
                "(shift by the maximum / use a numerically stable form)")
    for name, wrong in variants.items():     # close to the answer: before the test below
        if isinstance(wrong, Near) and np.shape(wrong.value) == exp.shape \
                and _close(arr, np.asarray(wrong.value, dtype=np.float64), wrong.tolerance):
            return name
    if _close(arr, exp):
        return None
    for name, wrong in variants.items():
        tolerance = MATCH_TOLERANCE
        if isinstance(wrong, Near):
            continue
        try:
            wrong_arr = np.asarray(wrong, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if wrong_arr.shape == exp.shape and _close(arr, wrong_arr, tolerance):
            return name
    scale = np.max(np.abs(exp)) if exp.size else 0.0
    if exp.size and scale > 0 and not np.any(arr):
        return f"all zeros{_zero_hint(path)}"
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and not _close(exp, exp.T) \
            and _close(arr, exp.T):
        return "transposed (the result equals the transpose of the expected one)"
    factor = _factor(arr, exp)
    if factor is not None:
        return _factor_message(factor, batch_size)
    return None


def _shape_message(got_shape, exp_shape, batch_size):
    """Explain a shape mismatch, guessing the usual causes."""
    text = f"expected shape {exp_shape}, got {got_shape}"
    got_shape, exp_shape = tuple(got_shape), tuple(exp_shape)
    if len(exp_shape) == 2 and got_shape == exp_shape[::-1]:
        return f"{text}: transposed?"
    if len(exp_shape) == 0:
        return f"{text}: the loss must be a single number (a sum or mean is missing?)"
    if len(got_shape) == 2 and len(exp_shape) == 1 and got_shape == (exp_shape[0],) * 2:
        return (f"{text}: a broadcast between shapes ({exp_shape[0]},) and "
                f"({exp_shape[0]}, 1)? (keep vectors 1-D)")
    if len(got_shape) == len(exp_shape) + 1 and got_shape[1:] == exp_shape \
            and (batch_size is None or got_shape[0] == batch_size):
        return f"{text}: a missing sum over the batch (axis 0)?"
    if int(np.prod(got_shape)) == int(np.prod(exp_shape)):
        return f"{text}: same number of entries, an extra or missing axis (reshape/ravel)?"
    if len(got_shape) == len(exp_shape) + 1 and got_shape[:len(exp_shape)] == exp_shape:
        return (f"{text}: an extra axis; a column vector (n, 1) broadcast against a "
                "1-D array?")
    return text


def _factor(arr, exp):
    """Return c when ``arr`` is ``c * exp`` for a constant c away from 1, else None."""
    denom = float(np.vdot(exp, exp))
    if denom == 0.0:
        return None
    c = float(np.vdot(exp, arr)) / denom
    if c == 0.0 or not np.isfinite(c) or abs(c - 1.0) < MATCH_TOLERANCE:
        return None
    if _close(arr, c * exp):
        return c
    return None


def _factor_message(c, batch_size):
    """Describe a constant factor c between the result and the expected answer."""
    sign = "the opposite sign" if c < 0 else ""
    mag = abs(c)
    if abs(mag - 1.0) < MATCH_TOLERANCE:
        return "the opposite sign (a minus sign missing or doubled)"
    parts = []
    if batch_size and batch_size > 1 and abs(mag - batch_size) <= MATCH_TOLERANCE * batch_size:
        parts.append(f"a missing 1/N (the result is N = {batch_size} times too large)")
    elif batch_size and batch_size > 1 and abs(mag * batch_size - 1.0) <= MATCH_TOLERANCE:
        parts.append(f"an extra 1/N (the result is N = {batch_size} times too small)")
    elif abs(mag - round(mag)) <= MATCH_TOLERANCE * mag and round(mag) >= 2:
        parts.append(f"off by a factor {round(mag)} (the result is {round(mag)} times too large)")
    elif mag < 1 and abs(1 / mag - round(1 / mag)) <= MATCH_TOLERANCE / mag:
        parts.append(f"off by a factor 1/{round(1 / mag)} "
                     f"(the result is {round(1 / mag)} times too small)")
    else:
        parts.append(f"off by a factor {mag:.4g}")
    if sign:
        parts.insert(0, sign)
    return " and ".join(parts)


def _zero_hint(path):
    """Extra words for an all-zero result, naming a bias gradient when the key says so."""
    leaf = path.rsplit(".", 1)[-1].rsplit("[", 1)[-1].strip("]'\"")
    if leaf.startswith("db") or (leaf.startswith("b") and leaf[1:].isdigit()) or leaf == "b":
        return ": a missing bias gradient"
    return ": a missing gradient or an unfinished function"


def _close(a, b, tolerance=MATCH_TOLERANCE):
    """True when arrays a and b agree to ``tolerance``, relative to their size."""
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0,
                float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    return diff <= tolerance * scale


def _join(path, label):
    """Label of a nested entry: ``grads`` + ``W1`` -> ``grads['W1']``; ``w`` + 2 -> ``w[2]``."""
    if isinstance(label, int):
        return f"{path}[{label}]" if path else f"item {label}"
    if not path:
        return label
    return f"{path}[{label!r}]"


def describe_kind(obj):
    """Short description of an object for messages: type and, for arrays, shape."""
    if isinstance(obj, np.ndarray):
        return f"an array of shape {obj.shape} ({obj.dtype})"
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    if obj is None:
        return "None (a missing return statement?)"
    return f"a {type(obj).__name__}"
