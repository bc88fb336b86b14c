"""Running a student's functions without trusting them.

:func:`run_case` calls an exercise's ``run`` on a deep copy of the case (nothing the
student's code does can change it) and turns every exception, and every return value of
the wrong form, into a :class:`StudentError` standing for the whole case's output: a
wrong answer to report, never an error of the checker.

Inside ``run``, :func:`call` and :func:`call_in_place` call one student function and
:func:`unpack` checks the tuple it returns; they raise :class:`Malformed` with a message
that names the function.

A case with ``unchanged`` (input names) is run on the case copy's own arrays (``call``
then passes its arguments as they are) and the outputs get ``<name>_after``: what the
call left in each watched input. A case with ``strict`` runs the student's functions
with floating-point overflow, invalid operations and division by zero raising.
"""
import contextlib
import contextvars
import copy
import dataclasses
import traceback

import numpy as np

#: True while a case with watched inputs runs: ``call`` passes its arguments as they are.
_SHARED = contextvars.ContextVar("coursepack_shared_inputs", default=False)
STRICT_HINT = ("this case must run without floating-point warnings: rewrite the formula "
               "so that nothing overflows (e.g. with np.logaddexp, or exp(-|x|) in two "
               "branches)")


@dataclasses.dataclass(frozen=True)
class StudentError:
    """Stands for an output the student's code did not produce: it raised, or returned
    something of the wrong form. ``message`` says which function and why."""
    message: str


class Malformed(Exception):
    """Raised inside an exercise's ``run`` when a student function raises or returns the
    wrong form; :func:`run_case` turns it into the case's :class:`StudentError`."""


def run_case(exercise, functions, case):
    """Run the student's ``functions`` (in the order of ``exercise.functions``) on one
    case. Returns the exercise's output dict, or a :class:`StudentError`."""
    case = copy.deepcopy(case)
    watched = tuple(case.get("unchanged") or ())
    token = _SHARED.set(bool(watched))
    strict = np.errstate(over="raise", invalid="raise", divide="raise") \
        if case.get("strict") else contextlib.nullcontext()
    try:
        with strict:
            out = exercise.run(tuple(functions), case)
    except Malformed as exc:
        return StudentError(str(exc))
    except Exception as exc:  # the student's bug, reported instead of raised
        return StudentError(describe_exception(exc))
    finally:
        _SHARED.reset(token)
    if watched and isinstance(out, dict):
        out = {**out, **{f"{key}_after": copy.deepcopy(case[key]) for key in watched}}
    return out


def describe_exception(exc):
    """``raised TypeError: message (line 12: z = x @ w in f)`` with the innermost frame."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        frame = frames[-1]
        where = f"line {frame.lineno}" + (f": {frame.line.strip()}" if frame.line else "")
        text += f" ({where} in {frame.name})"
    return f"raised {text}"


def call(func, *args, **kwargs):
    """Call ``func`` on deep copies of the arguments (on the arguments themselves in a case
    with watched inputs), naming it (``__name__``) in any error."""
    if not _SHARED.get():
        args = copy.deepcopy(args)
        kwargs = copy.deepcopy(kwargs)
    try:
        return func(*args, **kwargs)
    except Exception as exc:
        raise Malformed(f"{getattr(func, '__name__', 'your function')} "
                        f"{describe_exception(exc)}{_hint(exc)}") from None


def _hint(exc):
    return f" ({STRICT_HINT})" if isinstance(exc, FloatingPointError) else ""


def call_in_place(name, func, *args):
    """Call ``func`` on the arguments themselves (the caller looks at what the call left in
    them), naming it ``name`` in any error."""
    try:
        return func(*args)
    except Exception as exc:
        raise Malformed(f"{name} {describe_exception(exc)}{_hint(exc)}") from None


def unpack(result, names, func_name):
    """Check that ``result`` is a tuple/list of len(names) and return it as a tuple."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        shape = getattr(result, "shape", None)
        got = (f"a {type(result).__name__}" + (f" of shape {shape}" if shape is not None else "")
               + (f" of {len(result)} items" if isinstance(result, (tuple, list)) else ""))
        raise Malformed(f"{func_name} must return a tuple ({', '.join(names)}), got {got}")
    return tuple(result)


def collect_outputs(exercise, functions, seed=None, hidden=False):
    """Run the student's ``functions`` on every case of ``exercise`` (an Exercise) for
    ``$COURSE_CHECK_SEED`` = ``seed``; returns the list of case outputs."""
    return [run_case(exercise, functions, case) for case in exercise.draw_cases(seed, hidden)]
