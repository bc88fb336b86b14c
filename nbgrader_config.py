"""nbgrader configuration of the course pack (tutors; read by every `nbgrader` command).

The course root is the folder holding this file, wherever nbgrader is started from:

    solutions/<assignment>/<name>.ipynb    source (instructor) notebooks
    notebooks/<assignment>/<name>.ipynb    student release (`python -m grader release`)
    submitted/<student>/<assignment>/      submissions to grade
    autograded/, feedback/, gradebook.db   written by the grading steps (git-ignored)

Use `python -m grader release|autograde|feedback|export` (or the Makefile targets):
they wrap the plain nbgrader commands with the pack's safeguards (one process per
submission, a fresh check seed, the sandboxed kernel, trusted verdicts, flags).

nbgrader 0.9 keeps its list of assignments in the gradebook, not in the config:
`ASSIGNMENTS` below is discovered from solutions/*/ and `python -m grader release`
registers each one (through `nbgrader generate_assignment`), after which
`nbgrader generate_assignment 01_derivations`, `nbgrader db assignment list` etc. work.

Environment knobs (all read by grader.settings, which lists them with their defaults):
    COURSE_CELL_TIMEOUT     seconds per executed cell during autograding (default 120)
    COURSE_GRADING_KERNEL   kernel that runs submissions (default "coursepack-sandbox";
                            `python -m grader autograde --unsafe` sets "python3")
    COURSE_MEMORY_LIMIT_MB  address space of a sandboxed kernel (default 4096)
    COURSE_CPU_LIMIT_S      CPU seconds of a sandboxed kernel, a backstop (default 1200)
    COURSE_FILE_LIMIT_MB    largest file a sandboxed kernel may write (default 512)
                            (the last three are read when a sandboxed kernel starts)
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# `grader` must import from this course root (or from the installed pack).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grader import headstart, settings  # noqa: E402
from grader.preprocessors import (  # noqa: E402
    CheckCellMetadata,
    GradingExecute,
    RebuildFromRelease,
    StripHiddenTests,
    TrustedVerdicts,
    gradebook_url,
)
from tools.offline_html import OfflineHTMLExporter  # noqa: E402

ASSIGNMENTS = sorted(
    p.name for p in (ROOT / "solutions").glob("*/") if p.is_dir() and any(p.glob("*.ipynb"))
)

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = gradebook_url(ROOT)   # sqlite, gradebook.db at the root

# Release: solution regions become this stub; hidden tests are removed from the release
# and restored from the gradebook when grading (OverwriteCells / RebuildFromRelease).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.GenerateAssignment.create_assignment = True

# Autograde, sanitising step (reads submitted/, writes autograded/): first rebuild the
# submission on the release's structure (duplicated/deleted/edited graded cells, changed
# cell types, unknown graded ids), recording every deviation as a flag.
c.Autograde.sanitize_preprocessors = [
    RebuildFromRelease,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
# Autograde, grading step: execute (sandboxed kernel, grading environment, per-cell
# timeout, a dead or hung kernel fails only the cells it could not run), then replace
# every test cell's outputs by the verdict recomputed here from the check payloads,
# then let nbgrader save the grades.
c.Autograde.autograde_preprocessors = [
    GradingExecute,
    TrustedVerdicts,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.Autograde.create_student = True
# Start each submission's grading kernel while nbgrader prepares the submission; the
# kernel GradingExecute would start, taken by it (grader/headstart.py).
c.Autograde.pre_convert_hook = headstart.pre_convert
c.RebuildFromRelease.course_root = str(ROOT)
c.TrustedVerdicts.course_root = str(ROOT)

c.GradingExecute.timeout = settings.cell_timeout()
c.GradingExecute.kernel_name = settings.grading_kernel()
c.GradingExecute.interrupt_on_timeout = True
c.GradingExecute.startup_timeout = 120
# Every output of the last cell is in before the kernel is stopped: kill it at once
# rather than ask it to shut down and wait (the sandbox dies with its launcher).
c.GradingExecute.shutdown_kernel = "immediate"
# Grading mode (grader/grading_cells.py): "graded" runs the graded cells and what they
# need, leaving out the experiments the instructor marked in solutions/ and everything
# after the last graded cell; "all" runs every cell (`python -m grader autograde --cells all`).
c.GradingExecute.course_root = str(ROOT)
c.GradingExecute.cells = "graded"

# Feedback: grades and the trusted verdicts, never the hidden tests' source
# (`python -m grader feedback` also checks every page against the hidden tests' lines,
# grader/leaks.py). Pages need no network: maths pre-rendered to MathML instead of
# MathJax from a CDN, long check messages wrapped (tools/offline_html.py).
c.GenerateFeedback.preprocessors = [GetGrades, StripHiddenTests, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = OfflineHTMLExporter

# `nbgrader export` writes the same CSV as `python -m grader export`.
c.ExportApp.plugin_class = "grader.export.CourseExportPlugin"
