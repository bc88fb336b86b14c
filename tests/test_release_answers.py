"""The student release hands out no answers (issue 15, items 4 and 8).

- No release notebook holds an implementation with the contract of a graded exercise of
  that notebook or a later one: every function defined in its instructor cells, and every
  function it imports by name from ``helpers``, is run as a student's answer on each such
  exercise's visible cases, and none may pass the judge.
- No notebook global can satisfy a stub by accident: a stub that ends with ``return
  <names>`` says in a comment just above that line which names the student's code must
  set, and run with each of those names deliberately left unbound (the others set, every
  global of the notebook bound) it raises NameError for that name.

Notebooks are discovered (notebooks/*/*.ipynb, in lesson order); nothing here lists them.
"""
import ast
import builtins
import contextlib
import inspect
import itertools
import re
import signal
import warnings

import matplotlib
import nbformat
import numpy as np
import pytest

from checker.judge import verify
from checker.lessons import EXERCISES, cases_for
from checker.runner import StudentError, run_case
from grader.preprocessors import is_autograded_test
from grading_support import REPO, checked_functions

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

RELEASES = sorted((REPO / "notebooks").glob("*/*.ipynb"))
IDS = [p.parent.name for p in RELEASES]
STUB = "raise NotImplementedError()"
#: helpers modules whose functions are not candidate answers (they read or write files,
#: draw, or read the environment)
NOT_ANSWERS = ("helpers.data", "helpers.results", "helpers.mode", "helpers.plots")
#: seconds one candidate may take on one exercise before it counts as not an answer
CALL_LIMIT_S = 5


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _parse(source):
    """The cell's module AST; IPython magics and shell lines are left out."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def _is_solution(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def _graded(nb):
    """{exercise: [student function names]} of the notebook's test cells."""
    found = {}
    for cell in nb.cells:
        if is_autograded_test(cell):
            found.update(checked_functions(cell.source))
    return found


def _bound_names(stmts):
    """Names a list of module-level statements binds (not inside functions or classes)."""
    out = set()
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out.update(a.asname or a.name.split(".")[0] for a in stmt.names)
        else:
            todo = [stmt]
            while todo:
                node = todo.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                     ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                     ast.GeneratorExp)):
                    if not isinstance(node, ast.Lambda) and hasattr(node, "name"):
                        out.add(node.name)
                    continue
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    out.add(node.id)
                elif isinstance(node, ast.NamedExpr):
                    out.add(node.target.id)
                todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(nb):
    """A namespace with every import of the notebook's code cells executed."""
    ns = {}
    for cell in _code_cells(nb):
        for stmt in _parse(cell.source).body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                with contextlib.suppress(ImportError):
                    exec(compile(ast.Module([stmt], []), "<import>", "exec"), ns)
    return ns


class _Global:
    """Stands for a notebook global whose value the test does not compute."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<notebook global {self.name}>"


@contextlib.contextmanager
def _time_limit(seconds):
    def stop(signum, frame):
        raise TimeoutError(f"longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------ item 4: no answers

def _candidates(nb):
    """{label: callable}: the functions the instructor cells define (run in a namespace
    of the notebook's imports, every other global a placeholder) and the helpers
    functions the notebook imports by name."""
    ns = _imports(nb)
    found = {}
    placeholders = {name: _Global(name) for name in _globals_of(nb) if name not in ns}
    for name, obj in list(ns.items()):
        module = getattr(obj, "__module__", "") or ""
        if inspect.isfunction(obj) and module.startswith("helpers.") \
                and not module.startswith(NOT_ANSWERS):
            found[f"{name} (imported from {module})"] = obj
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _is_solution(cell):
            continue
        tree = _parse(cell.source)
        for stmt in tree.body:
            defined = None
            if isinstance(stmt, ast.FunctionDef):
                defined = stmt.name
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Lambda) \
                    and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                defined = stmt.targets[0].id
            if defined is None:
                continue
            scope = {**placeholders, **ns}
            exec(compile(ast.Module([stmt], []), f"<cell {index}>", "exec"), scope)
            found[f"{defined} (cell {index})"] = scope[defined]
    return found


def _passes(exercise, functions):
    """True when ``functions`` pass the judge on the exercise's visible cases."""
    try:
        with _time_limit(CALL_LIMIT_S), warnings.catch_warnings(), \
                np.errstate(all="ignore"), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            outputs = [run_case(exercise, functions, case) for case in cases_for(exercise.name)]
    except TimeoutError:
        return False
    finally:
        plt.close("all")
    if any(isinstance(o, StudentError) for o in outputs):
        return False
    return verify(exercise.name, None, False, outputs).passed


def _arity(func):
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(1 for p in params if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _later_exercises(index):
    """The exercises graded in release notebook ``index`` or a later one."""
    names = {}
    for path in RELEASES[index:]:
        names.update(_graded(nbformat.read(path, as_version=4)))
    return [EXERCISES[name] for name in names if name in EXERCISES]


@pytest.mark.parametrize("index", range(len(RELEASES)), ids=IDS)
def test_no_release_notebook_answers_a_graded_exercise(index):
    nb = nbformat.read(RELEASES[index], as_version=4)
    candidates = _candidates(nb)
    found = []
    for exercise in _later_exercises(index):
        if len(exercise.functions) == 1:
            for label, func in candidates.items():
                if _passes(exercise, (func,)):
                    found.append(f"{label} passes {exercise.name!r}")
        else:   # a forward/backward pair: a backward takes (dout, cache)
            backwards = {k: f for k, f in candidates.items() if _arity(f) == 2}
            for (fl, f), (bl, b) in itertools.product(candidates.items(), backwards.items()):
                if f is not b and _passes(exercise, (f, b)):
                    found.append(f"{fl} and {bl} pass {exercise.name!r}")
    assert not found, (f"{RELEASES[index].relative_to(REPO)} holds answers to graded "
                       f"exercises (call the pack's functions by name instead): {found}")


def test_the_scan_finds_an_answer():
    """A release cell defining a correct logistic_loss_grad under another name is found."""
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook()
    nb.cells = [new_code_cell("import numpy as np\nfrom helpers.losses import binary_cross_entropy"),
                new_code_cell("def reference(w, X, t):\n"
                              "    loss, dz = binary_cross_entropy(X @ w, t)\n"
                              "    return loss, X.T @ dz\n\nother = lambda z: z")]
    candidates = _candidates(nb)
    assert set(candidates) >= {"reference (cell 1)", "other (cell 1)"}
    assert _passes(EXERCISES["logistic_loss_grad"], (candidates["reference (cell 1)"],))
    assert not _passes(EXERCISES["logistic_loss_grad"], (candidates["other (cell 1)"],))


# ------------------------------------------------------ item 8: stubs and the globals

def _stub_returns(func):
    """The names a stub's final ``return`` reads that the stub does not bind itself
    (parameters, or lines before the stub marker), or None without such a return."""
    last = func.body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        return None
    given = {a.arg for a in func.args.args + func.args.kwonlyargs}
    for stmt in func.body[:-1]:
        given |= _bound_names([stmt])
    read = [n.id for n in ast.walk(last.value) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)]
    return [name for name in dict.fromkeys(read)
            if name not in given and not hasattr(builtins, name)]


def _stubs(release):
    """[(cell index, function AST, returned names)] for every stub function with a return."""
    out = []
    for index, cell in enumerate(release.cells):
        if cell.cell_type != "code" or not _is_solution(cell) or STUB not in cell.source:
            continue
        for stmt in _parse(cell.source).body:
            if isinstance(stmt, ast.FunctionDef):
                names = _stub_returns(stmt)
                if names:
                    out.append((index, stmt, names))
    return out


def _solution_namespace(source_nb):
    """The instructor's functions: every solution cell of the source executed."""
    ns = _imports(source_nb)
    for cell in _code_cells(source_nb):
        if _is_solution(cell):
            exec(compile(cell.source, "<solution>", "exec"), ns)
    return ns


def _globals_of(release):
    """Every name the release's instructor cells bind at module level."""
    names = set()
    for cell in _code_cells(release):
        if not _is_solution(cell):
            names |= _bound_names(_parse(cell.source).body)
    return names


def test_stubs_say_what_they_return_and_no_global_satisfies_them():
    problems, n_stubs = [], 0
    for path in RELEASES:
        problems += _stub_problems(path)
        n_stubs += len(_stubs(nbformat.read(path, as_version=4)))
    assert n_stubs, "no release stub returns names of its own"
    assert not problems, "\n".join(problems)


def _stub_problems(path):
    """What is wrong with the stubs of one release notebook (a list of messages)."""
    where = path.parent.name
    release = nbformat.read(path, as_version=4)
    source = nbformat.read(REPO / "solutions" / path.parent.name / path.name, as_version=4)
    stubs = _stubs(release)
    if not stubs:
        return []
    solutions = _solution_namespace(source)
    graded = _graded(release)
    checked = {fn: (name, i) for name, fns in graded.items() for i, fn in enumerate(fns)}
    problems = []
    for index, func, names in stubs:
        lines = release.cells[index].source.splitlines()
        above = lines[func.body[-1].lineno - 2].strip()
        if not above.startswith("#") or not all(re.search(rf"\b{n}\b", above) for n in names):
            problems.append(f"{where} cell {index} {func.name}: the line above `return` must "
                            f"be a comment naming {names}, got {above!r}")
        if checked.get(func.name, (None,))[0] not in EXERCISES:
            continue
        exercise_name, position = checked[func.name]
        exercise = EXERCISES[exercise_name]
        case = cases_for(exercise_name)[0]
        for missing in names:
            others = [n for n in names if n != missing]
            body = (" = ".join(others) + " = 0.0") if others else "pass"
            text = ast.get_source_segment("\n".join(
                line for line in release.cells[index].source.splitlines()
                if not line.lstrip().startswith(("%", "!"))), func)
            text = text.replace(STUB, body, 1)
            scope = _imports(release)
            for name in _globals_of(release):
                scope.setdefault(name, _Global(name))
            scope.update({k: v for k, v in solutions.items() if callable(v)
                          and k not in scope})
            exec(compile(text, f"<stub {func.name}>", "exec"), scope)
            functions = [solutions[fn] for fn in graded[exercise_name]]
            functions[position] = scope[func.name]
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = run_case(exercise, tuple(functions), case)
            if not (isinstance(out, StudentError) and "NameError" in out.message
                    and f"'{missing}'" in out.message):
                problems.append(f"{where} cell {index} {func.name}: with {missing!r} unbound "
                                "the stub did not raise NameError for it (a notebook global of "
                                f"that name satisfies it?): {getattr(out, 'message', 'it passed')}")
    return problems
