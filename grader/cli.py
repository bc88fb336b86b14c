"""Command line of the tutor-side grading: `python -m grader <step>`.

    release                      notebooks/ from solutions/ (every assignment), checked
    autograde [--jobs N] [--unsafe] [--student ID ...] [--assignment A ...]
              [--timeout S] [--cell-timeout S]
                                 grade submitted/<student>/<assignment>/, print a report,
                                 write build/grading/report.json
    feedback                     feedback/<student>/<assignment>/*.html (no hidden tests)
    export [--to FILE]           grades.csv: student, a column per assignment, total, flags
           [--format canvas|moodle|csv] [--roster CSV]
                                 or the grade file Canvas / Moodle imports (grader.lms)
    collect DOWNLOAD.zip --lms canvas|moodle|blackboard [--roster CSV] [--assignment A]
            [--timezone TZ]      an LMS download into submitted/ (grader.lms)
    roster [CSV]                 the roster's students into the gradebook (grader.roster)
    autograde --backend local|slurm [--no-wait] [--restart] [--cells graded|all]
              [--partition P] [--account A] [--slurm-arg OPT]
                                 where and how (grader.backends); an interrupted run resumes
    task --run ID [--index N]    one job of a run (what a Slurm array task runs)
    gradebook url | postgres-start [--dir D] [--port P] | postgres-stop | migrate --to URL
                                 the gradebook ($COURSE_DB_URL; grader.gradebook)
    similarity [--assignment A ...] [--threshold T]
                                 cross-student similarity of each assignment's submissions
                                 (copydetect): build/grading/similarity/<a>/ (grader.similarity)

`--root DIR` (before or after the step) selects another course root (a folder with
nbgrader_config.py); default: this repository.
"""
import argparse
import sys

from grader import backends, lms, pipeline, settings, similarity
from grader.gradebook import GradebookError
from grader.roster import RosterError


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="course root (default: the repository)")
    steps = parser.add_subparsers(dest="step", required=True)

    steps.add_parser("release", help="regenerate notebooks/ from solutions/ and check it")

    grade = steps.add_parser("autograde", help="grade everything under submitted/")
    grade.add_argument("--jobs", type=int, default=None,
                       help="submissions graded at once (default 1; slurm: tasks at once, default 32)")
    grade.add_argument("--unsafe", action="store_true",
                       help="grade WITHOUT the sandbox in a plain python3 kernel (trusted code only)")
    grade.add_argument("--student", action="append", default=None, help="only this student (repeatable)")
    grade.add_argument("--assignment", action="append", default=None,
                       help="only this assignment (repeatable)")
    grade.add_argument("--timeout", type=float, default=None,
                       help="wall-clock seconds per submission (default $COURSE_SUBMISSION_TIMEOUT or "
                            f"{settings.DEFAULT_SUBMISSION_TIMEOUT})")
    grade.add_argument("--cell-timeout", type=int, default=None,
                       help="seconds per cell (default $COURSE_CELL_TIMEOUT or "
                            f"{settings.DEFAULT_CELL_TIMEOUT})")

    fb = steps.add_parser("feedback", help="HTML feedback for every graded submission")
    fb.add_argument("--student", action="append", default=None)
    fb.add_argument("--assignment", action="append", default=None)

    ex = steps.add_parser("export", help="write grades.csv")
    ex.add_argument("--to", default=None, help="CSV path (default grades.csv at the course root)")
    ex.add_argument("--format", default="csv", choices=lms.EXPORT_FORMATS,
                    help="csv (grades.csv), or the import file of canvas / moodle")
    ex.add_argument("--roster", default=None, help="roster CSV for names and e-mails (default roster.csv)")
    sim = steps.add_parser("similarity", help="pairs of similar submissions per assignment")
    sim.add_argument("--assignment", action="append", default=None,
                     help="only this assignment (repeatable; default every assignment)")
    sim.add_argument("--threshold", type=float, default=similarity.THRESHOLD,
                     help=f"list pairs at or above this similarity (default {similarity.THRESHOLD})")
    lms.add_steps(steps)
    backends.add_steps(steps)          # grading backends, tasks, the gradebook
    for step in steps.choices.values():      # `--root DIR` also after the step
        step.add_argument("--root", default=argparse.SUPPRESS, help="course root (default: the repository)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    pipeline.ensure_tools_on_path()
    try:
        root = pipeline.course_root(args.root)
        if lms.run_step(args, root):
            pass
        elif args.step in ("task", "gradebook"):
            return backends.run_step(args, root)
        elif args.step == "release":
            pipeline.release(root)
        elif args.step == "autograde":
            pipeline.autograde(root, jobs=args.jobs, unsafe=args.unsafe, students=args.student,
                               assignments=args.assignment, timeout=args.timeout,
                               cell_timeout=args.cell_timeout, **backends.autograde_options(args))
        elif args.step == "feedback":
            pipeline.feedback(root, students=args.student, assignments=args.assignment)
        elif args.step == "similarity":
            for data in pipeline.similarity(root, assignments=args.assignment,
                                            threshold=args.threshold):
                print(similarity.format_text(data))
    except (pipeline.GradingError, lms.LMSError, RosterError, GradebookError) as exc:
        print(f"python -m grader {args.step}: {exc}", file=sys.stderr)
        return 2
    return 0
