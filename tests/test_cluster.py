"""Grading on Slurm into PostgreSQL, for real (issue 18, items 2 and 5).

One module fixture starts a private PostgreSQL and a single-node Slurm (munged,
slurmctld, slurmd as children of the test, proctrack/linuxproc, tests/cluster_support.py)
and stops every daemon afterwards. Two copies of the fixture course, with the same four
students, are graded:

- course "local": the local backend, JOBS=2, SQLite;
- course "slurm": the slurm backend into PostgreSQL, at most 2 array tasks at once. It is
  submitted with --no-wait; the task of student "slow" (a cell that sleeps) is cancelled
  with scancel while it is being graded; the same command then waits for the array, gives
  "slow" 0 with Slurm's reason and leaves no duplicate or half-written row; run again, it
  grades only "slow".

Proved: both export the identical CSV; rerunning one task, or the whole array with the
run's seed, leaves the same gradebook; the "tamper" student, graded in the array, tries
to write into the course, the run's task outcomes, the Slurm and MUNGE files, /tmp and
the home folder, and to reach PostgreSQL and slurmctld, and changes nothing outside its
scratch folder.
"""
import copy
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell

import cluster_support as cs
import grading_support as gs
from grader import backends, gradebook, pipeline, runs
from grader.export import export_grades

FIX = gs.FIXTURE_ASSIGNMENT
NAME = gs.FIXTURE_NAME
STUDENTS = ["instructor", "slow", "tamper", "wrong"]
SLOW_SECONDS = 12
SENTINEL = "coursepack-cluster-pwned"             # files the attack tries to create
TOKEN = b"coursepack-tampered-42"                 # what it writes (built at run time)
POLL = 1.0


def _wrong(good):
    nb = copy.deepcopy(good)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "l2_penalty-solution":
            cell.source = "def l2_penalty(w, lam):\n    return lam * np.sum(w ** 2), lam * w\n"
    return nb


def _slow(good):
    nb = copy.deepcopy(good)
    nb.cells.insert(3, new_code_cell(f"import time\ntime.sleep({SLOW_SECONDS})  # a long experiment of my own"))
    return nb


def _tamper_code(targets, pg_port, ctld_port, munge_socket):
    return f'''
# ATTACK (cluster): write outside the scratch folder, forge task outcomes, reach the daemons
import glob, os, socket
written = []
for pattern in {targets!r}:
    for path in glob.glob(pattern) or [pattern]:
        try:
            with open(path, "a") as fh:
                fh.write("coursepack-" + "tampered-" + str(6 * 7))
            written.append(path)
        except OSError as exc:
            print("write refused:", path, exc.strerror)
for port in ({pg_port}, {ctld_port}):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        print("REACHED PORT", port)
    except OSError as exc:
        print("port", port, "unreachable:", exc.strerror)
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect({str(munge_socket)!r})
    print("REACHED MUNGE")
except OSError as exc:
    print("munge unreachable:", exc.strerror)
print("COURSE_DB_URL" in os.environ, "WROTE", written)
'''


def _tamper(good, code):
    nb = copy.deepcopy(good)
    nb.cells.insert(3, new_code_cell(code))
    return nb


def _protected(root, slurm_dir):
    """Hashes of what a tampering task must not change: the course's submissions,
    solutions and release, the cluster's config and key, and the checkout's helpers."""
    return {
        "submitted": gs.hash_tree(root / "submitted"),
        "solutions": gs.hash_tree(root / "solutions"),
        "notebooks": gs.hash_tree(root / "notebooks"),
        "slurm": {n: hashlib.sha256((slurm_dir / n).read_bytes()).hexdigest()
                  for n in ("slurm.conf", "munge.key")},
        "helpers": hashlib.sha256((Path(gs.REPO) / "helpers" / "__init__.py").read_bytes()).hexdigest(),
    }


def _rows(db_url):
    """Every grade and comment of the gradebook as comparable tuples (no ids or times)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(gradebook.normalise(db_url, "test"))
    try:
        with engine.connect() as conn:
            grades = conn.execute(text(
                "SELECT s.student_id, c.name, g.auto_score, g.manual_score, g.extra_credit, "
                "g.needs_manual_grade FROM grade g JOIN submitted_notebook n ON g.notebook_id = n.id "
                "JOIN submitted_assignment s ON n.assignment_id = s.id JOIN base_cell c ON g.cell_id = c.id "
                "ORDER BY s.student_id, c.name")).fetchall()
            comments = conn.execute(text(
                "SELECT s.student_id, c.name, m.auto_comment, m.manual_comment FROM comment m "
                "JOIN submitted_notebook n ON m.notebook_id = n.id JOIN submitted_assignment s "
                "ON n.assignment_id = s.id JOIN base_cell c ON m.cell_id = c.id "
                "ORDER BY s.student_id, c.name")).fetchall()
    finally:
        engine.dispose()
    return [tuple(r) for r in grades], [tuple(r) for r in comments]


def _processes_with_seed(seed):
    import psutil

    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("COURSE_CHECK_SEED") == seed:
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def _wait_for(what, check, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    gs.grading_env()
    cs.require_postgres()
    cs.require_slurm()
    work = Path(tempfile.mkdtemp(prefix="coursepack-cluster-test-"))
    out = {}
    saved_url = os.environ.get(gradebook.ENV)
    try:
        with cs.postgres() as url, cs.slurm() as slurm_dir:
            out["slurm_dir"] = slurm_dir
            conf = (slurm_dir / "slurm.conf").read_text()
            ctld_port = int(next(ln.split("=")[1] for ln in conf.splitlines() if ln.startswith("SlurmctldPort")))
            from sqlalchemy.engine import make_url

            pg_port = make_url(url).port
            # ---- the two courses, the same students
            os.environ.pop(gradebook.ENV, None)
            local = gs.make_course(work / "local", fixtures={FIX: {NAME: gs.fixture_source()}})
            os.environ[gradebook.ENV] = url
            slurm_root = gs.make_course(work / "slurm", fixtures={FIX: {NAME: gs.fixture_source()}})
            targets = [str(slurm_root / "gradebook.db"), str(slurm_root / "solutions" / FIX / NAME),
                       str(slurm_root / "submitted" / "instructor" / FIX / NAME),
                       str(slurm_root / "autograded" / "instructor" / FIX / NAME),
                       str(slurm_root / runs.RUNS_DIR / "*" / "tasks" / "*.json"),
                       str(slurm_root / runs.RUNS_DIR / "*" / "run.json"),
                       str(slurm_dir / "slurm.conf"), str(slurm_dir / "munge.key"),
                       str(Path(gs.REPO) / "helpers" / "__init__.py"),
                       f"/tmp/{SENTINEL}", str(Path.home() / SENTINEL)]
            code = _tamper_code(targets, pg_port, ctld_port, slurm_dir / "run" / "munge.socket")
            for root in (local, slurm_root):
                release = gs.release_nb(root, FIX, NAME)
                good = gs.solved(release, gs.fixture_source())
                for student, nb in {"instructor": good, "wrong": _wrong(good),
                                    "slow": _slow(good), "tamper": _tamper(good, code)}.items():
                    gs.submit(root, student, FIX, NAME, nb)
            protected_before = _protected(slurm_root, slurm_dir)

            # ---- local backend into SQLite
            os.environ.pop(gradebook.ENV, None)
            started = time.monotonic()
            out["local_report"] = gs.grade(local, jobs=2, cell_timeout=60, timeout=300)
            out["local_seconds"] = time.monotonic() - started
            print(f"local backend: {len(STUDENTS)} submissions in {out['local_seconds']:.0f} s")
            out["local_csv"] = gs.read_csv(export_grades(local, work / "local.csv"))

            # ---- slurm backend into PostgreSQL: submit, cancel 'slow' mid-grading, wait
            os.environ[gradebook.ENV] = url
            opts = backends.SlurmOptions(poll=POLL)
            started = time.monotonic()
            submitted = gs.grade(slurm_root, jobs=2, backend="slurm", wait=False, slurm=opts,
                                 cell_timeout=60, timeout=300)
            out["submitted"] = submitted
            run = runs.runs(slurm_root)[0]
            slow = next(i for i, j in enumerate(run.jobs) if j["student"] == "slow")
            chunk = next(j for j in run.slurm_jobs if slow in j["indices"])
            out["chunks"] = [list(j["indices"]) for j in run.slurm_jobs]
            _wait_for("the slow student's task to be grading",
                      lambda: (slurm_root / "autograded" / "slow" / FIX / NAME).exists()
                      and gs.record(slurm_root, "slow", FIX, "fixture").get("flags") is not None)
            time.sleep(3)                  # in the sleeping cell now
            subprocess.run(["scancel", f"{chunk['id']}_{slow - chunk['offset']}"], check=True, timeout=60)
            lines = []
            out["first_report"] = gs.grade(slurm_root, jobs=2, backend="slurm", slurm=opts,
                                           cell_timeout=60, timeout=300)
            out["after_kill_rows"] = _rows(url)
            out["lost_record"] = gs.record(slurm_root, "slow", FIX, "fixture")
            # ---- the same command again: only 'slow'
            out["second_report"] = pipeline.autograde(slurm_root, jobs=2, backend="slurm", slurm=opts,
                                                      cell_timeout=60, timeout=300, log=lines.append,
                                                      progress=True, unsafe=not gs.SANDBOX)
            out["slurm_seconds"] = time.monotonic() - started
            print(f"slurm backend: submit, cancel, wait, regrade in {out['slurm_seconds']:.0f} s")
            out["lines"] = lines
            out["slurm_csv"] = gs.read_csv(export_grades(slurm_root, work / "slurm.csv"))
            out["rows"] = _rows(url)
            out["protected_before"] = protected_before
            out["protected_after"] = _protected(slurm_root, slurm_dir)
            run = runs.runs(slurm_root)[0]
            out["outcomes"] = {i: run.result_path(i).read_text() for i in range(len(run.jobs))}
            out["run"] = run
            out["marks"] = [str(p) for base in (slurm_root, local, slurm_dir, Path(gs.REPO) / "helpers")
                            for p in base.rglob("*") if p.is_file() and not p.is_symlink()
                            and p.stat().st_size < 2**24 and TOKEN in p.read_bytes()]
            out["sentinels"] = [p for p in (Path("/tmp") / SENTINEL, Path.home() / SENTINEL) if p.exists()]
            out["orphans"] = _processes_with_seed(run.seed)
            out["tamper_nb"] = (slurm_root / "autograded" / "tamper" / FIX / NAME).read_text()

            # ---- idempotent: one task again, then the whole array again (same seed)
            instructor = next(i for i, j in enumerate(run.jobs) if j["student"] == "instructor")
            env = dict(os.environ)
            task = subprocess.run([sys.executable, "-m", "grader", "--root", str(slurm_root), "task",
                                   "--run", run.id, "--index", str(instructor)],
                                  capture_output=True, text=True, timeout=600, env=env)
            out["task_rerun"] = task
            out["rows_after_task"] = _rows(url)
            ids = backends.submit(run, list(range(len(run.jobs))), opts, cap=2)
            _wait_for("the array to run again", lambda: not backends._queue(ids), timeout=600)
            out["rows_after_array"] = _rows(url)
            out["csv_after_array"] = gs.read_csv(export_grades(slurm_root, work / "again.csv"))
            out["left_in_queue"] = cs.slurm_jobs_left()
        out["root"], out["local"] = slurm_root, local
        yield out
    finally:
        if saved_url is None:
            os.environ.pop(gradebook.ENV, None)
        else:
            os.environ[gradebook.ENV] = saved_url
        for sentinel in (Path("/tmp") / SENTINEL, Path.home() / SENTINEL):
            if sentinel.exists():
                sentinel.unlink()
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.sandbox
def test_local_sqlite_and_slurm_postgresql_export_the_same_csv(cluster):
    assert cluster["slurm_csv"] == cluster["local_csv"]
    rows = {r["student_id"]: r for r in cluster["slurm_csv"]}
    assert sorted(rows) == sorted(STUDENTS)
    assert (rows["instructor"][FIX], rows["wrong"][FIX], rows["slow"][FIX]) == ("3", "1", "3")


@pytest.mark.sandbox
def test_no_wait_returns_the_array_job(cluster):
    submitted = cluster["submitted"]
    assert submitted["backend"] == "slurm" and submitted["submitted"] == len(STUDENTS)
    assert submitted["slurm_jobs"] and all(j.isdigit() for j in submitted["slurm_jobs"])
    # MaxArraySize is 3 on the test cluster: two arrays, the second after the first
    assert cluster["chunks"] == [[0, 1, 2], [3]]


@pytest.mark.sandbox
def test_a_cancelled_task_gets_zero_with_slurms_reason_and_no_broken_rows(cluster):
    report = {r["student"]: r for r in cluster["first_report"]["submissions"]}
    slow = report["slow"]
    assert slow["score"] == 0 and any("CANCELLED" in z for z in slow["zero_reasons"]), slow
    assert report["instructor"]["score"] == 3 and report["wrong"]["score"] == 1
    grades, comments = cluster["after_kill_rows"]
    keys = [(s, c) for s, c, *_ in grades]
    assert len(keys) == len(set(keys)), "duplicate grade rows"
    assert len([c for c in comments]) == len({(s, c) for s, c, *_ in comments}), "duplicate comments"
    slow_rows = [g for g in grades if g[0] == "slow"]
    assert slow_rows and all(g[2] is not None for g in slow_rows if g[1].startswith("test-")), slow_rows
    assert all(g[2] == 0.0 for g in slow_rows if g[1].startswith("test-"))


@pytest.mark.sandbox
def test_the_rerun_grades_only_the_lost_task(cluster):
    second = cluster["second_report"]
    assert second["resumed"] and second["graded_now"] == 1
    assert second["run"] == cluster["first_report"]["run"] == cluster["run"].id
    slow = next(r for r in second["submissions"] if r["student"] == "slow")
    assert slow["score"] == 3 and slow["zero_reasons"] == []
    assert any(line.startswith("resuming run") for line in cluster["lines"])
    assert any(line.startswith("graded ") and "per minute" in line for line in cluster["lines"])
    grades, _ = cluster["rows"]
    keys = [(s, c) for s, c, *_ in grades]
    assert len(keys) == len(set(keys)) == len(STUDENTS) * 3
    assert all(g[2] is not None for g in grades if g[1].startswith("test-"))


@pytest.mark.sandbox
def test_rerunning_a_task_or_the_whole_array_gives_the_same_gradebook(cluster):
    task = cluster["task_rerun"]
    assert task.returncode == 0, task.stdout + task.stderr
    assert cluster["rows_after_task"] == cluster["rows"]
    assert cluster["rows_after_array"] == cluster["rows"]
    assert cluster["csv_after_array"] == cluster["slurm_csv"]
    assert cluster["left_in_queue"] == []


@pytest.mark.sandbox
def test_the_tampering_submission_changes_nothing_outside_its_scratch_folder(cluster):
    assert cluster["protected_after"] == cluster["protected_before"]
    assert cluster["marks"] == [], cluster["marks"]
    assert cluster["sentinels"] == []
    for index, text in cluster["outcomes"].items():
        assert TOKEN.decode() not in text, f"task outcome {index} was forged"
    assert cluster["orphans"] == [], "processes of the run outlived it"
    import nbformat

    nb = nbformat.reads(cluster["tamper_nb"], as_version=4)
    cell = next(c for c in nb.cells if "ATTACK (cluster)" in c.source)
    said = "".join(o.get("text", "") for o in cell.outputs)
    assert "REACHED" not in said and said.count("unreachable") == 3 and "write refused" in said, said
    assert "False WROTE []" in said, said       # no COURSE_DB_URL inside, nothing written
    tamper = {r["student_id"]: r for r in cluster["slurm_csv"]}["tamper"]
    assert tamper[FIX] == "3"          # its own correct answers still count


@pytest.mark.sandbox
def test_the_report_says_where_it_was_graded(cluster):
    report = cluster["second_report"]
    assert report["backend"] == "slurm" and report["slurm_jobs"]
    assert report["gradebook"].startswith("postgresql") and "***" in report["gradebook"]
    assert report["sandbox_limits"] == cluster["local_report"]["sandbox_limits"]
    assert report["kernel"] == cluster["local_report"]["kernel"]
