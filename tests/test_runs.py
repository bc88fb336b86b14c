"""Progress and partial work (issue 18, item 3), with the local backend.

- the progress display: done, failed, running, rate and time left, as a line where the
  output is not a terminal and as a tqdm bar where it is;
- an interrupted run (Ctrl-C in the middle) resumes with only the ungraded submissions
  and the same seed; a changed submission is graded again; --restart grades all;
- ``make autograde STUDENT=id [ASSIGNMENT=a]`` regrades that student only;
- Slurm's array spec and its queue output are read right (no Slurm needed).
The fixture students are trusted notebooks (the instructor's solution and the release),
so without the sandbox they are graded in a plain kernel inside the test isolation.
"""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import grading_support as gs
from grader import backends, runs
from grader.progress import Progress

FIX = gs.FIXTURE_ASSIGNMENT


# ---------------------------------------------------------------------------------------
# Progress display

def test_progress_lines_say_done_failed_running_rate_and_time_left():
    lines = []
    bar = Progress(10, done=2, failed=1, log=lines.append, stream=io.StringIO(), every=0)
    bar.started -= 60                       # one minute ago
    bar.update(done=5, failed=1, running=2)
    assert lines[-1].startswith("graded 5/10 (failed 1, running 2); 3.0 per minute; about 2 min left")
    bar.update(done=10, failed=2, running=0)
    assert lines[-1].startswith("graded 10/10 (failed 2, running 0)") and "left" not in lines[-1]
    n = len(lines)
    bar.update(force=True)                  # nothing changed: no repeated line
    assert len(lines) == n
    quiet = []
    Progress(3, log=quiet.append, enabled=False).update(done=3)
    assert quiet == []


def test_progress_is_a_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = Progress(4, log=lambda *_: pytest.fail("no log lines on a terminal"), stream=out)
    bar.update(done=1, failed=0, running=2)
    bar.update(done=4, failed=1, running=0)
    bar.close()
    text = out.getvalue()
    assert "grading" in text and "4/4" in text and "failed 1, running 0" in text


# ---------------------------------------------------------------------------------------
# Slurm's notation, without Slurm

def test_array_ranges_and_queue_parsing(monkeypatch):
    assert backends._ranges([0, 1, 2, 3, 7, 9, 10, 11]) == "0-3,7,9-11"
    assert backends._ranges([5]) == "5"

    class Done:
        returncode, stderr = 0, ""
        stdout = "17|3|RUNNING\n17|[4-6,9%2]|PENDING\n18|0|COMPLETING\n"
    monkeypatch.setattr(backends, "_slurm_call", lambda args, what: Done())
    assert backends._queue(["17", "18"]) == {
        "17": {3: "RUNNING", 4: "PENDING", 5: "PENDING", 6: "PENDING", 9: "PENDING"},
        "18": {0: "COMPLETING"}}


def test_slurm_backend_refuses_an_sqlite_gradebook(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    (tmp_path / "nbgrader_config.py").write_text("")
    with pytest.raises(gs.pipeline.GradingError, match="COURSE_DB_URL"):
        backends.check_gradebook(tmp_path, "slurm")


# ---------------------------------------------------------------------------------------
# Resume and single-student regrade (local backend)

STUDENTS = ["instructor", "untouched", "second", "third"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root, release, good = gs.fixture_course(tmp_path_factory.mktemp("runs-course"))
    for student in STUDENTS:
        gs.submit(root, student, FIX, gs.FIXTURE_NAME, release if student == "untouched" else good)
    return root


@contextlib.contextmanager
def _trusted_env():
    """The environment a CLI subprocess grades trusted notebooks in: the sandbox where
    it works, else --unsafe inside the test isolation."""
    if gs.SANDBOX:
        yield []
    else:
        with gs.unsandboxed_isolation():
            yield ["--unsafe"]


def _cli(root, *args, extra=(), timeout=600, env=None):
    return subprocess.run([sys.executable, "-m", "grader", "--root", str(root), *args, *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_an_interrupted_run_resumes_with_only_the_ungraded(course):
    """Ctrl-C once the first submission is graded: the command says how to go on; the
    same command then grades only the others, with the run's seed, and reports all."""
    with _trusted_env() as unsafe:
        proc = subprocess.Popen([sys.executable, "-m", "grader", "--root", str(course), "autograde",
                                 "--jobs", "1", "--restart", *unsafe],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            tasks = []
            while time.monotonic() < deadline and not tasks:
                tasks = [p for p in (course / runs.RUNS_DIR).glob("*/tasks/*.json")]
                time.sleep(0.2)
            assert tasks, "no submission was graded within 300 s"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 2, out + err
        assert "interrupted:" in err and "the same command grades the other" in err, err
        run = runs.runs(course)[0]
        graded_before = {i for i in range(len(run.jobs)) if run.is_done(i)}
        assert 1 <= len(graded_before) < len(STUDENTS)
        stamps = {i: run.result_path(i).stat().st_mtime_ns for i in graded_before}

        again = _cli(course, "autograde", "--jobs", "2", extra=unsafe)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"resuming run {run.id}" in again.stdout
    report = json.loads((course / "build" / "grading" / "report.json").read_text())
    assert report["run"] == run.id and report["resumed"] and report["seed"] == run.seed
    assert report["graded_now"] == len(STUDENTS) - len(graded_before)
    assert sorted(r["student"] for r in report["submissions"]) == sorted(STUDENTS)
    assert all(run.result_path(i).stat().st_mtime_ns == t for i, t in stamps.items())
    for student in STUDENTS:
        expected = 0.0 if student == "untouched" else 1.0
        assert gs.scores(course, student, FIX)["test-sigmoid"] == (expected, 1.0)
    assert runs.runs(course)[0].finished is not None     # the run is complete: never resumed again


def test_changed_submission_is_graded_again_and_restart_grades_all(course):
    gs.grade(course, jobs=2, trusted=True, restart=True)
    # simulate an interruption after everything but 'third' was graded, then a change
    run = runs.runs(course)[0]
    run.finished = None
    third = next(i for i, j in enumerate(run.jobs) if j["student"] == "third")
    run.result_path(third).unlink()
    run.save()
    folder = course / "submitted" / "second" / FIX
    (folder / "notes.txt").write_text("a file added after grading\n")
    try:
        report = gs.grade(course, jobs=2, trusted=True)
        assert report["run"] == run.id and report["graded_now"] == 2     # third, and second (changed)
        report = gs.grade(course, jobs=2, trusted=True, restart=True)
        assert report["run"] != run.id and report["graded_now"] == len(STUDENTS)
    finally:
        (folder / "notes.txt").unlink()


def test_one_student_is_regraded_alone(course):
    """make autograde STUDENT=id [ASSIGNMENT=a]: python -m grader autograde --student id."""
    gs.grade(course, jobs=2, trusted=True, restart=True)
    others = {s: (course / "autograded" / s / FIX / gs.FIXTURE_NAME).stat().st_mtime_ns
              for s in STUDENTS if s != "second"}
    with _trusted_env() as unsafe:
        run = _cli(course, "autograde", "--student", "second", "--assignment", FIX, extra=unsafe)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((course / "build" / "grading" / "report.json").read_text())
    assert [r["student"] for r in report["submissions"]] == ["second"]
    assert {s: (course / "autograded" / s / FIX / gs.FIXTURE_NAME).stat().st_mtime_ns
            for s in others} == others
    assert gs.scores(course, "second", FIX)["test-l2_penalty"] == (2.0, 2.0)


def test_make_passes_the_selection_and_backend_options():
    out = subprocess.run(["make", "-n", "autograde", "BACKEND=slurm",
                          "JOBS=8", "STUDENT=s1 s2", "ASSIGNMENT=02_logistic", "NOWAIT=1",
                          "PARTITION=short", "ACCOUNT=ml101", "CELLS=all", "RESTART=1"],
                         cwd=gs.REPO, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "MAKEFLAGS"})
    line = next(ln for ln in out.stdout.replace("\\\n", " ").splitlines() if "grader autograde" in ln)
    for expected in ("--jobs 8", "--backend slurm", "--student s1", "--student s2",
                     "--assignment 02_logistic", "--no-wait", "--partition short",
                     "--account ml101", "--cells all", "--restart"):
        assert expected in line, line
