"""The tutor-side grading steps behind `python -m grader` (release, autograde, feedback).

Everything runs through the plain nbgrader commands, one process per (student,
assignment) for autograding, with the course root's nbgrader_config.py; this module adds
discovery, the process isolation and limits, the gradebook bookkeeping and the checks.
"""
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import sqlalchemy.exc
from nbgrader.api import Gradebook

from grader import report as report_mod
from grader import backends, grading_cells, leaks, nbgrader_run, sandbox, settings
from grader.preprocessors import (
    BEGIN_HIDDEN,
    gradebook_url,
    is_autograded_test,
    read_record,
    record_path,
    write_record,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_KERNEL = sandbox.KERNEL_NAME
UNSAFE_KERNEL = "python3"
STUB = "raise NotImplementedError()"


class GradingError(RuntimeError):
    """A setup problem that stops a grading step (not a problem of one submission)."""


# ---------------------------------------------------------------------------------------
# Discovery

def course_root(root=None):
    """The course root: ``root`` if given, else the repository holding this package.
    It must contain nbgrader_config.py."""
    root = Path(root).resolve() if root is not None else REPO_ROOT
    if not (root / "nbgrader_config.py").is_file():
        raise GradingError(f"{root} has no nbgrader_config.py; pass the course root with --root")
    return root


def discover_assignments(root):
    """Assignment names: the folders solutions/*/ that hold at least one notebook."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.glob("*/") if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(root):
    """All source notebooks, solutions/*/*.ipynb, sorted."""
    return sorted((Path(root) / "solutions").glob("*/*.ipynb"))


def discover_submissions(root, students=None, assignments=None):
    """(student, assignment) pairs found as submitted/<student>/<assignment>/, sorted."""
    sub = Path(root) / "submitted"
    pairs = []
    for sdir in sorted(p for p in sub.glob("*/") if p.is_dir()):
        if students and sdir.name not in students:
            continue
        for adir in sorted(p for p in sdir.glob("*/") if p.is_dir()):
            if assignments and adir.name not in assignments:
                continue
            pairs.append((sdir.name, adir.name))
    return pairs


# ---------------------------------------------------------------------------------------
# Processes

def nbgrader_env(extra=None):
    """Environment for an nbgrader subprocess: the venv's bin first on PATH (nbgrader
    calls `alembic`), one BLAS thread, a headless matplotlib."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["MPLBACKEND"] = "Agg"
    env.update(extra or {})
    return env


def _kill_tree(pid):
    """Kill a process and all its descendants (kernels run in their own sessions)."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = parent.children(recursive=True) + [parent]
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


@dataclass
class ProcessResult:
    args: list
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False


def run_nbgrader(args, root, env=None, timeout=None, preloaded=None):
    """Run ``nbgrader *args`` in ``root``; on timeout kill it with its kernels.

    ``preloaded``: a grader.nbgrader_run.Preloaded server for ``root`` to fork the process
    from (nbgrader already imported); when it cannot start or dies, the run starts its
    own interpreter as without it. Returns a ProcessResult (combined stdout/stderr);
    never raises for a failed run."""
    cmd = [sys.executable, "-m", "grader.nbgrader_run", *args]   # nbgrader, started faster
    if preloaded is not None:
        try:
            code, output, seconds, timed_out = preloaded.run(args, env or nbgrader_env(), timeout)
            return ProcessResult(cmd, code, output, seconds, timed_out)
        except nbgrader_run.PreloadUnavailable as exc:
            warnings.warn(f"{exc}; running nbgrader in a process of its own", RuntimeWarning)
    start = time.monotonic()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env or nbgrader_env(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_tree(proc.pid)
            proc.wait()
        finally:
            if proc.poll() is None:
                _kill_tree(proc.pid)
                proc.wait()
        log.seek(0)
        output = log.read()
    return ProcessResult(cmd, proc.returncode, output, time.monotonic() - start, timed_out)


def _last_error(output, limit=3):
    """The last few error lines of an nbgrader log, for a one-line reason."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "[ERROR]" in ln or "Error:" in ln]
    chosen = errors[-limit:] if errors else lines[-1:]
    return " | ".join(chosen)[:500] or "no output"


# ---------------------------------------------------------------------------------------
# Release

def check_release(root, assignment):
    """Problems of the release of one assignment (empty list when it is fine): every
    solution cell is a stub raising NotImplementedError (code) or "YOUR ANSWER HERE"
    (written answers), no hidden tests or solution markers anywhere, no outputs."""
    problems = []
    rdir = Path(root) / "notebooks" / assignment
    sources = sorted((Path(root) / "solutions" / assignment).glob("*.ipynb"))
    if not sources:
        return [f"solutions/{assignment}/ holds no notebook"]
    for src in sources:
        rel = rdir / src.name
        if not rel.is_file():
            problems.append(f"{rel} was not generated")
            continue
        nb = nbformat.read(rel, as_version=4)
        for i, cell in enumerate(nb.cells):
            where = f"{rel.relative_to(root)} cell {i}"
            text = cell.source
            for marker in (BEGIN_HIDDEN, "END HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION"):
                if marker in text:
                    problems.append(f"{where} still contains {marker!r}")
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
                problems.append(f"{where} has outputs")
            nbg = cell.metadata.get("nbgrader", {})
            if nbg.get("solution") and cell.cell_type == "code" and STUB not in text:
                problems.append(f"{where} is a solution cell without {STUB!r}")
    return problems


def release(root, assignments=None, log=print):
    """Regenerate notebooks/<a>/ from solutions/<a>/ (nbgrader generate_assignment
    --force) for every assignment and check each result. Raises GradingError listing the
    failures; returns the assignments released."""
    assignments = assignments or discover_assignments(root)
    if not assignments:
        raise GradingError(f"no assignments found under {Path(root) / 'solutions'}")
    backends.check_gradebook(root, "local")    # a PostgreSQL gradebook made ready first
    failures = []
    for name in assignments:
        result = run_nbgrader(["generate_assignment", name, "--force"], root)
        if result.returncode != 0:
            failures.append(f"{name}: nbgrader generate_assignment failed: {_last_error(result.output)}")
            continue
        problems = check_release(root, name)
        failures.extend(f"{name}: {p}" for p in problems)
        log(f"released {name} ({result.seconds:.1f} s){'' if not problems else ' WITH PROBLEMS'}")
    if failures:
        raise GradingError("release failed:\n  " + "\n  ".join(failures))
    return assignments


# ---------------------------------------------------------------------------------------
# Autograde

@dataclass
class Job:
    student: str
    assignment: str
    notebooks: list                       # notebook ids submitted and readable
    invalid: dict = field(default_factory=dict)   # notebook id -> reason
    result: ProcessResult | None = None


def ensure_tools_on_path():
    """nbgrader runs the `alembic` executable when it creates a gradebook: make this
    interpreter's bin folder (the venv's) come first on PATH."""
    bindir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def _gradebook(root):
    ensure_tools_on_path()
    return Gradebook(gradebook_url(root))


def release_notebooks(root, assignment):
    """Notebook ids of an assignment's release."""
    return sorted(p.stem for p in (Path(root) / "notebooks" / assignment).glob("*.ipynb"))


def read_submission(path):
    """Return None if ``path`` is a readable notebook, else the reason it is not."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason})"
    except json.JSONDecodeError as exc:
        return f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return "valid JSON but not a notebook (no list of cells)"
    if data.get("nbformat") != 4:
        return f"notebook format {data.get('nbformat')!r} is not supported (expected 4)"
    return None


def sandbox_kernel(unsafe, log=print):
    """The kernel name to grade with. Without ``unsafe`` the sandbox must be usable
    (grader.sandbox.check_available()); otherwise GradingError with its message."""
    if unsafe:
        log("WARNING: --unsafe: student code runs UNSANDBOXED in a plain python3 kernel, as your "
            "user, with access to your files, the gradebook and the network. Only do this for "
            "trusted submissions.")
        return UNSAFE_KERNEL
    try:
        sandbox.check_available()
    except Exception as exc:
        raise GradingError(f"the grading sandbox cannot start: {exc}") from None
    sandbox.install_kernelspec()     # the kernel `coursepack-sandbox` in this venv
    return SANDBOX_KERNEL


def _prepare_jobs(root, pairs, log):
    jobs = []
    for student, assignment in pairs:
        wanted = release_notebooks(root, assignment)
        job = Job(student, assignment, [])
        for nb_id in wanted:
            path = Path(root) / "submitted" / student / assignment / f"{nb_id}.ipynb"
            if not path.exists():
                continue            # nbgrader itself gives 0 to a missing notebook
            reason = read_submission(path)
            if reason is None:
                job.notebooks.append(nb_id)
            else:
                job.invalid[nb_id] = reason
        jobs.append(job)
    return jobs


def _zero_fill(root, job, notebooks, reason):
    """Give 0 (with ``reason``) to every grade of ``notebooks`` of a submission whose
    grading did not complete, so no stale or missing score survives."""
    with _gradebook(root) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warning; harmless here.
        warnings.simplefilter("ignore", category=sqlalchemy.exc.SAWarning)
        gb.update_or_create_submission(job.assignment, job.student)
        sub = gb.find_submission(job.assignment, job.student)
        for nb in sub.notebooks:
            if nb.name not in notebooks:
                continue
            for grade in nb.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
            for comment in nb.comments:
                comment.auto_comment = reason
        gb.db.commit()
    for nb_id in notebooks:
        path = record_path(root, job.student, job.assignment, nb_id)
        record = read_record(path)
        record.setdefault("flags", [])
        record["zero_reason"] = reason
        if reason not in record["flags"]:        # idempotent (a task run twice)
            record["flags"].append(reason)
        write_record(path, record)
        stale = Path(root) / "autograded" / job.student / job.assignment / f"{nb_id}.ipynb"
        if stale.exists():
            stale.unlink()


def _run_job(root, job, env, timeout, kernel, extra_args=(), preloaded=None):
    # Records describe the latest grading only.
    shutil.rmtree(record_path(root, job.student, job.assignment, "-").parent, ignore_errors=True)
    if not job.notebooks:
        return job
    args = ["autograde", job.assignment, "--student", job.student, "--force",
            "--Autograde.create_student=False", f"--GradingExecute.kernel_name={kernel}",
            *extra_args]
    if job.invalid:
        # nbgrader takes one notebook glob; grade the readable notebooks one by one.
        results = []
        for nb_id in job.notebooks:
            results.append(run_nbgrader(args + [f"--notebook={nb_id}"], root, env, timeout, preloaded))
        job.result = ProcessResult(results[-1].args, max(r.returncode for r in results),
                                   "\n".join(r.output for r in results),
                                   sum(r.seconds for r in results), any(r.timed_out for r in results))
    else:
        job.result = run_nbgrader(args, root, env, timeout, preloaded)
    return job


def autograde(root, jobs=None, unsafe=False, students=None, assignments=None,
              timeout=None, cell_timeout=None, log=print, cells=None,
              backend="local", restart=False, wait=True, slurm=None, progress=None):
    """Grade every submission under submitted/ (or the given students/assignments).

    One ``nbgrader autograde`` process per (student, assignment), ``jobs`` at a time,
    each killed after ``timeout`` seconds (with its kernel); students are created in the
    gradebook first, serially. Unreadable notebooks and failed processes get 0 with a
    reason. Returns the report dict (see grader.report) and writes it to
    build/grading/report.json. ``cells``: the grading mode, "graded" (default: the
    graded cells and what they need) or "all" (grader/grading_cells.py).

    ``backend`` (grader/backends.py): "local" (a pool of ``jobs`` on this machine,
    default 1) or "slurm" (one array job, at most ``jobs`` tasks at once, default 32;
    ``slurm``: a grader.backends.SlurmOptions). A run keeps its state in
    build/grading/runs/: an interrupted run of the same submissions resumes with only the
    ungraded ones (and the same seed) unless ``restart``. ``wait=False`` (slurm) returns
    once the array is submitted: {"run", "backend", "slurm_jobs", "submitted"}.
    ``progress``: show the progress display (default: when ``log`` is print).
    """
    root = Path(root)
    if backend not in backends.BACKENDS:
        raise GradingError(f"--backend must be one of {', '.join(backends.BACKENDS)}, got {backend!r}")
    jobs = backends.default_jobs(backend) if jobs is None else jobs
    if jobs < 1:
        raise GradingError(f"--jobs must be at least 1, got {jobs}")
    cells = cells or grading_cells.DEFAULT_MODE
    if cells not in grading_cells.MODES:
        raise GradingError(f"--cells must be one of {', '.join(grading_cells.MODES)}, got {cells!r}")
    kernel = sandbox_kernel(unsafe, log)
    try:
        cell_timeout = int(cell_timeout or settings.cell_timeout())
        timeout = float(timeout or settings.submission_timeout())
        limits_line = _limits_line(kernel)
        settings.grading_preload()    # the switches: checked before any submission is graded
        settings.grading_headstart()
    except ValueError as exc:       # a limit or a switch in the environment that is not valid
        raise GradingError(str(exc)) from None
    pairs = discover_submissions(root, students, assignments)
    if not pairs:
        raise GradingError(f"nothing to grade: no submitted/<student>/<assignment>/ folders under {root}")
    backends.check_gradebook(root, backend)
    _register_students(root, pairs)

    work = _prepare_jobs(root, pairs, log)
    # The backend runs each job (grader.backends.run_task: _run_job, then
    # _zero_fill_failures) and keeps the run's state for a resume.
    outcome = backends.grade(
        root, work, backend=backend, jobs=jobs, kernel=kernel, cell_timeout=cell_timeout,
        timeout=timeout, cells=cells, limits=limits_line, restart=restart, wait=wait,
        slurm=slurm, log=log, progress=(log is print) if progress is None else progress)
    if outcome.done is None:             # submitted, not waited for
        return outcome.summary()

    report = report_mod.build(root, outcome.done, seed=outcome.run.seed, kernel=kernel,
                              jobs_at_once=jobs, cell_timeout=cell_timeout,
                              submission_timeout=timeout, seconds=outcome.seconds)
    report["sandbox_limits"] = limits_line
    report.update(outcome.report_fields())   # backend, run, gradebook
    try:        # a report for the tutor; never a reason to lose the grades
        report["similarity"] = {data["assignment"]: data for data in
                                similarity(root, assignments=sorted({j.assignment for j in outcome.done}))}
    except Exception as exc:
        report["similarity"] = {}
        report["similarity_error"] = f"{type(exc).__name__}: {exc}"
        log(f"similarity report not written: {report['similarity_error']}")
    report_mod.write(root, report)
    log(report_mod.format_text(report))
    log(limits_line)
    log(outcome.backend_line())
    return report


def similarity(root, assignments=None, threshold=None):
    """The cross-student similarity report (grader.similarity) of each assignment (all
    with a release when None); returns the list of report dicts."""
    from grader import similarity as similarity_mod

    names = assignments or discover_assignments(root)
    return [similarity_mod.report(root, name, threshold or similarity_mod.THRESHOLD)
            for name in names if (Path(root) / "notebooks" / name).is_dir()]


def _register_students(root, pairs):
    """Check that every assignment of ``pairs`` is in the gradebook and create the
    students there (serially, before the parallel jobs)."""
    with _gradebook(root) as gb:
        known = {a.name for a in gb.assignments}
        missing = sorted({a for _, a in pairs} - known)
        if missing:
            raise GradingError(
                f"assignment(s) {', '.join(missing)} are not in the gradebook; "
                "run `python -m grader release` first")
        for student in sorted({s for s, _ in pairs}):
            gb.update_or_create_student(student)


def job_env(seed, kernel, cell_timeout, runtime, hidden_key=None):
    """The environment of one grading nbgrader process: the run's seed, hidden key (the
    hidden checks' seeds derive from it; GradingExecute never passes it to a kernel),
    kernel and cell timeout, quick mode, and a Jupyter runtime folder of its own."""
    return nbgrader_env({
        settings.CHECK_SEED: seed,
        settings.HIDDEN_KEY: hidden_key or secrets.token_hex(16),
        settings.GRADING_KERNEL: kernel,
        settings.CELL_TIMEOUT: str(cell_timeout),
        "COURSE_MODE": "quick",
        "JUPYTER_RUNTIME_DIR": str(runtime),
    })


def _zero_fill_failures(root, done, timeout):
    """0 with a reason for every notebook of the finished jobs that was not graded: none
    submitted, unreadable, over the time limit, or nbgrader failed."""
    for job in done:
        if not job.notebooks and not job.invalid:
            _zero_fill(root, job, release_notebooks(root, job.assignment),
                       f"no notebook submitted (expected {', '.join(release_notebooks(root, job.assignment))}.ipynb)")
        if job.invalid:
            for nb_id, reason in job.invalid.items():
                _zero_fill(root, job, [nb_id], f"{nb_id}.ipynb is unreadable: {reason}")
        if job.result is None:
            continue
        if job.result.timed_out:
            _zero_fill(root, job, job.notebooks,
                       f"grading stopped after {timeout:.0f} s (submission time limit)")
        elif job.result.returncode != 0:
            _zero_fill(root, job, job.notebooks,
                       f"nbgrader failed: {_last_error(job.result.output)}")


def _limits_line(kernel):
    """One line on the sandbox's limits (memory, CPU, file size) for the report; raises
    ValueError for a limit in the environment that is not a number."""
    if kernel != SANDBOX_KERNEL:
        return "Limits: none besides the timeouts (--unsafe: no sandbox)"
    lim = sandbox.limits()
    return (f"Limits per kernel (sandbox): {lim['memory_mb']} MB memory "
            f"($COURSE_MEMORY_LIMIT_MB), {lim['cpu_s']} s CPU ($COURSE_CPU_LIMIT_S), "
            f"{lim['file_mb']} MB per written file ($COURSE_FILE_LIMIT_MB); "
            f"no network; writable: the scratch copy only")


# ---------------------------------------------------------------------------------------
# Feedback

FEEDBACK_STAGING = Path("build") / "grading" / "feedback-staging"
WITHHELD_DIR = Path("build") / "grading" / "withheld"
FEEDBACK_REPORT = Path("build") / "grading" / "feedback.json"


class FeedbackWithheld(GradingError):
    """Some feedback pages were withheld or could not be made; every other page was
    written. ``written``: the pages in feedback/; ``withheld``: dicts (student,
    assignment, page, reason); ``failures``: one line per failed nbgrader run."""

    def __init__(self, message, written, withheld, failures):
        super().__init__(message)
        self.written, self.withheld, self.failures = written, withheld, failures


def _replace_dir(src, dest):
    """Move the folder ``src`` to ``dest``, replacing whatever ``dest`` held; an empty
    ``src`` just removes ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    if any(src.iterdir()):
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(dest))


def _remove_withheld(held_dir, top):
    """Drop the withheld copies of an earlier run in ``held_dir`` and the folders above
    it up to ``top`` that are left empty."""
    shutil.rmtree(held_dir, ignore_errors=True)
    parent = held_dir.parent
    if parent != top and top in parent.parents and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


def feedback(root, students=None, assignments=None, log=print):
    """HTML feedback per graded submission, checked page by page for hidden tests.

    ``nbgrader generate_feedback`` writes each (student, assignment) into a staging
    folder, build/grading/feedback-staging/. Each page is compared with the hidden tests'
    own source lines from solutions/ (grader.leaks): a page that shows a hidden line the
    student's own submission does not contain is withheld, moved to
    build/grading/withheld/<student>/<assignment>/ with a ``.reason.txt`` beside it (no
    copy stays in feedback/); every other page replaces feedback/<student>/<assignment>/.
    A student who only typed the marker text, pasted the visible test cell or wrote a
    hidden line themselves gets normal feedback and a note. build/grading/feedback.json
    lists the pages written, withheld (with the reason) and the notes.

    Returns the pages written. Raises FeedbackWithheld (a GradingError) naming the
    withheld pages and the failed runs, if any, once every other page is written.
    """
    root = Path(root)
    pairs = [(s, a) for s, a in discover_submissions(root, students, assignments)
             if (root / "autograded" / s / a).is_dir()]
    if not pairs:
        raise GradingError("nothing to give feedback on: run `python -m grader autograde` first")
    staging = root / FEEDBACK_STAGING
    shutil.rmtree(staging, ignore_errors=True)
    secrets = leaks.CourseSecrets(root)
    written, withheld, notes, failures = [], [], [], []
    try:
        for assignment in sorted({a for _, a in pairs}):
            for student in sorted(s for s, a in pairs if a == assignment):
                out_dir = root / "feedback" / student / assignment
                held_dir = root / WITHHELD_DIR / student / assignment
                new_dir = staging / student / assignment
                _remove_withheld(held_dir, root / WITHHELD_DIR)   # decisions of this run only
                result = run_nbgrader(
                    ["generate_feedback", assignment, "--student", student, "--force",
                     f"--CourseDirectory.feedback_directory={FEEDBACK_STAGING.as_posix()}"], root)
                if result.returncode != 0 or not new_dir.is_dir():
                    failures.append(f"{student}/{assignment}: {_last_error(result.output)}")
                    # as `nbgrader generate_feedback --force` does: no stale page survives
                    shutil.rmtree(out_dir, ignore_errors=True)
                    continue
                for page in sorted(new_dir.glob("*.html")):
                    name = f"{student}/{assignment}/{page.name}"
                    try:
                        verdict = secrets.check(student, assignment, page)
                    except Exception as exc:     # never let one page stop the others
                        verdict = leaks.PageCheck(problem=f"could not be checked ({exc!r})")
                    notes.extend(f"{name}: {note}" for note in verdict.notes())
                    if verdict.withhold:
                        held_dir.mkdir(parents=True, exist_ok=True)
                        shutil.move(str(page), str(held_dir / page.name))
                        (held_dir / f"{page.stem}.reason.txt").write_text(
                            verdict.reason() + "\n", encoding="utf-8")
                        withheld.append({"student": student, "assignment": assignment,
                                         "page": str((held_dir / page.name).relative_to(root)),
                                         "reason": verdict.reason()})
                    else:
                        written.append(out_dir / page.name)
                _replace_dir(new_dir, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    report = {"written": [str(p.relative_to(root)) for p in written], "withheld": withheld,
              "notes": notes, "failures": failures}
    write_record(root / FEEDBACK_REPORT, report)
    for path in written:
        log(f"feedback: {path.relative_to(root)}")
    for note in notes:
        log(f"note: {note}")
    for item in withheld:
        log(f"WITHHELD: {item['student']}/{item['assignment']}: {item['reason']} "
            f"-> {item['page']}")
    problems = []
    if withheld:
        problems.append(
            f"{len(withheld)} feedback page(s) withheld because they show hidden tests "
            f"(moved to {WITHHELD_DIR.as_posix()}/; the other {len(written)} page(s) are in "
            "feedback/):\n  " + "\n  ".join(
                f"{w['student']}/{w['assignment']}/{Path(w['page']).name}: {w['reason']}"
                for w in withheld))
    if failures:
        problems.append("feedback failed for:\n  " + "\n  ".join(failures))
    if problems:
        raise FeedbackWithheld("\n".join(problems), written, withheld, failures)
    return written


__all__ = [
    "FeedbackWithheld", "GradingError", "autograde", "check_release", "course_root", "discover_assignments",
    "discover_submissions", "feedback", "is_autograded_test", "release", "run_nbgrader",
    "source_notebooks",
]
