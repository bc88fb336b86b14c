"""Round trip of the tutor workflow: release -> submissions -> autograde -> feedback -> CSV.

Three parts:
- unit tests of the structure rebuild, the check-call parser and the hidden-test stripper
  (no kernel);
- a fixture course (a tiny notebook, fast) with the awkward students: tampered structure,
  stderr warnings, an infinite loop, a killed kernel, broken JSON, a patched checker, a
  forged seed; plus feedback and serial-vs-parallel equality;
- the real notebooks, discovered from solutions/*/*.ipynb: the instructor version gets
  full marks on every autograded cell, the untouched release 0 without crashing, and one
  typical mistake per gradient exercise (tests/mistakes.py) loses exactly that
  exercise's test cells.
"""
import copy
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import pipeline
from grader.export import export_grades
from grader.preprocessors import expected_checks, rebuild_from_release, strip_hidden_tests
from grading_support import (
    FIXTURE_ASSIGNMENT,
    FIXTURE_NAME,
    FIXTURE_POINTS,
    GRADIENT_EXERCISES,
    edited,
    exercise_functions,
    fixture_source,
    grade,
    make_course,
    released_course,
    read_csv,
    record,
    release_nb,
    scores,
    solved,
    source_notebooks,
    submit,
    autograded_cells,
    with_mistake,
)

FIX_NB = Path(FIXTURE_NAME).stem
# Per-cell scores of every student of the fixture course, written by main's code before the
# checker moved out of helpers/ (issue 14). COURSE_WRITE_GOLDEN=1 writes the file instead of
# comparing (only for an intended change of grades).
GOLDEN_GRADES = Path(__file__).resolve().parent / "data" / "grades.json"


# ---------------------------------------------------------------------------------------
# Unit tests (no kernel)

def _cell(kind, gid, source="", **nbg):
    meta = {"nbgrader": {"grade_id": gid, "grade": False, "solution": False, "locked": False,
                         "schema_version": 3, **nbg}} if gid else {}
    make = new_code_cell if kind == "code" else new_markdown_cell
    return make(source, metadata=meta)


def _release():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [
        _cell("markdown", "intro", "# Intro", locked=True),
        _cell("code", "f-solution", "def f(x):\n    raise NotImplementedError()", solution=True),
        _cell("code", "test-f", 'check("f", f)', grade=True, locked=True, points=2),
        _cell("markdown", "answer-a", "YOUR ANSWER HERE", grade=True, solution=True, points=1),
    ]
    return nb


FULL = {"test-f": 'check("f", f)\n### BEGIN HIDDEN TESTS\ncheck("f", f, hidden=True)\n### END HIDDEN TESTS'}


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_rebuild_leaves_an_honest_submission_alone():
    sub = copy.deepcopy(_release())
    sub.cells[1].source = "def f(x):\n    return 2 * x"
    sub.cells.insert(2, new_code_cell("print(f(3))"))
    sub.cells[4].source = "My answer: ![plot](attachment:plot.png)"
    sub.cells[4].attachments = {"plot.png": {"image/png": "iVBORw0KGgo="}}
    nb, flags = rebuild_from_release(json.loads(nbformat.writes(sub)), _release(), FULL)
    assert flags == []
    assert nb.cells[4].attachments == {"plot.png": {"image/png": "iVBORw0KGgo="}}
    assert _ids(nb) == ["intro", "f-solution", None, "test-f", "answer-a"]
    assert nb.cells[1].source == "def f(x):\n    return 2 * x"
    assert nb.cells[3].source == FULL["test-f"]  # hidden tests back from the gradebook
    nbformat.validate(nb)


def test_rebuild_normalises_a_tampered_structure():
    rel = _release()
    sub = copy.deepcopy(rel)
    first = copy.deepcopy(sub.cells[1])
    first.source = "def f(x):\n    return 2 * x"
    second = copy.deepcopy(first)
    second.source = "def f(x):\n    return 0"
    edited_test = copy.deepcopy(sub.cells[2])
    edited_test.source = "pass  # no checks"
    edited_test.metadata["nbgrader"]["points"] = 100
    extra = _cell("code", "test-bonus", "print('free points')", grade=True, locked=True, points=50)
    answer_as_code = copy.deepcopy(sub.cells[3])
    answer_as_code.cell_type = "code"
    answer_as_code.outputs, answer_as_code.execution_count = [], None
    sub.cells = [answer_as_code, first, edited_test, copy.deepcopy(edited_test), second, extra,
                 {"not": "a cell"}]   # intro deleted, answer moved to the top, cells duplicated
    raw = json.loads(json.dumps(sub))
    nb, flags = rebuild_from_release(raw, rel, FULL)
    text = "\n".join(flags)
    assert [g for g in _ids(nb) if g] == ["intro", "f-solution", "test-f", "answer-a"]
    assert nb.cells[1].source == "def f(x):\n    return 2 * x"        # first copy kept
    assert nb.cells[2].source == FULL["test-f"]                       # test restored
    assert nb.cells[2].metadata["nbgrader"]["points"] == 2
    assert nb.cells[_ids(nb).index("answer-a")].cell_type == "markdown"
    # the extra cell with a graded id survives only as an ordinary cell
    extras = [c for c in nb.cells if "free points" in c.source]
    assert len(extras) == 1 and "nbgrader" not in extras[0].metadata
    for expected in ("'intro' was deleted", "'f-solution' is duplicated", "'test-f' is duplicated",
                     "'test-f' was edited", "'test-f': nbgrader metadata changed (points)",
                     "changed from markdown to code", "unknown graded id 'test-bonus'",
                     "moved", "not a valid notebook cell"):
        assert expected in text, f"missing flag {expected!r} in:\n{text}"
    nbformat.validate(nb)


def test_rebuild_survives_a_notebook_without_cells():
    nb, flags = rebuild_from_release({"metadata": {}, "nbformat": 4}, _release(), FULL)
    assert _ids(nb) == ["intro", "f-solution", "test-f", "answer-a"]
    assert any("no list of cells" in f for f in flags)


def test_expected_checks_reads_calls_not_comments():
    src = ('from checker import check\n# check("fake", f)\ncheck("dense", dense_forward, '
           'dense_backward)\n### BEGIN HIDDEN TESTS\ncheck("dense", dense_forward, dense_backward, '
           'hidden=True)\n### END HIDDEN TESTS\ns = "check(\'x\')"')
    assert expected_checks(src) == [("dense", False), ("dense", True)]
    assert expected_checks("pass") == []


def test_hidden_seeds_are_handed_to_the_test_cell_that_runs_them():
    """The grader's preamble gives a test cell the seeds of its own hidden checks, and
    nothing else; a seed depends on the run's key and the exercise, never on the visible
    seed the kernel has; the kernel never gets the key."""
    from checker import wire
    from grader import sandbox, settings
    from grader.preprocessors import hidden_seed, hidden_seed_preamble

    line = hidden_seed_preamble("k1", FULL["test-f"])
    assert line.startswith('__import__("checker.wire").wire.receive_hidden_seeds(')
    assert hidden_seed("k1", "f") in line and hidden_seed("k1", "g") not in line
    assert hidden_seed_preamble("k1", 'check("f", f)') is None          # no hidden check
    assert len({hidden_seed(k, e) for k in ("k1", "k2") for e in ("f", "g")}) == 4
    try:
        exec(line, {})
        assert wire.take_hidden_seed("f") == hidden_seed("k1", "f")
        assert wire.take_hidden_seed("f") is None                      # one check only
    finally:
        wire._HIDDEN_SEEDS.clear()
    assert settings.HIDDEN_KEY not in sandbox.PASSED_VARIABLES


def test_strip_hidden_tests():
    src = 'check("f", f)\n### BEGIN HIDDEN TESTS\ncheck("f", f, hidden=True)\n### END HIDDEN TESTS\nprint(1)'
    out = strip_hidden_tests(src)
    assert "hidden=True" not in out and "BEGIN HIDDEN" not in out
    assert out.startswith('check("f", f)') and out.endswith("print(1)")
    assert "hidden=True" not in strip_hidden_tests("### BEGIN HIDDEN TESTS\ncheck(1, hidden=True)")


# ---------------------------------------------------------------------------------------
# Fixture course: the awkward students

def _inject(nb, gid, code, where="end"):
    return edited(nb, gid, lambda s: code + "\n" + s if where == "start" else s + "\n" + code)


def _tampered(nb):
    """Correct answers, but a test cell edited and duplicated, another deleted, the
    written answer turned into a code cell, an extra graded cell added, old nbformat."""
    nb = copy.deepcopy(nb)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id["test-sigmoid"].source = "print('all good')"
    answer = by_id["answer-quarter"]
    answer.cell_type, answer.outputs, answer.execution_count = "code", [], None
    extra = copy.deepcopy(by_id["intro"])
    extra.metadata["nbgrader"].update(grade_id="test-bonus", grade=True, points=10)
    extra.cell_type, extra.outputs, extra.execution_count = "code", [], None
    extra.source = "print('bonus')"
    cells = []
    for cell in nb.cells:
        if cell is by_id["test-l2_penalty"]:
            continue
        cells.append(cell)
        if cell is by_id["test-sigmoid"]:
            cells.append(copy.deepcopy(cell))
    nb.cells = cells + [extra]
    for c in nb.cells:
        c.pop("id", None)
    nb.nbformat_minor = 4
    return nb


FIXTURE_STUDENTS = {
    # student: (how the submission is built, expected autograded scores)
    "instructor": ("solved", {"test-sigmoid": 1, "test-l2_penalty": 2}),
    "untouched": ("release", {"test-sigmoid": 0, "test-l2_penalty": 0}),
    "tamper": ("tampered", {"test-sigmoid": 1, "test-l2_penalty": 2}),
    "stderr": ("stderr", {"test-sigmoid": 1, "test-l2_penalty": 2}),
    "loop": ("loop", {"test-sigmoid": 1, "test-l2_penalty": 0}),
    "kill9": ("kill9", {"test-sigmoid": 1, "test-l2_penalty": 0}),
    "exit": ("exit", {"test-sigmoid": 1, "test-l2_penalty": 0}),
    "stubborn": ("stubborn", {"test-sigmoid": 1, "test-l2_penalty": 0}),
    "badjson": ("badjson", {"test-sigmoid": 0, "test-l2_penalty": 0}),
    "empty": ("empty", {"test-sigmoid": 0, "test-l2_penalty": 0}),
    "patched": ("patched", {"test-sigmoid": 0, "test-l2_penalty": 0}),
    "seed": ("seed", {"test-sigmoid": 0, "test-l2_penalty": 0}),
}


def _fixture_submission(kind, release, good):
    if kind == "solved":
        return good
    if kind == "release":
        return copy.deepcopy(release)
    if kind == "tampered":
        return _tampered(good)
    if kind == "stderr":
        return _inject(good, "sigmoid-solution",
                       "import sys, warnings\nwarnings.warn('a harmless warning')\n"
                       "print('to stderr', file=sys.stderr)\n_ = np.exp(np.array([1000.0]))")
    if kind == "loop":
        return _inject(good, "l2_penalty-solution", "while True:\n    pass", where="start")
    if kind == "kill9":
        return _inject(good, "l2_penalty-solution", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                       where="start")
    if kind == "exit":
        return _inject(good, "l2_penalty-solution", "import os\nos._exit(3)", where="start")
    if kind == "stubborn":
        # A loop that swallows the timeout's interrupt: the kernel never answers again.
        return _inject(good, "l2_penalty-solution",
                       "while True:\n    try:\n        while True:\n            pass\n"
                       "    except KeyboardInterrupt:\n        pass", where="start")
    if kind == "empty":
        return None
    if kind == "badjson":
        return nbformat.writes(good)[:-40]
    if kind == "patched":
        # The checker replaced by one that only prints success: no payload, no points.
        return _inject(good, "sigmoid-solution",
                       "import checker\nchecker.check = lambda *a, **k: print('passed')")
    if kind == "seed":
        return _inject(good, "sigmoid-solution", "import os\nos.environ['COURSE_CHECK_SEED'] = '12345'")
    raise ValueError(kind)


@pytest.fixture(scope="module")
def fixture_course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("fixture-course"),
                       fixtures={FIXTURE_ASSIGNMENT: {FIXTURE_NAME: fixture_source()}})
    release = release_nb(root, FIXTURE_ASSIGNMENT, FIXTURE_NAME)
    good = solved(release, fixture_source())
    for student, (kind, _) in FIXTURE_STUDENTS.items():
        nb = _fixture_submission(kind, release, good)
        if nb is None:      # a submission folder without the notebook
            (root / "submitted" / student / FIXTURE_ASSIGNMENT).mkdir(parents=True)
        else:
            submit(root, student, FIXTURE_ASSIGNMENT, FIXTURE_NAME, nb)
    report = grade(root, jobs=2, cell_timeout=15, timeout=240)
    csv_path = export_grades(root, root / "grades-parallel.csv")
    return root, report, csv_path


@pytest.mark.sandbox
@pytest.mark.parametrize("student", sorted(FIXTURE_STUDENTS))
@pytest.mark.sandbox
def test_fixture_student_scores(fixture_course, student):
    root, report, _ = fixture_course
    expected = FIXTURE_STUDENTS[student][1]
    got = scores(root, student, FIXTURE_ASSIGNMENT)
    assert got is not None, f"{student} was not graded"
    auto = {gid: got[gid][0] for gid in FIXTURE_POINTS}
    wanted = {gid: float(FIXTURE_POINTS[gid] if v else 0) for gid, v in expected.items()}
    assert auto == wanted, json.dumps(record(root, student, FIXTURE_ASSIGNMENT, FIX_NB), indent=1)
    # exactly one grade per graded cell: nothing lost or doubled
    assert set(got) == {"test-sigmoid", "test-l2_penalty", "answer-quarter"}


@pytest.mark.sandbox
def test_fixture_grades_are_the_recorded_ones(fixture_course):
    """Every cell's score of every fixture student, as graded before issue 14's refactor."""
    root, _, _ = fixture_course
    grades = {student: {gid: score for gid, (score, _) in scores(root, student, FIXTURE_ASSIGNMENT).items()}
              for student in sorted(FIXTURE_STUDENTS)}
    if os.environ.get("COURSE_WRITE_GOLDEN") == "1":
        GOLDEN_GRADES.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_GRADES.write_text(json.dumps(grades, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert grades == json.loads(GOLDEN_GRADES.read_text(encoding="utf-8"))


@pytest.mark.sandbox
def test_report_lists_every_student(fixture_course):
    root, report, _ = fixture_course
    assert sorted(r["student"] for r in report["submissions"]) == sorted(FIXTURE_STUDENTS)
    saved = json.loads((root / "build" / "grading" / "report.json").read_text())
    assert saved["seed"] == report["seed"] and saved["seed"]
    assert saved["cell_timeout_s"] == 15


@pytest.mark.sandbox
def test_tampering_is_flagged_and_normalised(fixture_course):
    root, report, _ = fixture_course
    flags = "\n".join(record(root, "tamper", FIXTURE_ASSIGNMENT, FIX_NB)["flags"])
    for expected in ("'test-sigmoid' is duplicated", "'test-sigmoid' was edited",
                     "'test-l2_penalty' was deleted", "'answer-quarter' was changed from markdown to code",
                     "unknown graded id 'test-bonus'"):
        assert expected in flags, flags
    assert record(root, "instructor", FIXTURE_ASSIGNMENT, FIX_NB)["flags"] == []


@pytest.mark.sandbox
def test_stderr_warnings_cost_nothing(fixture_course):
    root, _, _ = fixture_course
    verdicts = record(root, "stderr", FIXTURE_ASSIGNMENT, FIX_NB)["verdicts"]
    assert all(v["passed"] for v in verdicts.values())


@pytest.mark.parametrize("student,words", [("loop", "Timeout"), ("kill9", "kernel died"), ("exit", "kernel died"),
                                           ("stubborn", "stopped responding")])
@pytest.mark.sandbox
def test_broken_kernels_fail_only_what_they_broke(fixture_course, student, words):
    root, _, _ = fixture_course
    rec = record(root, student, FIXTURE_ASSIGNMENT, FIX_NB)
    assert rec["verdicts"]["test-sigmoid"]["passed"]
    assert not rec["verdicts"]["test-l2_penalty"]["passed"]
    nb = nbformat.read(root / "autograded" / student / FIXTURE_ASSIGNMENT / FIXTURE_NAME, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert words.lower() in text.lower()


@pytest.mark.sandbox
def test_invalid_json_gets_zero_with_a_reason(fixture_course):
    root, report, _ = fixture_course
    row = next(r for r in report["submissions"] if r["student"] == "badjson")
    assert row["score"] == 0 and any("not valid JSON" in z for z in row["zero_reasons"])


@pytest.mark.sandbox
def test_missing_notebook_gets_zero_with_a_reason(fixture_course):
    root, report, _ = fixture_course
    row = next(r for r in report["submissions"] if r["student"] == "empty")
    assert row["score"] == 0 and any("no notebook submitted" in z for z in row["zero_reasons"])


@pytest.mark.sandbox
def test_missing_or_forged_verdicts_fail_and_are_flagged(fixture_course):
    root, _, _ = fixture_course
    patched = record(root, "patched", FIXTURE_ASSIGNMENT, FIX_NB)
    assert "no trusted verdict" in patched["verdicts"]["test-sigmoid"]["message"]
    assert any("fewer check results" in f for f in patched["flags"]), patched["flags"]
    seed = record(root, "seed", FIXTURE_ASSIGNMENT, FIX_NB)
    assert any("not the grader's" in f for f in seed["flags"]), seed["flags"]


@pytest.mark.sandbox
def test_feedback_has_verdicts_but_no_hidden_tests(fixture_course):
    root, _, _ = fixture_course
    written = pipeline.feedback(root, students=["instructor", "untouched"], log=lambda *_: None)
    assert len(written) == 2
    for path in written:
        html = path.read_text(encoding="utf-8")
        assert "hidden=True" not in html and "BEGIN HIDDEN TESTS" not in html
        assert "sigmoid" in html
    untouched = next(p for p in written if "untouched" in p.parts).read_text(encoding="utf-8")
    instructor = next(p for p in written if "instructor" in p.parts).read_text(encoding="utf-8")
    assert "sigmoid raised NotImplementedError" in untouched     # the trusted verdict
    assert "hidden check: sigmoid" in instructor and "passed" in instructor


@pytest.mark.sandbox
def test_csv_lists_every_student_with_gradebook_totals(fixture_course):
    root, _, csv_path = fixture_course
    rows = {r["student_id"]: r for r in read_csv(csv_path)}
    assert sorted(rows) == sorted(FIXTURE_STUDENTS)
    for student, (_, expected) in FIXTURE_STUDENTS.items():
        total = sum(FIXTURE_POINTS[g] for g, v in expected.items() if v)
        assert float(rows[student][FIXTURE_ASSIGNMENT]) == total
        assert float(rows[student]["total"]) == total
    assert "duplicated" in rows["tamper"]["flags"] and rows["instructor"]["flags"] == ""
    assert "not valid JSON" in rows["badjson"]["flags"]


@pytest.mark.sandbox
def test_serial_regrade_equals_parallel_run(fixture_course):
    """Grade a subset again, serially, in the same course: same CSV rows as the parallel
    run (and a re-grade neither loses nor doubles grades)."""
    root, _, parallel_csv = fixture_course
    subset = ["instructor", "untouched", "tamper", "badjson"]
    grade(root, jobs=1, students=subset, cell_timeout=15, timeout=240)
    serial = {r["student_id"]: r for r in read_csv(export_grades(root, root / "grades-serial.csv"))}
    parallel = {r["student_id"]: r for r in read_csv(parallel_csv)}
    for student in subset:
        assert serial[student] == parallel[student]
    assert set(serial) == set(parallel)


@pytest.mark.sandbox
def test_cli_export_and_errors(fixture_course, tmp_path):
    """`python -m grader` as the Makefile calls it: export writes the same CSV; a step
    that cannot run exits 2 with a message naming the problem."""
    import subprocess
    import sys

    root, _, _ = fixture_course
    out = tmp_path / "cli.csv"
    run = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "export", "--to", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert read_csv(out) == read_csv(export_grades(root, tmp_path / "api.csv"))
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run([sys.executable, "-m", "grader", "--root", str(empty), "autograde"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "nbgrader_config.py" in run.stderr
    (empty / "nbgrader_config.py").write_text((root / "nbgrader_config.py").read_text())
    run = subprocess.run([sys.executable, "-m", "grader", "--root", str(empty), "autograde", "--unsafe"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "nothing to grade" in run.stderr


def _processes_with_seed(seed):
    """Processes (kernels, sandboxes, nbgrader) that still carry this grading run's seed."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("COURSE_CHECK_SEED") == seed:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.mark.sandbox
def test_wall_clock_cap_stops_a_submission_and_its_kernel(fixture_course):
    """A loop longer than the submission cap (per-cell timeout set higher): the process
    and its kernel are killed, the submission gets 0 with the reason, nothing survives."""
    root, _, _ = fixture_course
    release = release_nb(root, FIXTURE_ASSIGNMENT, FIXTURE_NAME)
    good = solved(release, fixture_source())
    submit(root, "overtime", FIXTURE_ASSIGNMENT, FIXTURE_NAME, _fixture_submission("loop", release, good))
    report = grade(root, jobs=1, students=["overtime"], cell_timeout=600, timeout=25)
    row = report["submissions"][0]
    assert row["student"] == "overtime" and row["score"] == 0
    assert any("stopped after 25 s" in z for z in row["zero_reasons"]), row
    assert _processes_with_seed(report["seed"]) == []


# ---------------------------------------------------------------------------------------
# The real notebooks

SOURCES = source_notebooks()


def _mistakes():
    try:
        import mistakes
    except ImportError:
        return {}, {}
    return mistakes.MISTAKES, getattr(mistakes, "CORRECT", {})


def _mistake_cases():
    """[(assignment, notebook path, exercise)] for each gradient exercise of each notebook
    that tests/mistakes.py has a mistake for."""
    mistakes, _ = _mistakes()
    cases = []
    for assignment, path in SOURCES:
        nb = nbformat.read(path, as_version=4)
        for exercise in exercise_functions(nb):
            if exercise in GRADIENT_EXERCISES and mistakes.get(exercise):
                cases.append((assignment, path, exercise))
    return cases


MISTAKE_CASES = _mistake_cases()


@pytest.fixture(scope="module")
def real_course(tmp_path_factory):
    """Every discovered assignment; students: the instructor version, the untouched
    release, and one student per (gradient exercise, first mistake); graded in one batch."""
    if not SOURCES:
        pytest.skip("no solutions/*/*.ipynb yet")
    mistakes, correct = _mistakes()
    root = released_course()
    for assignment, path in SOURCES:
        release = release_nb(root, assignment, path.name)
        good = solved(release, nbformat.read(path, as_version=4))
        submit(root, "instructor", assignment, path.name, good)
        submit(root, "untouched", assignment, path.name, release)
    for assignment, path, exercise in MISTAKE_CASES:
        release = release_nb(root, assignment, path.name)
        good = solved(release, nbformat.read(path, as_version=4))
        names = exercise_functions(good)[exercise]
        bad = with_mistake(good, exercise, mistakes[exercise][0], names, correct.get(exercise))
        submit(root, f"mistake-{exercise}", assignment, path.name, bad)
    report = grade(root, jobs=2, trusted=True)   # notebooks written by this repository
    return root, report


def _auto_cells(root, assignment, path):
    return autograded_cells(release_nb(root, assignment, path.name))


@pytest.mark.parametrize("assignment,path", SOURCES, ids=[a for a, _ in SOURCES])
def test_instructor_version_gets_full_marks(real_course, assignment, path):
    root, _ = real_course
    got = scores(root, "instructor", assignment)
    lost = {g: got[g] for g in _auto_cells(root, assignment, path) if got[g][0] != got[g][1]}
    verdicts = record(root, "instructor", assignment, path.stem).get("verdicts", {})
    assert not lost, {g: verdicts.get(g, {}).get("message") for g in lost}


@pytest.mark.parametrize("assignment,path", SOURCES, ids=[a for a, _ in SOURCES])
def test_untouched_release_gets_zero(real_course, assignment, path):
    root, report = real_course
    got = scores(root, "untouched", assignment)
    assert {g: got[g][0] for g in _auto_cells(root, assignment, path)} == \
        {g: 0.0 for g in _auto_cells(root, assignment, path)}
    row = next(r for r in report["submissions"] if r["student"] == "untouched" and r["assignment"] == assignment)
    assert row["zero_reasons"] == [] and row["exit_code"] == 0   # graded, not crashed


@pytest.mark.parametrize("assignment,path,exercise", MISTAKE_CASES,
                         ids=[f"{a}-{e}" for a, _, e in MISTAKE_CASES])
def test_one_mistake_loses_only_its_exercise(real_course, assignment, path, exercise):
    root, _ = real_course
    got = scores(root, f"mistake-{exercise}", assignment)
    cells = _auto_cells(root, assignment, path)
    hit = {g for g, checks in cells.items() if any(e == exercise for e, _ in checks)}
    assert hit, f"no test cell checks {exercise}"
    verdicts = record(root, f"mistake-{exercise}", assignment, path.stem).get("verdicts", {})
    wrong = {g: got[g] for g in cells if got[g][0] != (0.0 if g in hit else got[g][1])}
    assert not wrong, {g: verdicts.get(g, {}).get("message") for g in wrong}


def test_real_course_csv_totals(real_course):
    root, _ = real_course
    rows = {r["student_id"]: r for r in read_csv(export_grades(root))}
    expected_students = {"instructor", "untouched"} | {f"mistake-{e}" for _, _, e in MISTAKE_CASES}
    assert set(rows) == expected_students
    full = 0.0
    for assignment, path in SOURCES:
        got = scores(root, "instructor", assignment)
        full += sum(got[g][1] for g in _auto_cells(root, assignment, path))
    assert float(rows["instructor"]["total"]) == full     # written answers wait for the tutor
    assert float(rows["untouched"]["total"]) == 0.0
    for student, row in rows.items():
        per_assignment = sum(float(row[a]) for a in sorted({a for a, _ in SOURCES}))
        assert float(row["total"]) == pytest.approx(per_assignment)
