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
  inputs drawn from ``rng``, plus edge cases;
- ``run(functions, case)``: calls the student's functions on the case (through
  ``checker.runner.call``) and returns their outputs as a dict; ``checker.runner.run_case``
  gives it a copy of the case and turns what goes wrong into a ``StudentError``;
- ``expected(case)``: the same outputs from the reference kernels;
- ``gradients(case)``: ``{path into the outputs: finite differences of the reference}``;
- ``mistakes(case)``: ``{name of a known mistake: the outputs it gives}``, for
  ``checker.diagnose``;
- ``pre_check(case, out)``: a problem found before the comparison (an input changed in
  place, x not restored), or None.
"""
import numpy as np

from checker.cases import case_seed, fd
from checker.runner import call, unpack


class Exercise:
    """An exercise judged on its values (see the module docstring)."""
    name = ""
    functions = ()
    references = ()

    def cases(self, rng):
        """The list of case dicts drawn from ``rng``."""
        raise NotImplementedError

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
        """The cases for ``$COURSE_CHECK_SEED`` = ``seed`` and the visible/hidden check."""
        return self.cases(np.random.default_rng(case_seed(self.name, hidden, seed)))

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
