"""Grading backends behind ``python -m grader autograde --backend local|slurm``.

Both grade the same jobs (one per student and assignment, grader.pipeline.Job) with the
same task, :func:`run_task`: ``nbgrader autograde`` for that submission in the grading
sandbox with the run's seed, kernel, timeouts and grading mode, then 0 with a reason
for whatever could not be graded, then the task's outcome written into the run's
folder (grader/runs.py). Only where the tasks run differs:

``local``
    A pool of ``--jobs`` threads on this machine, each starting one nbgrader process at
    a time (as before). Ctrl-C stops starting new submissions; those being graded finish.
``slurm``
    One Slurm array job, one array task per submission, at most ``--jobs`` running at
    once (``sbatch --array=...%N``); each task runs ``python -m grader task`` on a
    compute node, which first checks that the sandbox starts there with the run's
    limits (otherwise it changes nothing and says why). The course folder and the
    virtual environment must be on a file system every node mounts at the same path,
    and the gradebook must be PostgreSQL (``$COURSE_DB_URL``): SQLite over NFS is not
    safe for concurrent writers. The command waits, polling ``squeue`` (``--no-wait``
    returns once the array is submitted); a task Slurm ended without an outcome
    (cancelled, out of time, node failure; ``scontrol``/``sacct`` say which) gets 0
    with that reason and is graded again by the next run. Arrays larger than the
    cluster's ``MaxArraySize`` are split into several, each waiting for the previous
    (``--dependency=afterany``), so ``--jobs`` stays the limit.

Nothing here schedules: Slurm does, through sbatch, squeue, scontrol and scancel.
Interrupted runs resume (grader/runs.py); both backends show the same progress display
(grader/progress.py) and end with the same report.
"""
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from grader import nbgrader_run, runs, settings
from grader.progress import Progress

BACKENDS = ("local", "slurm")
DEFAULT_JOBS = {"local": 1, "slurm": 32}
SLURM_TOOLS = ("sbatch", "squeue", "scontrol", "scancel")
SLURM_TIMEOUT_S = 60          # for one sbatch/squeue/scontrol call
RESULT_GRACE_S = 30           # a finished task's outcome may take a moment to be visible (NFS)


def default_jobs(backend):
    return DEFAULT_JOBS[backend]


def _pipeline():
    from grader import pipeline

    return pipeline


class Interrupted(RuntimeError):
    """Ctrl-C during a run; the message says what happened and how to go on."""


# ---------------------------------------------------------------------------------------
# Gradebook

def check_gradebook(root, backend):
    """The gradebook for this backend: its URL must be valid and, for PostgreSQL,
    answer and be ready for nbgrader; the slurm backend needs PostgreSQL."""
    from grader import gradebook

    GradingError = _pipeline().GradingError
    _pipeline().ensure_tools_on_path()      # nbgrader runs `alembic` when it makes the tables
    try:
        url = gradebook.url(root)
        if gradebook.backend_name(url) == "postgresql":
            gradebook.prepare(url)
    except gradebook.GradebookError as exc:
        raise GradingError(str(exc)) from None
    if backend == "slurm" and gradebook.backend_name(url) == "sqlite":
        raise GradingError(
            "the slurm backend writes grades from every compute node at once: set "
            f"${gradebook.ENV} to a PostgreSQL database they all reach (`make gradebook-postgres` "
            "starts one for a trial; `make gradebook-migrate TO=<url>` moves the SQLite gradebook "
            "there); SQLite on a shared file system is not safe for concurrent writers")
    return url


# ---------------------------------------------------------------------------------------
# The task (both backends)

def task_env(run, runtime):
    """The environment of one nbgrader process of ``run`` (grader.pipeline.job_env)."""
    return _pipeline().job_env(run.seed, run.kernel, run.cell_timeout, runtime,
                               run.hidden_key)


def _job(spec):
    return _pipeline().Job(spec["student"], spec["assignment"], list(spec["notebooks"]),
                           dict(spec["invalid"]))


def job_from(run, index):
    """The pipeline Job of ``run``'s job ``index`` with its recorded process result."""
    pipeline = _pipeline()
    job = _job(run.jobs[index])
    outcome = run.result(index) or {}
    if outcome.get("ran"):
        job.result = pipeline.ProcessResult([], outcome.get("returncode"), outcome.get("output_tail", ""),
                                            float(outcome.get("seconds", 0.0)), bool(outcome.get("timed_out")))
    return job


def _node_problem(run):
    """Why this node cannot grade ``run`` exactly as planned (None when it can)."""
    pipeline = _pipeline()
    if run.kernel != pipeline.SANDBOX_KERNEL:
        return None
    from grader import sandbox

    try:
        sandbox.check_available()
        sandbox.install_kernelspec()
    except Exception as exc:
        return f"the grading sandbox cannot start on {socket.gethostname()}: {exc}"
    try:
        here = pipeline._limits_line(run.kernel)
    except Exception as exc:
        return f"the limits cannot be read on {socket.gethostname()}: {exc}"
    if here != run.limits:
        return (f"the limits on {socket.gethostname()} differ from the run's ({here!r} instead of "
                f"{run.limits!r}): the task's environment lost a COURSE_* setting")
    return None


def run_task(run, index, check_node=False, preloaded=None):
    """Grade job ``index`` of ``run`` and write its outcome; returns the outcome dict.

    ``check_node`` (Slurm tasks): first make sure the sandbox starts here with the run's
    limits and the submission is the one the run planned; if not, nothing is changed
    and the outcome says why (``untouched``). ``preloaded``: a
    grader.nbgrader_run.Preloaded server the submission's nbgrader process is forked
    from (the local backend keeps one per worker)."""
    pipeline = _pipeline()
    spec = run.jobs[index]
    base = {"index": index, "student": spec["student"], "assignment": spec["assignment"],
            "host": socket.gethostname(), "started": time.time()}
    if check_node:
        problem = _node_problem(run)
        if problem is None:
            digest = runs.submission_digest(run.root, spec["student"], spec["assignment"])
            if digest != spec["digest"]:
                problem = ("the submission changed after the run began; run the command again to "
                           "grade the new version")
        if problem is not None:
            outcome = dict(base, complete=False, untouched=True, error=problem, finished=time.time())
            run.write_result(index, outcome)
            return outcome
    job = _job(spec)
    runtime = Path(tempfile.mkdtemp(prefix="coursepack-grading-"))
    try:
        job = pipeline._run_job(Path(run.root), job, task_env(run, runtime / "jupyter"), run.timeout,
                                run.kernel, [f"--GradingExecute.cells={run.cells}"], preloaded)
        pipeline._zero_fill_failures(Path(run.root), [job], run.timeout)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    result = job.result
    failed = (not job.notebooks) or bool(job.invalid) or (
        result is not None and (result.timed_out or result.returncode != 0))
    outcome = dict(base, complete=True, digest=spec["digest"], ran=result is not None,
                   returncode=None if result is None else result.returncode,
                   seconds=0.0 if result is None else round(result.seconds, 2),
                   timed_out=bool(result and result.timed_out), failed=bool(failed),
                   output_tail="" if result is None else result.output[-3000:],
                   finished=time.time())
    run.write_result(index, outcome)
    return outcome


def _failed(run, indices):
    return sum(1 for i in indices if _is_failed(run.result(i)))


# ---------------------------------------------------------------------------------------
# Outcome of a command

@dataclass
class Outcome:
    run: runs.Run
    backend: str
    jobs: int
    resumed: bool
    done: list | None                  # pipeline Jobs of the whole run, None when not waited
    seconds: float = 0.0
    graded_now: int = 0
    slurm_jobs: list = field(default_factory=list)

    def summary(self):
        return {"run": self.run.id, "backend": self.backend,
                "slurm_jobs": [j["id"] for j in self.slurm_jobs],
                "submitted": sum(len(j["indices"]) for j in self.slurm_jobs)}

    def report_fields(self):
        from grader import gradebook

        return {"backend": self.backend, "run": self.run.id, "resumed": self.resumed,
                "graded_now": self.graded_now, "grading_cells": self.run.cells,
                "gradebook": gradebook.mask(gradebook.url(self.run.root)),
                "slurm_jobs": [j["id"] for j in self.run.slurm_jobs]}

    def backend_line(self):
        from grader import gradebook

        where = (f"{self.jobs} at a time on this machine" if self.backend == "local" else
                 f"Slurm array job(s) {', '.join(j['id'] for j in self.run.slurm_jobs) or '-'}, "
                 f"at most {self.jobs} tasks at once")
        again = f"; resumed run {self.run.id}" if self.resumed else f"; run {self.run.id}"
        return (f"Backend: {self.backend} ({where}){again}, {self.graded_now} graded now; "
                f"{gradebook.describe(self.run.root)}")


# ---------------------------------------------------------------------------------------
# Driver

@dataclass
class SlurmOptions:
    """What ``sbatch`` is asked for besides the array (grader.cli: --partition,
    --account, --slurm-arg, --poll). ``mem_mb``/``time_min`` default to the sandbox's
    memory limit plus 1 GB for nbgrader, and the submission time limit plus 5 minutes."""
    partition: str | None = None
    account: str | None = None
    extra: tuple = ()
    poll: float = 10.0
    mem_mb: int | None = None
    time_min: int | None = None


def grade(root, work, backend, jobs, kernel, cell_timeout, timeout, cells, limits,
          restart=False, wait=True, slurm=None, log=print, progress=True):
    """Grade ``work`` with ``backend``; returns an :class:`Outcome` (``done`` is None
    when the slurm array was submitted without waiting)."""
    pipeline = _pipeline()
    run, resumed = runs.begin(root, work, kernel, cell_timeout, timeout, cells, limits, restart)
    pending = run.pending()
    total = len(run.jobs)
    if resumed:
        log(f"resuming run {run.id}: {total - len(pending)} of {total} submission(s) already graded; "
            f"grading the other {len(pending)} with the run's seed {run.seed} "
            "(--restart grades everything again)")
    log(f"grading {len(pending)} submission(s), {jobs} at a time ({backend}), kernel {kernel}, "
        f"seed {run.seed}, {cell_timeout} s per cell, {timeout:.0f} s per submission, "
        f"grading mode {cells!r}")
    waiting = set(pending)
    finished_before = [i for i in range(total) if i not in waiting]
    bar = Progress(total, done=len(finished_before), failed=_failed(run, finished_before), log=log,
                   enabled=progress)
    started = time.monotonic()
    outcome = Outcome(run, backend, jobs, resumed, None)
    try:
        if backend == "local":
            _run_local(run, pending, jobs, bar)
        else:
            waited = _run_slurm(run, pending, jobs, slurm or SlurmOptions(), bar, wait, log)
            outcome.slurm_jobs = list(run.slurm_jobs)
            if not waited:
                return outcome
    except KeyboardInterrupt:
        left = len(run.pending())
        raise pipeline.GradingError(
            f"interrupted: {total - left} of {total} submission(s) graded; the same command "
            f"grades the other {left} (run {run.id}, same seed)"
            + (f"; the Slurm array keeps running (`scancel {' '.join(j['id'] for j in run.slurm_jobs)}` "
               "stops it)" if backend == "slurm" and wait else "")) from None
    finally:
        bar.close()
    outcome.seconds = time.monotonic() - started
    outcome.graded_now = sum(1 for i in pending if run.is_done(i))
    if not run.pending():
        runs.finish(run)
    outcome.done = [job_from(run, i) for i in range(total)]
    return outcome


# ---------------------------------------------------------------------------------------
# local

def _is_failed(outcome):
    return bool(outcome) and (bool(outcome.get("failed")) or outcome.get("complete") is False)


def _run_local(run, indices, jobs, bar):
    lock = threading.Lock()
    wanted = set(indices)
    finished = [i for i in range(len(run.jobs)) if i not in wanted]
    state = {"running": 0, "failed": _failed(run, finished)}

    def refresh():
        with lock:
            bar.update(done=len(finished), failed=state["failed"], running=state["running"])

    # One preloaded nbgrader server per worker thread (grader/nbgrader_run.py): each
    # submission still runs in a fresh process of its own, forked from it.
    local, servers = threading.local(), []
    preload = settings.grading_preload()

    def server():
        if not preload:
            return None
        if getattr(local, "server", None) is None:
            local.server = nbgrader_run.Preloaded(run.root, _pipeline().nbgrader_env())
            with lock:
                servers.append(local.server)
        return local.server

    def task(index):
        with lock:
            state["running"] += 1
        refresh()
        try:
            return run_task(run, index, preloaded=server())
        finally:
            with lock:
                state["running"] -= 1

    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = {pool.submit(task, i): i for i in indices}
    try:
        for future in as_completed(futures):
            outcome = future.result()      # an exception here is a bug of the pack: let it show
            with lock:
                finished.append(futures[future])
                state["failed"] += _is_failed(outcome)
            refresh()
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        bar.log("interrupted: no new submission starts; waiting for the ones being graded "
                "(at most the submission time limit)")
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        for preloaded in servers:
            preloaded.close()
    bar.update(force=True)


# ---------------------------------------------------------------------------------------
# slurm

def _slurm_call(args, what):
    GradingError = _pipeline().GradingError
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=SLURM_TIMEOUT_S)
    except FileNotFoundError:
        raise GradingError(f"{args[0]} is not installed or not on PATH: the slurm backend runs on a "
                           "machine with Slurm's client commands (a login node)") from None
    except subprocess.TimeoutExpired:
        raise GradingError(f"{what}: {args[0]} did not answer within {SLURM_TIMEOUT_S} s "
                           "(is slurmctld reachable?)") from None
    return proc


def slurm_available():
    """None when Slurm's client commands are on PATH, else what is missing."""
    missing = [t for t in SLURM_TOOLS if shutil.which(t) is None]
    return None if not missing else f"Slurm's {', '.join(missing)} not on PATH"


def _ranges(numbers):
    """"0-3,7,9-11" for [0, 1, 2, 3, 7, 9, 10, 11]."""
    numbers = sorted(set(numbers))
    parts, start, prev = [], None, None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(parts)


def _max_array_size():
    proc = _slurm_call(["scontrol", "show", "config"], "reading the cluster's MaxArraySize")
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MaxArraySize":
            try:
                return int(value.strip())
            except ValueError:
                break
    return 1001


def _script(run):
    """The batch script: one line that runs the task for this array element."""
    path = run.dir / "slurm" / "grade.sbatch"
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "grader", "--root", str(run.root),
                                           "task", "--run", run.id])
    path.write_text("#!/bin/sh\n"
                    f"# grading run {run.id}: one array task per submission (grader/backends.py)\n"
                    f"exec {cmd}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _sbatch_args(run, opts, cap):
    from grader import sandbox

    try:
        mem = opts.mem_mb or sandbox.limits()["memory_mb"] + 1024
    except ValueError as exc:
        raise _pipeline().GradingError(str(exc)) from None
    minutes = opts.time_min or int((run.timeout + 300 + 59) // 60)
    args = ["sbatch", "--parsable", f"--job-name=coursepack-grade-{run.id}",
            f"--output={run.dir / 'slurm' / '%A_%a.out'}", f"--chdir={run.root}",
            "--cpus-per-task=1", f"--mem={mem}M", f"--time={minutes}"]
    if opts.partition:
        args.append(f"--partition={opts.partition}")
    if opts.account:
        args.append(f"--account={opts.account}")
    return args + list(opts.extra)


def submit(run, indices, opts, cap):
    """Submit the array job(s) for ``indices``; records them in the run; returns their ids."""
    GradingError = _pipeline().GradingError
    script = _script(run)
    limit = _max_array_size() - 1           # the largest task id allowed
    ids, previous = [], None
    chunk_size = max(1, limit + 1)
    for start in range(0, len(indices), chunk_size):
        chunk = indices[start:start + chunk_size]
        offset = chunk[0] if chunk[-1] > limit else 0
        args = _sbatch_args(run, opts, cap) + [
            f"--array={_ranges(i - offset for i in chunk)}%{cap}",
            f"--export=ALL,{settings.TASK_OFFSET}={offset}"]
        if previous:
            args.append(f"--dependency=afterany:{previous}")
        proc = _slurm_call(args + [str(script)], "submitting the grading array")
        if proc.returncode != 0:
            raise GradingError("sbatch refused the grading array: "
                               + (proc.stderr.strip() or proc.stdout.strip() or "no message"))
        job_id = proc.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise GradingError(f"sbatch printed {proc.stdout.strip()!r} instead of a job id")
        run.slurm_jobs.append({"id": job_id, "indices": list(chunk), "offset": offset})
        run.save()
        ids.append(job_id)
        previous = job_id
    return ids


def _queue(job_ids):
    """{run index: Slurm state} of the array tasks of ``job_ids`` still known to squeue
    (pending or running), with each job's offset applied by the caller."""
    if not job_ids:
        return {}
    proc = _slurm_call(["squeue", "--noheader", "--array", f"--jobs={','.join(job_ids)}",
                        "--format=%F|%K|%T"], "asking squeue about the grading array")
    found = {}
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:
            return {}
        raise _pipeline().GradingError("squeue failed: " + (proc.stderr.strip() or "no message"))
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3:
            continue
        job, task, state = parts
        found.setdefault(job, {})
        if task.isdigit():
            found[job][int(task)] = state
        else:     # a pending range such as "[4-9%2]"
            spec = task.strip("[]").split("%")[0]
            for piece in spec.split(","):
                lo, _, hi = piece.partition("-")
                if lo.isdigit():
                    for t in range(int(lo), int(hi or lo) + 1):
                        found[job][t] = state
    return found


def final_states(job_id):
    """{array task id: "STATE (exit a:b)"} from scontrol (recently ended jobs), else
    sacct (accounting), else {}."""
    out = {}
    proc = _slurm_call(["scontrol", "show", "job", "--oneliner", job_id], "asking scontrol")
    if proc.returncode == 0:
        for line in proc.stdout.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            task = fields.get("ArrayTaskId", "")
            if task.isdigit():
                out[int(task)] = f"{fields.get('JobState', '?')} (exit {fields.get('ExitCode', '?')})"
    if out:
        return out
    if shutil.which("sacct"):
        proc = _slurm_call(["sacct", "--noheader", "--parsable2", f"--jobs={job_id}",
                            "--format=JobID,State,ExitCode"], "asking sacct")
        for line in proc.stdout.splitlines():
            jid, _, rest = line.partition("|")
            state, _, code = rest.partition("|")
            base, _, task = jid.partition("_")
            if base == job_id and task.isdigit():
                out[int(task)] = f"{state} (exit {code})"
    return out


def _active_jobs(run):
    queue = _queue([j["id"] for j in run.slurm_jobs])
    return [j for j in run.slurm_jobs if queue.get(j["id"])], queue


def _run_slurm(run, pending, cap, opts, bar, wait, log):
    """Submit what is pending and not already queued; wait unless ``wait`` is False.
    Returns True when it waited."""
    problem = slurm_available()
    if problem:
        raise _pipeline().GradingError(f"the slurm backend needs Slurm's client commands: {problem}")
    active, _ = _active_jobs(run)
    covered = {i for j in active for i in j["indices"]}
    # Arrays of this run that ended while nobody waited: their lost tasks get 0 with
    # Slurm's reason first (as if we had waited), then they are submitted again.
    ended = [j for j in run.slurm_jobs if j not in active]
    lost = [i for i in pending if i not in covered and run.result(i) is None
            and any(i in j["indices"] for j in ended)]
    if lost:
        _settle_lost_tasks(run, ended, lost, log)
    todo = [i for i in pending if i not in covered]
    if active:
        log(f"waiting for the array job(s) {', '.join(j['id'] for j in active)} of this run, "
            "still in the queue")
    ids = []
    if todo:
        ids = submit(run, todo, opts, cap)
        log(f"submitted array job(s) {', '.join(ids)}: {len(todo)} task(s), at most {cap} at once "
            f"(logs in {run.dir / 'slurm'}/)")
    if not wait:
        log(f"not waiting: `python -m grader autograde --backend slurm` with the same selection "
            f"waits for run {run.id} and prints the report; `squeue --jobs="
            f"{','.join(j['id'] for j in run.slurm_jobs)}` shows it")
        return False
    ours = {j["id"] for j in active} | set(ids)
    watched = [j for j in run.slurm_jobs if j["id"] in ours]
    waiting = sorted({i for j in watched for i in j["indices"]} & set(pending))
    seen = {}          # index -> outcome, once complete (not read again)
    for i in range(len(run.jobs)):
        if i not in waiting and run.is_done(i):
            seen[i] = run.result(i)
    while True:
        queue = _queue([j["id"] for j in watched])
        running = sum(1 for j in watched for t, s in queue.get(j["id"], {}).items() if s == "RUNNING")
        for i in waiting:
            if i not in seen and run.is_done(i):
                seen[i] = run.result(i)
        bar.update(done=len(seen), failed=sum(_is_failed(o) for o in seen.values()), running=running)
        if not any(queue.get(j["id"]) for j in watched):
            break
        time.sleep(opts.poll)
    # The outcome of a task that ended normally may take a moment to show on a shared file
    # system; a task Slurm cancelled, timed out or lost has none to wait for.
    ended_early = set()
    for j in watched:
        for task, state in final_states(j["id"]).items():
            if not state.startswith(("COMPLETED", "FAILED")):
                ended_early.add(task + int(j.get("offset", 0)))
    deadline = time.monotonic() + RESULT_GRACE_S
    while any(run.result(i) is None and i not in ended_early for i in waiting) \
            and time.monotonic() < deadline:
        time.sleep(1.0)
    _settle_lost_tasks(run, watched, waiting, log)
    finished = [i for i in range(len(run.jobs)) if run.is_done(i)]
    bar.update(done=len(finished), failed=_failed(run, [i for i in range(len(run.jobs))
                                                          if run.result(i)]), running=0, force=True)
    return True


def _settle_lost_tasks(run, watched, waiting, log):
    """Tasks Slurm ended without a complete outcome: 0 with the reason (unless the task
    changed nothing), an incomplete outcome, so the next run grades them again."""
    pipeline = _pipeline()
    states = {}
    for j in watched:
        for task, state in final_states(j["id"]).items():
            states[task + int(j.get("offset", 0))] = (j["id"], task, state)
    for index in waiting:
        outcome = run.result(index)
        if outcome and outcome.get("complete"):
            continue
        job_id, task, state = states.get(index, (None, None, "state unknown (no longer known to Slurm)"))
        if outcome and outcome.get("untouched"):
            log(f"NOT GRADED: {run.jobs[index]['student']}/{run.jobs[index]['assignment']}: "
                f"{outcome.get('error')}")
            continue
        where = f"array task {job_id}_{task}" if job_id else "its array task"
        reason = (f"grading did not finish: Slurm ended {where} as {state}; "
                  "the next `autograde --backend slurm` grades it again")
        job = _job(run.jobs[index])
        pipeline._zero_fill(Path(run.root), job, job.notebooks or
                            pipeline.release_notebooks(run.root, job.assignment), reason)
        run.write_result(index, {"index": index, "student": job.student, "assignment": job.assignment,
                                 "complete": False, "failed": True, "error": reason,
                                 "finished": time.time()})
        log(f"LOST: {job.student}/{job.assignment}: {reason}")


def task_main(root, run_id, index=None):
    """``python -m grader task --run ID [--index N]`` (what a Slurm array task runs):
    grades one job of the run; exit status 0 when it was graded (even to 0 points), 3
    when this node could not grade it (nothing changed)."""
    GradingError = _pipeline().GradingError
    try:
        run = runs.Run.load(root, run_id)
    except FileNotFoundError as exc:
        raise GradingError(str(exc)) from None
    if index is None:
        try:
            index = settings.array_task_index()
        except ValueError as exc:
            raise GradingError(str(exc)) from None
        if index is None:
            raise GradingError(f"no --index and no ${settings.ARRAY_TASK_ID}: which job of the run?")
    if not 0 <= index < len(run.jobs):
        raise GradingError(f"run {run_id} has {len(run.jobs)} jobs; there is no job {index}")
    outcome = run_task(run, index, check_node=True)
    spec = run.jobs[index]
    if outcome.get("untouched"):
        print(f"{spec['student']}/{spec['assignment']}: not graded: {outcome['error']}", file=sys.stderr)
        return 3
    print(f"{spec['student']}/{spec['assignment']}: graded in {outcome['seconds']:.1f} s"
          + (" (failed: 0 with a reason)" if outcome.get("failed") else ""))
    return 0


# ---------------------------------------------------------------------------------------
# Command line (grader/cli.py)

def add_steps(steps):
    """The backend options of `autograde`, and the `task` and `gradebook` steps."""
    grade = steps.choices["autograde"]
    grade.add_argument("--backend", default="local", choices=BACKENDS,
                       help="local: a pool on this machine; slurm: one Slurm array job")
    grade.add_argument("--cells", default=None, choices=("graded", "all"),
                       help="grading mode: the graded cells and what they need (default), or all")
    grade.add_argument("--restart", action="store_true",
                       help="grade everything again instead of resuming an interrupted run")
    grade.add_argument("--no-wait", action="store_true",
                       help="slurm: return once the array is submitted (run again to wait)")
    grade.add_argument("--partition", default=None, help="slurm: the partition (sbatch --partition)")
    grade.add_argument("--account", default=None, help="slurm: the account (sbatch --account)")
    grade.add_argument("--slurm-arg", action="append", default=[],
                       help="slurm: one more sbatch option, e.g. --slurm-arg=--qos=short (repeatable)")
    grade.add_argument("--poll", type=float, default=10.0, help="slurm: seconds between squeue calls")
    task = steps.add_parser("task", help="grade one job of a run (what a Slurm array task runs)")
    task.add_argument("--run", required=True, help="the run id (build/grading/runs/<id>/)")
    task.add_argument("--index", type=int, default=None,
                      help="the job (default $SLURM_ARRAY_TASK_ID + $COURSEPACK_TASK_OFFSET)")
    gb = steps.add_parser("gradebook", help="the gradebook: url | postgres-start | postgres-stop | migrate")
    gb.add_argument("action", choices=("url", "postgres-start", "postgres-stop", "migrate"))
    gb.add_argument("--dir", default=None, help="the trial cluster's folder (default build/postgres/)")
    gb.add_argument("--port", type=int, default=None, help="the trial cluster's port (default: a free one)")
    gb.add_argument("--to", default=None, help="migrate: the PostgreSQL URL to copy into")
    gb.add_argument("--from", dest="source", default=None,
                    help="migrate: the gradebook to copy (default: the course's gradebook.db)")


def autograde_options(args):
    """The keyword arguments of grader.pipeline.autograde from the backend options."""
    if args.poll <= 0:
        raise _pipeline().GradingError(f"--poll must be a positive number of seconds, got {args.poll}")
    return {"backend": args.backend, "cells": args.cells, "restart": args.restart,
            "wait": not args.no_wait,
            "slurm": SlurmOptions(partition=args.partition, account=args.account,
                                  extra=tuple(args.slurm_arg), poll=args.poll)}


def run_step(args, root):
    """Run the `task` or `gradebook` step; returns its exit status, or None for others."""
    if args.step == "task":
        return task_main(root, args.run, args.index)
    if args.step != "gradebook":
        return None
    from grader import gradebook

    folder = Path(args.dir) if args.dir else Path(root) / gradebook.TRIAL_DIR
    cluster = gradebook.TrialCluster(folder)
    if args.action == "url":
        print(gradebook.describe(root))
    elif args.action == "postgres-start":
        url = cluster.start(port=args.port)
        print(f"gradebook URL (also in {cluster.url_file}):\n  {url}\n"
              f"use it:   export {gradebook.ENV}=$(cat {cluster.url_file})\n"
              f"move the SQLite gradebook there:   make gradebook-migrate TO=$(cat {cluster.url_file})\n"
              "stop it:  make gradebook-postgres-stop")
    elif args.action == "postgres-stop":
        if not cluster.stop():
            print(f"no trial cluster running in {folder}")
    elif args.action == "migrate":
        if not args.to:
            raise _pipeline().GradingError("gradebook migrate needs --to <postgresql URL> (TO=... for make)")
        gradebook.migrate(args.source or gradebook.sqlite_url(root), args.to)
    return 0
