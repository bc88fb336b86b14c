"""LMS in and out (grader.lms, grader.roster): the roster file, the download file names of
Canvas, Moodle and Blackboard, `python -m grader collect` (latest re-submission, every
skipped file listed, corrupt zips and non-notebooks refused with nothing changed,
Canvas's LATE mark recorded and flagged), the Canvas and Moodle grade files against golden
files, and a round trip through the README's make targets on a throw-away course
(COURSE_ROOT=): release, roster, collect a Canvas and a Blackboard download, autograde in
the sandbox, feedback, grades in every format, with the same scores as the same notebooks
put into submitted/ by hand.
"""
import csv
import datetime
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import cli, export, lms
from grader import roster as roster_mod
import system_deps
from grading_support import (
    SANDBOX,
    exercise_functions,
    grade,
    make_course,
    read_csv,
    read_nb,
    release_nb,
    scores,
    solved,
    submit,
    with_mistake,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lms"
REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_derivations"
NOTEBOOK = "derivations.ipynb"

ROSTER = """id,first,last,email
asmith,Alice,Smith,alice.smith@example.edu
bjones,Bob,Jones,bob.jones@example.edu
cnguyen,Chloé,Nguyen,chloe.nguyen@example.edu
"""


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# Roster

def test_roster_reads_students(tmp_path):
    students = roster_mod.read_roster(write(tmp_path / "r.csv", "\ufeff" + ROSTER + "\n"))
    assert [s.id for s in students] == ["asmith", "bjones", "cnguyen"]
    assert students[2].full_name == "Chloé Nguyen" and students[0].lms_id == ""


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("id,first,email\nx,y,x@y.org\n", "missing column(s) last"),
    ("id,first,last,email\n", "no students"),
    ("id,first,last,email\nBad Id,A,B,a@b.org\n", "line 2: id 'Bad Id' is not a valid user name"),
    ("id,first,last,email\na,A,B,a@b.org\na,C,D,c@d.org\n", "line 3: id 'a' already on line 2"),
    ("id,first,last,email\na,A,B,nope\n", "line 2: a: 'nope' is not an e-mail address"),
    ("id,first,last,email\na,A,B,a@b.org\nb,C,D,A@b.org\n", "line 3: e-mail 'A@b.org' already"),
])
def test_roster_errors_name_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "roster.csv", text)
    with pytest.raises(roster_mod.RosterError) as err:
        roster_mod.read_roster(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_roster_is_named(tmp_path):
    with pytest.raises(roster_mod.RosterError, match="roster file not found"):
        roster_mod.read_roster(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------------------
# File names (no course needed)

def _students(tmp_path, text=ROSTER):
    return roster_mod.read_roster(write(tmp_path / "roster.csv", text))


@pytest.mark.parametrize("lms_name, name, student, late, timestamp", [
    ("canvas", "smithalice_1001_5001_derivations.ipynb", "asmith", False, None),
    ("canvas", "jonesbob_LATE_1002_5002_derivations-1.ipynb", "bjones", True, None),
    ("canvas", "nguyenchloe_1003_5003_derivations.ipynb", "cnguyen", False, None),
    ("moodle", "Alice Smith_77_assignsubmission_file_derivations.ipynb", "asmith", False, None),
    ("moodle", "Chloé Nguyen_78_assignsubmission_file_derivations.ipynb", "cnguyen", False, None),
    ("blackboard", "01_derivations_bjones_attempt_2025-03-01-14-22-05_derivations.ipynb", "bjones",
     False, "2025-03-01 14:22:05"),
    ("blackboard", "Derivations (1)_alice.smith_attempt_2025-03-02-09-00-00_derivations.ipynb",
     "asmith", False, "2025-03-02 09:00:00"),
])
def test_lms_names_map_to_roster_ids(tmp_path, lms_name, name, student, late, timestamp):
    parsed = lms_parse(lms_name, name)
    who = lms.RosterIndex(_students(tmp_path)).match(lms_name, parsed)
    assert not isinstance(who, str), who
    assert who[0].id == student
    assert parsed.late is late and parsed.timestamp == timestamp
    assert lms.notebook_of(lms_name, parsed.file, {NOTEBOOK: ASSIGNMENT})[0] == NOTEBOOK


def lms_parse(name_lms, name):
    parsed = lms.parse_name(name_lms, lms.flat_name(name))
    assert not isinstance(parsed, str), parsed
    return parsed


def test_moodle_folder_form_and_canvas_ids(tmp_path):
    assert lms.flat_name("Bob Jones_12_assignsubmission_file/derivations.ipynb") == \
        "Bob Jones_12_assignsubmission_file_derivations.ipynb"
    # Canvas: a roster lms_id wins over the name (two students of the same name).
    text = ROSTER + "asmith2,Alice,Smith,alice2@example.edu,\n"
    text = text.replace("id,first,last,email", "id,first,last,email,lms_id").replace(
        "alice.smith@example.edu", "alice.smith@example.edu,1001")
    index = lms.RosterIndex(_students(tmp_path, text))
    parsed = lms_parse("canvas", "smithalice_1001_5001_derivations.ipynb")
    assert index.match("canvas", parsed)[0].id == "asmith"
    other = lms_parse("canvas", "smithalice_2002_5009_derivations.ipynb")
    reason = index.match("canvas", other)
    assert isinstance(reason, str) and "names 2 roster students" in reason and "lms_id" in reason


@pytest.mark.parametrize("lms_name, name, reason", [
    ("canvas", "derivations.ipynb", "does not match the canvas pattern"),
    ("moodle", "Alice Smith_77_assignsubmission_onlinetext_onlinetext.html", "onlinetext entry"),
    ("blackboard", "01_derivations_bjones_attempt_2025-03-01-14-22-05.txt", "attempt receipt"),
])
def test_names_that_do_not_match_say_why(lms_name, name, reason):
    assert reason in lms.parse_name(lms_name, name)


def test_unknown_lms_is_refused():
    with pytest.raises(lms.LMSError, match="unknown LMS 'sakai'"):
        lms.parse_name("sakai", "x.ipynb")


# ---------------------------------------------------------------------------------------
# Collect into a course

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("lms") / "course", [ASSIGNMENT])
    write(root / "roster.csv", ROSTER)
    release = release_nb(root, ASSIGNMENT, NOTEBOOK)
    source = read_nb(root / "solutions" / ASSIGNMENT / NOTEBOOK)
    good = solved(release, source)
    import mistakes
    names = exercise_functions(good)["sigmoid_grad"]
    bad = with_mistake(good, "sigmoid_grad", mistakes.sigmoid_grad_sign, names)
    return root, {"good": good, "bad": bad, "release": release}


def nb_bytes(nb):
    return nbformat.writes(nb).encode("utf-8")


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def snapshot(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def canvas_download(tmp_path, nbs):
    return make_zip(tmp_path / "submissions.zip", {
        # Alice submitted twice: Canvas keeps both, the later one with the higher id.
        "smithalice_1001_5001_derivations.ipynb": nb_bytes(nbs["bad"]),
        "smithalice_1001_5107_derivations-1.ipynb": nb_bytes(nbs["good"]),
        "jonesbob_LATE_1002_5002_derivations.ipynb": nb_bytes(nbs["bad"]),
        "nguyenchloe_1003_5003_notes.pdf": b"%PDF-1.4 not a notebook",
        "stranger_1999_5999_derivations.ipynb": nb_bytes(nbs["good"]),
        "__MACOSX/._smithalice_1001_5001_derivations.ipynb": b"\0\0",
    })


def test_collect_canvas_keeps_latest_and_lists_the_rest(course, tmp_path):
    root, nbs = course
    lines = []
    plan = lms.collect(root, canvas_download(tmp_path, nbs), "canvas", log=lines.append)
    text = "\n".join(lines)
    assert plan.assignment == ASSIGNMENT
    assert sorted(plan.chosen) == [("asmith", NOTEBOOK), ("bjones", NOTEBOOK)]
    got = read_nb(root / "submitted" / "asmith" / ASSIGNMENT / NOTEBOOK)
    assert got.cells == nbs["good"].cells                      # the later one counts
    assert "OLDER, not collected: smithalice_1001_5001_derivations.ipynb" in text
    assert "marked LATE by Canvas" in text
    for skipped in ("nguyenchloe_1003_5003_notes.pdf", "stranger_1999_5999_derivations.ipynb",
                    "__MACOSX/._smithalice_1001_5001_derivations.ipynb"):
        assert f"NOT COLLECTED: {skipped}" in text
    assert "Canvas user 1999: no roster student named 'stranger'" in text
    # Canvas's LATE mark: recorded and shown in grades.csv's flags, no time invented
    assert "1 marked LATE by Canvas: no penalty here" in text
    assert not (root / "submitted" / "bjones" / ASSIGNMENT / "timestamp.txt").exists()
    assert export.lms_flags(root, "bjones") == [f"{ASSIGNMENT}: " + export.LMS_LATE_FLAG.format(lms="Canvas")]
    assert export.lms_flags(root, "asmith") == []
    assert lms.late_marks(root) == [("bjones", ASSIGNMENT, "Canvas")]
    rows = {r["student_id"]: r for r in read_csv(export.export_grades(root, tmp_path / "g.csv"))}
    assert "marked LATE by Canvas, not penalised here" in rows["bjones"]["flags"]
    assert "LATE" not in rows["asmith"]["flags"]
    # collected again from a download where it is on time: the mark goes
    on_time = make_zip(tmp_path / "again.zip", {"jonesbob_1002_5302_derivations.ipynb": nb_bytes(nbs["good"])})
    lms.collect(root, on_time, "canvas", log=lambda *_: None)
    assert export.lms_flags(root, "bjones") == [] and lms.late_marks(root) == []
    # the Canvas ids went into the gradebook
    from nbgrader.api import Gradebook
    from grader.preprocessors import gradebook_url
    with Gradebook(gradebook_url(root)) as gb:
        assert gb.find_student("asmith").lms_user_id == "1001"


def test_collect_blackboard_latest_attempt_with_timestamp(course, tmp_path):
    root, nbs = course
    archive = make_zip(tmp_path / "bb.zip", {
        "01_derivations_cnguyen_attempt_2025-03-01-10-00-00_derivations.ipynb": nb_bytes(nbs["good"]),
        "01_derivations_cnguyen_attempt_2025-03-03-10-00-00_derivations.ipynb": nb_bytes(nbs["bad"]),
        "01_derivations_cnguyen_attempt_2025-03-03-10-00-00.txt": b"Name: Chloe",
    })
    lines = []
    lms.collect(root, archive, "blackboard", log=lines.append)
    folder = root / "submitted" / "cnguyen" / ASSIGNMENT
    assert read_nb(folder / NOTEBOOK).cells == nbs["bad"].cells
    assert (folder / "timestamp.txt").read_text().strip() == "2025-03-03 10:00:00"     # UTC
    assert any("attempt receipt" in ln for ln in lines)
    assert any("at 2025-03-03 10:00:00 UTC" in ln for ln in lines)
    # the attempt times in the Blackboard server's zone: nbgrader keeps them in UTC
    lms.collect(root, archive, "blackboard", log=lambda *_: None, timezone="Europe/Berlin")
    assert (folder / "timestamp.txt").read_text().strip() == "2025-03-03 09:00:00"     # CET = UTC+1
    before = snapshot(root / "submitted")
    with pytest.raises(lms.LMSError, match="unknown time zone 'Mars/Olympus'"):
        lms.collect(root, archive, "blackboard", log=lambda *_: None, timezone="Mars/Olympus")
    assert snapshot(root / "submitted") == before


def test_collect_moodle_folders_latest_by_zip_time(course, tmp_path):
    """Moodle's folder form; of two files of one student the one the zip dates later counts
    (whatever the order in the zip); Moodle's names carry no time, so none is written."""
    root, nbs = course
    path = tmp_path / "moodle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("Bob Jones_31_assignsubmission_file/derivations.ipynb",
                                    (2025, 3, 2, 8, 0, 0)), nb_bytes(nbs["good"]))
        zf.writestr(zipfile.ZipInfo("Bob Jones_31_assignsubmission_file_derivations.ipynb",
                                    (2025, 3, 1, 8, 0, 0)), nb_bytes(nbs["bad"]))
    lines = []
    plan = lms.collect(root, path, "moodle", log=lines.append)
    assert list(plan.chosen) == [("bjones", NOTEBOOK)]
    folder = root / "submitted" / "bjones" / ASSIGNMENT
    assert read_nb(folder / NOTEBOOK).cells == nbs["good"].cells
    assert not (folder / "timestamp.txt").exists()
    assert any("OLDER, not collected: Bob Jones_31_assignsubmission_file_derivations.ipynb" in ln
               for ln in lines)


@pytest.mark.parametrize("kind", ["corrupt", "not-a-zip", "not-a-notebook", "no-match", "missing"])
def test_bad_downloads_change_nothing(course, tmp_path, kind):
    root, nbs = course
    submit(root, "asmith", ASSIGNMENT, NOTEBOOK, nbs["good"])
    before = snapshot(root / "submitted")
    gb_before = (root / "gradebook.db").read_bytes()
    path = tmp_path / "download.zip"
    if kind == "corrupt":
        good = make_zip(tmp_path / "ok.zip", {"smithalice_1001_5001_derivations.ipynb": nb_bytes(nbs["bad"])})
        data = bytearray(good.read_bytes())
        data[60:90] = b"X" * 30                                   # inside the member's data
        path.write_bytes(bytes(data))
        message = "corrupt zip archive"
    elif kind == "not-a-zip":
        path.write_text("<html>session expired</html>")
        message = "not a zip archive"
    elif kind == "not-a-notebook":
        make_zip(path, {"smithalice_1001_5001_derivations.ipynb": b"{\"cells\": oops",
                        "jonesbob_1002_5002_derivations.ipynb": nb_bytes(nbs["bad"])})
        message = "smithalice_1001_5001_derivations.ipynb: not valid JSON"
    elif kind == "no-match":
        make_zip(path, {"readme.txt": b"hello"})
        message = "no submission matched"
    else:
        path = tmp_path / "nope.zip"
        message = "no such file"
    with pytest.raises(lms.LMSError) as err:
        lms.collect(root, path, "canvas", log=lambda *_: None)
    assert str(path) in str(err.value) and message in str(err.value)
    assert snapshot(root / "submitted") == before
    assert (root / "gradebook.db").read_bytes() == gb_before
    assert not list(root.glob(".collect-*"))


def test_cli_collect_reports_errors_in_one_line(course, tmp_path, capsys):
    root, _ = course
    path = write(tmp_path / "x.zip", "nope")
    assert cli.main(["--root", str(root), "collect", str(path), "--lms", "moodle"]) == 2
    assert f"python -m grader collect: {path}: not a zip archive" in capsys.readouterr().err
    # --root after the step works the same (the README's hub commands write it there)
    assert cli.main(["collect", str(path), "--lms", "moodle", "--root", str(root)]) == 2
    assert f"python -m grader collect: {path}: not a zip archive" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Grade files: golden files built from the documented formats

TABLE = (
    ["01_derivations", "02_logistic"],
    {"01_derivations": 12.0, "02_logistic": 20.0},
    [
        {"id": "asmith", "first": "Alice", "last": "Smith", "email": "alice.smith@example.edu",
         "lms_id": "1001", "scores": {"01_derivations": 12.0, "02_logistic": 17.5}},
        {"id": "bjones", "first": "Bob", "last": "Jones", "email": "bob.jones@example.edu",
         "lms_id": "", "scores": {"01_derivations": 9.0, "02_logistic": 0.0}},
        {"id": "cnguyen", "first": "Chloé", "last": "Nguyen", "email": "chloe.nguyen@example.edu",
         "lms_id": "1003", "scores": {"01_derivations": 0.0, "02_logistic": 20.0}},
    ],
)


@pytest.mark.parametrize("fmt", ["canvas", "moodle"])
def test_grade_files_match_golden(tmp_path, fmt):
    rows = lms.canvas_rows(*TABLE) if fmt == "canvas" else lms.moodle_rows(*TABLE)
    out = lms.write_csv_atomic(tmp_path / f"{fmt}.csv", rows)
    assert out.read_bytes() == (FIXTURES / f"{fmt}_grades.csv").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_canvas_golden_has_points_possible_row():
    rows = list(csv.reader((FIXTURES / "canvas_grades.csv").open(encoding="utf-8")))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0].strip() == "Points Possible"


def test_unknown_format_is_refused(course):
    root, _ = course
    with pytest.raises(lms.LMSError, match="unknown grade format 'blackboard'"):
        lms.export(root, "blackboard")


# ---------------------------------------------------------------------------------------
# Round trip, with the make targets the README's "one tutor with an LMS" shows

def make(*args, timeout=600):
    """``make <args>`` in the checkout (COURSE_ROOT= points it at a throw-away course)."""
    return system_deps.run_make(*args, timeout=timeout)


def made(*args, **kwargs):
    r = make(*args, **kwargs)
    assert r.returncode == 0, f"make {' '.join(args)}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout + r.stderr


def throwaway_course(dest):
    """A course folder as `make release` expects one: nbgrader_config.py and a solution."""
    (dest / "solutions").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, dest / "solutions" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def test_make_targets_refuse_bad_input_in_one_line(course, tmp_path):
    root, _ = course
    r = make("collect", "LMS=canvas", f"COURSE_ROOT={root}")
    assert r.returncode == 2 and "usage: make collect FROM=download.zip LMS=canvas|moodle|blackboard" in r.stdout
    bad = write(tmp_path / "x.zip", "<html>expired</html>")
    r = make("collect", f"FROM={bad}", "LMS=canvas", f"COURSE_ROOT={root}")
    assert r.returncode != 0 and f"python -m grader collect: {bad}: not a zip archive" in r.stderr
    r = make("roster", f"ROSTER={tmp_path / 'nope.csv'}", f"COURSE_ROOT={root}")
    assert r.returncode != 0 and f"{tmp_path / 'nope.csv'}: roster file not found" in r.stderr


def test_round_trip_lms_downloads_to_lms_grade_files_with_make(tmp_path):
    """The README's LMS commands on a throw-away course: make release, roster, collect (a
    Canvas download, then a Blackboard one), autograde JOBS=2, feedback, grades
    FORMAT=canvas|moodle|csv. Scores equal those of the same notebooks put into submitted/
    by hand; Canvas's LATE mark is flagged, not penalised; Blackboard's attempt time makes
    nbgrader's gradebook count the submission late against the due date."""
    if not SANDBOX:
        system_deps.require("bubblewrap")            # make autograde grades in the sandbox
    root = throwaway_course(tmp_path / "course")
    at = [f"COURSE_ROOT={root}"]
    made("release", *at)
    write(root / "roster.csv", ROSTER + "dlee,Dana,Lee,dana.lee@example.edu\n")
    assert "gradebook: 4 student(s) from the roster" in made("roster", f"ROSTER={root / 'roster.csv'}", *at)

    release = release_nb(root, ASSIGNMENT, NOTEBOOK)
    good = solved(release, read_nb(root / "solutions" / ASSIGNMENT / NOTEBOOK))
    import mistakes
    bad = with_mistake(good, "sigmoid_grad", mistakes.sigmoid_grad_sign,
                       exercise_functions(good)["sigmoid_grad"])
    canvas = make_zip(tmp_path / "submissions.zip", {
        "smithalice_1001_5001_derivations.ipynb": nb_bytes(bad),
        "smithalice_1001_5107_derivations-1.ipynb": nb_bytes(good),
        "jonesbob_LATE_1002_5002_derivations.ipynb": nb_bytes(bad),
    })
    out = made("collect", f"FROM={canvas}", "LMS=canvas", *at)
    assert "2 submission(s) collected, 1 older" in out and "1 marked LATE by Canvas" in out
    blackboard = make_zip(tmp_path / "gradebook.zip", {
        "01_derivations_cnguyen_attempt_2025-03-01-09-00-00_derivations.ipynb": nb_bytes(release),
        "01_derivations_cnguyen_attempt_2025-03-03-10-00-00_derivations.ipynb": nb_bytes(good),
    })
    out = made("collect", f"FROM={blackboard}", "LMS=blackboard", *at)
    assert "1 submission(s) collected, 1 older" in out
    from nbgrader.api import Gradebook
    from grader.preprocessors import gradebook_url
    due = datetime.datetime(2025, 3, 1, 12, 0, 0)
    with Gradebook(gradebook_url(root)) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=due)

    out = made("autograde", "JOBS=2", *at, timeout=1200)
    assert "kernel coursepack-sandbox" in out
    made("feedback", *at)
    for student in ("asmith", "bjones", "cnguyen"):
        assert (root / "feedback" / student / ASSIGNMENT / "derivations.html").is_file()

    direct = make_course(tmp_path / "direct", [ASSIGNMENT])
    for student, nb in (("asmith", good), ("bjones", bad), ("cnguyen", good)):
        submit(direct, student, ASSIGNMENT, NOTEBOOK, nb)
    grade(direct, trusted=True)          # notebooks this repository wrote
    for student in ("asmith", "bjones", "cnguyen"):
        assert scores(root, student, ASSIGNMENT) == scores(direct, student, ASSIGNMENT)
    full = sum(v[0] for v in scores(root, "asmith", ASSIGNMENT).values())
    lost = sum(v[0] for v in scores(root, "bjones", ASSIGNMENT).values())
    assert 0 < lost < full
    with Gradebook(gradebook_url(root)) as gb:
        late = {s: gb.find_submission(ASSIGNMENT, s).total_seconds_late for s in ("asmith", "bjones", "cnguyen")}
    assert late == {"asmith": 0, "bjones": 0,               # Canvas: no time, none invented
                    "cnguyen": (datetime.datetime(2025, 3, 3, 10) - due).total_seconds()}

    out = made("grades", "FORMAT=canvas", *at)
    assert f"wrote {root / 'grades-canvas.csv'}" in out
    assert "bjones/01_derivations: marked LATE by Canvas, not penalised here (Canvas applies" in out
    rows = list(csv.reader((root / "grades-canvas.csv").open(encoding="utf-8")))
    assert rows[1][0].strip() == "Points Possible"
    by_sis = {r[2]: r for r in rows[2:]}
    col = rows[0].index(ASSIGNMENT)
    assert by_sis["asmith"][:2] == ["Smith, Alice", "1001"] and float(by_sis["asmith"][col]) == full
    assert by_sis["bjones"][1] == "1002" and float(by_sis["bjones"][col]) == lost   # not penalised
    assert float(by_sis["cnguyen"][col]) == full and by_sis["cnguyen"][1] == ""
    assert by_sis["dlee"][col] == "0"                        # on the roster, no submission
    assert float(rows[1][col]) > 0
    made("grades", "FORMAT=moodle", *at)
    moodle = {r["ID number"]: r for r in csv.DictReader((root / "grades-moodle.csv").open(encoding="utf-8"))}
    assert moodle["bjones"]["Email address"] == "bob.jones@example.edu"
    assert float(moodle["asmith"][ASSIGNMENT]) == full and float(moodle["bjones"][ASSIGNMENT]) == lost
    assert f"wrote {root / 'grades.csv'}" in made("grades", *at)
    plain = {r["student_id"]: r for r in read_csv(root / "grades.csv")}
    assert "marked LATE by Canvas" in plain["bjones"]["flags"] and "LATE" not in plain["cnguyen"]["flags"]
    assert float(plain["cnguyen"][ASSIGNMENT]) == full
