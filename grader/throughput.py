"""Grading throughput for `make bench`: submissions graded per minute at JOBS=1, 2, ...

:func:`measure` builds a throw-away course from the repository's solutions/ (every
assignment, or those given), releases it, submits the instructor solutions as a few
students (a full-marks submission runs every cell, the slowest honest case), and times
``grader.pipeline.autograde`` over all of them once per ``jobs`` value, in the sandbox
unless ``unsafe``. One untimed submission is graded first so that every timed run starts
with warm caches. A "submission" is one student's notebook of one assignment.

Returns, for ``jobs=(1, 2)``:
``{"grading_per_min_jobs1", "grading_per_min_jobs2", "grading_speedup_jobs2",
"grading_seconds_jobs1", "grading_seconds_jobs2", "grading_submissions",
"grading_students", "grading_assignments", "grading_kernel", "grading_cells",
"grading_seconds_per_notebook"}``; the last is, per assignment, the mean seconds one
submission took at the first ``jobs`` value (its nbgrader process, start to end).
``cells`` is the grading mode (grader/grading_cells.py): "graded" (the default, what
``make autograde`` does) or "all" (every cell, as before the grading mode existed).

A *baseline* grades the same submissions once more at JOBS=1, another way
(:data:`BASELINES`): "all" (every cell, each submission still forked from a preloaded
nbgrader server: what leaving out the experiments buys), "nbgrader" (every cell, each
submission in a fresh interpreter that imports nbgrader anew and starts the kernel when
it executes the notebook, as ``nbgrader autograde`` grades: the way issue 18 measured
today's rate) or "late_kernel" (the default grading mode with the kernel started only
when nbgrader executes the notebook: what starting it ahead buys, grader/headstart.py).

``python -m grader.throughput [--cells all|graded] [--jobs 1 2] [--students N]
[--assignment A ...] [--baseline all|nbgrader|late_kernel ...]`` prints the same dict as
JSON.
"""
import contextlib
import copy
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from grader import pipeline, settings

REPO = pipeline.REPO_ROOT

#: The ways of grading: name -> (grading mode, whether each submission is forked from a
#: preloaded nbgrader server (grader/nbgrader_run.py), whether its kernel is started
#: ahead (grader/headstart.py)).
BASELINES = {"graded": ("graded", True, True), "all": ("all", True, True),
             "nbgrader": ("all", False, False), "late_kernel": ("graded", True, False)}


def solved(release, source):
    """The release with every solution cell replaced by the source's (full marks)."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution") and nbg.get("grade_id") in by_id:
            cell.source = by_id[nbg["grade_id"]].source
    return nb


def build_course(dest, assignments=None, students=2, repo=REPO):
    """A released course in ``dest`` with ``students`` full-marks students per assignment.
    Returns (course root, assignments, student ids)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    assignments = list(assignments or pipeline.discover_assignments(repo))
    if not assignments:
        raise ValueError(f"no assignments under {Path(repo) / 'solutions'}")
    shutil.copy(Path(repo) / "nbgrader_config.py", dest / "nbgrader_config.py")
    for name in assignments:
        shutil.copytree(Path(repo) / "solutions" / name, dest / "solutions" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    pipeline.release(dest, assignments, log=lambda *_: None)
    ids = [f"student{i + 1}" for i in range(students)]
    for name in assignments:
        for src in sorted((dest / "solutions" / name).glob("*.ipynb")):
            source = nbformat.read(src, as_version=4)
            release = nbformat.read(dest / "notebooks" / name / src.name, as_version=4)
            nb = solved(release, source)
            for student in ids:
                folder = dest / "submitted" / student / name
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, folder / src.name)
    return dest, assignments, ids


def measure(jobs=(1, 2), students=2, assignments=None, unsafe=False, log=print, cells="graded",
            baseline=None):
    """Time ``autograde`` of a throw-away course at each ``jobs`` value (see the module
    docstring for the returned keys). Every submission must get full marks, else
    RuntimeError (a throughput of failing runs means nothing).

    With ``baseline`` (a name of :data:`BASELINES`, or several), the same submissions are
    graded once more at JOBS=1 each such way, after the timed runs, adding for each
    ``grading_per_min_jobs1_<baseline>``, ``grading_seconds_per_notebook_<baseline>`` and
    ``grading_speedup_over_<baseline>``: the rate of ``cells`` over the baseline's, for the
    whole run and per assignment (seconds per submission, baseline / ``cells``)."""
    baselines = (baseline,) if isinstance(baseline, str) else tuple(baseline or ())
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {', '.join(map(repr, unknown))}; "
                         f"the baselines are: {', '.join(BASELINES)}")
    jobs = tuple(int(j) for j in jobs)
    if not jobs or min(jobs) < 1:
        raise ValueError(f"jobs must be positive integers, got {jobs!r}")
    if students < 1:
        raise ValueError(f"students must be at least 1, got {students!r}")
    quiet = lambda *_: None  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="coursepack-throughput-") as tmp:
        root, names, ids = build_course(Path(tmp) / "course", assignments, students)
        n = len(names) * len(ids)
        # Warm-up (not timed): caches, the kernelspec, the sandbox check.
        pipeline.autograde(root, jobs=1, unsafe=unsafe, students=ids[:1], assignments=names[:1], log=quiet,
                           cells=cells)
        out = {"grading_submissions": n, "grading_students": len(ids), "grading_assignments": names,
               "grading_cells": cells}
        for j in jobs:
            report, seconds = _timed_run(root, j, unsafe, cells)
            if "grading_seconds_per_notebook" not in out:
                first_per_notebook = _per_notebook(report, digits=None)
                out["grading_seconds_per_notebook"] = {a: round(v, 1)
                                                       for a, v in first_per_notebook.items()}
            out[f"grading_seconds_jobs{j}"] = round(seconds, 1)
            out[f"grading_per_min_jobs{j}"] = round(60.0 * n / seconds, 2)
            out["grading_kernel"] = report["kernel"]
            log(f"autograde JOBS={j}: {n} submissions in {seconds:.1f} s "
                f"({60.0 * n / seconds:.2f} per minute)")
        base = out[f"grading_per_min_jobs{jobs[0]}"]
        for j in jobs[1:]:
            out[f"grading_speedup_jobs{j}"] = round(out[f"grading_per_min_jobs{j}"] / base, 2)
        for baseline in baselines:
            if BASELINES[baseline] == (cells, True, True):
                continue                      # the timed runs themselves
            report, seconds = _timed_run(root, 1, unsafe, *BASELINES[baseline])
            rate = 60.0 * n / seconds
            per = _per_notebook(report, digits=None)
            out[f"grading_per_min_jobs1_{baseline}"] = round(rate, 2)
            out[f"grading_seconds_per_notebook_{baseline}"] = {a: round(v, 1) for a, v in per.items()}
            mine = first_per_notebook
            out[f"grading_speedup_over_{baseline}"] = {
                "whole run": round(out["grading_per_min_jobs1"] / rate, 2) if 1 in jobs else None,
                **{a: round(per[a] / mine[a], 2) for a in sorted(per) if mine.get(a)}}
            log(f"autograde JOBS=1, baseline {baseline}: {n} submissions in {seconds:.1f} s "
                f"({rate:.2f} per minute)")
    return out


@contextlib.contextmanager
def _switches(**values):
    """The switches of grader/settings.py named by ``values`` (e.g. ``GRADING_PRELOAD=False``)
    set inside, as they were after."""
    with settings.environ({getattr(settings, key): "1" if value else "0"
                           for key, value in values.items()}):
        yield


def _timed_run(root, jobs, unsafe, cells, preload=True, headstart=True):
    """One timed ``autograde`` of every submission (forked from preloaded servers or not,
    kernels started ahead or not); RuntimeError unless all get full marks."""
    start = time.perf_counter()
    with _switches(GRADING_PRELOAD=preload, GRADING_HEADSTART=headstart):
        report = pipeline.autograde(root, jobs=jobs, unsafe=unsafe, log=lambda *_: None,
                                    cells=cells, restart=True)
    seconds = time.perf_counter() - start
    bad = [f"{r['student']}/{r['assignment']}: {r['auto_score']}/{r['auto_max']}"
           for r in report["submissions"] if r["auto_score"] != r["auto_max"]]
    if bad:
        raise RuntimeError(f"throughput run (grading mode {cells}) did not give full marks: "
                           + "; ".join(bad))
    return report, seconds


def _per_notebook(report, digits=1):
    """Mean seconds of one submission per assignment (its nbgrader process, start to end),
    rounded to ``digits`` (None: not rounded, for the ratios)."""
    per = {}
    for row in report["submissions"]:
        per.setdefault(row["assignment"], []).append(row["seconds"])
    means = {a: sum(v) / len(v) for a, v in sorted(per.items())}
    return means if digits is None else {a: round(m, digits) for a, m in means.items()}


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.throughput",
                                     description="grading throughput of the pack's notebooks")
    parser.add_argument("--cells", default="graded", choices=("graded", "all"), help="grading mode")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="JOBS values to time")
    parser.add_argument("--students", type=int, default=2, help="full-marks students per assignment")
    parser.add_argument("--assignment", action="append", default=None, help="only this assignment")
    parser.add_argument("--unsafe", action="store_true", help="no sandbox (trusted notebooks only)")
    parser.add_argument("--baseline", nargs="+", default=None, choices=tuple(BASELINES),
                        help="also grade once at JOBS=1 this way (all: every cell; nbgrader: "
                             "every cell, a fresh nbgrader process each, the kernel started "
                             "late; late_kernel: the kernel started late) and report the speed-up")
    args = parser.parse_args(argv)
    print(json.dumps(measure(jobs=tuple(args.jobs), students=args.students, assignments=args.assignment,
                             unsafe=args.unsafe, cells=args.cells, baseline=args.baseline), indent=1))


if __name__ == "__main__":
    main()
