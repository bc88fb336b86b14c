"""The short report printed at the end of `python -m grader autograde`.

Per (student, assignment): score and maximum from the gradebook, the autograded part,
written answers still to grade by hand, the flags (copies of the pack's references among
them) and the reason for every lost autograded cell; per assignment, the pairs of
similar submissions (``grader.similarity``, key ``similarity``). Also written as JSON to
build/grading/report.json.
"""
import json
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.preprocessors import gradebook_url, read_record, record_path


def report_path(root):
    """build/grading/report.json under the course root."""
    return Path(root) / "build" / "grading" / "report.json"


def submission_scores(gb, student, assignment):
    """Scores of one submission from the gradebook.

    Returns a dict: score, max_score, auto_score, auto_max (autograded test cells),
    manual_pending (ids of written answers not yet graded by hand), cells
    (grade id -> {score, max_score, auto}); None when there is no submission.
    """
    try:
        sub = gb.find_submission(assignment, student)
    except MissingEntry:
        return None
    out = {"score": 0.0, "max_score": 0.0, "auto_score": 0.0, "auto_max": 0.0,
           "manual_pending": [], "cells": {}}
    for nb in sub.notebooks:
        solution_ids = {c.name for c in nb.notebook.solution_cells}
        for grade in nb.grades:
            auto = grade.name not in solution_ids
            score = float(grade.score or 0.0)
            out["score"] += score
            out["max_score"] += float(grade.max_score)
            if auto:
                out["auto_score"] += score
                out["auto_max"] += float(grade.max_score)
            elif grade.manual_score is None and grade.needs_manual_grade:
                out["manual_pending"].append(grade.name)
            out["cells"][grade.name] = {"score": score, "max_score": float(grade.max_score), "auto": auto}
    return out


def build(root, jobs, seed, kernel, jobs_at_once, cell_timeout, submission_timeout, seconds):
    """The report dict for finished grading jobs (grader.pipeline.Job)."""
    root = Path(root)
    rows = []
    with Gradebook(gradebook_url(root)) as gb:
        for job in jobs:
            scores = submission_scores(gb, job.student, job.assignment) or {
                "score": 0.0, "max_score": 0.0, "auto_score": 0.0, "auto_max": 0.0,
                "manual_pending": [], "cells": {}}
            flags, lost, zero_reasons = [], {}, []
            folder = record_path(root, job.student, job.assignment, "x").parent
            for path in sorted(folder.glob("*.json")):
                record = read_record(path)
                flags.extend(record.get("flags", []))
                if record.get("zero_reason"):
                    zero_reasons.append(record["zero_reason"])
                for gid, verdict in (record.get("verdicts") or {}).items():
                    if not verdict.get("passed"):
                        lost[gid] = (verdict.get("message") or "").strip().splitlines()[0:1]
            rows.append({
                "student": job.student,
                "assignment": job.assignment,
                "score": round(scores["score"], 4),
                "max_score": round(scores["max_score"], 4),
                "auto_score": round(scores["auto_score"], 4),
                "auto_max": round(scores["auto_max"], 4),
                "manual_pending": scores["manual_pending"],
                "flags": flags,
                "zero_reasons": zero_reasons,
                "lost": {gid: (msg[0] if msg else "") for gid, msg in sorted(lost.items())},
                "seconds": round(job.result.seconds, 2) if job.result else 0.0,
                "exit_code": job.result.returncode if job.result else None,
            })
    return {
        "seed": seed,
        "kernel": kernel,
        "jobs": jobs_at_once,
        "cell_timeout_s": cell_timeout,
        "submission_timeout_s": submission_timeout,
        "seconds": round(seconds, 1),
        "submissions": rows,
    }


def write(root, report):
    """Write ``report`` to build/grading/report.json; returns the path."""
    path = report_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return path


def format_text(report):
    """A few lines per submission for the terminal."""
    lines = [
        f"Graded {len(report['submissions'])} submission(s) in {report['seconds']:.0f} s "
        f"(jobs {report['jobs']}, kernel {report['kernel']}, check seed {report['seed']}, "
        f"{report['cell_timeout_s']} s per cell, {report['submission_timeout_s']:.0f} s per submission)",
    ]
    width = max([len(f"{r['student']}/{r['assignment']}") for r in report["submissions"]] + [10])
    for r in report["submissions"]:
        name = f"{r['student']}/{r['assignment']}".ljust(width)
        pending = f"  +{len(r['manual_pending'])} answer(s) to grade by hand" if r["manual_pending"] else ""
        lines.append(f"  {name}  {r['score']:g}/{r['max_score']:g}  "
                     f"(autograded {r['auto_score']:g}/{r['auto_max']:g}){pending}")
        for reason in r["zero_reasons"]:
            lines.append(f"      ZERO: {reason}")
        for gid, why in r["lost"].items():
            lines.append(f"      lost {gid}: {why}")
        for flag in r["flags"]:
            if flag not in r["zero_reasons"]:
                lines.append(f"      FLAG: {flag}")
    for data in (report.get("similarity") or {}).values():
        from grader.similarity import format_text as similarity_text
        lines.append("  " + similarity_text(data))
    lines.append(f"Report: build/grading/report.json")
    return "\n".join(lines)
