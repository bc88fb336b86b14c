"""One tutor with an LMS: collect an LMS's submissions download, export the grade files the
LMS imports.

``python -m grader collect DOWNLOAD.zip --lms canvas|moodle|blackboard`` (``make collect``)
reads the zip the LMS gives for an assignment, maps every file name to a roster id and
hands the latest submission of each student to ``nbgrader zip_collect`` (with the
collector plugin :class:`LMSCollector` of this module, which applies the same LMS
pattern), which writes ``submitted/<student>/<assignment>/<notebook>.ipynb`` and, where
the LMS gives one, ``timestamp.txt``. Grading then is ``make autograde`` as usual (the
sandbox, trusted verdicts and flags apply to these submissions like to any other).

The file names, as each LMS writes them into its download:

    canvas      <lastfirst>[_LATE]_<userid>_<submissionid>_<file>[-N].ipynb
    moodle      <Full Name>_<participantid>_assignsubmission_file_<file>.ipynb
                (or the folder <Full Name>_<participantid>_assignsubmission_file/<file>)
    blackboard  <assignment>_<user>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>.ipynb

Matching to the roster (grader.roster): Canvas by the LMS user id (the roster's
``lms_id``, or an id equal to it), else by the name (last name then first name, lower
case, letters and digits only); Moodle by the full name (its participant id is per
assignment); Blackboard by the user name (roster id, ``lms_id`` or the e-mail's local
part). Several files for one student and notebook: the latest counts (Canvas: the higher
submission id, then the higher -N; Blackboard: the later attempt time; Moodle: the later
time stored in the zip). Every file that is not collected is listed with the reason;
nothing is dropped silently. A corrupt zip, or a matched ``.ipynb`` that is not a
notebook, stops the collection with the file named, before anything is written.

Late submissions: nbgrader counts lateness from a submission time and the gradebook's due
date. Blackboard's attempt time (read in ``--timezone``, default UTC) goes into
``timestamp.txt``. Canvas's ``_LATE`` mark has no time: it is recorded in
``build/grading/lms/<student>/<assignment>.json``, listed, and shown in grades.csv's flags
and by ``export``, but no time is invented and no penalty given here: Canvas applies its
own late policy to the grades it imports. Moodle's names carry neither.

``python -m grader export --format canvas|moodle|csv`` (``make grades FORMAT=...``):

    canvas  the Canvas gradebook CSV: Student, ID, SIS User ID, SIS Login ID, Section, one
            column per assignment; second row "Points Possible"; ID is the Canvas user
            id (learnt from the download, or the roster's lms_id), SIS User ID the
            roster id
    moodle  Moodle's grade import CSV: First name, Last name, ID number (the roster id),
            Email address, one column per assignment; map "Email address" to email or
            "ID number" to idnumber in Moodle's import form
    csv     grades.csv (grader.export): every score, total and the flags
"""
import csv
import datetime
import io
import json
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from grader import pipeline
from grader import roster as roster_mod
from grader.export import export_grades, lms_record_path
from grader.preprocessors import gradebook_url, read_record, write_record
from grader.report import submission_scores

LMS_NAMES = ("canvas", "moodle", "blackboard")
EXPORT_FORMATS = ("canvas", "moodle", "csv")
MAX_MEMBER_BYTES = 100 * 1024 * 1024        # nbgrader's default max_file_size is 100 MB

PATTERNS = {
    "canvas": re.compile(
        r"^(?P<name>[^_/]+?)(?:_(?P<late>LATE))?_(?P<user>\d+)_(?P<submission>\d+)_(?P<file>[^/]+)$"),
    "moodle": re.compile(
        r"^(?P<name>[^/]+?)_(?P<participant>\d+)_assignsubmission_(?P<kind>[a-z]+)_(?P<file>[^/]*)$"),
    "blackboard": re.compile(
        r"^(?P<prefix>[^/]+)_attempt_(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>[^/]+)|\.txt)?$"),
}
PATTERN_TEXT = {
    "canvas": "<lastfirst>[_LATE]_<userid>_<submissionid>_<file>[-N]",
    "moodle": "<Full Name>_<participantid>_assignsubmission_file_<file>",
    "blackboard": "<assignment>_<user>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>",
}


class LMSError(ValueError):
    """A download or an argument that cannot be used; the message names it."""


def _check_lms(lms):
    if lms not in LMS_NAMES:
        raise LMSError(f"unknown LMS {lms!r}: choose one of {', '.join(LMS_NAMES)}")


# ---------------------------------------------------------------------------------------
# Names

def name_key(text):
    """Letters and digits of ``text``, lower case, accents removed (Canvas's lastfirst)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text.lower())


def flat_name(member):
    """The name to match: the file's base name, or for Moodle's folder form
    ``<Full Name>_<id>_assignsubmission_file/<file>`` the two joined by '_'."""
    parts = [p for p in member.split("/") if p]
    if len(parts) >= 2 and re.search(r"_assignsubmission_[a-z]+$", parts[-2]):
        return f"{parts[-2]}_{parts[-1]}"
    return parts[-1] if parts else member


@dataclass
class Parsed:
    """What an LMS file name says: who (raw fields), which file, ordering and lateness."""
    file: str                       # the file name the student uploaded
    order: tuple                    # larger = later
    timestamp: str | None = None    # "YYYY-MM-DD HH:MM:SS" where the LMS gives one
    late: bool = False              # the LMS marked it late (Canvas)
    fields: dict = field(default_factory=dict)


def parse_name(lms, name, mtime=None):
    """Parse one flattened file name; returns Parsed, or a str saying why it does not
    match the LMS's pattern."""
    _check_lms(lms)
    m = PATTERNS[lms].match(name)
    if not m:
        return f"does not match the {lms} pattern {PATTERN_TEXT[lms]}"
    g = m.groupdict()
    if lms == "canvas":
        return Parsed(g["file"], (int(g["submission"]),), late=bool(g["late"]),
                      fields={"name": g["name"], "user": g["user"]})
    if lms == "moodle":
        if g["kind"] != "file" or not g["file"]:
            return f"a Moodle {g['kind']} entry, not an uploaded file"
        return Parsed(g["file"], (mtime or (0,),), fields={"name": g["name"], "participant": g["participant"]})
    if not g["file"]:
        return "Blackboard's attempt receipt (no uploaded file)"
    ts = datetime.datetime.strptime(g["ts"], "%Y-%m-%d-%H-%M-%S")
    return Parsed(g["file"], (ts.timetuple()[:6],), timestamp=ts.strftime("%Y-%m-%d %H:%M:%S"),
                  fields={"prefix": g["prefix"]})


def notebook_of(lms, file, notebooks):
    """(notebook file name, -N copy number) when ``file`` is one of ``notebooks`` (Canvas
    appends -N to a re-uploaded file), else (None, 0)."""
    if file in notebooks:
        return file, 0
    if lms == "canvas":
        m = re.match(r"^(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)$", file)
        if m and m["stem"] + m["ext"] in notebooks:
            return m["stem"] + m["ext"], int(m["n"])
    return None, 0


class RosterIndex:
    """Finds the roster student an LMS file name belongs to."""

    def __init__(self, students):
        self.students = list(students)
        self.by_id = {s.id: s for s in self.students}
        self.by_lms = {s.lms_id: s for s in self.students if s.lms_id}
        self.by_name = {}
        for s in self.students:
            for key in {name_key(s.last + s.first), name_key(s.first + s.last)}:
                self.by_name.setdefault(key, []).append(s)
        self.logins = {}
        for s in self.students:
            for login in {s.id, s.lms_id, s.email.split("@")[0], s.email}:
                if login:
                    self.logins.setdefault(login.lower(), set()).add(s)

    def _by_name(self, key, what):
        found = {s.id: s for s in self.by_name.get(key, [])}
        if len(found) == 1:
            return next(iter(found.values()))
        if not found:
            return f"no roster student named {what!r}"
        return f"{what!r} names {len(found)} roster students ({', '.join(sorted(found))}); " \
               "add their LMS ids (lms_id column) to the roster"

    def match(self, lms, parsed):
        """(Student, lms user id or "") or a str saying why there is none."""
        f = parsed.fields
        if lms == "canvas":
            user = f["user"]
            if user in self.by_lms:
                return self.by_lms[user], user
            if user in self.by_id:
                return self.by_id[user], user
            found = self._by_name(name_key(f["name"]), f["name"])
            return (found, user) if isinstance(found, roster_mod.Student) else \
                f"Canvas user {user}: {found}"
        if lms == "moodle":
            found = self._by_name(name_key(f["name"]), f["name"])
            return (found, "") if isinstance(found, roster_mod.Student) else found
        prefix = f["prefix"].lower()
        best = None
        for login, students in self.logins.items():
            if (prefix.endswith("_" + login) or prefix == login) and (best is None or len(login) > len(best[0])):
                best = (login, students)
        if best is None:
            return f"no roster id, lms_id or e-mail name at the end of {f['prefix']!r}"
        if len(best[1]) > 1:
            return f"{best[0]!r} names {len(best[1])} roster students"
        return next(iter(best[1])), ""


# ---------------------------------------------------------------------------------------
# Collect

@dataclass
class Entry:
    member: str                 # the zip member
    name: str                   # flattened file name
    student: str
    notebook: str               # e.g. derivations.ipynb
    assignment: str
    order: tuple
    timestamp: str | None
    late: bool
    lms_user: str


@dataclass
class Plan:
    lms: str
    assignment: str | None
    timezone: str = "UTC"                              # of the times in the file names
    chosen: dict = field(default_factory=dict)        # (student, notebook) -> Entry
    superseded: list = field(default_factory=list)    # (Entry, the Entry that counts)
    skipped: list = field(default_factory=list)       # (member, reason)


def release_index(root):
    """{notebook file name: assignment} over notebooks/*/*.ipynb of the course."""
    index = {}
    for path in sorted((Path(root) / "notebooks").glob("*/*.ipynb")):
        index.setdefault(path.name, path.parent.name)
    return index


def open_zip(path):
    """The ZipFile at ``path``, checked whole (CRC of every member); LMSError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise LMSError(f"{path}: no such file (FROM= must name the zip the LMS gave you)")
    if not zipfile.is_zipfile(path):
        raise LMSError(f"{path}: not a zip archive")
    try:
        zf = zipfile.ZipFile(path)
        bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise LMSError(f"{path}: corrupt zip archive ({exc})") from None
    if bad is not None:
        zf.close()
        raise LMSError(f"{path}: corrupt zip archive (member {bad!r} fails its CRC check)")
    return zf


def plan_collect(zf, lms, students, notebooks, assignment=None):
    """What to collect from the open zip: the latest matching file per student and
    notebook; everything else listed in ``skipped`` or ``superseded``."""
    _check_lms(lms)
    index = RosterIndex(students)
    plan = Plan(lms, assignment)
    if assignment is not None:
        notebooks = {nb: a for nb, a in notebooks.items() if a == assignment}
        if not notebooks:
            raise LMSError(f"assignment {assignment!r} has no released notebook under notebooks/")
    entries = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        member = info.filename
        if info.file_size > MAX_MEMBER_BYTES:
            plan.skipped.append((member, f"larger than {MAX_MEMBER_BYTES // 2**20} MB"))
            continue
        name = flat_name(member)
        parsed = parse_name(lms, name, mtime=info.date_time)
        if isinstance(parsed, str):
            plan.skipped.append((member, parsed))
            continue
        nb, copy_n = notebook_of(lms, parsed.file, notebooks)
        if nb is None:
            plan.skipped.append((member, f"{parsed.file!r} is not a notebook of the "
                                         f"{'assignment ' + assignment if assignment else 'course'} "
                                         f"(expected {', '.join(sorted(notebooks))})"))
            continue
        who = index.match(lms, parsed)
        if isinstance(who, str):
            plan.skipped.append((member, who))
            continue
        student, lms_user = who
        entries.append(Entry(member, name, student.id, nb, notebooks[nb], parsed.order + (copy_n,),
                             parsed.timestamp, parsed.late, lms_user))
    found = sorted({e.assignment for e in entries})
    if len(found) > 1:
        raise LMSError(f"the download holds notebooks of several assignments ({', '.join(found)}); "
                       "name one with ASSIGNMENT=")
    plan.assignment = assignment or (found[0] if found else None)
    for e in sorted(entries, key=lambda e: e.order):
        key = (e.student, e.notebook)
        if key in plan.chosen:
            plan.superseded.append((plan.chosen[key], e))
        plan.chosen[key] = e
    plan.superseded = [(old, plan.chosen[(old.student, old.notebook)]) for old, _ in plan.superseded]
    return plan


def _safe_stage_name(name):
    return name.replace("/", "_").replace("\\", "_").lstrip(".") or "file"


def check_timezone(timezone):
    """``timezone`` if it is an IANA zone name (or UTC); LMSError otherwise."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise LMSError(f"unknown time zone {timezone!r}: TIMEZONE= takes an IANA name such as "
                       "Europe/London or America/New_York, or UTC") from None
    return timezone


def collect(root, archive, lms, roster_path=None, assignment=None, log=print, timezone="UTC"):
    """Collect an LMS download into submitted/. Returns the Plan. Raises LMSError (or
    roster.RosterError) before anything under submitted/ changes. ``timezone``: the zone
    of the times in the file names (Blackboard's attempt times), UTC unless given."""
    root = Path(root)
    _check_lms(lms)
    check_timezone(timezone)
    roster_path = Path(roster_path) if roster_path else root / "roster.csv"
    students = roster_mod.read_roster(roster_path)
    notebooks = release_index(root)
    if not notebooks:
        raise LMSError(f"{root / 'notebooks'}: no released notebooks; run `make release` first")
    with open_zip(archive) as zf:
        plan = plan_collect(zf, lms, students, notebooks, assignment)
        plan.timezone = timezone
        if not plan.chosen:
            _log_plan(plan, log)
            raise LMSError(f"{archive}: no submission matched ({len(plan.skipped)} file(s) listed above)")
        stage = Path(tempfile.mkdtemp(prefix=".collect-", dir=root))
        try:
            extracted = stage / "downloaded" / plan.assignment / "extracted"
            extracted.mkdir(parents=True)
            bad = []
            for e in plan.chosen.values():
                dest = extracted / _safe_stage_name(e.name)
                with zf.open(e.member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
                reason = pipeline.read_submission(dest)
                if reason:
                    bad.append(f"{e.member}: {reason}")
            if bad:
                raise LMSError(f"{archive}: not a notebook, nothing collected:\n  " + "\n  ".join(bad))
            _zip_collect(root, stage, plan, roster_path)
            _install(root, stage, plan)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    roster_mod.set_lms_ids(root, {e.student: e.lms_user for e in plan.chosen.values() if e.lms_user},
                           log=lambda *_: None)
    _record_lms_marks(root, plan)
    _log_plan(plan, log)
    return plan


LMS_TITLES = {"canvas": "Canvas", "moodle": "Moodle", "blackboard": "Blackboard"}


def _record_lms_marks(root, plan):
    """For each collected student: which files counted and the LMS's late mark, in
    build/grading/lms/<student>/<assignment>.json (grades.csv's flags show the mark). A
    new collection of the assignment replaces the student's record, late or not."""
    by_student = {}
    for (student, nb), e in sorted(plan.chosen.items()):
        by_student.setdefault(student, []).append((nb, e))
    for student, entries in by_student.items():
        write_record(lms_record_path(root, student, plan.assignment), {
            "lms": plan.lms, "lms_title": LMS_TITLES[plan.lms],
            "files": {nb: e.member for nb, e in entries},
            "late": any(e.late for _, e in entries),
            "timestamps": {nb: f"{e.timestamp} {plan.timezone}" for nb, e in entries if e.timestamp},
        })


def late_marks(root):
    """[(student, assignment, LMS title)] of the collected submissions an LMS marked late."""
    found = []
    for path in sorted((Path(root) / "build" / "grading" / "lms").glob("*/*.json")):
        rec = read_record(path)
        if rec.get("late"):
            found.append((path.parent.name, path.stem, rec.get("lms_title", rec.get("lms", "?"))))
    return found


def _zip_collect(root, stage, plan, roster_path):
    """nbgrader zip_collect on the staged files, into the stage's own submitted/."""
    rel = stage.relative_to(root)
    result = pipeline.run_nbgrader([
        "zip_collect", plan.assignment, "--strict",
        "--collector=grader.lms.LMSCollector",
        f"--LMSCollector.lms={plan.lms}",
        f"--LMSCollector.roster={Path(roster_path).resolve()}",
        f"--LMSCollector.timezone={plan.timezone}",
        f"--ZipCollectApp.downloaded_directory={rel / 'downloaded'}",
        f"--CourseDirectory.submitted_directory={rel / 'submitted'}",
    ], root, timeout=600)
    missing = [f"{s}/{nb}" for (s, nb) in plan.chosen
               if not (stage / "submitted" / s / plan.assignment / nb).is_file()]
    if result.returncode != 0 or missing:
        raise LMSError("nbgrader zip_collect failed"
                       + (f" (not collected: {', '.join(missing)})" if missing else "")
                       + f": {pipeline._last_error(result.output)}")


def _install(root, stage, plan):
    """Move each student's staged folder into submitted/<student>/<assignment>/,
    replacing what an earlier collection left there."""
    for student in sorted({s for s, _ in plan.chosen}):
        new = stage / "submitted" / student / plan.assignment
        dest = root / "submitted" / student / plan.assignment
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            old = stage / "replaced" / student
            old.parent.mkdir(parents=True, exist_ok=True)
            os.replace(dest, old)
        os.replace(new, dest)


def _log_plan(plan, log):
    log(f"{plan.lms} download, assignment {plan.assignment}: {len(plan.chosen)} submission(s) collected, "
        f"{len(plan.superseded)} older, {len(plan.skipped)} file(s) not collected")
    late = sum(1 for e in plan.chosen.values() if e.late)
    if late:
        log(f"  {late} marked LATE by Canvas: no penalty here (the download gives no submission time); "
            "grades.csv's flags list them, and Canvas applies its own late policy when it imports "
            "the grades")
    for (student, nb), e in sorted(plan.chosen.items()):
        extra = " (marked LATE by Canvas)" if e.late else ""
        when = f" at {e.timestamp} {plan.timezone}" if e.timestamp else ""
        log(f"  {student}/{plan.assignment}/{nb} <- {e.member}{when}{extra}")
    for old, new in plan.superseded:
        log(f"  OLDER, not collected: {old.member} (the later {new.member} counts)")
    for member, reason in plan.skipped:
        log(f"  NOT COLLECTED: {member}: {reason}")


class LMSCollector(FileNameCollectorPlugin):
    """nbgrader zip_collect plugin: the file-name pattern of one LMS, mapped to roster ids
    (``--collector=grader.lms.LMSCollector --LMSCollector.lms=canvas
    --LMSCollector.roster=roster.csv``)."""

    lms = Unicode("canvas", help="canvas, moodle or blackboard").tag(config=True)
    roster = Unicode("roster.csv", help="the roster CSV (id, first, last, email)").tag(config=True)
    timezone = Unicode("UTC", help="time zone of the times in the file names (Blackboard)").tag(config=True)

    def collect(self, submitted_file):
        if not hasattr(self, "_index"):
            self._index = RosterIndex(roster_mod.read_roster(self.roster))
        name = os.path.basename(submitted_file)
        parsed = parse_name(self.lms, name)
        if isinstance(parsed, str):
            self.log.warning("%s: %s", name, parsed)
            return None
        who = self._index.match(self.lms, parsed)
        if isinstance(who, str):
            self.log.warning("%s: %s", name, who)
            return None
        notebooks = {p.name for p in Path(self.parent.coursedir.format_path(
            self.parent.coursedir.release_directory, ".", self.parent.coursedir.assignment_id)).glob("*.ipynb")}
        nb, _ = notebook_of(self.lms, parsed.file, notebooks)
        info = {"student_id": who[0].id, "file_id": nb or parsed.file}
        if parsed.timestamp:
            info["timestamp"] = f"{parsed.timestamp} {self.timezone}"     # nbgrader stores it in UTC
        return info


# ---------------------------------------------------------------------------------------
# Export

def _score_table(root):
    """(assignments, max points {a: max}, rows [{student fields, scores {a: score}}])."""
    with Gradebook(gradebook_url(root)) as gb:
        assignments = sorted(a.name for a in gb.assignments)
        maxes = {a.name: float(a.max_score) for a in gb.assignments}
        rows = []
        for s in sorted(gb.students, key=lambda s: s.id):
            scores = {}
            for a in assignments:
                found = submission_scores(gb, s.id, a)
                scores[a] = found["score"] if found else 0.0
            rows.append({"id": s.id, "first": s.first_name or "", "last": s.last_name or "",
                         "email": s.email or "", "lms_id": s.lms_user_id or "", "scores": scores})
    return assignments, maxes, rows


def _fmt(x):
    return f"{x:g}"


def canvas_rows(assignments, maxes, rows):
    out = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments],
           ["    Points Possible", "", "", "", "", *[_fmt(maxes[a]) for a in assignments]]]
    for r in rows:
        name = ", ".join(p for p in (r["last"], r["first"]) if p) or r["id"]
        out.append([name, r["lms_id"], r["id"], "", "", *[_fmt(r["scores"][a]) for a in assignments]])
    return out


def moodle_rows(assignments, maxes, rows):
    out = [["First name", "Last name", "ID number", "Email address", *assignments]]
    for r in rows:
        out.append([r["first"], r["last"], r["id"], r["email"], *[_fmt(r["scores"][a]) for a in assignments]])
    return out


def write_csv_atomic(dest, rows):
    """Write ``rows`` to ``dest`` through a temporary file in the same folder, read it
    back, then rename it into place."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
        with open(tmp, newline="", encoding="utf-8") as fh:
            if list(csv.reader(fh)) != [[str(c) for c in row] for row in rows]:
                raise LMSError(f"{dest}: the written file does not read back the same")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dest


def export(root, fmt, dest=None, roster_path=None):
    """Write the grade file for ``fmt`` (canvas, moodle, csv); returns its path. Names and
    e-mails come from the gradebook (the roster's, when it is given or at roster.csv)."""

    root = Path(root)
    if fmt not in EXPORT_FORMATS:
        raise LMSError(f"unknown grade format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "csv":
        return export_grades(root, dest)
    roster_path = Path(roster_path) if roster_path else root / "roster.csv"
    if roster_path.is_file():
        roster_mod.add_to_gradebook(root, roster_mod.read_roster(roster_path), log=lambda *_: None)
    assignments, maxes, rows = _score_table(root)
    table = canvas_rows(assignments, maxes, rows) if fmt == "canvas" else moodle_rows(assignments, maxes, rows)
    dest = Path(dest) if dest else root / f"grades-{fmt}.csv"
    return write_csv_atomic(dest, table)


__all__ = ["LMSError", "LMSCollector", "collect", "export", "parse_name", "plan_collect"]


# ---------------------------------------------------------------------------------------
# Command line (grader/cli.py adds these steps)

def add_steps(steps):
    """The `collect` and `roster` steps, and `--format` on `export`, of `python -m grader`."""
    col = steps.add_parser("collect", help="collect an LMS download (zip) into submitted/")
    col.add_argument("archive", help="the zip the LMS gave for one assignment")
    col.add_argument("--lms", required=True, choices=LMS_NAMES)
    col.add_argument("--roster", default=None, help="roster CSV (default roster.csv at the course root)")
    col.add_argument("--timezone", default="UTC",
                     help="time zone of the attempt times in Blackboard's file names (default UTC)")
    col.add_argument("--assignment", default=None,
                     help="the assignment (default: found from the notebook names)")
    ros = steps.add_parser("roster", help="add the roster's students to the gradebook")
    ros.add_argument("roster", nargs="?", default=None, help="roster CSV (default roster.csv)")


def run_step(args, root):
    """Run a step added by add_steps; returns True when it was one of them."""
    if args.step == "collect":
        collect(root, args.archive, args.lms, args.roster, args.assignment, timezone=args.timezone)
        return True
    if args.step == "roster":
        roster_mod.add_to_gradebook(root, roster_mod.read_roster(args.roster or Path(root) / "roster.csv"))
        return True
    if args.step == "export":
        print(f"wrote {export(root, args.format, args.to, getattr(args, 'roster', None))}")
        for student, assignment, title in late_marks(root):
            print(f"  {student}/{assignment}: marked LATE by {title}, not penalised here"
                  + (f" ({title} applies its late policy on import)" if args.format == "canvas" else ""))
        return True
    return False
