"""grades.csv: one row per student, a score column per assignment, total, flags.

`python -m grader export` and `nbgrader export` (through ``CourseExportPlugin``, set in
nbgrader_config.py) write the same file. A score is the gradebook's score (manual grade
where a tutor gave one, else the autograder's); an assignment not submitted counts 0.
``flags`` joins every flag of the student's graded submissions as
``<assignment>: <flag>`` separated by " | ", and the late marks an LMS download carried
(`make collect`, grader.lms: Canvas's ``_LATE``).
"""
import csv
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin

from grader.preprocessors import gradebook_url, read_record
from grader.report import submission_scores

LMS_LATE_FLAG = ("marked LATE by {lms}, not penalised here (the download gives no submission "
                 "time; {lms} applies its own late policy when it imports the grade)")


def lms_record_path(root, student, assignment):
    """Where `make collect` records what the LMS said about one collected submission
    (which file, the LMS's late mark): build/grading/lms/<student>/<assignment>.json."""
    return Path(root) / "build" / "grading" / "lms" / student / f"{assignment}.json"


def lms_flags(root, student):
    """["<assignment>: marked LATE by Canvas, ..."] for the student's collected
    submissions that the LMS marked late."""
    flags = []
    for path in sorted((Path(root) / "build" / "grading" / "lms" / student).glob("*.json")):
        rec = read_record(path)
        if rec.get("late"):
            flags.append(f"{path.stem}: " + LMS_LATE_FLAG.format(lms=rec.get("lms_title", rec.get("lms"))))
    return flags


def student_flags(root, student):
    """All flags recorded for ``student``, as ["<assignment>: <flag>", ...] (sorted by
    assignment, then in recorded order): the grader's, then the LMS's late marks."""
    base = Path(root) / "build" / "grading" / "records" / student
    flags = []
    for path in sorted(base.glob("*/*.json")):
        for flag in read_record(path).get("flags", []):
            flags.append(f"{path.parent.name}: {flag}")
    return flags + lms_flags(root, student)


def grade_table(root, gb):
    """(header, rows) of the grades CSV from an open Gradebook."""
    assignments = sorted(a.name for a in gb.assignments)
    header = ["student_id", *assignments, "total", "max_total", "flags"]
    max_by_assignment = {a.name: float(a.max_score) for a in gb.assignments}
    rows = []
    for student in sorted(s.id for s in gb.students):
        row = [student]
        total = 0.0
        for name in assignments:
            scores = submission_scores(gb, student, name)
            score = scores["score"] if scores else 0.0
            total += score
            row.append(f"{score:g}")
        row.append(f"{total:g}")
        row.append(f"{sum(max_by_assignment.values()):g}")
        row.append(" | ".join(student_flags(root, student)))
        rows.append(row)
    return header, rows


def export_grades(root, dest=None):
    """Write the grades CSV (default: grades.csv at the course root); returns its path."""
    root = Path(root)
    dest = Path(dest) if dest else root / "grades.csv"
    with Gradebook(gradebook_url(root)) as gb:
        header, rows = grade_table(root, gb)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return dest


class CourseExportPlugin(ExportPlugin):
    """nbgrader export plugin writing the pack's grades.csv (``--to`` picks the file)."""

    def export(self, gradebook):
        root = Path(self.parent.coursedir.root) if getattr(self.parent, "coursedir", None) else Path.cwd()
        dest = self.to or str(root / "grades.csv")
        header, rows = grade_table(root, gradebook)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        self.log.info("Exported grades to %s", dest)
