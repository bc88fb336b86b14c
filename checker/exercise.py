"""What an autograded exercise is, and the two ways the judge looks at one.

An :class:`Exercise` is judged on its values: the student's outputs are compared with the
reference kernels' (relative error <= ``checker.judge.TOLERANCE``) and every gradient
with centred finite differences of the reference. A :class:`KernelExercise` is the common
case of an exercise that mirrors one kernel returning a value and its gradient (the
penalties, the losses of logits). A :class:`PropertyExercise` has random outputs
(xavier_init): they are judged on their form (keys, shapes, finite floats) and on
properties of their values instead.

Each exercise of ``checker.lessons`` is one subclass that says, in one place (a family,
such as the penalties or the optimizer rules, is a base class whose members say only what
differs):

- ``name``, ``functions`` (the student functions it takes, in order), ``references``
  (dotted names of the pack's own implementations, which the grader flags in a solution);
- ``cases(rng)``: a list of case dicts (``checker.cases.case``), random shapes and float64
  inputs drawn from ``rng``, plus edge cases: the visible check;
- ``hidden_cases(rng)``: the cases only the hidden check adds after a fresh draw of
  ``cases``: what the visible ones leave out (N = 1, K = 2, extreme magnitudes where the
  text promises stability, exact zeros where it promises a convention at a kink, inputs
  watched for in-place changes or aliasing where it promises they are left alone);
- ``promises``: every thing the exercise's text says the check verifies, each a
  :class:`Promise` that picks the cases verifying it (tests/test_promises.py shows that
  each promise has a case, in every hidden draw, and that the case rejects a mistake
  breaking it);
- ``run(functions, case)``: calls the student's functions on the case (through
  ``checker.runner.call``) and returns their outputs as a dict; ``checker.runner.run_case``
  gives it a copy of the case and turns what goes wrong into a ``StudentError``;
- ``expected(case)``: the same outputs from the reference kernels;
- ``gradients(case)``: ``{path into the outputs: finite differences of the reference}``;
- ``mistakes(case)``: ``{name of a known mistake: the outputs it gives}``, for
  ``checker.diagnose``;
- ``pre_check(case, out)``: a problem found before the comparison (an input changed in
  place, x not restored), or None.

Two case fields ask the runner for more than the outputs (``checker.runner.run_case``):
``unchanged`` (names of inputs the functions must leave alone: they get the case's own
arrays, and what the call left in them is recorded as ``<name>_after`` and compared
exactly with the input) and ``strict`` (floating-point overflow, invalid operations and
division by zero raise inside the student's functions, for a text that promises a
warning-free result).
"""
import dataclasses

import numpy as np

from checker.cases import case_seed, fd
from checker.runner import call, unpack


@dataclasses.dataclass(frozen=True)
class Promise:
    """One thing an exercise's text says its check verifies.

    key: a short name (tests refer to it); text: what the notebook promises, in its words;
    covers: ``covers(case) -> bool``, True for a case that verifies it."""
    key: str
    text: str
    covers: object

    def cases(self, cases):
        """The indices of the cases in ``cases`` that verify this promise."""
        return [i for i, case in enumerate(cases) if self.covers(case)]


def largest_at_least(key, at_least):
    """covers(case) for a Promise: some |case[key]| >= at_least."""
    return lambda c: bool(np.max(np.abs(c[key]), initial=0.0) >= at_least)


def watches(key):
    """covers(case) for a Promise: the case watches input ``key`` for in-place changes."""
    return lambda c: key in (c.get("unchanged") or ())


def batch_of(n):
    """covers(case) for a Promise: a batch of exactly n examples."""
    return lambda c: c.get("N") == n


class Exercise:
    """An exercise judged on its values (see the module docstring)."""
    name = ""
    functions = ()
    references = ()
    promises = ()

    def cases(self, rng):
        """The list of case dicts drawn from ``rng`` (the visible check)."""
        raise NotImplementedError

    def hidden_cases(self, rng):
        """The cases the hidden check adds to a fresh draw of :meth:`cases`."""
        return []

    def run(self, functions, case):
        """The student's outputs on ``case`` (a dict)."""
        raise NotImplementedError

    def expected(self, case):
        """The reference outputs on ``case`` (a dict like ``run``'s)."""
        raise NotImplementedError

    def gradients(self, case):
        """{path into the outputs: finite differences the entry there must match}."""
        return {}

    def mistakes(self, case):
        """{name of a known mistake: the outputs it gives on ``case``}."""
        return {}

    def pre_check(self, case, out):
        """A problem of ``out`` to report before the comparison, or None."""
        return None

    def draw_cases(self, seed=None, hidden=False):
        """The cases for the check's seed ``seed`` (``$COURSE_CHECK_SEED`` for the visible
        check, the grader's hidden seed for the hidden one) and visible/hidden: the
        hidden check draws :meth:`cases` afresh and adds :meth:`hidden_cases`."""
        rng = np.random.default_rng(case_seed(self.name, hidden, seed))
        cases = self.cases(rng)
        if hidden:
            cases = list(cases) + list(self.hidden_cases(rng))
        return cases

    def __repr__(self):
        return f"<exercise {self.name!r} ({', '.join(self.functions)})>"


class KernelExercise(Exercise):
    """An exercise that mirrors one reference ``kernel(*arguments) -> (value, gradient)``,
    the gradient taken in the first argument: the student's function is called on the
    case's ``arguments`` and returns the two ``outputs``; the expected result is the
    kernel's, and the gradient must match finite differences of the kernel's value."""
    kernel = None      # the reference, as a staticmethod
    arguments = ()     # the case keys passed to the function, in order
    outputs = ()       # the names of the two returned values: (value, gradient)

    def run(self, functions, case):
        (f,) = functions
        returned = call(f, *(case[key] for key in self.arguments))
        return dict(zip(self.outputs, unpack(returned, self.outputs, self.name)))

    def expected(self, case):
        return dict(zip(self.outputs, self.kernel(*(case[key] for key in self.arguments))))

    def gradients(self, case):
        first, *rest = (case[key] for key in self.arguments)
        return {(self.outputs[1],): fd(lambda x: self.kernel(x, *rest)[0], first)}


class PropertyExercise(Exercise):
    """An exercise with random outputs, judged on their form and on ``properties``."""

    def shapes(self, case):
        """{output key: the shape of the float array expected there}."""
        raise NotImplementedError

    def properties(self, case, out):
        """The first property of ``out`` (well formed) that does not hold, or None."""
        raise NotImplementedError
