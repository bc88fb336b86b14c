"""The judge: the one path from a check's outputs to its verdict.

:func:`judge_payload` judges a payload (what ``check`` produces, see ``checker.wire``):
it makes sure the payload is this check's (exercise, hidden flag, seed), decodes its
outputs and calls :func:`verify`. ``check`` uses it in the student's kernel (normal mode)
and ``grader.preprocessors.TrustedVerdicts`` in the grader's process (grading mode), so
both reach the same verdict with the same message.

:func:`verify` regenerates the cases from ``(name, seed, hidden)``, never trusting inputs
from the student's side, and compares the student's outputs with the reference outputs
and with the finite differences (relative error <= :data:`TOLERANCE`); a
``PropertyExercise`` is judged on the form of its outputs and on its properties instead.
Both are pure functions of their arguments and never raise on malformed outputs: those
give a failed :class:`Verdict` with a message.
"""
import dataclasses
import json
import numbers

import numpy as np

from checker.cases import FD_STEP
from checker.diagnose import describe_kind, diagnose
from checker.exercise import PropertyExercise
from checker.lessons import cases_for, get
from checker.runner import StudentError
from checker.wire import decode_outputs
from helpers import gradcheck

#: Largest relative error (helpers.gradcheck.relative_error) accepted for a float output.
TOLERANCE = 1e-6


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of judging a check: passed or not, the message, the largest error seen;
    ``flag``: why the grader should flag the payload (no honest ``check`` produces it), or
    None."""
    passed: bool
    message: str
    max_rel_error: float | None = None
    flag: str | None = None


# ---------------------------------------------------------------------------- payloads

def judge_payload(payload, exercise, hidden, seed, withheld=None):
    """The verdict on ``payload`` as the result of ``check(exercise, ..., hidden=hidden)``
    run with ``$COURSE_CHECK_SEED`` = ``seed``.

    payload: the dict ``check`` built (or its JSON text, as a notebook may hold it).
    withheld: a reason to give this check 0 points whatever its outputs (the grader's
    flags), or None; the payload must still be this check's. Never raises: a payload that
    is malformed, belongs to another check or seed, or cannot be decoded gives a failed
    Verdict with a ``flag``.
    """
    label = f"{exercise}{' (hidden)' if hidden else ''}"
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = None
    if not isinstance(payload, dict):
        return Verdict(False, f"{label}: malformed check result",
                       flag=f"malformed check result for {label}")
    if payload.get("exercise") != exercise or bool(payload.get("hidden")) != hidden:
        return Verdict(False, f"{label}: the check result belongs to another check",
                       flag=f"result for {payload.get('exercise')!r} "
                            f"(hidden={payload.get('hidden')!r}) where {exercise!r} "
                            f"(hidden={hidden}) was expected")
    if str(payload.get("seed")) != str(seed):
        # a hidden check's seed is the grader's secret of this run: not shown, and a flag
        # that does not change from one run to the next (serial and parallel CSVs agree)
        shown = "another seed" if hidden else f"seed {payload.get('seed')!r}"
        return Verdict(False, f"{label}: the check ran with another seed than the grader's",
                       flag=f"{label} ran with {shown}, not the grader's")
    if withheld is not None:
        return Verdict(False, f"{label}: {withheld}")
    try:
        outputs = decode_outputs(payload.get("outputs"))
    except (ValueError, TypeError, KeyError) as exc:
        return Verdict(False, f"{label}: the check result could not be decoded ({exc})",
                       flag=f"undecodable check result for {label}")
    try:
        return verify(exercise, payload.get("seed"), hidden, outputs)
    except Exception as exc:  # verify must not raise; never let it stop a batch
        return Verdict(False, f"{label}: internal grader error ({type(exc).__name__}: {exc})",
                       flag=f"internal error verifying {label}: {exc!r}")


# ------------------------------------------------------------------------------ verify

def verify(name, seed, hidden, outputs):
    """Judge a submission's ``outputs`` for exercise ``name``.

    name: exercise name; seed: ``$COURSE_CHECK_SEED`` of the run (None when unset);
    hidden: whether this is the hidden check; outputs: the list of per-case output dicts
    (or :class:`StudentError`), already decoded. The cases are regenerated here from
    (name, seed, hidden). Returns a :class:`Verdict`; never raises for anything in
    ``outputs``.
    """
    try:
        exercise = get(name)
    except ValueError as exc:
        return Verdict(False, str(exc))
    if not isinstance(hidden, bool):
        return Verdict(False, f"{name}: 'hidden' must be True or False, got {hidden!r}")
    if seed is not None and not isinstance(seed, (str, int)):
        return Verdict(False, f"{name}: the seed must be a string, an integer or None, "
                              f"got {type(seed).__name__}")
    reference = _reference(name, seed, hidden)
    cases = reference.cases
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
            problem, errs = _judge_case(exercise, case, out, reference, i - 1)
        except Exception as exc:  # defensive: a malformed output must never crash the judge
            problem, errs = f"could not check the output ({type(exc).__name__}: {exc})", []
        errors.extend(errs)
        if problem:
            return Verdict(False, f"{where}: {problem}", max(errors) if errors else None)
    max_err = max(errors) if errors else None
    if max_err is None:
        summary = "all properties hold" if isinstance(exercise, PropertyExercise) \
            else "exact match"
    else:
        summary = f"max relative error {max_err:.1e}, bound {TOLERANCE:.0e}"
    return Verdict(True, f"{name}: {len(cases)} random cases passed ({summary})", max_err)


def _judge_case(exercise, case, out, reference, index):
    """(problem message or None, list of relative errors) for case ``index`` of
    ``reference`` (:class:`Reference`), which is ``case``.

    An Exercise: values against the reference, then gradients against finite
    differences. A PropertyExercise: the form of the outputs (keys, shapes, finite
    floats), then its properties."""
    if isinstance(out, StudentError):
        return out.message, []
    by_value = not isinstance(exercise, PropertyExercise)
    expected = reference.expected(index) if by_value else _form(exercise.shapes(case))
    watched = tuple(case.get("unchanged") or ())
    expected = {**expected, **{f"{key}_after": case[key] for key in watched}}
    if not isinstance(out, dict):
        return f"malformed output: expected a dict of {sorted(expected)}, got " \
               f"{type(out).__name__}", []
    problem = _changed_in_place(exercise, case, out, watched) or exercise.pre_check(case, out)
    if problem:
        return problem, []
    errors = []
    problem = _compare(out, expected, "", errors, by_value)
    if problem:
        # wrong forms may overflow (that is often the mistake): no warnings from the judge
        with np.errstate(all="ignore"):
            hint = diagnose(out, expected, exercise.mistakes(case), batch_size=case.get("N"))
        if hint:
            problem += f"\n  likely mistake: {hint}"
        return problem, errors
    if not by_value:
        return exercise.properties(case, out), errors
    for path, fd in reference.gradients(index).items():
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


class Reference:
    """What the judge compares a check's outputs with, for one (exercise, seed, hidden):
    the cases and, computed when first asked for, each case's expected outputs and the
    finite differences of its gradients.

    A grading run judges every submission with the same seed, so the grader keeps these
    (:func:`_reference`) instead of drawing and computing them again for each submission;
    the preloaded nbgrader server computes them before it forks
    (:func:`prepare_reference`), so each submission's process starts with them. They are
    the judge's own: the cases a check runs the student's functions on are drawn afresh
    (``checker.runner``), so no student code ever holds these arrays."""

    def __init__(self, name, seed, hidden):
        self.exercise = get(name)
        self.cases = cases_for(name, seed, hidden)
        self._expected, self._gradients = {}, {}

    def expected(self, index):
        if index not in self._expected:
            self._expected[index] = self.exercise.expected(self.cases[index])
        return self._expected[index]

    def gradients(self, index):
        if index not in self._gradients:
            self._gradients[index] = self.exercise.gradients(self.cases[index])
        return self._gradients[index]

    def complete(self):
        """Compute every case's expected outputs and finite differences now."""
        if not isinstance(self.exercise, PropertyExercise):
            for index in range(len(self.cases)):
                self.expected(index)
                self.gradients(index)
        return self


#: Reference objects by (exercise, seed, hidden); at most _KEPT, the oldest dropped first.
_REFERENCES = {}
_KEPT = 256


def _reference(name, seed, hidden):
    """The kept Reference of (name, seed, hidden), made when there is none (or when the
    exercise called ``name`` is no longer the one it was made for)."""
    key = (name, None if seed is None else str(seed), hidden)
    kept = _REFERENCES.get(key)
    if kept is None or kept.exercise is not get(name):
        while len(_REFERENCES) >= _KEPT:
            del _REFERENCES[next(iter(_REFERENCES))]
        kept = _REFERENCES[key] = Reference(name, seed, hidden)
    return kept


def prepare_reference(name, seed, hidden):
    """Draw and compute what judging ``name``'s check with ``seed`` (visible or hidden)
    compares with, ahead of the first payload; later verdicts reuse it."""
    return _reference(name, seed, hidden).complete()


def _changed_in_place(exercise, case, out, watched):
    """The message for the first watched input that the student's functions changed in
    place (compared exactly), or None."""
    for key in watched:
        if f"{key}_after" not in out:
            continue                       # a malformed output: the comparison says so
        where = _first_difference(out[f"{key}_after"], case[key], key)
        if where is not None:
            names = " / ".join(exercise.functions)
            return (f"{names} changed its input {where} in place (e.g. with -=, *= or "
                    f"{key}[...] = ...); the exercise asks to leave the inputs as they were: "
                    "compute on new arrays (x = x - m, not x -= m)")
    return None


def _first_difference(got, want, label):
    """The label of the first entry where ``got`` differs exactly from ``want``, or None."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return label
        for key in want:
            found = _first_difference(got[key], want[key], f"{label}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return label
        for i, (g, w) in enumerate(zip(got, want)):
            found = _first_difference(g, w, f"{label}[{i}]")
            if found is not None:
                return found
        return None
    try:
        same = np.shape(got) == np.shape(want) and np.array_equal(np.asarray(got), np.asarray(want))
    except Exception:  # something that is not a number or array at all
        same = False
    return None if same else label


def _form(shapes):
    """What the outputs of a PropertyExercise are compared with: a float array of each
    shape (only the keys, shapes and kinds are compared, never the values)."""
    return {key: np.zeros(shape) for key, shape in shapes.items()}


def _path_label(path):
    label = str(path[0])
    for key in path[1:]:
        label += f"[{key!r}]"
    return label


def _join(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]" if path else f"item {key}"
    return f"{path}[{key!r}]" if path else str(key)


def _compare(got, expected, path, errors, by_value):
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
                               by_value)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"{label}: expected a list of {len(expected)} items, got {_kind(got)}"
        for i, item in enumerate(expected):
            problem = _compare(got[i], item, _join(path, i), errors, by_value)
            if problem:
                return problem
        return None
    return _compare_leaf(got, expected, label, errors, by_value)


def _compare_leaf(got, expected, label, errors, by_value):
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
        if not by_value:
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
                f"{_excerpts(arr, exp if by_value else None)}")
    if not by_value:
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
    """checker.diagnose.describe_kind, plus the error a student's function raised."""
    if isinstance(obj, StudentError):
        return f"an error ({obj.message})"
    return describe_kind(obj)


def _excerpts(got, expected=None):
    """Two short lines 'expected: ...' / 'got: ...' plus the largest difference (only the
    'got' line without an ``expected``)."""
    got = np.asarray(got, dtype=np.float64)
    if expected is None:
        return f"       got: {_short(got)}"
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
