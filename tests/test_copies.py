"""Copies flagged (issue 15 item 5): a copy of the pack's reference implementation in a
submission gets a flag for the tutor; a cross-student similarity report lists the pairs
of similar submissions of an assignment.

No kernel runs here: grader.flags reads the cells, grader.similarity reads the submitted
notebooks (copydetect fingerprints them).
"""
import ast
import copy
import inspect
import json
import os
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import grading_support as gs
import mistakes
from grader import copies, flags, similarity
from grader.preprocessors import _checked_exercises
from helpers import activations, optim

HONEST_ADAM = textwrap.dedent(inspect.getsource(mistakes.adam))
HONEST_RMSPROP = textwrap.dedent(inspect.getsource(mistakes.rmsprop))


def _meta(gid, **kw):
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False,
                         "solution": False, "locked": False, **kw}}


def _course_nb(cells):
    """(release, exercises) for solution cells {grade id: function names} with test cells."""
    nb = new_notebook(cells=[new_code_cell("import numpy as np", metadata=_meta("setup",
                                                                                 locked=True))])
    for exercise, gid in cells:
        nb.cells.append(new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()",
                                      metadata=_meta(gid, solution=True)))
        names = ", ".join(gs_functions(exercise))
        nb.cells.append(new_code_cell(f'from checker import check\ncheck("{exercise}", {names})',
                                      metadata=_meta(f"test-{exercise}", grade=True, locked=True,
                                                     points=1)))
    return nb


def gs_functions(exercise):
    from checker.lessons import EXERCISES
    return EXERCISES[exercise].functions


def _submission(release, sources):
    sub = copy.deepcopy(release)
    for cell in sub.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sources:
            cell.source = sources[gid]
    return sub


def _scan(code, exercise="adam", source_nb=None):
    release = _course_nb([(exercise, f"{exercise}-solution")])
    sub = _submission(release, {f"{exercise}-solution": code})
    return flags.scan(sub, release, _checked_exercises(sub.cells), source_nb=source_nb)


def _copies(found):
    return [f for f in found if "matches the pack's reference implementation" in f]


class _Rename(ast.NodeTransformer):
    """Every local name and argument renamed (what a copier does to hide a copy)."""

    def __init__(self):
        self.map = {}

    def _new(self, old):
        return self.map.setdefault(old, f"my_{old}_{len(self.map)}")

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        return node

    def visit_Name(self, node):
        if node.id in self.map or isinstance(node.ctx, ast.Store):
            node.id = self._new(node.id)
        return node


def disguised(func, name):
    """The source of ``func`` renamed, without its docstring, reformatted (ast.unparse,
    blank lines, comments), numpy imported under another name, the def named ``name``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    fn = tree.body[0]
    fn.name = name
    if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant):
        fn.body = fn.body[1:]
    _Rename().visit(fn)
    lines = ast.unparse(tree).replace("np.", "numpy_lib.").splitlines()
    out = ["import numpy as numpy_lib", ""]
    for i, line in enumerate(lines):
        out.append(line + ("    # my own step" if i % 3 == 1 else ""))
        if i % 4 == 2:
            out.append("")
    return "\n".join(out) + "\n"


def _with_helpers(source, module, names):
    """``source`` preceded by the module's private helpers it calls (a copier copies
    those too, or the copy does not run)."""
    helpers = "\n\n".join(textwrap.dedent(inspect.getsource(getattr(module, n))) for n in names)
    return f"import numbers\nimport numpy as np\n\n{helpers}\n\n{source}"


ADAM_HELPERS = ("_check_arrays", "_setup", "_state")


# ------------------------------------------------------------------------- normal form

def test_the_normal_form_ignores_names_comments_docstrings_and_formatting():
    a = ast.parse("def f(x, y):\n    '''doc'''\n    z = np.exp(x) * y  # c\n    return z + 1").body[0]
    b = ast.parse("def g(a,b):\n    q=(numpy.exp(a)\n       *b)\n\n    return (q+1)").body[0]
    c = ast.parse("def f(x, y):\n    z = np.exp(y) * x\n    return z + 1").body[0]
    assert copies.normalise(a, {"np": "numpy"}) == copies.normalise(b, {"numpy": "numpy"})
    assert copies.normalise(a, {"np": "numpy"}) != copies.normalise(c, {"np": "numpy"})


def test_every_reference_has_a_normal_form():
    from checker.lessons import EXERCISES
    for exercise in EXERCISES.values():
        found = [form for dotted in exercise.references for form in copies.reference_forms(dotted)]
        assert found, exercise.name


# ------------------------------------------------------------------------- flags

def test_an_exact_copy_is_flagged():
    source = _with_helpers(textwrap.dedent(inspect.getsource(optim.adam)), optim, ADAM_HELPERS)
    found = _copies(_scan(source))
    assert len(found) == 1, found
    assert found[0].startswith("solution cell 'adam-solution': adam matches the pack's reference "
                               "implementation of adam (helpers.optim.adam; after normalising")
    assert "scores 0" not in found[0] and flags.SEVERE_SUMMARY not in _scan(source)
    assert flags.zeroed_exercises(_scan(source), {"adam": "test-adam"}) == {}


def test_a_renamed_and_reformatted_copy_is_flagged():
    source = _with_helpers(disguised(optim.adam, "adam"), optim, ADAM_HELPERS)
    assert "my_" in source and "numpy_lib." in source and '"""' not in source.split("def adam")[1]
    found = _copies(_scan(source))
    assert len(found) == 1 and "helpers.optim.adam;" in found[0], found


def test_a_copy_with_its_checks_removed_is_flagged_as_a_near_copy():
    body = textwrap.dedent(inspect.getsource(optim.adam)).splitlines()
    kept = [line for line in body if "_check_arrays" not in line]    # one line dropped
    source = _with_helpers("\n".join(kept), optim, ("_setup", "_state"))
    found = _copies(_scan(source))
    assert len(found) == 1 and "a near copy" in found[0], found


def test_a_short_reference_copied_exactly_is_flagged_but_never_a_near_copy():
    source = "import numpy as np\n\n" + textwrap.dedent(inspect.getsource(activations.softmax))
    source = source.replace("_check_rows(Z, \"Z\")", "np.asarray(Z, dtype=float)")
    assert "np.asarray(Z, dtype=float)" in source
    assert _copies(_scan(source, "softmax")) == []                # one call changed: not a copy
    exact = "\n\n".join(textwrap.dedent(inspect.getsource(f))
                        for f in (activations._check_rows, activations.softmax))
    found = _copies(_scan("import numpy as np\n\n" + exact, "softmax"))
    assert len(found) == 1 and "helpers.activations.softmax" in found[0], found


def test_a_copy_in_a_helper_the_graded_function_calls_is_flagged():
    source = _with_helpers(disguised(optim.adam, "_my_update"), optim, ADAM_HELPERS)
    source += "\n\ndef adam(w, dw, config=None):\n    return _my_update(w, dw, config)\n"
    found = _copies(_scan(source))
    assert len(found) == 1 and "_my_update matches" in found[0], found


@pytest.mark.parametrize("exercise,code", [("adam", HONEST_ADAM), ("rmsprop", HONEST_RMSPROP)])
def test_honest_independent_solutions_are_not_flagged(exercise, code):
    assert _copies(_scan(code, exercise)) == []


def test_the_instructor_solutions_copy_no_reference():
    """The instructor's solutions (written from the equations, like a student's) are no
    copies: neither flagged nor near (the closest reaches 0.89 on the short softmax)."""
    for assignment, path in gs.source_notebooks():
        source = gs.read_nb(path)
        release_path = gs.REPO / "notebooks" / assignment / path.name
        if not release_path.is_file():
            continue
        release = gs.read_nb(release_path)
        exercises = _checked_exercises(source.cells)
        found = _copies(flags.scan(gs.solved(release, source), release, exercises))
        assert found == [], (path.name, found)


def test_a_reference_the_instructor_solution_matches_is_not_flagged():
    source = _with_helpers(textwrap.dedent(inspect.getsource(optim.adam)), optim, ADAM_HELPERS)
    release = _course_nb([("adam", "adam-solution")])
    instructor = _submission(release, {"adam-solution": source})
    assert _copies(_scan(source, source_nb=instructor)) == []
    assert _copies(_scan(source)) != []


# ------------------------------------------------------------------------- similarity

ASSIGNMENT = "77_optim"
NAME = "optim.ipynb"


def _similarity_course(tmp_path):
    """A course folder (no gradebook needed) with a release of adam and rmsprop, and four
    students: alice (honest), bob (alice's code renamed and reformatted), carol and dave
    (two more honest solutions, written differently)."""
    release = _course_nb([("adam", "adam-solution"), ("rmsprop", "rmsprop-solution")])
    nbformat.write(release, _path(tmp_path / "notebooks" / ASSIGNMENT / NAME))
    carol_adam = textwrap.dedent('''
        def adam(w, dw, config):
            """Adam: moments, bias correction, step."""
            import numpy as np
            lr = config.setdefault("learning_rate", 1e-3)
            beta1 = config.setdefault("beta1", 0.9)
            beta2 = config.setdefault("beta2", 0.999)
            eps = config.setdefault("epsilon", 1e-8)
            step = config.get("t", 0) + 1
            first = config.get("m")
            second = config.get("v")
            if first is None:
                first, second = np.zeros_like(w), np.zeros_like(w)
            first = beta1 * first + (1 - beta1) * dw
            second = beta2 * second + (1 - beta2) * (dw * dw)
            corrected = first / (1 - beta1 ** step), second / (1 - beta2 ** step)
            config.update(m=first, v=second, t=step)
            return w - lr * corrected[0] / (np.sqrt(corrected[1]) + eps), config
        ''')
    carol_rmsprop = textwrap.dedent('''
        def rmsprop(w, dw, config):
            import numpy as np
            for key, default in (("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)):
                config.setdefault(key, default)
            avg = config.get("cache", np.zeros_like(w))
            avg = config["decay_rate"] * avg + (1.0 - config["decay_rate"]) * np.square(dw)
            config["cache"] = avg
            return w - config["learning_rate"] * dw / (np.sqrt(avg) + config["epsilon"]), config
        ''')
    dave = textwrap.dedent('''
        import numpy as np

        def adam(w, dw, config):
            c = config
            if "m" not in c:
                c["m"] = np.zeros(w.shape)
                c["v"] = np.zeros(w.shape)
                c["t"] = 0
            c.setdefault("learning_rate", 0.001); c.setdefault("beta1", 0.9)
            c.setdefault("beta2", 0.999); c.setdefault("epsilon", 1e-8)
            c["t"] += 1
            c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
            c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw ** 2
            mh = c["m"] / (1 - c["beta1"] ** c["t"])
            vh = c["v"] / (1 - c["beta2"] ** c["t"])
            return w - c["learning_rate"] * mh / (vh ** 0.5 + c["epsilon"]), c
        ''')
    dave_rmsprop = textwrap.dedent('''
        def rmsprop(w, dw, config):
            d = config.setdefault("decay_rate", 0.99)
            if "cache" in config:
                config["cache"] = d * config["cache"] + (1 - d) * dw ** 2
            else:
                config["cache"] = (1 - d) * dw ** 2
            step = config.setdefault("learning_rate", 1e-2)
            return w - step * dw / (config["cache"] ** 0.5 + config.setdefault("epsilon", 1e-8)), config
        ''')
    students = {
        "alice": {"adam-solution": HONEST_ADAM, "rmsprop-solution": HONEST_RMSPROP},
        "bob": {"adam-solution": disguised(mistakes.adam, "adam"),
                "rmsprop-solution": disguised(mistakes.rmsprop, "rmsprop")},
        "carol": {"adam-solution": carol_adam, "rmsprop-solution": carol_rmsprop},
        "dave": {"adam-solution": dave, "rmsprop-solution": dave_rmsprop},
    }
    for student, sources in students.items():
        nbformat.write(_submission(release, sources),
                       _path(tmp_path / "submitted" / student / ASSIGNMENT / NAME))
    (tmp_path / "submitted" / "erin" / ASSIGNMENT).mkdir(parents=True)   # submitted nothing
    _path(tmp_path / "submitted" / "frank" / ASSIGNMENT / NAME).write_text("{ not json")
    nbformat.write(release, _path(tmp_path / "submitted" / "gus" / ASSIGNMENT / NAME))
    return tmp_path


def _path(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_the_similarity_report_lists_the_copied_pair_only(tmp_path):
    root = _similarity_course(tmp_path)
    environment = dict(os.environ)
    data = similarity.report(root, ASSIGNMENT)
    # nothing leaks into the environment (an $MPLBACKEND set here once reached every
    # kernel the test process started later, which then drew no inline figures)
    assert dict(os.environ) == environment
    assert data["students"] == ["alice", "bob", "carol", "dave"]      # gus: the release only
    assert [p["students"] for p in data["pairs"]] == [["alice", "bob"]], data["pairs"]
    assert data["pairs"][0]["similarity"] >= 0.6 and data["threshold"] == similarity.THRESHOLD
    out = similarity.output_dir(root, ASSIGNMENT)
    assert json.loads((out / "similarity.json").read_text()) == data
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "alice.py" in html and "bob.py" in html
    code = (out / "code" / "alice.py").read_text()
    assert "def adam" in code and "raise NotImplementedError" not in code
    text = similarity.format_text(data)
    assert "alice ~ bob" in text and "report:" in text


def test_the_similarity_of_honest_solutions_stays_low(tmp_path):
    """Every pair of honest solutions is listed at a low threshold, below the default."""
    root = _similarity_course(tmp_path)
    data = similarity.report(root, ASSIGNMENT, threshold=0.01)
    honest = [p for p in data["pairs"] if "bob" not in p["students"]]
    assert honest and all(p["similarity"] < similarity.THRESHOLD for p in honest), honest


def test_the_similarity_step_of_the_command_line(tmp_path, capsys):
    from grader import cli
    root = _similarity_course(tmp_path)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    assert cli.main(["--root", str(root), "similarity", "--assignment", ASSIGNMENT]) == 0
    assert "alice ~ bob" in capsys.readouterr().out
    with pytest.raises(ValueError):
        similarity.report(root, ASSIGNMENT, threshold=0)
