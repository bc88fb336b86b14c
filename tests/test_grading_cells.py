"""Grading mode 'graded' (grader/grading_cells.py): a grading run executes the graded
cells and what they need, never what a submission asks to leave out.

- unit tests of the name analysis and of the plan on small notebooks (no kernel);
- the experiment marks in solutions/ are the ones tools/grading_tags.py writes, and
  grading the instructor's own solution honours every one of them;
- a small course graded for real: the same scores in modes 'graded' and 'all'; a
  tampering submission (loops in cells it wants skipped, marks in its own metadata)
  cannot make grading leave out a cell it needs, and a loop after the last graded cell
  costs nothing.
"""
import copy
import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import grading_cells as gc
from grading_support import (
    KERNELSPEC,
    REPO,
    grade,
    make_course,
    record,
    release_nb,
    scores,
    solved,
    submit,
)


# ---------------------------------------------------------------------------------------
# Names

@pytest.mark.parametrize("source,binds,reads", [
    ("a = 1\nb = a + c", {"a", "b"}, {"a", "c"}),
    ("def f(x):\n    d = x.shape[1]\n    return d + G", {"f"}, {"G"}),
    ("for d in DATA.values():\n    print(d)", {"d", "DATA"}, {"d", "DATA", "print"}),
    ("x = [i * k for i in range(3)]", {"x"}, {"range", "k"}),
    ("rng.normal()\nnp.zeros(3)", {"rng"}, {"rng", "np"}),           # np: a module
    ("D['a'] = 3\nobj.attr += 1", {"D", "obj"}, {"D", "obj"}),
    ("import numpy as np\nfrom a.b import c as e", {"np", "e"}, set()),
    ("def g():\n    global Q\n    Q = 1", {"g", "Q"}, {"Q"}),
    ("with open(f) as fh:\n    s = fh.read()", {"fh", "s"}, {"open", "f", "fh"}),
    ("[(y := v) for v in L]", {"y"}, {"L"}),
    ("lam = lambda t: t + z", {"lam"}, {"z"}),
])
def test_names_binds_and_reads(source, binds, reads):
    got = gc.names(source, frozenset({"np"}))
    assert (set(got.binds), set(got.reads), got.dynamic) == (binds, reads, False)


@pytest.mark.parametrize("source", ["%timeit f(1)", "!ls", "y = globals()['x']", "print(_)",
                                    "exec('x = 1')", "from m import *", "def f(:\n  pass"])
def test_names_that_cannot_be_listed_are_dynamic(source):
    assert gc.names(source).dynamic


def test_prune_imports_keeps_what_is_read():
    src = ("import time\nimport numpy as np\nfrom helpers import data, mode\n"
           "MODE = mode.current()\nrng = np.random.default_rng(0)\n")
    pruned, dropped = gc.prune_imports(src, needed={"np"})
    assert dropped == ["data", "time"]
    assert "import time" not in pruned and "from helpers import mode" in pruned
    assert "import numpy as np" in pruned and "MODE = mode.current()" in pruned
    assert gc.prune_imports(src, needed={"np", "time", "data"}) == (src, [])


# ---------------------------------------------------------------------------------------
# Plans on small notebooks

def _meta(gid, **nbg):
    base = {"grade": False, "solution": False, "locked": False, "grade_id": gid, "schema_version": 3}
    base.update(nbg)
    return {"nbgrader": base}


def _source_nb():
    """Setup, an exercise, a marked experiment between exercises, a second exercise,
    an experiment after the last test."""
    nb = new_notebook(metadata={"kernelspec": dict(KERNELSPEC)})
    nb.cells = [
        new_code_cell("import numpy as np\nimport time\nfrom helpers import mode\nMODE = mode.current()",
                      metadata=_meta("setup", locked=True)),
        new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=_meta("f-solution", solution=True)),
        new_code_cell('check("f", f)', metadata=_meta("test-f", grade=True, locked=True, points=1)),
        new_code_cell("DATA = np.arange(10)\nprint(DATA.sum())",
                      metadata={**_meta("demo", locked=True), "coursepack": {"grading": "skip"}}),
        new_code_cell("STEP = 0.5", metadata={"coursepack": {"grading": "skip"}}),   # no nbgrader id
        new_code_cell("def g(x):\n    ### BEGIN SOLUTION\n    return np.add(x, 1)\n    ### END SOLUTION",
                      metadata=_meta("g-solution", solution=True)),
        new_code_cell('check("g", g)', metadata=_meta("test-g", grade=True, locked=True, points=1)),
        new_code_cell("while True:\n    pass", metadata=_meta("experiment", locked=True)),
        new_markdown_cell("An answer", metadata=_meta("answer", grade=True, solution=True, points=1)),
    ]
    return nb


def _release_nb():
    nb = copy.deepcopy(_source_nb())
    nb.cells[1].source = "def f(x):\n    raise NotImplementedError()"
    nb.cells[5].source = "def g(x):\n    raise NotImplementedError()"
    return nb


def _submission(**changes):
    """The release with the student's answers; ``changes``: index -> new source."""
    nb = copy.deepcopy(_release_nb())
    nb.cells[1].source = "def f(x):\n    return 2 * x"
    nb.cells[5].source = "def g(x):\n    return np.add(x, 1)"
    for index, source in changes.items():
        nb.cells[int(index)].source = source
    return nb


def test_plan_leaves_out_marked_experiments_and_everything_after_the_last_test():
    p = gc.plan(_submission(), _release_nb(), _source_nb())
    assert p.skip == {3: "experiment", 4: "experiment", 7: "after"}
    assert p.left_out_imports == {0: ["time"]}
    assert "import time" not in p.shrink[0] and "MODE = mode.current()" in p.shrink[0]


def test_mode_all_runs_everything():
    p = gc.plan(_submission(), _release_nb(), _source_nb(), mode="all")
    assert p.skip == {} and p.shrink == {}
    with pytest.raises(ValueError, match="grading mode"):
        gc.plan(_submission(), _release_nb(), _source_nb(), mode="fast")


def test_an_experiment_a_later_cell_needs_runs():
    sub = _submission(**{"5": "def g(x):\n    return np.add(x, DATA[0] + STEP * 0 + 1)"})
    p = gc.plan(sub, _release_nb(), _source_nb())
    assert 3 not in p.skip and 4 not in p.skip
    assert p.kept_experiments == {3: ["DATA"], 4: ["STEP"]}
    assert "import time" not in p.shrink[0]


def test_a_student_cell_that_reads_names_dynamically_keeps_every_experiment():
    sub = _submission()
    sub.cells.insert(6, new_code_cell("print(globals()['DATA'])"))
    p = gc.plan(sub, _release_nb(), _source_nb())
    assert {i for i, r in p.skip.items() if r == "experiment"} == set()
    assert p.shrink == {}


def test_an_edited_experiment_is_not_the_instructors():
    # An unnamed cell matches only while unchanged (a locked one gets the gradebook's
    # source back from RebuildFromRelease, so only unnamed cells can differ here).
    sub = _submission(**{"4": "STEP = 0.5\nimport os"})
    p = gc.plan(sub, _release_nb(), _source_nb())
    assert 4 not in p.skip and 3 in p.skip


def test_submission_metadata_decides_nothing():
    sub = _submission()
    sub.cells[5].metadata["coursepack"] = {"grading": "skip"}        # the solution cell
    sub.cells[6].metadata["coursepack"] = {"grading": "skip"}        # a test cell
    extra = new_code_cell("def h():\n    return 1", metadata={"coursepack": {"grading": "skip"}})
    sub.cells.insert(2, extra)                                        # a cell of their own
    p = gc.plan(sub, _release_nb(), _source_nb())
    assert {2, 6, 7} & set(p.skip) == set()        # own cell, solution, test all run
    # unmarked in the source: nothing is an experiment, whatever the submission says
    source = _source_nb()
    for cell in source.cells:
        cell.metadata.pop("coursepack", None)
    p = gc.plan(_submission(), _release_nb(), source)
    assert p.skip == {7: "after"}


def test_no_source_leaves_out_only_what_follows_the_last_test():
    p = gc.plan(_submission(), _release_nb(), None)      # no marks, but the release's locked cells
    assert p.skip == {7: "after"} and p.left_out_imports == {0: ["time"]}
    p = gc.plan(_submission(), None, None)               # not even a release
    assert p.skip == {7: "after"} and p.shrink == {}


# ---------------------------------------------------------------------------------------
# The marks in solutions/

def test_marks_in_solutions_are_the_scripts_and_are_honoured():
    """tools/grading_tags.py --check: solutions/ and notebooks/ carry exactly its marks,
    and grading the instructor's solution leaves every marked cell out."""
    run = subprocess.run([sys.executable, "-m", "tools.grading_tags", "--check"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    from tools import grading_tags

    for path, indices in grading_tags.wanted_marks(REPO).items():
        nb = nbformat.read(path, as_version=4)
        grading_tags.honoured(path, nb, indices, REPO)       # raises TagError otherwise
        marked = {i for i, c in enumerate(nb.cells) if gc.is_tagged(c)}
        assert marked == indices, path


# ---------------------------------------------------------------------------------------
# Graded for real

FIX = "91_modes"
FIX_NAME = "modes.ipynb"


def _fixture_source():
    nb = new_notebook(metadata={"kernelspec": dict(KERNELSPEC)})
    nb.cells = [
        new_code_cell("import numpy as np\nimport time\nfrom helpers import mode\nMODE = mode.current()",
                      metadata=_meta("setup", locked=True)),
        new_code_cell("def sigmoid(z):\n    ### BEGIN SOLUTION\n    z = np.asarray(z, dtype=float)\n"
                      "    e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
                      "    ### END SOLUTION", metadata=_meta("sigmoid-solution", solution=True)),
        new_code_cell("from checker import check\ncheck(\"sigmoid\", sigmoid)",
                      metadata=_meta("test-sigmoid", grade=True, locked=True, points=1)),
        new_code_cell("SLOW = sum(range(10))\nprint(SLOW)",
                      metadata={**_meta("experiment", locked=True), "coursepack": {"grading": "skip"}}),
        new_code_cell("def l2_penalty(w, lam):\n    ### BEGIN SOLUTION\n"
                      "    return 0.5 * lam * np.sum(w ** 2), lam * w\n    ### END SOLUTION",
                      metadata=_meta("l2_penalty-solution", solution=True)),
        new_code_cell("from checker import check\ncheck(\"l2_penalty\", l2_penalty)",
                      metadata=_meta("test-l2_penalty", grade=True, locked=True, points=2)),
        new_code_cell("print('the lecture demo')", metadata=_meta("demo", locked=True)),
    ]
    return nb


@pytest.fixture(scope="module")
def modes_course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("modes-course"), fixtures={FIX: {FIX_NAME: _fixture_source()}})
    good = solved(release_nb(root, FIX, FIX_NAME), _fixture_source())
    submit(root, "good", FIX, FIX_NAME, good)
    return root, good


def test_graded_and_all_modes_give_the_same_scores(modes_course):
    root, _ = modes_course
    grade(root, jobs=1, trusted=True, students=["good"], cells="all")
    full = scores(root, "good", FIX)
    all_rec = record(root, "good", FIX, "modes")
    grade(root, jobs=1, trusted=True, students=["good"])
    assert scores(root, "good", FIX) == full == {"test-sigmoid": (1.0, 1.0), "test-l2_penalty": (2.0, 2.0)}
    rec = record(root, "good", FIX, "modes")
    assert all_rec["grading_cells"]["not_run"] == []
    assert rec["grading_cells"]["not_run"] == [3, 6]
    assert rec["grading_cells"]["imports_left_out"] == {"0": ["time"]}
    nb = nbformat.read(root / "autograded" / "good" / FIX / FIX_NAME, as_version=4)
    assert gc.NOTE in json.dumps(nb.cells[3].outputs) and "import time" in nb.cells[0].source


@pytest.mark.sandbox
def test_a_submission_cannot_choose_what_is_skipped(modes_course):
    """A loop where the student would like grading not to look: in a cell of their own
    that carries the mark in its metadata (it runs: the per-cell timeout stops it), and
    after the last test (not run: no timeout, nothing flagged)."""
    root, good = modes_course
    own = copy.deepcopy(good)
    own.cells.insert(4, new_code_cell("print('own cell ran')\nwhile True:\n    pass",
                                      metadata={"coursepack": {"grading": "skip"}}))
    own.cells[1].metadata["coursepack"] = {"grading": "skip"}       # the solution cell too
    submit(root, "own-mark", FIX, FIX_NAME, own)
    tail = copy.deepcopy(good)
    tail.cells.append(new_code_cell("while True:\n    pass"))
    submit(root, "tail-loop", FIX, FIX_NAME, tail)
    report = grade(root, jobs=2, students=["own-mark", "tail-loop"], cell_timeout=10, timeout=200)
    got = {r["student"]: r for r in report["submissions"]}
    full = {"test-sigmoid": (1.0, 1.0), "test-l2_penalty": (2.0, 2.0)}
    assert scores(root, "own-mark", FIX) == full == scores(root, "tail-loop", FIX)

    def outputs(student, needle):
        nb = nbformat.read(root / "autograded" / student / FIX / FIX_NAME, as_version=4)
        cell = next(c for c in nb.cells if needle in c.source)
        return json.dumps(cell.outputs)

    ran = outputs("own-mark", "own cell ran")
    assert "own cell ran" in ran and "Timeout" in ran and gc.NOTE not in ran
    assert any("time limit" in f or "timeout" in f.lower() for f in got["own-mark"]["flags"]), got["own-mark"]
    assert gc.NOTE in outputs("tail-loop", "while True") and got["tail-loop"]["flags"] == []


def test_bench_prints_the_per_notebook_seconds(tmp_path, monkeypatch):
    """make bench's grading part: grader.throughput's per-notebook seconds and grading
    mode reach bench.json and the printed table (a fake measurement: no timing here)."""
    import bench.speed as speed
    from grader import throughput

    fake = {"grading_per_min_jobs1": 12.0, "grading_per_min_jobs2": 20.0,
            "grading_speedup_jobs2": 1.67, "grading_seconds_jobs1": 50.0,
            "grading_seconds_jobs2": 30.0, "grading_submissions": 10, "grading_students": 2,
            "grading_assignments": ["02_logistic"], "grading_kernel": "k", "grading_cells": "graded",
            "grading_seconds_per_notebook": {"02_logistic": 5.1, "05_mlp": 6.2}}
    monkeypatch.setattr(throughput, "measure", lambda **kw: dict(fake))
    result = speed.run(quick=True, output=tmp_path / "bench.json", with_torch=False,
                       single_thread=False, grading=True)
    assert json.loads((tmp_path / "bench.json").read_text())["grading_seconds_per_notebook"] == \
        fake["grading_seconds_per_notebook"]
    text = speed.format_table(result)
    assert "grading mode graded" in text and "02_logistic 5.1" in text and "05_mlp 6.2" in text
