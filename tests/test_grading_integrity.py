"""Grading a tutor can trust (issue 8): tampering submissions gain nothing and are flagged.

Part 1, fast: grader.flags on hand-written cells (each construct, and no flag on the real
instructor solutions).

Part 2, a throw-away course with the real 01_derivations assignment (no MNIST needed):
an honest student, a wrong one (l2_penalty without its 1/2) and an untouched release,
next to one student per attack. Every attacker starts from the wrong submission and
tries to make l2_penalty pass (or to hurt others); the attack code is the Python text in
ATTACKS, one per student, with a comment saying what it attacks. Graded in the sandbox
in the sandbox only: without it the attack tests skip (fail in CI) and no attack runs.

Proved: the honest one gets full marks, the untouched release 0; no attacker scores
above the wrong one and every attacker is flagged (report and CSV); grading the attackers
changes nothing outside their own scratch folders (the gradebook rows and autograded
folders of the others, submitted/, solutions/, notebooks/, the repository, sentinel
paths, the repository file an attack appends to: hashed before and after); the batch
completes; a serial run (JOBS=1) exports the
same CSV as the parallel one (JOBS=2).
"""
import contextlib
import copy
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

import grading_support as gs
from grader import flags
from grader.export import export_grades
from grader.preprocessors import _checked_exercises

ASSIGNMENT = "01_derivations"
NAME = "derivations.ipynb"
TARGET = "l2_penalty-solution"          # the exercise every attacker wants to pass
WRONG_L2 = (
    "def l2_penalty(w, lam):\n"
    "    \"\"\"L2 penalty and its gradient (wrong: the 1/2 is missing).\"\"\"\n"
    "    return lam * np.sum(w ** 2), lam * w\n"
)
CELL_TIMEOUT = 40
MEMORY_LIMIT_MB = 3000


# ---------------------------------------------------------------------------------------
# Part 1: grader.flags on small notebooks

def _tiny(student_code, setup="import numpy as np"):
    """(submission, release, exercises) with one solution cell holding ``student_code``
    and a test cell checking l2_penalty."""
    def meta(gid, **kw):
        return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False,
                             "solution": False, "locked": False, **kw}}
    release = nbformat.v4.new_notebook(cells=[
        new_code_cell(setup, metadata=meta("setup", locked=True)),
        new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()", metadata=meta(TARGET, solution=True)),
        new_code_cell('from checker import check\ncheck("l2_penalty", l2_penalty)',
                      metadata=meta("test-l2", grade=True, locked=True, points=1)),
    ])
    sub = copy.deepcopy(release)
    sub.cells[1].source = student_code
    return sub, release, {"l2_penalty": "test-l2"}


HONEST_L2 = "def l2_penalty(w, lam):\n    return 0.5 * lam * np.sum(w ** 2), lam * w\n"


@pytest.mark.parametrize("code,expected,severe", [
    ("np.allclose = lambda *a, **k: True", "numpy.allclose (changes an imported module", True),
    ("import checker\nchecker.check = print", "checker.check", True),
    ("import builtins\nbuiltins.print = None", "builtins", True),
    ("get_ipython().events.register('pre_run_cell', print)", "event hook", True),
    ("get_ipython().input_transformers_cleanup.append(lambda l: l)", "execution machinery", True),
    ("import sys\nsys.settrace(None)", "sys.settrace", True),
    ("import os\nif os.environ.get('COURSE_GRADING'): pass", "os.environ", False),
    ("open('../../../gradebook.db')", "outside the scratch folder", False),
    ("import sqlite3", "sqlite3", False),
    ("import subprocess\nsubprocess.run(['ls'])", "subprocess", True),
    ("import os\nos.system('ls')", "os.system", False),
    ("exec('x = 1')", "uses exec", True),
    ("m = __import__('helpers')", "__import__", True),
    ("import importlib\nimportlib.import_module('helpers.regularization')", "importlib", True),
    ("import sys\nsys.modules['numpy'].allclose", ".modules", True),
    ("f = l2_penalty.__globals__", "__globals__", True),
    ("import mysolution", "not installed", True),
    ("!ls ..", "shell command", False),
    ("%run ../../../solutions/x.py", "%run", False),
    ("display({'application/vnd.coursepack.check+json': {}})", "grading environment", True),
    ("import numpy\nx = numpy.load('w.npy', allow_pickle=True)", "pickled", True),
    ("def check(*a, **k):\n    pass", "redefines check", True),
])
def test_each_construct_is_flagged(code, expected, severe):
    sub, release, exercises = _tiny(HONEST_L2 + code)
    found = flags.scan(sub, release, exercises)
    assert any(expected in f and f.startswith(f"solution cell {TARGET!r}") for f in found), found
    assert (flags.SEVERE_SUMMARY in found) == severe, found
    zeroed = flags.zeroed_exercises(found, exercises)
    assert ("l2_penalty" in zeroed) == severe


@pytest.mark.parametrize("code", [
    "from helpers.regularization import l2_penalty",
    "from helpers.regularization import l2_penalty as mine\nl2_penalty = mine",
    "import helpers.regularization as R\ndef l2_penalty(w, lam):\n    return R.l2_penalty(w, lam)",
    # through the student's own helper function
    "from helpers import regularization\ndef _inner(w, lam):\n    return regularization.penalty(w, lam, 'l2')\n"
    "def l2_penalty(w, lam):\n    return _inner(w, lam)",
])
def test_reference_use_zeroes_the_exercise(code):
    sub, release, exercises = _tiny(code)
    found = flags.scan(sub, release, exercises)
    assert any("reference helpers.regularization" in f for f in found), found
    assert set(flags.zeroed_exercises(found, exercises)) == {"l2_penalty"}


def test_reference_used_by_the_instructor_solution_is_allowed():
    code = "from helpers import regularization\ndef l2_penalty(w, lam):\n    return regularization.l2_penalty(w, lam)"
    sub, release, exercises = _tiny(code)
    source = copy.deepcopy(sub)          # the instructor solution does the same
    assert flags.scan(sub, release, exercises, source_nb=source) == []
    assert flags.scan(sub, release, exercises) != []


def test_honest_code_and_release_cells_are_not_flagged():
    sub, release, exercises = _tiny(HONEST_L2 + "\nimport matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80\n"
                                    "%matplotlib inline\nprint(np.allclose(1, 1))")
    assert flags.scan(sub, release, exercises) == []


def test_unparsable_cell_is_reported_not_raised():
    sub, release, exercises = _tiny("def l2_penalty(w, lam:\n")
    found = flags.scan(sub, release, exercises)
    assert len(found) == 1 and "not scanned" in found[0]


@pytest.mark.parametrize("assignment,path", gs.source_notebooks(), ids=[f"{a}/{p.name}" for a, p in gs.source_notebooks()])
def test_instructor_solutions_raise_no_flag(assignment, path):
    release_path = gs.REPO / "notebooks" / assignment / path.name
    if not release_path.is_file():
        pytest.skip(f"{release_path} not released yet")
    source = gs.read_nb(path)
    release = gs.read_nb(release_path)
    exercises = _checked_exercises(source.cells)
    assert flags.scan(gs.solved(release, source), release, exercises, source_nb=source) == []
    assert flags.scan(release, release, exercises, source_nb=source) == []


def test_execution_flags():
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("a"), new_code_cell("b"), new_code_cell("c"),
                                         new_code_cell("d")])
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="MemoryError", evalue="", traceback=[])]
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="KernelDied", evalue="", traceback=[])]
    nb.cells[2].outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue="", traceback=[])]
    nb.cells[3].outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue="", traceback=[])]
    found = flags.execution_flags(nb)
    assert found[0].startswith("cell 0: ran out of memory") and found[1].startswith("cell 1: the kernel died")
    assert found[2].startswith("2 later code cell(s) were not run")


# ---------------------------------------------------------------------------------------
# Part 2: a throw-away course with one student per attack

def _attacks(root):
    """{student: (how, code)}: ``how`` is "append" (to the l2_penalty solution cell,
    after the wrong definition), "cell" (a new cell after it) or a callable that edits
    the whole notebook. ``root``: the course root (for absolute paths)."""
    repo = gs.REPO
    return {
        "patch-numpy": ("append", '''
# ATTACK: numpy's comparison helpers always say "equal"
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
'''),
        "patch-pack": ("append", '''
# ATTACK: the pack's own checking code always passes
import checker, checker.judge, helpers.gradcheck
checker.judge.verify = lambda *args, **kwargs: checker.judge.Verdict(True, "passed")
checker.judge.judge_payload = lambda *args, **kwargs: checker.judge.Verdict(True, "passed")
checker.check = lambda exercise, *functions, hidden=False: print(exercise + ": passed")
helpers.gradcheck.relative_error = lambda a, b, floor=1e-12: 0.0
'''),
        "patch-builtins": ("append", '''
# ATTACK: builtins: every later import hands the test cells a check() that prints "passed"
import builtins
_real_import = builtins.__import__
def _fake_import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    if name == "checker":
        module.check = lambda exercise, *functions, hidden=False: print(exercise + ": passed")
    return module
builtins.__import__ = _fake_import
'''),
        "exec-hooks": ("cell", '''
# ATTACK: change how later cells run: every test cell becomes a print, events hooked
ip = get_ipython()
ip.input_transformers_cleanup.append(
    lambda lines: ['print("passed")\\n'] if any("check(" in line for line in lines) else lines)
ip.events.register("pre_run_cell", lambda info: None)
'''),
        "forged-payload": ("cell", '''
# ATTACK: replace the l2_penalty test cell by results forged from the pack's reference
FORGE = [
    "import os\\n",
    "from checker.lessons import EXERCISES\\n",
    "from checker.runner import collect_outputs\\n",
    "from checker.wire import build_payload, emit\\n",
    "from helpers.regularization import l2_penalty as _ref\\n",
    "for _hidden in (False, True):\\n",
    "    _seed = os.environ.get('COURSE_CHECK_SEED')\\n",
    "    _outputs = collect_outputs(EXERCISES['l2_penalty'], [_ref], _seed, _hidden)\\n",
    "    emit(build_payload('l2_penalty', _hidden, _seed, _outputs))\\n",
]
get_ipython().input_transformers_cleanup.append(
    lambda lines: FORGE if any('check("l2_penalty"' in line for line in lines) else lines)
'''),
        "gradebook": ("append", f'''
# ATTACK: the SQLite gradebook by relative and absolute paths: full marks here, 0 elsewhere
import sqlite3
for path in ["../../../gradebook.db", "../../gradebook.db", {str(root / "gradebook.db")!r}]:
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET manual_score = 0")        # everyone's score ...
        db.execute("UPDATE grade SET extra_credit = 100")      # ... and a bonus
        db.commit()
        print("GRADEBOOK CHANGED", path)
    except Exception as exc:
        print("gradebook", path, type(exc).__name__)
'''),
        "other-files": ("append", f'''
# ATTACK: other students' files, the release, the repository, the tutor's home and /tmp
import os
targets = ["../../honest/01_derivations/derivations.ipynb",
           "../../../submitted/honest/01_derivations/derivations.ipynb",
           {str(root / "submitted" / "honest" / ASSIGNMENT / NAME)!r},
           {str(root / "notebooks" / ASSIGNMENT / NAME)!r},
           {str(repo / "helpers" / "__init__.py")!r},
           {str(Path.home() / "coursepack-pwned")!r}, "/tmp/coursepack-pwned"]
for path in targets:
    try:
        with open(path, "a") as fh:
            fh.write("tampered")
        print("WROTE", path)
    except OSError as exc:
        print("write", path, exc.strerror)
'''),
        "read-hidden": ("append", f'''
# ATTACK: read the hidden tests while being graded (graded notebook, source, gradebook)
for path in ["derivations.ipynb", "../../../solutions/01_derivations/derivations.ipynb",
             {str(root / "gradebook.db")!r}, {str(root / "autograded" / "honest" / ASSIGNMENT / NAME)!r},
             {str(repo / "solutions" / ASSIGNMENT / NAME)!r}]:
    try:
        with open(path, "rb") as fh:
            print("READ", path, b"HIDDEN" in fh.read())
    except OSError as exc:
        print("hidden", path, exc.strerror)
'''),
        "detects-grading": ("append", '''
# ATTACK: behave differently when graded: the pack's own l2_penalty under the grader
import os
if os.environ.get("COURSE_GRADING") == "1":
    from helpers.regularization import l2_penalty
'''),
        "reference": ("append", '''
# ATTACK: answer the exercise with the pack's reference implementation
import helpers.regularization as hr
def l2_penalty(w, lam):
    return hr.l2_penalty(w, lam)
'''),
        "edits-tests": (_edit_tests, None),
        "loops-forever": ("cell", '''
# ATTACK (robustness): a cell that never ends
while True:
    pass
'''),
        "kills-kernel": ("cell", '''
# ATTACK (robustness): kill the kernel
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
'''),
        "eats-memory": ("cell", '''
# ATTACK (robustness): exhaust memory
blocks = []
while True:
    blocks.append(np.ones(10_000_000))
'''),
        "invalid-json": ("raw", '{"cells": [ this is not JSON'),
    }


def _edit_tests(nb):
    """ATTACK: edit, duplicate and delete test cells, inflate points, change a cell type."""
    cells = []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid == "test-l2_penalty":
            cell.source = 'print("l2_penalty: passed")'
            cell.metadata["nbgrader"]["points"] = 100
            cells.extend([cell, copy.deepcopy(cell), copy.deepcopy(cell)])
        elif gid == "test-sigmoid":
            continue                                   # deleted
        elif gid == "test-softmax":
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            cells.append(cell)
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


EXPECTED_FLAG = {
    "patch-numpy": "monkeypatching",
    "patch-pack": "checker.judge",
    "patch-builtins": "builtins",
    "exec-hooks": "execution machinery",
    "forged-payload": "execution machinery",
    "gradebook": "sqlite3",
    "other-files": "outside the scratch folder",
    "read-hidden": "outside the scratch folder",
    "detects-grading": "os.environ",
    "reference": "reference helpers.regularization.l2_penalty",
    "edits-tests": "restored",
    "loops-forever": "time limit",
    "kills-kernel": "kernel died",
    "eats-memory": "memory",
    "invalid-json": "not valid JSON",
}


def _with_wrong_l2(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == TARGET:
            cell.source = WRONG_L2
            return nb
    raise LookupError(f"no cell {TARGET!r} in {ASSIGNMENT}")


def _attack_nb(wrong, how, code):
    if how == "raw":
        return code
    if callable(how):
        return how(copy.deepcopy(wrong))
    nb = copy.deepcopy(wrong)
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == TARGET:
            if how == "append":
                cell.source = cell.source + "\n" + code
            else:
                nb.cells.insert(i + 1, new_code_cell(code))
            return nb
    raise LookupError(TARGET)


def _snapshot(root, reference_students, attacks):
    """What no attack may change: the honest students' gradebook rows and folders, the
    submissions, solutions and release, and the repository file an attack targets (only
    that one: other engineers may edit the repository meanwhile)."""
    return {
        "rows": _gradebook_rows(root, reference_students),
        "autograded": gs.hash_tree(root / "autograded", exclude=[root / "autograded" / s for s in attacks]),
        "submitted": gs.hash_tree(root / "submitted"),
        "solutions": gs.hash_tree(root / "solutions"),
        "notebooks": gs.hash_tree(root / "notebooks"),
        "repo": hashlib.sha256((gs.REPO / "helpers" / "__init__.py").read_bytes()).hexdigest(),
    }


def _gradebook_rows(root, students):
    """All gradebook rows (grades and comments) of ``students``, as comparable tuples."""
    with sqlite3.connect(root / "gradebook.db") as db:
        grades = db.execute(
            "SELECT s.student_id, g.* FROM grade g JOIN submitted_notebook n ON g.notebook_id = n.id "
            "JOIN submitted_assignment s ON n.assignment_id = s.id ORDER BY g.id").fetchall()
        comments = db.execute(
            "SELECT s.student_id, c.* FROM comment c JOIN submitted_notebook n ON c.notebook_id = n.id "
            "JOIN submitted_assignment s ON n.assignment_id = s.id ORDER BY c.id").fetchall()
    return [r for r in grades + comments if r[0] in students]


SENTINELS = [Path("/tmp/coursepack-pwned"), Path.home() / "coursepack-pwned"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    gs.grading_env()
    for sentinel in SENTINELS:
        if sentinel.exists():
            sentinel.unlink()
    root = gs.make_course(tmp_path_factory.mktemp("integrity") / "course", [ASSIGNMENT])
    source = gs.read_nb(gs.REPO / "solutions" / ASSIGNMENT / NAME)
    release = gs.release_nb(root, ASSIGNMENT, NAME)
    honest = gs.solved(release, source)
    wrong = _with_wrong_l2(honest)
    gs.submit(root, "honest", ASSIGNMENT, NAME, honest)
    gs.submit(root, "wrong", ASSIGNMENT, NAME, wrong)
    gs.submit(root, "untouched", ASSIGNMENT, NAME, release)
    attacks = _attacks(root)
    for student, (how, code) in attacks.items():
        gs.submit(root, student, ASSIGNMENT, NAME, _attack_nb(wrong, how, code))
    reference_students = ["honest", "wrong", "untouched"]

    mp = pytest.MonkeyPatch()
    mp.setenv("COURSE_MEMORY_LIMIT_MB", str(MEMORY_LIMIT_MB))
    try:
        first = gs.grade(root, jobs=2, students=reference_students, cell_timeout=CELL_TIMEOUT, timeout=600)
        protected = _snapshot(root, reference_students, attacks)
        second = gs.grade(root, jobs=2, students=sorted(attacks), cell_timeout=CELL_TIMEOUT, timeout=600)
        after = _snapshot(root, reference_students, attacks)
        sentinels = {str(s): s.exists() for s in SENTINELS}
        csv_parallel = gs.read_csv(export_grades(root, root / "grades-parallel.csv"))

        # The same course graded serially from scratch (a copy without any result).
        serial = root.parent / "serial"
        shutil.copytree(root, serial, ignore=shutil.ignore_patterns("autograded", "feedback", "build", "*.csv"))
        gs.grade(serial, jobs=1, cell_timeout=CELL_TIMEOUT, timeout=600)
        csv_serial = gs.read_csv(export_grades(serial, serial / "grades-serial.csv"))
    finally:
        mp.undo()
    reports = {r["student"]: r for r in first["submissions"] + second["submissions"]}
    return {"root": root, "attacks": attacks, "protected": protected, "after": after,
            "sentinels": sentinels, "reports": reports, "csv_parallel": csv_parallel,
            "csv_serial": csv_serial}


def _row(course, student):
    return course["reports"][student]


@pytest.mark.sandbox
def test_the_batch_completed_for_everyone(course):
    expected = {"honest", "wrong", "untouched", *course["attacks"]}
    assert set(course["reports"]) == expected
    assert {r["student_id"] for r in course["csv_parallel"]} == expected


@pytest.mark.sandbox
def test_honest_full_marks_untouched_zero_wrong_in_between(course):
    honest, wrong, untouched = (_row(course, s) for s in ("honest", "wrong", "untouched"))
    assert honest["auto_score"] == honest["auto_max"] > 0, honest
    assert honest["flags"] == [] and wrong["flags"] == []
    assert untouched["auto_score"] == 0
    # l2_penalty is worth 1 point: the wrong student loses exactly that.
    assert wrong["auto_score"] == honest["auto_max"] - 1, wrong["lost"]
    assert set(wrong["lost"]) == {"test-l2_penalty"}


@pytest.mark.sandbox
@pytest.mark.parametrize("student", sorted(EXPECTED_FLAG))
@pytest.mark.sandbox
def test_attacker_gains_nothing_and_is_flagged(course, student):
    row, wrong = _row(course, student), _row(course, "wrong")
    assert row["auto_score"] <= wrong["auto_score"], (student, row["auto_score"], row["lost"])
    assert row["score"] <= wrong["score"]
    everything = row["flags"] + row["zero_reasons"]
    assert any(EXPECTED_FLAG[student] in f for f in everything), everything
    csv_row = next(r for r in course["csv_parallel"] if r["student_id"] == student)
    assert csv_row["flags"], f"{student} has no flag in the CSV"


@pytest.mark.sandbox
def test_nothing_outside_the_scratch_folders_changed(course):
    before, after = course["protected"], course["after"]
    assert after["rows"] == before["rows"], "the gradebook rows of other students changed"
    for key in ("autograded", "submitted", "solutions", "notebooks", "repo"):
        assert after[key] == before[key], f"{key} changed while the attackers were graded"
    assert not any(course["sentinels"].values()), course["sentinels"]


@pytest.mark.sandbox
def test_honest_score_survives_the_gradebook_attack(course):
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course["root"] / "gradebook.db")) as gb:
        honest = gb.find_submission(ASSIGNMENT, "honest")
        assert honest.score == pytest.approx(_row(course, "honest")["auto_max"])


@pytest.mark.sandbox
def test_hidden_tests_were_not_readable(course):
    graded = gs.read_nb(course["root"] / "autograded" / "read-hidden" / ASSIGNMENT / NAME)
    text = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "hidden " in text, "the attack did not run"
    assert "READ" not in text, text
    for student in ("gradebook", "other-files"):
        graded = gs.read_nb(course["root"] / "autograded" / student / ASSIGNMENT / NAME)
        text = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if o.get("output_type") == "stream")
        assert "GRADEBOOK CHANGED" not in text and "WROTE" not in text, text


@pytest.mark.sandbox
def test_serial_run_gives_the_same_csv(course):
    assert course["csv_serial"] == course["csv_parallel"]


def test_throughput_measure_reports_both_job_counts(monkeypatch):
    """grader.throughput.measure on the smallest assignment: the keys make bench reads,
    consistent numbers (per minute = 60 * submissions / seconds); the baseline nbgrader
    grades without any preloaded server, late_kernel forked with the kernel started late,
    and the switches are as they were afterwards."""
    from grader import nbgrader_run, settings, throughput

    gs.grading_env()
    monkeypatch.delenv(settings.GRADING_PRELOAD, raising=False)
    monkeypatch.delenv(settings.GRADING_HEADSTART, raising=False)
    servers = []

    class Recorded(nbgrader_run.Preloaded):
        def __init__(self, *args, **kwargs):
            servers.append((os.environ.get(settings.GRADING_PRELOAD),
                            os.environ.get(settings.GRADING_HEADSTART)))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(nbgrader_run, "Preloaded", Recorded)
    # Honest students only (the instructor solution): without the sandbox, a plain kernel
    # inside the throw-away isolation.
    isolation = contextlib.nullcontext() if gs.SANDBOX else gs.unsandboxed_isolation()
    with isolation:
        out = throughput.measure(jobs=(1, 2), students=2, assignments=[ASSIGNMENT],
                                 unsafe=not gs.SANDBOX, log=lambda *_: None,
                                 baseline=("all", "nbgrader", "late_kernel"))
    # the warm-up, the timed runs and "all", "late_kernel"; none while preloading is off
    assert set(servers) == {(None, None), ("1", "1"), ("1", "0")}, servers
    assert settings.GRADING_PRELOAD not in os.environ
    assert settings.GRADING_HEADSTART not in os.environ
    for baseline in ("all", "nbgrader", "late_kernel"):
        assert out[f"grading_speedup_over_{baseline}"]["whole run"] == pytest.approx(
            out["grading_per_min_jobs1"] / out[f"grading_per_min_jobs1_{baseline}"], rel=0.02)
    with pytest.raises(ValueError, match="unknown baseline"):
        throughput.measure(jobs=(1,), baseline="fastest")
    assert out["grading_submissions"] == 2
    for j in (1, 2):
        assert out[f"grading_per_min_jobs{j}"] == pytest.approx(
            60 * 2 / out[f"grading_seconds_jobs{j}"], rel=0.01)
    assert out["grading_speedup_jobs2"] == pytest.approx(
        out["grading_per_min_jobs2"] / out["grading_per_min_jobs1"], rel=0.02)
    # The baseline (every cell) grades the same submissions: the speed-ups are its ratios.
    over = out["grading_speedup_over_all"]
    assert over["whole run"] == pytest.approx(
        out["grading_per_min_jobs1"] / out["grading_per_min_jobs1_all"], rel=0.02)
    assert over[ASSIGNMENT] == pytest.approx(
        out["grading_seconds_per_notebook_all"][ASSIGNMENT]
        / out["grading_seconds_per_notebook"][ASSIGNMENT], rel=0.05)
    with pytest.raises(ValueError, match="jobs"):
        throughput.measure(jobs=(0,))
