"""The course roster: a CSV file with one row per student, and the gradebook entries made
from it (``python -m grader roster ROSTER``).

Columns (header row required, names case-insensitive, any order, extra columns ignored):

    id      the student id: the gradebook's id, the hub's user name and Unix login
    first   first name
    last    last name
    email   e-mail address (Moodle's grade import can key on it)
    lms_id  optional: the student's numeric id in the LMS (Canvas "ID"), when known in
            advance; `make collect` also learns it from the LMS's file names

Every problem names the file and the line. Ids must be valid Unix user names (the hub
creates one account per student), unique, and not reserved by nbgrader ('+' and '*').
"""
import csv
import re
from dataclasses import dataclass
from pathlib import Path

from grader.pipeline import _gradebook

REQUIRED = ("id", "first", "last", "email")
OPTIONAL = ("lms_id",)
# A portable Unix user name (useradd's default NAME_REGEX, lower case), at most 32 chars.
ID_PATTERN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


class RosterError(ValueError):
    """The roster file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Student:
    id: str
    first: str
    last: str
    email: str
    lms_id: str = ""

    @property
    def full_name(self):
        return f"{self.first} {self.last}".strip()


def read_roster(path):
    """The students of the roster CSV at ``path`` (in file order). Raises RosterError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")     # Excel writes a BOM
    except FileNotFoundError:
        raise RosterError(f"{path}: roster file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot read the roster ({exc})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise RosterError(f"{path}: empty file; expected a header row {','.join(REQUIRED)}")
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [col for col in REQUIRED if col not in header]
    if missing:
        raise RosterError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                          f"(header is {','.join(rows[0])}; expected {','.join(REQUIRED)})")
    index = {col: header.index(col) for col in REQUIRED + OPTIONAL if col in header}
    students, seen_ids, seen_emails = [], {}, {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        values = {col: row[i].strip() for col, i in index.items()}
        where = f"{path}: line {lineno}"
        sid = values["id"]
        if not sid:
            raise RosterError(f"{where}: empty id")
        if not ID_PATTERN.match(sid):
            raise RosterError(f"{where}: id {sid!r} is not a valid user name (lower-case letters, "
                              "digits, '_' and '-', starting with a letter or '_', at most 32)")
        if sid in seen_ids:
            raise RosterError(f"{where}: id {sid!r} already on line {seen_ids[sid]}")
        email = values["email"]
        if not EMAIL_PATTERN.match(email):
            raise RosterError(f"{where}: {sid}: {email!r} is not an e-mail address")
        if email.lower() in seen_emails:
            raise RosterError(f"{where}: e-mail {email!r} already on line {seen_emails[email.lower()]}")
        if not values["first"] and not values["last"]:
            raise RosterError(f"{where}: {sid}: no first or last name")
        seen_ids[sid] = lineno
        seen_emails[email.lower()] = lineno
        students.append(Student(sid, values["first"], values["last"], email, values.get("lms_id", "")))
    if not students:
        raise RosterError(f"{path}: no students (only a header row)")
    return students


def add_to_gradebook(root, students, log=print):
    """Create or update every student in the course's gradebook (names, e-mail, LMS id).
    Returns the number of students written."""
    with _gradebook(root) as gb:
        for s in students:
            kwargs = {"first_name": s.first, "last_name": s.last, "email": s.email}
            if s.lms_id:
                kwargs["lms_user_id"] = s.lms_id
            gb.update_or_create_student(s.id, **kwargs)
    log(f"gradebook: {len(students)} student(s) from the roster")
    return len(students)


def set_lms_ids(root, lms_ids, log=print):
    """Record LMS user ids learnt from an LMS download ({student id: lms id})."""
    if not lms_ids:
        return
    with _gradebook(root) as gb:
        for sid, lms_id in sorted(lms_ids.items()):
            gb.update_or_create_student(sid, lms_user_id=str(lms_id))
    log(f"gradebook: LMS ids of {len(lms_ids)} student(s) recorded")
