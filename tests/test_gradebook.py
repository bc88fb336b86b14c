"""The gradebook in PostgreSQL (issue 18, item 1).

- ``$COURSE_DB_URL`` is the one setting: unset means gradebook.db (SQLite) at the course
  root; a PostgreSQL URL is used by every step; a bad value stops with the variable named;
- a private PostgreSQL cluster (Debian's initdb + pg_ctl, started and stopped by the
  fixture) takes a course graded into it by the local backend;
- ``make gradebook-migrate``: an SQLite gradebook with automatic and manual scores,
  comments, nbgrader's "flagged", extra credit and a late penalty, plus the pack's flags,
  is copied into an empty PostgreSQL database: every row compares equal, the CSV export
  is identical; a destination that holds a gradebook is refused, and a copy that fails
  half-way leaves the destination empty;
- ``make gradebook-postgres`` / ``gradebook-postgres-stop`` start and stop a trial
  cluster and print its URL.
"""
import datetime
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, text

import cluster_support as cs
import grading_support as gs
from grader import gradebook
from grader.export import export_grades

FIX = gs.FIXTURE_ASSIGNMENT
FIX_NB = "fixture"


# ---------------------------------------------------------------------------------------
# The setting (no database needed)

def test_unset_means_the_sqlite_gradebook(monkeypatch, tmp_path):
    monkeypatch.delenv(gradebook.ENV, raising=False)
    assert gradebook.url(tmp_path) == f"sqlite:///{tmp_path / 'gradebook.db'}?timeout=120"
    monkeypatch.setenv(gradebook.ENV, "postgresql://grader:secret@db.example.org:5433/ml101")
    assert gradebook.url(tmp_path) == "postgresql+psycopg2://grader:secret@db.example.org:5433/ml101"
    assert "secret" not in gradebook.describe(tmp_path) and "db.example.org" in gradebook.describe(tmp_path)


@pytest.mark.parametrize("value,words", [
    ("gradebook.db", "not a database URL"),
    ("mysql://u@h/db", "'mysql' is not supported"),
    ("postgresql://u:pw@h:5432/", "no database name"),
])
def test_a_bad_url_names_the_variable(monkeypatch, tmp_path, value, words):
    monkeypatch.setenv(gradebook.ENV, value)
    with pytest.raises(gradebook.GradebookError, match=words) as info:
        gradebook.url(tmp_path)
    assert "$COURSE_DB_URL" in str(info.value) and "pw" not in str(info.value)


def test_the_cli_stops_on_a_bad_url_before_grading(tmp_path):
    root = _fixture_course(tmp_path / "course", students=("instructor",))
    env = dict(os.environ, COURSE_DB_URL="postgresql://nobody@127.0.0.1:1/none")
    run = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "autograde", "--unsafe"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 2 and "cannot connect to the gradebook" in run.stderr, run.stderr
    assert not (root / "autograded").exists()


# ---------------------------------------------------------------------------------------
# With a private PostgreSQL

@pytest.fixture(scope="module")
def postgres():
    with cs.postgres() as url:
        yield url


def _database(admin_url, name):
    """A fresh empty database ``name`` in the test cluster; returns its URL."""
    from sqlalchemy.engine import make_url

    base = make_url(gradebook.normalise(admin_url, "test"))
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


_RELEASED = {}


def _fixture_course(dest, students=("instructor", "untouched")):
    """The fixture course in ``dest``: released once per process into an SQLite gradebook
    (copied from there) unless $COURSE_DB_URL is set (then released into that database)."""
    import shutil

    if os.environ.get(gradebook.ENV):
        root = gs.make_course(dest, fixtures={FIX: {gs.FIXTURE_NAME: gs.fixture_source()}})
    else:
        if "root" not in _RELEASED:
            import atexit
            import tempfile

            base = tempfile.mkdtemp(prefix="coursepack-gradebook-tests-")
            atexit.register(shutil.rmtree, base, True)
            _RELEASED["root"] = gs.make_course(os.path.join(base, "course"),
                                               fixtures={FIX: {gs.FIXTURE_NAME: gs.fixture_source()}})
        root = dest
        shutil.copytree(_RELEASED["root"], root)
    release = gs.release_nb(root, FIX, gs.FIXTURE_NAME)
    good = gs.solved(release, gs.fixture_source())
    for student in students:
        gs.submit(root, student, FIX, gs.FIXTURE_NAME, release if student == "untouched" else good)
    return root


def test_local_grading_into_postgresql(postgres, tmp_path, monkeypatch):
    url = _database(postgres, "local_grading")
    monkeypatch.setenv(gradebook.ENV, url)
    root = _fixture_course(tmp_path / "course")
    report = gs.grade(root, jobs=2, trusted=True)
    assert report["gradebook"].startswith("postgresql") and "***" in report["gradebook"]
    assert not (root / "gradebook.db").exists()
    assert gs.scores(root, "instructor", FIX) == {"test-sigmoid": (1.0, 1.0), "test-l2_penalty": (2.0, 2.0),
                                                  "answer-quarter": (0.0, 2.0)}
    rows = {r["student_id"]: r for r in gs.read_csv(export_grades(root, tmp_path / "pg.csv"))}
    assert rows["instructor"][FIX] == "3" and rows["untouched"][FIX] == "0"


def _enrich(root):
    """Manual grades, comments, nbgrader's flag, extra credit and a late penalty in the
    course's SQLite gradebook, as a tutor leaves them in the formgrader."""
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.sqlite_url(root)) as gb:
        sub = gb.find_submission(FIX, "instructor")
        nb = sub.notebooks[0]
        answer = gb.find_grade("answer-quarter", FIX_NB, FIX, "instructor")
        answer.manual_score = 1.5
        answer.extra_credit = 0.5
        comment = gb.find_comment("answer-quarter", FIX_NB, FIX, "instructor")
        comment.manual_comment = "Right idea; say why s(1-s) <= 1/4. Ünïcode too."
        nb.flagged = True
        late = gb.find_submission(FIX, "untouched")
        assignment = gb.find_assignment(FIX)
        assignment.duedate = datetime.datetime(2030, 1, 1, 12, 0, 0)
        late.timestamp = datetime.datetime(2030, 1, 2, 12, 0, 0)
        late.notebooks[0].late_submission_penalty = 1.0
        gb.db.commit()


def test_migration_keeps_every_score_comment_and_flag(postgres, tmp_path, monkeypatch):
    monkeypatch.delenv(gradebook.ENV, raising=False)
    root = _fixture_course(tmp_path / "course")
    gs.grade(root, jobs=2, trusted=True)
    _enrich(root)
    before = gs.read_csv(export_grades(root, tmp_path / "sqlite.csv"))
    url = _database(postgres, "migrated")
    counts = gradebook.migrate(gradebook.sqlite_url(root), url, log=lambda *_: None)
    assert counts["grade"] > 0 and counts["comment"] > 0 and counts["source_cell"] > 0
    assert gradebook.differences(gradebook.sqlite_url(root), url, added_courses=[""]) == []

    monkeypatch.setenv(gradebook.ENV, url)
    after = gs.read_csv(export_grades(root, tmp_path / "pg.csv"))
    assert after == before
    assert any(r["flags"] for r in after) or all(not r["flags"] for r in before)
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.url(root)) as gb:
        answer = gb.find_grade("answer-quarter", FIX_NB, FIX, "instructor")
        assert (answer.manual_score, answer.extra_credit, answer.score) == (1.5, 0.5, 2.0)
        comment = gb.find_comment("answer-quarter", FIX_NB, FIX, "instructor")
        assert comment.manual_comment.endswith("Ünïcode too.")
        sub = gb.find_submission(FIX, "instructor")
        assert sub.notebooks[0].flagged is True
        late = gb.find_submission(FIX, "untouched")
        assert late.notebooks[0].late_submission_penalty == 1.0 and late.total_seconds_late == 86400
        auto = gb.find_grade("test-l2_penalty", FIX_NB, FIX, "instructor")
        assert (auto.auto_score, auto.max_score) == (2.0, 2.0)
    # grading goes on in PostgreSQL after the move
    report = gs.grade(root, jobs=1, trusted=True, students=["untouched"])
    assert report["submissions"][0]["student"] == "untouched"


def test_migration_refuses_a_used_destination_and_leaves_nothing_half_written(postgres, tmp_path,
                                                                            monkeypatch):
    monkeypatch.delenv(gradebook.ENV, raising=False)
    root = _fixture_course(tmp_path / "course", students=("instructor",))
    gs.grade(root, jobs=1, trusted=True)
    used = _database(postgres, "used")
    gradebook.migrate(gradebook.sqlite_url(root), used, log=lambda *_: None)
    with pytest.raises(gradebook.GradebookError, match="already holds a gradebook"):
        gradebook.migrate(gradebook.sqlite_url(root), used, log=lambda *_: None)

    # A row PostgreSQL refuses (SQLite ignores VARCHAR lengths): the copy stops, rolled back.
    import sqlite3

    with sqlite3.connect(root / "gradebook.db") as db:
        db.execute("INSERT INTO student (id, first_name, last_name, email) VALUES (?, 'x', 'y', 'z')",
                   ("s" * 200,))
    empty = _database(postgres, "empty")
    with pytest.raises(gradebook.GradebookError, match="copying table student .* nothing was written"):
        gradebook.migrate(gradebook.sqlite_url(root), empty, log=lambda *_: None)
    engine = create_engine(gradebook.normalise(empty, "test"))
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()
    with pytest.raises(gradebook.GradebookError, match="does not exist"):
        gradebook.migrate(gradebook.sqlite_url(tmp_path / "nowhere"), empty, log=lambda *_: None)


def test_make_gradebook_postgres_starts_prints_and_stops(tmp_path):
    """`make gradebook-postgres` runs `python -m grader gradebook postgres-start`."""
    cs.require_postgres()
    root = _fixture_course(tmp_path / "course", students=())
    folder = cs._open_folder("coursepack-pgtrial-")
    try:
        start = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "gradebook",
                                "postgres-start", "--dir", str(folder / "pg")],
                               capture_output=True, text=True, timeout=180)
        assert start.returncode == 0, start.stdout + start.stderr
        url = (folder / "pg" / "url").read_text().strip()
        assert url in start.stdout and "export COURSE_DB_URL=" in start.stdout
        assert oct((folder / "pg" / "url").stat().st_mode & 0o777) == "0o600"
        gradebook.check_connection(url)
        stop = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "gradebook",
                               "postgres-stop", "--dir", str(folder / "pg")],
                              capture_output=True, text=True, timeout=180)
        assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stdout + stop.stderr
        assert not gradebook.TrialCluster(folder / "pg").running()
    finally:
        gradebook.TrialCluster(folder / "pg").remove()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
