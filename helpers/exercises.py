"""The autograded exercises: how each one draws its cases, runs a submission, and is judged.

``EXERCISES`` maps every exercise name of docs/interfaces.md to an :class:`Exercise`,
plain data:

- ``functions``: the student function names it takes, in order;
- ``make_cases(rng) -> list of case dicts``: random shapes and float64 inputs drawn from
  ``rng``, plus edge cases (logits of +-1000, exact zeros for L1, ...);
- ``run(functions, case) -> dict``: calls the student's functions on deep copies of the
  case's inputs and collects what they return; an exception or a wrongly shaped return
  value is recorded as a :class:`StudentError` (the whole case's output), never raised;
- ``expected(case) -> dict``: the same outputs from the pack's reference kernels;
- ``gradients(case) -> {path: array}``: centred finite differences (float64, h = 1e-5) of
  the *reference* forward pass or loss, for every gradient the student returns;
- ``variants(case) -> {mistake: wrong outputs}``: answers known mistakes would give,
  for :func:`helpers.diagnose.diagnose`;
- ``references``: dotted names of the pack's own implementations of the exercise, so the
  grader can flag a submission that answers by calling them.

:func:`verify` is the judge. It regenerates the cases from ``(name, seed, hidden)``, never
trusting inputs from the student's side, and compares the student's outputs with the
reference outputs and with the finite differences (relative error <= :data:`TOLERANCE`).
It is a pure function of its arguments and never raises on malformed outputs: those give
a failed :class:`Verdict` with a message. ``helpers.checks`` calls it in the student's
kernel (normal mode); the grader calls it in its own process (grading mode).

Layering: this module imports the kernels as the reference; no kernel imports it.
"""
import copy
import dataclasses
import hashlib
import numbers
import traceback
from typing import Callable

import numpy as np

from helpers import activations, gradcheck, layers, losses, optim, regularization, training
from helpers.diagnose import describe_kind, diagnose

#: Largest relative error (helpers.gradcheck.relative_error) accepted for a float output.
TOLERANCE = 1e-6
#: Step of the centred finite differences of the reference.
FD_STEP = 1e-5
#: Modules a solution has no business touching: code in a solution cell that names one of
#: them (e.g. to compute the expected outputs, or to patch ``check``) should be flagged by
#: the grader, like a call to an exercise's ``references``.
GRADING_MODULES = ("helpers.checks", "helpers.exercises", "helpers.diagnose")


# ----------------------------------------------------------------------------- data

@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`: passed or not, a message, the largest error seen."""
    passed: bool
    message: str
    max_rel_error: float | None = None


@dataclasses.dataclass(frozen=True)
class StudentError:
    """Stands for an output the student's code did not produce: it raised, or returned
    something of the wrong form. ``message`` says which function and why."""
    message: str


class _Malformed(Exception):
    """Raised inside ``run`` when a student function returns the wrong form."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One autograded exercise (see the module docstring for the fields' roles)."""
    name: str
    functions: tuple[str, ...]
    make_cases: Callable[[np.random.Generator], list]
    run: Callable[[tuple, dict], dict]
    expected: Callable[[dict], dict]
    references: tuple[str, ...]
    gradients: Callable[[dict], dict] | None = None
    variants: Callable[[dict], dict] | None = None
    #: extra checks before the comparison (inputs left untouched, x restored, ...)
    pre_check: Callable[[dict, dict], str | None] | None = None
    #: checks that replace the value comparison (xavier_init's statistics)
    custom_check: Callable[[dict, dict], str | None] | None = None
    #: False when the outputs are compared only for structure and shape
    compare_values: bool = True


# ------------------------------------------------------------------------ seeds

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


def cases_for(name, seed=None, hidden=False):
    """The list of case dicts of exercise ``name`` for ``$COURSE_CHECK_SEED`` = ``seed``."""
    exercise = _get(name)
    rng = np.random.default_rng(case_seed(name, hidden, seed))
    return exercise.make_cases(rng)


def _get(name):
    try:
        return EXERCISES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown exercise {name!r}; the exercises are: "
                         f"{', '.join(sorted(EXERCISES))}") from None


# ------------------------------------------------------------------ running code

def run_case(exercise, functions, case):
    """Run the student's ``functions`` (a tuple, in the order of ``exercise.functions``)
    on one case. Returns the exercise's output dict, or a :class:`StudentError`."""
    return exercise.run(tuple(functions), case)


def _safe(run):
    """Wrap an exercise's raw run: deep-copy the case first (nothing the student does can
    change it) and turn exceptions into a StudentError instead of raising them."""
    def safe_run(functions, case):
        case = copy.deepcopy(case)
        try:
            return run(functions, case)
        except _Malformed as exc:
            return StudentError(str(exc))
        except Exception as exc:  # the student's bug, reported instead of raised
            return StudentError(_describe_exception(exc))
    safe_run.__doc__ = run.__doc__
    return safe_run


def _describe_exception(exc):
    """``TypeError: message (line 12: z = x @ w)`` with the innermost frame's line."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        frame = frames[-1]
        where = f"line {frame.lineno}" + (f": {frame.line.strip()}" if frame.line else "")
        text += f" ({where} in {frame.name})"
    return f"raised {text}"


def _call(func, *args, **kwargs):
    """Call ``func`` on deep copies of the arguments, naming it in any error."""
    args = copy.deepcopy(args)
    kwargs = copy.deepcopy(kwargs)
    try:
        return func(*args, **kwargs)
    except Exception as exc:
        raise _Malformed(f"{getattr(func, '__name__', 'your function')} "
                         f"{_describe_exception(exc)}") from None


def _unpack(result, names, func_name):
    """Check that ``result`` is a tuple/list of len(names) and return it as a tuple."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        shape = getattr(result, "shape", None)
        got = (f"a {type(result).__name__}" + (f" of shape {shape}" if shape is not None else "")
               + (f" of {len(result)} items" if isinstance(result, (tuple, list)) else ""))
        raise _Malformed(f"{func_name} must return a tuple ({', '.join(names)}), got {got}")
    return tuple(result)


# ------------------------------------------------------------------ case helpers

def _dims(rng, low, high, n, distinct=True):
    """n integer sizes in [low, high]; pairwise different when ``distinct`` (so that a
    transposed result shows as a shape mismatch)."""
    for _ in range(100):
        sizes = [int(v) for v in rng.integers(low, high + 1, size=n)]
        if not distinct or len(set(sizes)) == n:
            return sizes
    raise RuntimeError("could not draw distinct sizes")  # pragma: no cover


def _away_from_zero(rng, shape, scale=1.0, gap=1e-2):
    """Normal values times ``scale`` with |value| >= gap (no kinks inside +-h)."""
    x = rng.normal(0.0, scale, size=shape)
    small = np.abs(x) < gap
    x[small] = np.copysign(gap, x[small])
    return x


def _labels(rng, N, K):
    """N integer labels in 0..K-1 (int64)."""
    return rng.integers(0, K, size=N).astype(np.int64)


def _with_bias_column(rng, N, D, scale=1.0):
    """(N, D) float64 design matrix whose column 0 is ones (the bias input x0 = 1)."""
    X = rng.normal(0.0, scale, size=(N, D))
    X[:, 0] = 1.0
    return X


def _fd(f, x):
    """Centred differences of the scalar function f at a float64 copy of x."""
    return gradcheck.numerical_gradient(f, np.array(x, dtype=np.float64), h=FD_STEP)


def _case(label, N=None, **fields):
    return {"label": label, "N": N, **fields}


# ===================================================================== exercises
# Each exercise: make_cases, run, expected, [gradients], [variants], references.

# ---- sigmoid ------------------------------------------------------------------

def _sigmoid_cases(rng):
    cases = []
    for shape in [(int(rng.integers(3, 9)),), tuple(_dims(rng, 2, 6, 2)), (2, 3, 2)]:
        cases.append(_case(f"random z of shape {shape}", z=rng.normal(0, 3, size=shape)))
    extreme = np.array([-1000.0, -745.0, -710.0, -40.0, 0.0, 40.0, 710.0, 745.0, 1000.0])
    cases.append(_case("z = +-1000, +-745, +-710, +-40 and 0", z=rng.permutation(extreme)))
    cases.append(_case("a single number z (shape ())", z=np.array(rng.normal())))
    cases.append(_case("z of shape (1, 1)", z=rng.normal(0, 5, size=(1, 1))))
    return cases


def _sigmoid_run(functions, case):
    (sigmoid,) = functions
    return {"s": _call(sigmoid, case["z"])}


def _sigmoid_expected(case):
    return {"s": activations.sigmoid(case["z"])}


def _sigmoid_variants(case):
    z = case["z"]
    return {"sigmoid(-z) = 1 - sigmoid(z) (the sign of z in exp(-z) is flipped)":
            {"s": activations.sigmoid(-z)}}


# ---- sigmoid_grad -------------------------------------------------------------

def _sigmoid_grad_cases(rng):
    cases = [_case(f"random z of shape {shape}", z=rng.normal(0, 2, size=shape))
             for shape in [(int(rng.integers(3, 9)),), tuple(_dims(rng, 2, 6, 2))]]
    cases.append(_case("z = +-1000, +-30 and 0",
                       z=rng.permutation(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))))
    cases.append(_case("a single number z (shape ())", z=np.array(rng.normal())))
    return cases


def _sigmoid_grad_run(functions, case):
    (sigmoid_grad,) = functions
    return {"ds": _call(sigmoid_grad, case["z"])}


def _sigmoid_grad_expected(case):
    z = case["z"]
    _, cache = activations.sigmoid_forward(z)
    return {"ds": activations.sigmoid_backward(np.ones_like(z), cache)}


def _sigmoid_grad_gradients(case):
    # the derivative of sum(sigmoid(z)) with respect to z_i is sigmoid'(z_i)
    return {("ds",): _fd(lambda v: np.sum(activations.sigmoid(v)), case["z"])}


def _sigmoid_grad_variants(case):
    z = case["z"]
    s = activations.sigmoid(z)
    return {"s * (1 - s) evaluated at z instead of at s = sigmoid(z)": {"ds": z * (1 - z)},
            "sigmoid(z) itself instead of its derivative": {"ds": s}}


# ---- numerical_gradient -------------------------------------------------------
# Fixed smooth scalar test functions f(x) with known gradients. The first has a large
# second derivative, so a forward difference (error ~ h f''/2) is off by ~1e-4 while a
# centred one (error ~ h^2 f'''/6) agrees to ~1e-9.

_NG_WEIGHTS = np.linspace(0.5, 2.0, 64)


def _ng_exp(x):
    """f(x) = sum(exp(20 x)); gradient 20 exp(20 x)."""
    return float(np.sum(np.exp(20 * x)))


def _ng_lse(x):
    """f(x) = log(sum(exp(3 x))) over all entries; gradient 3 softmax(3 x)."""
    return float(np.log(np.sum(np.exp(3 * x))))


def _ng_coupled(x):
    """f(x) = (c . x)^2 + sum(sin(x) x^2), c fixed weights; not separable."""
    c = _NG_WEIGHTS[:x.size].reshape(x.shape)
    return float(np.sum(c * x) ** 2 + np.sum(np.sin(x) * x**2))


def _ng_exp_grad(x):
    return 20 * np.exp(20 * x)


def _ng_lse_grad(x):
    e = np.exp(3 * x - np.max(3 * x))
    return 3 * e / e.sum()


def _ng_coupled_grad(x):
    c = _NG_WEIGHTS[:x.size].reshape(x.shape)
    return 2 * np.sum(c * x) * c + np.cos(x) * x**2 + 2 * np.sin(x) * x


_NG_FUNCTIONS = {
    "f(x) = sum(exp(20 x))": (_ng_exp, _ng_exp_grad),
    "f(x) = log(sum(exp(3 x)))": (_ng_lse, _ng_lse_grad),
    "f(x) = (c . x)^2 + sum(sin(x) x^2)": (_ng_coupled, _ng_coupled_grad),
}


def _ng_cases(rng):
    cases = []
    names = list(_NG_FUNCTIONS)
    for i, shape in enumerate([(int(rng.integers(3, 8)),), tuple(_dims(rng, 2, 4, 2)),
                               (int(rng.integers(3, 8)),), tuple(_dims(rng, 2, 4, 2)),
                               (int(rng.integers(3, 8)),)]):
        fname = names[i % len(names)]
        x = rng.uniform(-0.3, 0.3, size=shape)
        cases.append(_case(f"{fname} at x of shape {shape}", f=fname, x=x))
    return cases


def _ng_run(functions, case):
    (numerical_gradient,) = functions
    f = _NG_FUNCTIONS[case["f"]][0]
    x = np.array(case["x"], dtype=np.float64)
    try:
        grad = numerical_gradient(f, x)
    except Exception as exc:
        raise _Malformed(f"numerical_gradient {_describe_exception(exc)}") from None
    return {"x_after": x, "grad": grad}


def _ng_expected(case):
    f = _NG_FUNCTIONS[case["f"]][0]
    x = np.array(case["x"], dtype=np.float64)
    return {"x_after": case["x"].copy(), "grad": gradcheck.numerical_gradient(f, x, h=FD_STEP)}


def _ng_gradients(case):
    # the analytic gradient: what the finite differences must approximate
    return {("grad",): _NG_FUNCTIONS[case["f"]][1](case["x"])}


def _ng_variants(case):
    f = _NG_FUNCTIONS[case["f"]][0]
    x = np.array(case["x"], dtype=np.float64)
    fx = f(x)
    forward = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        old = x[index]
        x[index] = old + FD_STEP
        forward[index] = (f(x) - fx) / FD_STEP
        x[index] = old
    return {"a forward difference (f(x+h) - f(x)) / h instead of the centred "
            "(f(x+h) - f(x-h)) / 2h": {"grad": forward}}


def _ng_pre_check(case, out):
    after = out.get("x_after") if isinstance(out, dict) else None
    if isinstance(after, np.ndarray) and after.shape == case["x"].shape \
            and after.dtype.kind == "f":
        change = np.abs(after - case["x"])
        if np.any(change > 1e-13 * np.maximum(np.abs(case["x"]), 1.0)):
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax(change)),
                                                            change.shape))
            return (f"x was not restored: after the call x{list(index)} differs from its "
                    f"original value by {change[index]:.3g}. Save x[i] before perturbing "
                    "it and put the saved value back (x[i] = old).")
    return None


# ---- logistic_loss_grad ---------------------------------------------------------

def _logistic_cases(rng):
    cases = []
    for label, scale in [("random", 0.5), ("random", 0.5),
                         ("confident (|logits| up to ~20)", 6.0)]:
        N, D = _dims(rng, 5, 12, 2)
        X = _with_bias_column(rng, N, D)
        w = rng.normal(0, scale, size=D)
        t = rng.integers(0, 2, size=N)
        t = t.astype(np.float64) if rng.random() < 0.5 else t.astype(np.int64)
        cases.append(_case(f"{label} N={N}, D={D}", N=N, w=w, X=X, t=t))
    D = int(rng.integers(2, 5))
    cases.append(_case(f"a single example N=1, D={D}", N=1, w=rng.normal(size=D),
                       X=_with_bias_column(rng, 1, D), t=np.array([1.0])))
    return cases


def _logistic_run(functions, case):
    (f,) = functions
    loss, dw = _unpack(_call(f, case["w"], case["X"], case["t"]), ("loss", "dw"),
                       "logistic_loss_grad")
    return {"loss": loss, "dw": dw}


def _logistic_parts(w, X, t):
    loss, dz = losses.binary_cross_entropy(X @ w, t)
    return loss, X.T @ dz, dz


def _logistic_expected(case):
    loss, dw, _ = _logistic_parts(case["w"], case["X"], case["t"])
    return {"loss": loss, "dw": dw}


def _logistic_gradients(case):
    X, t = case["X"], case["t"]
    return {("dw",): _fd(lambda w: losses.binary_cross_entropy(X @ w, t)[0], case["w"])}


def _logistic_variants(case):
    X = case["X"]
    p = activations.sigmoid(X @ case["w"])
    loss, _, _ = _logistic_parts(case["w"], X, case["t"])
    return {"dL/dp times dp/dz with the loss and the prediction mixed up "
            "(x * p * (1 - p))": {"loss": loss, "dw": X.T @ (p * (1 - p)) / X.shape[0]}}


# ---- softmax --------------------------------------------------------------------

def _softmax_cases(rng):
    cases = []
    for _ in range(2):
        N, K = _dims(rng, 2, 7, 2)
        cases.append(_case(f"random Z of shape ({N}, {K})", N=N, Z=rng.normal(0, 2, size=(N, K))))
    N, K = _dims(rng, 3, 6, 2)
    offsets = rng.choice([-1000.0, 0.0, 1000.0], size=(N, 1))
    offsets[0, 0], offsets[1, 0] = 1000.0, -1000.0
    cases.append(_case(f"rows shifted by +-1000, shape ({N}, {K})", N=N,
                       Z=rng.normal(0, 2, size=(N, K)) + offsets))
    K = int(rng.integers(3, 7))
    cases.append(_case(f"one row of extreme scores, shape (1, {K})", N=1,
                       Z=np.concatenate([[1000.0, -1000.0], rng.normal(size=K - 2)])[None, :]))
    K = int(rng.integers(3, 7))
    cases.append(_case(f"a single score vector z of shape ({K},)", N=None,
                       Z=rng.normal(0, 2, size=K)))
    return cases


def _softmax_run(functions, case):
    (softmax,) = functions
    Z = case["Z"].copy()
    try:
        P = softmax(Z)
    except Exception as exc:
        raise _Malformed(f"softmax {_describe_exception(exc)}") from None
    return {"Z_after": Z, "P": P}


def _softmax_expected(case):
    return {"Z_after": case["Z"].copy(), "P": activations.softmax(case["Z"])}


def _softmax_variants(case):
    Z = case["Z"]
    if Z.ndim != 2:
        return {}
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return {"normalised over the columns (axis 0) instead of the rows":
            {"Z_after": Z, "P": E / E.sum(axis=0, keepdims=True)}}


def _input_untouched(key, original_key, func):
    """A pre_check: the student's function must leave its input ``original_key`` as it was."""
    def pre_check(case, out):
        after = out.get(key) if isinstance(out, dict) else None
        if isinstance(after, np.ndarray) and after.shape == np.shape(case[original_key]) \
                and not np.array_equal(after, case[original_key]):
            return (f"{func} changed its argument {original_key} in place (e.g. "
                    f"{original_key} -= ... or {original_key}[...] = ...); compute on a new "
                    f"array, e.g. shifted = {original_key} - max, and leave the input as it was")
        return None
    return pre_check


# ---- softmax_jacobian -----------------------------------------------------------

def _jacobian_cases(rng):
    cases = [_case(f"random z of shape ({K},)", z=rng.normal(0, 1.5, size=K))
             for K in (int(rng.integers(3, 7)), int(rng.integers(2, 5)), int(rng.integers(4, 8)))]
    K = int(rng.integers(3, 6))
    cases.append(_case(f"z shifted by +1000, shape ({K},)", z=rng.normal(size=K) + 1000.0))
    return cases


def _jacobian_run(functions, case):
    (f,) = functions
    return {"J": _call(f, case["z"])}


def _jacobian_expected(case):
    p = activations.softmax(case["z"])
    return {"J": np.diag(p) - np.outer(p, p)}


def _jacobian_gradients(case):
    z = case["z"]
    rows = [_fd(lambda v, i=i: activations.softmax(v)[i], z) for i in range(z.size)]
    return {("J",): np.stack(rows)}


def _jacobian_variants(case):
    p = activations.softmax(case["z"])
    return {"only the diagonal of the softmax Jacobian (the -p_i p_j terms for i != j "
            "are missing)": {"J": np.diag(p * (1 - p))},
            "the sign of the p p^T term flipped": {"J": np.diag(p) + np.outer(p, p)}}


# ---- softmax_loss_grad ------------------------------------------------------------

def _softmax_loss_cases(rng):
    cases = []
    for label, scale, shift in [("random", 0.5, 0.0), ("random", 1.0, 0.0),
                                ("logits shifted by +1000", 0.5, 1000.0)]:
        N, D, K = _dims(rng, 3, 9, 3)
        X = _with_bias_column(rng, N, D)
        W = rng.normal(0, scale, size=(D, K))
        W[0, :] += shift  # through the bias column: every logit of every row moves by +shift
        cases.append(_case(f"{label} N={N}, D={D}, K={K}", N=N, W=W, X=X, y=_labels(rng, N, K)))
    return cases


def _softmax_loss_run(functions, case):
    (f,) = functions
    loss, dW = _unpack(_call(f, case["W"], case["X"], case["y"]), ("loss", "dW"),
                       "softmax_loss_grad")
    return {"loss": loss, "dW": dW}


def _softmax_loss_expected(case):
    loss, dlogits = losses.softmax_cross_entropy(case["X"] @ case["W"], case["y"])
    return {"loss": loss, "dW": case["X"].T @ dlogits}


def _softmax_loss_gradients(case):
    X, y = case["X"], case["y"]
    return {("dW",): _fd(lambda W: losses.softmax_cross_entropy(X @ W, y)[0], case["W"])}


def _diagonal_only_dlogits(logits, y):
    """dlogits when dL/dp = -onehot/(N p) is pushed through only diag(p (1 - p))."""
    P = activations.softmax(logits)
    Y = losses.one_hot(y, logits.shape[1])
    return -Y * (1 - P) / logits.shape[0]


_DIAGONAL_ONLY = ("only the diagonal of the softmax Jacobian (the -p_i p_j terms for "
                  "i != j are missing)")


def _softmax_loss_variants(case):
    X = case["X"]
    loss, _ = losses.softmax_cross_entropy(X @ case["W"], case["y"])
    return {_DIAGONAL_ONLY: {"loss": loss, "dW": X.T @ _diagonal_only_dlogits(X @ case["W"],
                                                                               case["y"])}}


# ---- l2_penalty / l1_penalty ------------------------------------------------------

def _penalty_cases(rng, zeros):
    cases = []
    D, K = _dims(rng, 2, 7, 2)
    for label, shape in [("w of shape", (D,)), ("W of shape", (D, K))]:
        w = _away_from_zero(rng, shape)
        if zeros:
            w[rng.random(shape) < 0.3] = 0.0
        cases.append(_case(f"{label} {shape}", w=w, lam=float(rng.uniform(0.05, 2.0))))
    w = np.zeros(int(rng.integers(2, 6)))
    cases.append(_case(f"all-zero w of shape {w.shape}", w=w, lam=float(rng.uniform(0.1, 1))))
    cases.append(_case("lam = 0", w=_away_from_zero(rng, (int(rng.integers(2, 6)),)), lam=0.0))
    return cases


def _penalty_run(name):
    def run(functions, case):
        (f,) = functions
        value, dW = _unpack(_call(f, case["w"], case["lam"]), ("penalty", "dW"), name)
        return {"penalty": value, "dW": dW}
    return run


def _penalty_expected(kernel):
    def expected(case):
        value, dW = kernel(case["w"], case["lam"])
        return {"penalty": value, "dW": dW}
    return expected


def _penalty_gradients(kernel):
    def gradients(case):
        lam = case["lam"]
        return {("dW",): _fd(lambda w: kernel(w, lam)[0], case["w"])}
    return gradients


def _l2_variants(case):
    value, dW = regularization.l2_penalty(case["w"], case["lam"])
    return {"a factor 2 in the L2 term (lam * sum(w**2) with gradient 2 * lam * w; the "
            "contract is lam/2 * sum(w**2) with gradient lam * w)":
            {"penalty": 2 * value, "dW": 2 * dW}}


def _l1_variants(case):
    w, lam = case["w"], case["lam"]
    return {"the L2 gradient lam * w instead of lam * sign(w)":
            {"penalty": regularization.l1_penalty(w, lam)[0], "dW": lam * w},
            "the absolute value missing (lam * sum(w) instead of lam * sum(|w|))":
            {"penalty": float(lam * np.sum(w)), "dW": regularization.l1_penalty(w, lam)[1]}}


# ---- two_layer_loss_grad -----------------------------------------------------------

def _two_layer_cases(rng):
    cases = []
    for _ in range(3):
        N, D, H, K = _dims(rng, 2, 8, 4)
        params = {"W1": rng.normal(0, 0.7, size=(D, H)), "b1": rng.normal(0, 0.3, size=H),
                  "W2": rng.normal(0, 0.7, size=(H, K)), "b2": rng.normal(0, 0.3, size=K)}
        cases.append(_case(f"N={N}, D={D}, H={H}, K={K}", N=N, params=params,
                           X=rng.normal(size=(N, D)), y=_labels(rng, N, K)))
    return cases


def _two_layer_run(functions, case):
    (f,) = functions
    loss, grads = _unpack(_call(f, case["params"], case["X"], case["y"]), ("loss", "grads"),
                          "two_layer_loss_grad")
    return {"loss": loss, "grads": grads}


def _two_layer_reference(params, X, y, drop_sigmoid_derivative=False):
    a1, cache1 = layers.dense_forward(X, params["W1"], params["b1"])
    h, cache_h = activations.sigmoid_forward(a1)
    logits, cache2 = layers.dense_forward(h, params["W2"], params["b2"])
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    dh, dW2, db2 = layers.dense_backward(dlogits, cache2)
    da1 = dh if drop_sigmoid_derivative else activations.sigmoid_backward(dh, cache_h)
    _, dW1, db1 = layers.dense_backward(da1, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _two_layer_expected(case):
    loss, grads = _two_layer_reference(case["params"], case["X"], case["y"])
    return {"loss": loss, "grads": grads}


def _params_gradients(loss_of_params, params, prefix="grads"):
    """FD of loss_of_params(params) with respect to each entry of the params dict."""
    out = {}
    for key in params:
        def f(value, key=key):
            trial = dict(params)
            trial[key] = value
            return loss_of_params(trial)
        out[(prefix, key)] = _fd(f, params[key])
    return out


def _two_layer_gradients(case):
    X, y = case["X"], case["y"]
    return _params_gradients(lambda p: _two_layer_reference(p, X, y)[0], case["params"])


def _two_layer_variants(case):
    loss, grads = _two_layer_reference(case["params"], case["X"], case["y"],
                                       drop_sigmoid_derivative=True)
    return {"the sigmoid derivative h * (1 - h) missing in the backward pass":
            {"loss": loss, "grads": grads}}


# ---- learning-rate schedules --------------------------------------------------------

def _annealing_cases(rng):
    cases = []
    for t in [0, int(rng.integers(1, 5)), int(rng.integers(5, 40)), int(rng.integers(40, 500))]:
        eta0 = float(rng.uniform(0.01, 1.0))
        T = float(rng.choice([1, 2, 3, 5, 10])) if rng.random() < 0.5 else int(rng.integers(1, 11))
        cases.append(_case(f"eta0={eta0:.4g}, t={t}, T={T}", eta0=eta0, t=t, T=T))
    return cases


def _annealing_run(functions, case):
    (f,) = functions
    return {"eta": _call(f, case["eta0"], case["t"], case["T"])}


def _annealing_expected(case):
    return {"eta": training.annealing(case["eta0"], case["t"], case["T"])}


def _annealing_variants(case):
    eta0, t, T = case["eta0"], case["t"], case["T"]
    return {"eta0 / (1 + t*T) instead of eta0 / (1 + t/T)": {"eta": eta0 / (1 + t * T)},
            "eta0 / (1 + t) / T instead of eta0 / (1 + t/T)": {"eta": eta0 / (1 + t) / T}}


def _step_decay_cases(rng):
    cases = []
    k = int(rng.integers(2, 60))
    for t in [0, k - 1, k, 2 * k, 3 * k + int(rng.integers(1, k))]:
        eta0 = float(rng.uniform(0.01, 1.0))
        cases.append(_case(f"eta0={eta0:.4g}, t={t}, k={k}", eta0=eta0, t=t, k=k))
    return cases


def _step_decay_run(functions, case):
    (f,) = functions
    return {"eta": _call(f, case["eta0"], case["t"], case["k"])}


def _step_decay_expected(case):
    return {"eta": training.step_decay(case["eta0"], case["t"], case["k"])}


def _step_decay_variants(case):
    eta0, t, k = case["eta0"], case["t"], case["k"]
    return {"0.1**(t/k) (a true division) instead of 0.1**(t//k) (whole steps)":
            {"eta": eta0 * 0.1 ** (t / k)},
            "the first drop one step early ((t + 1) // k)": {"eta": eta0 * 0.1 ** ((t + 1) // k)}}


# ---- logistic_predict ---------------------------------------------------------------

def _predict_cases(rng):
    cases = []
    for _ in range(3):
        N, D = _dims(rng, 4, 12, 2)
        X = _with_bias_column(rng, N, D)
        w = rng.normal(size=D)
        z = X @ w
        # keep every logit clear of 0, where summation order could flip a label ...
        X[np.abs(z) < 1e-3, 0] += 0.01
        # ... except a few rows of zeros: logit exactly 0, sigmoid 0.5, label 1
        X[rng.choice(N, size=2, replace=False)] = 0.0
        cases.append(_case(f"N={N}, D={D}, two rows with logit exactly 0", N=N, w=w, X=X))
    return cases


def _predict_run(functions, case):
    (f,) = functions
    return {"labels": _call(f, case["w"], case["X"])}


def _predict_expected(case):
    return {"labels": (activations.sigmoid(case["X"] @ case["w"]) >= 0.5).astype(np.int64)}


def _predict_variants(case):
    z = case["X"] @ case["w"]
    return {"> 0.5 instead of >= 0.5 (a logit of exactly 0 has sigmoid 0.5 and label 1)":
            {"labels": (activations.sigmoid(z) > 0.5).astype(np.int64)}}


# ---- regularized_logistic_loss_grad ---------------------------------------------------

def _reg_logistic_cases(rng):
    cases = []
    for penalty in ["l2", "l1", "l2", "l1"]:
        N, D = _dims(rng, 5, 12, 2)
        X = _with_bias_column(rng, N, D)
        w = _away_from_zero(rng, D, scale=0.7)
        if penalty == "l1":
            w[1 + rng.choice(D - 1, size=1)] = 0.0  # the subgradient 0 at 0
        lam = float(rng.uniform(0.05, 1.0))
        t = rng.integers(0, 2, size=N).astype(np.float64)
        cases.append(_case(f"penalty={penalty!r}, lam={lam:.3g}, N={N}, D={D}", N=N,
                           w=w, X=X, t=t, lam=lam, penalty=penalty))
    return cases


def _reg_logistic_run(functions, case):
    (f,) = functions
    result = _call(f, case["w"], case["X"], case["t"], case["lam"], case["penalty"])
    loss, dw = _unpack(result, ("loss", "dw"), "regularized_logistic_loss_grad")
    return {"loss": loss, "dw": dw}


def _reg_logistic_reference(w, X, t, lam, penalty, factor=1.0, include_bias=False):
    loss, dz = losses.binary_cross_entropy(X @ w, t)
    dw = X.T @ dz
    start = 0 if include_bias else 1
    value, dpen = regularization.penalty(w[start:], lam, penalty)
    dw = dw.copy()
    dw[start:] += factor * dpen
    return loss + factor * value, dw


def _reg_logistic_expected(case):
    loss, dw = _reg_logistic_reference(case["w"], case["X"], case["t"], case["lam"],
                                       case["penalty"])
    return {"loss": loss, "dw": dw}


def _reg_logistic_gradients(case):
    X, t, lam, pen = case["X"], case["t"], case["lam"], case["penalty"]
    return {("dw",): _fd(lambda w: _reg_logistic_reference(w, X, t, lam, pen)[0], case["w"])}


def _reg_logistic_variants(case):
    args = (case["w"], case["X"], case["t"], case["lam"], case["penalty"])
    out = {"a missing regularisation term (the data term alone)":
           _reg_logistic_reference(*args, factor=0.0),
           "the bias w[0] penalised too (only w[1:] is)":
           _reg_logistic_reference(*args, include_bias=True),
           "the penalty divided by N": _reg_logistic_reference(*args, factor=1 / case["N"])}
    if case["penalty"] == "l2":
        out["a factor 2 in the L2 term (2 * lam * w instead of lam * w)"] = \
            _reg_logistic_reference(*args, factor=2.0)
    return {name: {"loss": v[0], "dw": v[1]} for name, v in out.items()}


# ---- softmax_cross_entropy ---------------------------------------------------------

def _ce_cases(rng):
    cases = []
    for _ in range(2):
        N, K = _dims(rng, 2, 8, 2)
        cases.append(_case(f"random logits ({N}, {K})", N=N, logits=rng.normal(0, 2, size=(N, K)),
                           y=_labels(rng, N, K)))
    N, K = _dims(rng, 3, 7, 2)
    logits = rng.normal(0, 2, size=(N, K)) + rng.choice([-1000.0, 1000.0], size=(N, 1))
    cases.append(_case(f"rows shifted by +-1000 ({N}, {K})", N=N, logits=logits,
                       y=_labels(rng, N, K)))
    K = int(rng.integers(3, 6))
    logits = np.concatenate([[1000.0, -1000.0], rng.normal(size=K - 2)])[None, :]
    cases.append(_case(f"logits of +-1000 with the true class at -1000 (1, {K})", N=1,
                       logits=logits, y=np.array([1])))
    return cases


def _logits_loss_run(func_name):
    def run(functions, case):
        (f,) = functions
        loss, dlogits = _unpack(_call(f, case["logits"], case["y"]), ("loss", "dlogits"),
                                func_name)
        return {"loss": loss, "dlogits": dlogits}
    return run


def _logits_loss_expected(kernel):
    def expected(case):
        loss, dlogits = kernel(case["logits"], case["y"])
        return {"loss": loss, "dlogits": dlogits}
    return expected


def _logits_loss_gradients(kernel):
    def gradients(case):
        y = case["y"]
        return {("dlogits",): _fd(lambda Z: kernel(Z, y)[0], case["logits"])}
    return gradients


def _ce_variants(case):
    loss, _ = losses.softmax_cross_entropy(case["logits"], case["y"])
    return {_DIAGONAL_ONLY: {"loss": loss,
                             "dlogits": _diagonal_only_dlogits(case["logits"], case["y"])}}


def _mse_cases(rng):
    cases = []
    for _ in range(2):
        N, K = _dims(rng, 2, 8, 2)
        cases.append(_case(f"random logits ({N}, {K})", N=N, logits=rng.normal(0, 2, size=(N, K)),
                           y=_labels(rng, N, K)))
    N, K = _dims(rng, 3, 7, 2)
    cases.append(_case(f"logits shifted by +1000 ({N}, {K})", N=N,
                       logits=rng.normal(0, 2, size=(N, K)) + 1000.0, y=_labels(rng, N, K)))
    return cases


def _mse_variants(case):
    Z, y = case["logits"], case["y"]
    loss, _ = losses.mse_softmax(Z, y)
    P = activations.softmax(Z)
    R = (P - losses.one_hot(y, Z.shape[1])) / Z.shape[0]
    return {_DIAGONAL_ONLY: {"loss": loss, "dlogits": R * P * (1 - P)},
            "the softmax Jacobian left out (dL/dP used as dL/dlogits)": {"loss": loss,
                                                                         "dlogits": R}}


# ---- softmax_regression_loss_grad ---------------------------------------------------

def _softreg_cases(rng):
    cases = []
    for lam in [None, 0.0, float(rng.uniform(0.05, 1.0)), float(rng.uniform(0.05, 1.0))]:
        N, D, K = _dims(rng, 3, 9, 3)
        params = {"W": rng.normal(0, 0.5, size=(D, K)), "b": rng.normal(0, 0.5, size=K)}
        label = "lam left at its default" if lam is None else f"lam={lam:.3g}"
        cases.append(_case(f"{label}, N={N}, D={D}, K={K}", N=N, params=params,
                           X=rng.normal(size=(N, D)), y=_labels(rng, N, K), lam=lam))
    return cases


def _softreg_run(functions, case):
    (f,) = functions
    if case["lam"] is None:
        result = _call(f, case["params"], case["X"], case["y"])
    else:
        result = _call(f, case["params"], case["X"], case["y"], case["lam"])
    loss, grads = _unpack(result, ("loss", "grads"), "softmax_regression_loss_grad")
    return {"loss": loss, "grads": grads}


def _softreg_reference(params, X, y, lam, factor=1.0, penalise_bias=False):
    lam = 0.0 if lam is None else lam
    logits, cache = layers.dense_forward(X, params["W"], params["b"])
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    _, dW, db = layers.dense_backward(dlogits, cache)
    value, dpen = regularization.l2_penalty(params["W"], lam)
    grads = {"W": dW + factor * dpen, "b": db}
    loss = loss + factor * value
    if penalise_bias:
        value_b, dpen_b = regularization.l2_penalty(params["b"], lam)
        loss, grads["b"] = loss + value_b, db + dpen_b
    return loss, grads


def _softreg_expected(case):
    loss, grads = _softreg_reference(case["params"], case["X"], case["y"], case["lam"])
    return {"loss": loss, "grads": grads}


def _softreg_gradients(case):
    X, y, lam = case["X"], case["y"], case["lam"]
    return _params_gradients(lambda p: _softreg_reference(p, X, y, lam)[0], case["params"])


def _softreg_variants(case):
    args = (case["params"], case["X"], case["y"], case["lam"])
    out = {"a missing regularisation term (the data term alone)":
           _softreg_reference(*args, factor=0.0),
           "the bias b penalised too (only W is)": _softreg_reference(*args, penalise_bias=True),
           "a factor 2 in the L2 term (2 * lam * W instead of lam * W)":
           _softreg_reference(*args, factor=2.0),
           "the penalty divided by N": _softreg_reference(*args, factor=1 / case["N"])}
    return {name: {"loss": v[0], "grads": v[1]} for name, v in out.items()}


# ---- dense layer ---------------------------------------------------------------------

def _dense_cases(rng):
    cases = []
    for _ in range(3):
        N, D, M = _dims(rng, 2, 8, 3)
        cases.append(_case(f"x ({N}, {D}), W ({D}, {M}), b ({M},)", N=N,
                           x=rng.normal(size=(N, D)), W=rng.normal(size=(D, M)),
                           b=rng.normal(size=M), dout=rng.normal(size=(N, M))))
    return cases


def _dense_run(functions, case):
    forward, backward = functions
    out, cache = _unpack(_call(forward, case["x"], case["W"], case["b"]), ("out", "cache"),
                         "dense_forward")
    out = copy.deepcopy(out)  # backward must not be able to change what we recorded
    dx, dW, db = _unpack(_call(backward, case["dout"], cache), ("dx", "dW", "db"),
                         "dense_backward")
    return {"out": out, "dx": dx, "dW": dW, "db": db}


def _dense_expected(case):
    out, cache = layers.dense_forward(case["x"], case["W"], case["b"])
    dx, dW, db = layers.dense_backward(case["dout"], cache)
    return {"out": out, "dx": dx, "dW": dW, "db": db}


def _dense_gradients(case):
    x, W, b, dout = case["x"], case["W"], case["b"], case["dout"]
    # sum(out * dout) has gradient dout pushed back through the layer
    def scalar(x_, W_, b_):
        return float(np.sum(layers.dense_forward(x_, W_, b_)[0] * dout))
    return {("dx",): _fd(lambda v: scalar(v, W, b), x),
            ("dW",): _fd(lambda v: scalar(x, v, b), W),
            ("db",): _fd(lambda v: scalar(x, W, v), b)}


def _dense_variants(case):
    expected = _dense_expected(case)
    return {"a missing bias term (out = x @ W without + b)":
            {**expected, "out": case["x"] @ case["W"]}}


# ---- activation layers -----------------------------------------------------------------

def _activation_cases(rng, kinked):
    cases = []
    for shape in [tuple(_dims(rng, 2, 7, 2)), tuple(_dims(rng, 2, 7, 2)),
                  (int(rng.integers(3, 9)),)]:
        x = _away_from_zero(rng, shape, scale=2.0) if kinked else rng.normal(0, 2, size=shape)
        cases.append(_case(f"x of shape {shape}", N=shape[0], x=x,
                           dout=rng.normal(size=shape)))
    return cases


def _activation_run(fwd_name, bwd_name):
    def run(functions, case):
        forward, backward = functions
        out, cache = _unpack(_call(forward, case["x"]), ("out", "cache"), fwd_name)
        out = copy.deepcopy(out)
        dx = _call(backward, case["dout"], cache)
        return {"out": out, "dx": dx}
    return run


def _activation_expected(forward, backward):
    def expected(case):
        out, cache = forward(case["x"])
        return {"out": out, "dx": backward(case["dout"], cache)}
    return expected


def _activation_gradients(forward):
    def gradients(case):
        dout = case["dout"]
        return {("dx",): _fd(lambda v: float(np.sum(forward(v)[0] * dout)), case["x"])}
    return gradients


def _relu_variants(case):
    x, dout = case["x"], case["dout"]
    return {"the mask missing in the backward pass, or taken from the output with >= 0 "
            "(true for every x <= 0)": {"out": np.maximum(x, 0), "dx": dout},
            "dout multiplied by the output instead of by the mask (x > 0)":
            {"out": np.maximum(x, 0), "dx": dout * np.maximum(x, 0)}}


def _leaky_variants(case):
    x, dout = case["x"], case["dout"]
    out = np.where(x > 0, x, 0.01 * x)
    return {"the slope 0.01 missing in the backward pass (the ReLU mask)":
            {"out": out, "dx": np.where(x > 0, dout, 0.0)}}


def _sigmoid_layer_variants(case):
    x, dout = case["x"], case["dout"]
    s = activations.sigmoid(x)
    return {"s * (1 - s) evaluated at x instead of at s = sigmoid(x)":
            {"out": s, "dx": dout * x * (1 - x)}}


def _tanh_variants(case):
    x, dout = case["x"], case["dout"]
    return {"1 - x**2 instead of 1 - tanh(x)**2": {"out": np.tanh(x), "dx": dout * (1 - x**2)}}


# ---- xavier_init ------------------------------------------------------------------------

def _xavier_cases(rng):
    cases = []
    for _ in range(3):
        fan_in, fan_out = _dims(rng, 2, 40, 2)
        cases.append(_case(f"fan_in={fan_in}, fan_out={fan_out}", fan_in=fan_in,
                           fan_out=fan_out, seed=int(rng.integers(0, 2**31)), statistics=False))
    fan_in, fan_out = int(rng.integers(180, 220)), int(rng.integers(130, 170))
    cases.append(_case(f"a large matrix fan_in={fan_in}, fan_out={fan_out} (statistics)",
                       fan_in=fan_in, fan_out=fan_out, seed=int(rng.integers(0, 2**31)),
                       statistics=True))
    return cases


def _xavier_run(functions, case):
    (f,) = functions
    fi, fo, seed = case["fan_in"], case["fan_out"], case["seed"]
    out = {"W": _call(f, fi, fo, np.random.default_rng(seed))}
    if not case["statistics"]:
        out["W_same_seed"] = _call(f, fi, fo, np.random.default_rng(seed))
        out["W_other_seed"] = _call(f, fi, fo, np.random.default_rng(seed + 1))
    return out


def _xavier_expected(case):
    # only the structure and shapes are compared; the values are random
    shape = (case["fan_in"], case["fan_out"])
    out = {"W": np.zeros(shape)}
    if not case["statistics"]:
        out["W_same_seed"] = np.zeros(shape)
        out["W_other_seed"] = np.zeros(shape)
    return out


def _xavier_check(case, out):
    fi, fo = case["fan_in"], case["fan_out"]
    limit = np.sqrt(6.0 / (fi + fo))
    W = out["W"]
    for key in ("W", "W_same_seed", "W_other_seed"):
        if key in out and np.max(np.abs(out[key])) > limit * (1 + 1e-12):
            return (f"{key}: max |W| = {np.max(np.abs(out[key])):.4g} exceeds the Glorot "
                    f"limit sqrt(6 / (fan_in + fan_out)) = {limit:.4g}; draw "
                    "rng.uniform(-limit, limit, size=(fan_in, fan_out))")
    if not case["statistics"]:
        if not np.array_equal(W, out["W_same_seed"]):
            return ("two calls with np.random.default_rng(seed) for the same seed gave "
                    "different matrices: draw the numbers from the rng argument, not from "
                    "np.random's global state")
        if np.array_equal(W, out["W_other_seed"]):
            return ("different seeds gave the same matrix: the numbers must come from the "
                    "rng argument")
        return None
    n = W.size
    target = 2.0 / (fi + fo)
    var = float(np.mean(W**2))
    # for U(-a, a) the sample mean of W**2 has a relative standard deviation of
    # sqrt(4/5 - 4/9) / (1/3) / sqrt(n) ~ 1.8 / sqrt(n), under 1% here; 5% is far outside
    if abs(var / target - 1) > 0.05:
        return (f"the empirical variance mean(W**2) = {var:.4g} is not close to "
                f"2 / (fan_in + fan_out) = {target:.4g} (ratio {var / target:.3f}); "
                "Glorot uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))")
    mean = float(np.mean(W))
    if abs(mean) > 6 * np.sqrt(target / n):
        return (f"the mean of W is {mean:.4g}, more than 6 standard errors from 0: the "
                "interval must be symmetric, (-a, a)")
    return None


# ---- weight decay ---------------------------------------------------------------------------

def _wd_cases(rng):
    cases = []
    for _ in range(3):
        D, H, K = _dims(rng, 2, 7, 3)
        params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
                  "W2": rng.normal(size=(H, K)), "b2": rng.normal(size=K)}
        grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
        wd = float(rng.uniform(0.001, 0.5))
        cases.append(_case(f"wd={wd:.3g}, W1 ({D}, {H}), W2 ({H}, {K})", grads=grads,
                           params=params, wd=wd))
    return cases


def _wd_run(functions, case):
    (f,) = functions
    grads, params = case["grads"], case["params"]
    try:
        new = f(grads, params, case["wd"])
    except Exception as exc:
        raise _Malformed(f"add_weight_decay {_describe_exception(exc)}") from None
    # what the call left in its arguments (it must leave them alone)
    return {"grads_after": grads, "params_after": params, "grads": new}


def _wd_expected(case):
    return {"grads_after": case["grads"], "params_after": case["params"],
            "grads": optim.add_weight_decay(case["grads"], case["params"], case["wd"])}


def _wd_pre_check(case, out):
    if not isinstance(out, dict):
        return None
    for key in ("grads", "params"):
        after = out.get(f"{key}_after")
        before = case[key]
        if isinstance(after, dict) and set(after) == set(before) and not all(
                isinstance(after[k], np.ndarray) and after[k].shape == before[k].shape
                and np.array_equal(after[k], before[k]) for k in before):
            return (f"add_weight_decay changed its argument {key} in place; build and return "
                    "a new dict (e.g. new = dict(grads); new[k] = grads[k] + wd * params[k])")
    return None


def _wd_variants(case):
    grads, params, wd = case["grads"], case["params"], case["wd"]
    base = {"grads_after": grads, "params_after": params}
    return {"the biases decayed too (only keys starting with 'W' are)":
            {**base, "grads": {k: grads[k] + wd * params[k] for k in grads}},
            "a factor 2 in the L2 term (2 * wd * W instead of wd * W)":
            {**base, "grads": {k: grads[k] + (2 * wd * params[k] if k.startswith("W") else 0)
                               for k in grads}}}


# ---- optimisers -----------------------------------------------------------------------------

_OPT_STEPS = 6
_OPT_CUSTOM = {"sgd": {"learning_rate": 0.05},
               "momentum": {"learning_rate": 0.05, "momentum": 0.8},
               "rmsprop": {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
               "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}}


def _opt_cases(rule):
    def make_cases(rng):
        cases = []
        shape = tuple(_dims(rng, 2, 6, 2))
        cases.append(_case(f"w {shape}, {_OPT_STEPS} steps, only learning_rate given "
                           "(the other settings at their defaults)",
                           w=rng.normal(size=shape), dws=rng.normal(size=(_OPT_STEPS,) + shape),
                           config={"learning_rate": float(rng.uniform(0.005, 0.05))}))
        shape = (int(rng.integers(3, 9)),)
        config = dict(_OPT_CUSTOM[rule])
        config["learning_rate"] *= float(rng.uniform(0.5, 2.0))
        cases.append(_case(f"w {shape}, {_OPT_STEPS} steps, custom settings {sorted(config)}",
                           w=rng.normal(size=shape), dws=rng.normal(size=(_OPT_STEPS,) + shape),
                           config=config))
        if rule == "sgd":
            shape = (2, 3, int(rng.integers(2, 5)))
            cases.append(_case(f"w {shape}, {_OPT_STEPS} steps, learning_rate 0.5",
                               w=rng.normal(size=shape),
                               dws=rng.normal(size=(_OPT_STEPS,) + shape),
                               config={"learning_rate": 0.5}))
        else:
            shape = tuple(_dims(rng, 2, 5, 2))
            config = dict(_OPT_CUSTOM[rule])
            state = {"momentum": {"velocity": rng.normal(0, 0.1, size=shape)},
                     "rmsprop": {"cache": rng.uniform(0.1, 1.0, size=shape)},
                     "adam": {"m": rng.normal(0, 0.1, size=shape),
                              "v": rng.uniform(0.1, 1.0, size=shape), "t": 3}}[rule]
            config.update(state)
            cases.append(_case(f"w {shape}, {_OPT_STEPS} steps, config already holding state "
                               f"{sorted(state)}", w=rng.normal(size=shape),
                               dws=rng.normal(size=(_OPT_STEPS,) + shape), config=config))
        return cases
    return make_cases


def _opt_loop(rule_func, case, name):
    w = np.array(case["w"])
    config = copy.deepcopy(case["config"])
    trajectory = []
    for step, dw in enumerate(case["dws"], start=1):
        result = rule_func(w, np.array(dw), config)
        w, config = _unpack(result, ("next_w", "config"), name)
        if not isinstance(config, dict):
            raise _Malformed(f"{name} must return (next_w, config) with config a dict; "
                             f"step {step} returned a {type(config).__name__}")
        trajectory.append(np.array(w, copy=True) if isinstance(w, np.ndarray) else w)
    return trajectory


def _opt_run(rule):
    def run(functions, case):
        (f,) = functions
        def guarded(w, dw, config):
            try:
                return f(w, dw, config)
            except Exception as exc:
                raise _Malformed(f"{rule} {_describe_exception(exc)}") from None
        return {"w": _opt_loop(guarded, case, rule)}
    return run


def _opt_expected(rule):
    def expected(case):
        return {"w": _opt_loop(getattr(optim, rule), case, rule)}
    return expected


def _forgetful(rule_func):
    """The rule with its state dropped after every step (a new config each call)."""
    def step(w, dw, config):
        fresh = {k: v for k, v in config.items()
                 if k not in ("velocity", "cache", "m", "v", "t")}
        next_w, _ = rule_func(w, dw, fresh)
        return next_w, config
    return step


def _adam_no_bias_correction(w, dw, config):
    c = dict(config)
    b1, b2 = c.get("beta1", 0.9), c.get("beta2", 0.999)
    m = b1 * c.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * c.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    c["m"], c["v"], c["t"] = m, v, c.get("t", 0) + 1
    return w - c["learning_rate"] * m / (np.sqrt(v) + c.get("epsilon", 1e-8)), c


def _rmsprop_without_sqrt(w, dw, config):
    c = dict(config)
    d = c.get("decay_rate", 0.99)
    cache = d * c.get("cache", np.zeros_like(w)) + (1 - d) * dw**2
    c["cache"] = cache
    return w - c["learning_rate"] * dw / (cache + c.get("epsilon", 1e-8)), c


def _opt_variants(rule):
    def variants(case):
        out = {f"the state ({rule}'s moments) not kept between steps: store it in config "
               "and return that config": {"w": _opt_loop(_forgetful(getattr(optim, rule)),
                                                         case, rule)}}
        if rule == "adam":
            out["Adam without the bias correction (m_hat = m / (1 - beta1**t), "
                "v_hat = v / (1 - beta2**t))"] = {"w": _opt_loop(_adam_no_bias_correction,
                                                                 case, rule)}
        if rule == "rmsprop":
            out["the square root missing: dw / (cache + eps) instead of "
                "dw / (sqrt(cache) + eps)"] = {"w": _opt_loop(_rmsprop_without_sqrt, case, rule)}
        if rule == "sgd":
            out = {}
        return out
    return variants


# ---------------------------------------------------------------------------- the table

def _exercise(name, functions, make_cases, run, expected, references, **extra):
    return Exercise(name=name, functions=tuple(functions), make_cases=make_cases,
                    run=_safe(run), expected=expected, references=tuple(references), **extra)


def _build_table():
    table = {}

    def add(exercise):
        table[exercise.name] = exercise

    add(_exercise("sigmoid", ["sigmoid"], _sigmoid_cases, _sigmoid_run, _sigmoid_expected,
                  ["helpers.activations.sigmoid", "helpers.activations.sigmoid_forward"],
                  variants=_sigmoid_variants))
    add(_exercise("sigmoid_grad", ["sigmoid_grad"], _sigmoid_grad_cases, _sigmoid_grad_run,
                  _sigmoid_grad_expected, ["helpers.activations.sigmoid_backward"],
                  gradients=_sigmoid_grad_gradients, variants=_sigmoid_grad_variants))
    add(_exercise("numerical_gradient", ["numerical_gradient"], _ng_cases, _ng_run,
                  _ng_expected, ["helpers.gradcheck.numerical_gradient"],
                  gradients=_ng_gradients, variants=_ng_variants, pre_check=_ng_pre_check))
    add(_exercise("logistic_loss_grad", ["logistic_loss_grad"], _logistic_cases,
                  _logistic_run, _logistic_expected, ["helpers.losses.binary_cross_entropy"],
                  gradients=_logistic_gradients, variants=_logistic_variants))
    add(_exercise("softmax", ["softmax"], _softmax_cases, _softmax_run, _softmax_expected,
                  ["helpers.activations.softmax", "helpers.activations.log_softmax"],
                  variants=_softmax_variants, pre_check=_input_untouched("Z_after", "Z",
                                                                          "softmax")))
    add(_exercise("softmax_jacobian", ["softmax_jacobian"], _jacobian_cases, _jacobian_run,
                  _jacobian_expected, ["helpers.activations.softmax"],
                  gradients=_jacobian_gradients, variants=_jacobian_variants))
    add(_exercise("softmax_loss_grad", ["softmax_loss_grad"], _softmax_loss_cases,
                  _softmax_loss_run, _softmax_loss_expected,
                  ["helpers.losses.softmax_cross_entropy"],
                  gradients=_softmax_loss_gradients, variants=_softmax_loss_variants))
    add(_exercise("l2_penalty", ["l2_penalty"], lambda rng: _penalty_cases(rng, zeros=False),
                  _penalty_run("l2_penalty"), _penalty_expected(regularization.l2_penalty),
                  ["helpers.regularization.l2_penalty", "helpers.regularization.penalty"],
                  gradients=_penalty_gradients(regularization.l2_penalty),
                  variants=_l2_variants))
    add(_exercise("l1_penalty", ["l1_penalty"], lambda rng: _penalty_cases(rng, zeros=True),
                  _penalty_run("l1_penalty"), _penalty_expected(regularization.l1_penalty),
                  ["helpers.regularization.l1_penalty", "helpers.regularization.penalty"],
                  gradients=_penalty_gradients(regularization.l1_penalty),
                  variants=_l1_variants))
    add(_exercise("two_layer_loss_grad", ["two_layer_loss_grad"], _two_layer_cases,
                  _two_layer_run, _two_layer_expected,
                  ["helpers.layers.dense_forward", "helpers.layers.dense_backward",
                   "helpers.losses.softmax_cross_entropy", "helpers.activations.sigmoid_forward"],
                  gradients=_two_layer_gradients, variants=_two_layer_variants))
    add(_exercise("lr_annealing", ["lr_annealing"], _annealing_cases, _annealing_run,
                  _annealing_expected, ["helpers.training.annealing"],
                  variants=_annealing_variants))
    add(_exercise("lr_step_decay", ["lr_step_decay"], _step_decay_cases, _step_decay_run,
                  _step_decay_expected, ["helpers.training.step_decay"],
                  variants=_step_decay_variants))
    add(_exercise("logistic_predict", ["logistic_predict"], _predict_cases, _predict_run,
                  _predict_expected, ["helpers.activations.sigmoid"],
                  variants=_predict_variants))
    add(_exercise("regularized_logistic_loss_grad", ["regularized_logistic_loss_grad"],
                  _reg_logistic_cases, _reg_logistic_run, _reg_logistic_expected,
                  ["helpers.losses.binary_cross_entropy", "helpers.regularization.penalty",
                   "helpers.regularization.l2_penalty", "helpers.regularization.l1_penalty"],
                  gradients=_reg_logistic_gradients, variants=_reg_logistic_variants))
    add(_exercise("softmax_cross_entropy", ["softmax_cross_entropy"], _ce_cases,
                  _logits_loss_run("softmax_cross_entropy"),
                  _logits_loss_expected(losses.softmax_cross_entropy),
                  ["helpers.losses.softmax_cross_entropy"],
                  gradients=_logits_loss_gradients(losses.softmax_cross_entropy),
                  variants=_ce_variants))
    add(_exercise("softmax_regression_loss_grad", ["softmax_regression_loss_grad"],
                  _softreg_cases, _softreg_run, _softreg_expected,
                  ["helpers.losses.softmax_cross_entropy", "helpers.layers.dense_forward",
                   "helpers.layers.dense_backward", "helpers.regularization.l2_penalty"],
                  gradients=_softreg_gradients, variants=_softreg_variants))
    add(_exercise("dense", ["dense_forward", "dense_backward"], _dense_cases, _dense_run,
                  _dense_expected, ["helpers.layers.dense_forward",
                                    "helpers.layers.dense_backward"],
                  gradients=_dense_gradients, variants=_dense_variants))
    for name, kind, kinked, variants in [("sigmoid_layer", "sigmoid", False,
                                          _sigmoid_layer_variants),
                                         ("tanh", "tanh", False, _tanh_variants),
                                         ("relu", "relu", True, _relu_variants),
                                         ("leaky_relu", "leaky_relu", True, _leaky_variants),
                                         ("identity", "identity", False, None)]:
        forward = getattr(activations, f"{kind}_forward")
        backward = getattr(activations, f"{kind}_backward")
        add(_exercise(name, [f"{kind}_forward", f"{kind}_backward"],
                      lambda rng, kinked=kinked: _activation_cases(rng, kinked),
                      _activation_run(f"{kind}_forward", f"{kind}_backward"),
                      _activation_expected(forward, backward),
                      [f"helpers.activations.{kind}_forward",
                       f"helpers.activations.{kind}_backward"],
                      gradients=_activation_gradients(forward), variants=variants))
    add(_exercise("mse_softmax", ["mse_softmax"], _mse_cases, _logits_loss_run("mse_softmax"),
                  _logits_loss_expected(losses.mse_softmax), ["helpers.losses.mse_softmax"],
                  gradients=_logits_loss_gradients(losses.mse_softmax),
                  variants=_mse_variants))
    add(_exercise("xavier_init", ["xavier_init"], _xavier_cases, _xavier_run,
                  _xavier_expected, ["helpers.layers.xavier_init"],
                  custom_check=_xavier_check, compare_values=False))
    add(_exercise("weight_decay", ["add_weight_decay"], _wd_cases, _wd_run, _wd_expected,
                  ["helpers.optim.add_weight_decay"], variants=_wd_variants,
                  pre_check=_wd_pre_check))
    for rule in ("sgd", "momentum", "rmsprop", "adam"):
        add(_exercise(rule, [rule], _opt_cases(rule), _opt_run(rule), _opt_expected(rule),
                      [f"helpers.optim.{rule}", f"helpers.optim.{rule}_inplace"],
                      variants=_opt_variants(rule)))
    return table


#: Every autograded exercise of docs/interfaces.md, by name.
EXERCISES: dict[str, Exercise] = _build_table()


# ------------------------------------------------------------------------------ verify

def verify(name, seed, hidden, outputs):
    """Judge a submission's ``outputs`` for exercise ``name``.

    name: exercise name; seed: ``$COURSE_CHECK_SEED`` of the run (None when unset);
    hidden: whether this is the hidden check; outputs: the list of per-case output dicts
    (or :class:`StudentError`) that ``helpers.checks`` produced, already decoded.
    The cases are regenerated here from (name, seed, hidden). Returns a :class:`Verdict`;
    never raises for anything in ``outputs``.
    """
    try:
        exercise = _get(name)
    except ValueError as exc:
        return Verdict(False, str(exc))
    if not isinstance(hidden, bool):
        return Verdict(False, f"{name}: 'hidden' must be True or False, got {hidden!r}")
    if seed is not None and not isinstance(seed, (str, int)):
        return Verdict(False, f"{name}: the seed must be a string, an integer or None, "
                              f"got {type(seed).__name__}")
    cases = cases_for(name, seed, hidden)
    if not isinstance(outputs, list):
        return Verdict(False, f"{name}: malformed outputs: expected a list with one entry per "
                              f"case ({len(cases)}), got {type(outputs).__name__}")
    if len(outputs) != len(cases):
        return Verdict(False, f"{name}: malformed outputs: expected {len(cases)} cases, got "
                              f"{len(outputs)}")
    errors = []
    for i, (case, out) in enumerate(zip(cases, outputs), start=1):
        where = f"{name}: case {i} of {len(cases)} ({case['label']})"
        try:
            problem, errs = _verify_case(exercise, case, out)
        except Exception as exc:  # defensive: a malformed output must never crash the judge
            problem, errs = f"could not check the output ({type(exc).__name__}: {exc})", []
        errors.extend(errs)
        if problem:
            return Verdict(False, f"{where}: {problem}", max(errors) if errors else None)
    max_err = max(errors) if errors else None
    if max_err is None:
        summary = "exact match" if exercise.compare_values else "all properties hold"
    else:
        summary = f"max relative error {max_err:.1e}, bound {TOLERANCE:.0e}"
    return Verdict(True, f"{name}: {len(cases)} random cases passed ({summary})", max_err)


def _verify_case(exercise, case, out):
    """Return (problem message or None, list of relative errors) for one case."""
    if isinstance(out, StudentError):
        return out.message, []
    expected = exercise.expected(case)
    if not isinstance(out, dict):
        return f"malformed output: expected a dict of {sorted(expected)}, got " \
               f"{type(out).__name__}", []
    if exercise.pre_check:
        problem = exercise.pre_check(case, out)
        if problem:
            return problem, []
    errors = []
    problem = _compare(out, expected, "", errors, exercise.compare_values)
    if problem:
        # wrong forms may overflow (that is often the mistake): no warnings from the judge
        with np.errstate(all="ignore"):
            variants = exercise.variants(case) if exercise.variants else None
            hint = diagnose(out, expected, variants, batch_size=case.get("N"))
        if hint:
            problem += f"\n  likely mistake: {hint}"
        return problem, errors
    if exercise.custom_check:
        problem = exercise.custom_check(case, out)
        if problem:
            return problem, errors
    if exercise.gradients:
        for path, fd in exercise.gradients(case).items():
            got = out
            for key in path:
                got = got[key]
            err = gradcheck.relative_error(np.asarray(got, dtype=np.float64), fd)
            errors.append(err)
            if not err <= TOLERANCE:
                label = _path_label(path)
                return (f"{label} differs from centred finite differences (h = {FD_STEP:g}) of "
                        f"the reference: relative error {err:.2e} > {TOLERANCE:.0e}\n"
                        f"{_excerpts(np.asarray(got, dtype=np.float64), fd)}"), errors
    return None, errors


def _path_label(path):
    label = str(path[0])
    for key in path[1:]:
        label += f"[{key!r}]"
    return label


def _join(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]" if path else f"item {key}"
    return f"{path}[{key!r}]" if path else str(key)


def _compare(got, expected, path, errors, compare_values):
    """Compare ``got`` with ``expected`` recursively; return a problem message or None.

    Appends the relative error of every float leaf to ``errors``.
    """
    label = path or "the output"
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{label}: expected a dict with keys {sorted(expected)}, got {_kind(got)}"
        if any(not isinstance(k, str) for k in got):
            return f"{label}: the keys must be strings, got {sorted(map(repr, got))}"
        if set(got) != set(expected):
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            return (f"{label}: the keys are wrong"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unexpected {extra}" if extra else "")
                    + f" (expected exactly {sorted(expected)})")
        for key in expected:
            problem = _compare(got[key], expected[key], _join(path, key), errors,
                               compare_values)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"{label}: expected a list of {len(expected)} items, got {_kind(got)}"
        for i, item in enumerate(expected):
            problem = _compare(got[i], item, _join(path, i), errors, compare_values)
            if problem:
                return problem
        return None
    return _compare_leaf(got, expected, label, errors, compare_values)


def _compare_leaf(got, expected, label, errors, compare_values):
    """Compare one number or array; float values to TOLERANCE, integers exactly."""
    exp = np.asarray(expected)
    if isinstance(got, StudentError):
        return f"{label}: {got.message}"
    if isinstance(got, (bool, np.bool_)) and exp.dtype.kind not in "biu":
        return f"{label}: expected a number, got the bool {got!r}"
    if isinstance(got, numbers.Real) and not isinstance(got, np.ndarray):
        arr = np.asarray(got)
    elif isinstance(got, np.ndarray):
        arr = got
    else:
        return f"{label}: expected {_describe_expected(exp)}, got {_kind(got)}"
    if arr.dtype.kind not in "biuf":
        return f"{label}: expected {_describe_expected(exp)}, got {_kind(got)}"
    if arr.shape != exp.shape:
        what = "a single number" if exp.ndim == 0 else f"shape {exp.shape}"
        return f"{label}: expected {what}, got shape {arr.shape}"
    if exp.dtype.kind in "biu":
        if arr.dtype.kind not in "biu":
            return (f"{label}: expected integer labels (0/1), got dtype {arr.dtype}; "
                    "convert with .astype(int)")
        if not compare_values:
            return None
        wrong = arr != exp
        if np.any(wrong):
            first = np.argwhere(wrong)[0] if exp.ndim else ()
            index = tuple(int(i) for i in first)
            return (f"{label}: {int(np.sum(wrong))} of {exp.size} values differ from the "
                    f"reference; first at index {list(index)}: expected {exp[index]}, "
                    f"got {arr[index]}")
        return None
    if arr.dtype.kind == "b":
        return f"{label}: expected floating-point numbers, got a bool array"
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        count = int(np.sum(~np.isfinite(arr)))
        return (f"{label}: contains {count} NaN/inf value(s) (expected finite numbers)\n"
                f"{_excerpts(arr, exp)}")
    if not compare_values:
        return None
    err = gradcheck.relative_error(arr, exp)
    errors.append(err)
    if not err <= TOLERANCE:
        return (f"{label} differs from the reference: relative error {err:.2e} > "
                f"{TOLERANCE:.0e}\n{_excerpts(arr, exp)}")
    return None


def _describe_expected(exp):
    if exp.ndim == 0:
        return "a single number"
    kind = "integer" if exp.dtype.kind in "biu" else "float"
    return f"a {kind} array of shape {exp.shape}"


def _kind(obj):
    """diagnose.describe_kind, plus the error a student's function raised."""
    if isinstance(obj, StudentError):
        return f"an error ({obj.message})"
    return describe_kind(obj)


def _excerpts(got, expected):
    """Two short lines 'expected: ...' / 'got: ...' plus the largest difference."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    lines = [f"  expected: {_short(expected)}", f"       got: {_short(got)}"]
    if got.shape == expected.shape and got.size:
        diff = np.abs(got - expected)
        diff = np.where(np.isnan(diff), np.inf, diff)
        index = np.unravel_index(int(np.argmax(diff)), diff.shape)
        if got.ndim:
            lines.append(f"  largest difference at index {[int(i) for i in index]}: "
                         f"expected {expected[index]:.6g}, got {got[index]:.6g}")
    return "\n".join(lines)


def _short(a):
    if a.ndim == 0:
        return f"{float(a):.6g}"
    flat = np.ravel(a)
    text = np.array2string(flat[:6], precision=5, separator=", ", max_line_width=10_000)
    if flat.size > 6:
        text = text[:-1] + ", ...]"
    return text + (f" (shape {a.shape})" if a.ndim != 1 else "")
