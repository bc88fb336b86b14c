"""The checker: what an autograded test cell calls, and everything behind it.

A test cell reads::

    from checker import check
    check("logistic_loss_grad", logistic_loss_grad)

:func:`check` draws the exercise's random cases, runs the student's functions on copies of
them (``checker.runner``) and, in normal mode (students, lecturers, nbval), judges the
outputs (``checker.judge``) and prints one line or raises :class:`CheckFailed` with the
case, expected vs got, the relative error and the likely mistake (``checker.diagnose``).
In grading mode (``$COURSE_GRADING=1``, set by the grading sandbox) it decides nothing:
it emits the outputs for the grader (``checker.wire``), which judges them in its own
process with the same ``checker.judge.judge_payload``. A hidden check
(``hidden=True``) runs only there, in the test cell the grader hands its seed to.

The exercises live in ``checker.lessons``, one module per lesson. ``check`` and
``CheckFailed`` are the only names a notebook uses; the rest is the grader's
(``checker.internals``). The checker imports the kernels of ``helpers`` as the reference;
nothing in ``helpers`` imports it back.
"""
from checker import judge, wire
from checker.lessons import get
from checker.runner import collect_outputs


class CheckFailed(AssertionError):
    """A check found the student's function wrong; the message says where and why."""


def check(exercise, *functions, hidden=False):
    """Check the student's ``functions`` for ``exercise`` (see the module docstring).

    exercise: a name from ``checker.lessons.EXERCISES`` (e.g. "softmax_loss_grad").
    functions: the student's functions, in the order of the exercise's ``functions``
    (e.g. ``check("dense", dense_forward, dense_backward)``). hidden: True in the hidden
    test cells: the grader's cases, with a seed it hands to that cell only (see
    ``checker.wire``); anywhere else a hidden check prints that it checked nothing.
    Returns None; raises CheckFailed on a wrong answer, ValueError/TypeError when the call
    itself is wrong (unknown exercise, wrong functions).
    """
    spec = get(exercise)
    if len(functions) != len(spec.functions) or not all(callable(f) for f in functions):
        given = ", ".join(getattr(f, "__name__", type(f).__name__) for f in functions)
        raise TypeError(f"check({exercise!r}, ...) takes the function(s) "
                        f"{', '.join(spec.functions)}; got ({given})")
    if not isinstance(hidden, bool):
        raise TypeError(f"hidden must be True or False, got {hidden!r}")
    if hidden:
        seed = wire.take_hidden_seed(exercise) if wire.grading_mode() else None
        if seed is None:
            print(f"{exercise}: hidden check not run here. The grader runs it when it grades "
                  "the notebook, on fresh cases (more of them, and the edge cases the text "
                  "promises) that nobody sees in advance.")
            return None
    else:
        seed = wire.course_seed()
    payload = wire.build_payload(exercise, hidden, seed,
                                 collect_outputs(spec, functions, seed, hidden))
    if wire.grading_mode():
        wire.emit(payload)
        return None
    try:
        wire.decode_outputs(payload["outputs"])
    except ValueError as exc:  # what the grader could not decode either
        raise CheckFailed(f"{exercise}: the outputs cannot be recorded for grading: {exc}") \
            from None
    verdict = judge.judge_payload(payload, exercise, hidden, seed)
    if not verdict.passed:
        raise CheckFailed(verdict.message)
    print(verdict.message)
    return None
