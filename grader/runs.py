"""The state of a grading run, so that any backend can resume it.

A run is one ``python -m grader autograde`` over a set of submissions, with one check
seed and one set of limits. Its folder, ``build/grading/runs/<run id>/``, holds:

- ``run.json``: the settings (seed, hidden key, kernel, timeouts, grading mode, limits)
  and the jobs, one per (student, assignment), each with a digest of the submitted files;
- ``tasks/<index>.json``: the outcome of job ``index`` (exit status, seconds, whether it
  timed out), written atomically by the task when it has finished, gradebook included;
- ``slurm/``: the batch script and one log per array task (Slurm backend).

A job is *done* when its outcome says ``complete`` and its digest is the submission's
current one. Running the same selection again (same students and assignments, kernel,
grading mode and limits) resumes the newest unfinished run: only the jobs not done are
graded, with the run's seed, and the report covers every job of the run. A changed
submission is graded again. ``--restart`` starts a new run instead. Rerunning a task
is harmless: it removes what the previous attempt wrote (records, autograded/) and
nbgrader replaces the submission's grades.
"""
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RUNS_DIR = Path("build") / "grading" / "runs"
KEEP_FINISHED = 5          # finished runs kept (the newest); older ones are removed


def submission_digest(root, student, assignment):
    """sha256 over the names and bytes of every file of submitted/<student>/<assignment>/."""
    folder = Path(root) / "submitted" / student / assignment
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if ".ipynb_checkpoints" in rel.split("/"):
            continue
        h.update(rel.encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def _write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


@dataclass
class Run:
    root: str
    id: str
    seed: str
    kernel: str
    cell_timeout: int
    timeout: float
    cells: str
    limits: str
    jobs: list                           # [{student, assignment, notebooks, invalid, digest}]
    created: float = field(default_factory=time.time)
    finished: float | None = None
    slurm_jobs: list = field(default_factory=list)   # [{"id": "123", "indices": [...]}]
    hidden_key: str = ""                 # the hidden checks' seeds derive from it

    # paths
    @property
    def dir(self):
        return Path(self.root) / RUNS_DIR / self.id

    def result_path(self, index):
        return self.dir / "tasks" / f"{index}.json"

    # persistence
    def save(self):
        data = asdict(self)
        data.pop("root")
        _write_json(self.dir / "run.json", data)

    @classmethod
    def load(cls, root, run_id):
        data = _read_json(Path(root) / RUNS_DIR / run_id / "run.json")
        if data is None:
            raise FileNotFoundError(f"{Path(root) / RUNS_DIR / run_id / 'run.json'} is missing or unreadable")
        return cls(root=str(root), **data)

    # outcomes
    def result(self, index):
        return _read_json(self.result_path(index))

    def write_result(self, index, outcome):
        _write_json(self.result_path(index), outcome)

    def is_done(self, index):
        outcome = self.result(index)
        return bool(outcome and outcome.get("complete")
                    and outcome.get("digest") == self.jobs[index]["digest"])

    def pending(self):
        return [i for i in range(len(self.jobs)) if not self.is_done(i)]

    def settings(self):
        return (self.kernel, self.cells, int(self.cell_timeout), float(self.timeout), self.limits)

    def key(self):
        return sorted((j["student"], j["assignment"]) for j in self.jobs)


def new_run_id():
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def runs(root):
    """Every run of the course, newest first."""
    base = Path(root) / RUNS_DIR
    found = []
    for folder in base.glob("*/"):
        data = _read_json(folder / "run.json")
        if data is None:
            continue
        try:
            found.append(Run(root=str(root), **data))
        except TypeError:
            continue
    return sorted(found, key=lambda r: (r.created, r.id), reverse=True)


def begin(root, work, kernel, cell_timeout, timeout, cells, limits, restart=False):
    """The run for grading ``work`` (grader.pipeline.Job list): the newest unfinished run
    with the same jobs and settings (resumed), unless ``restart``, else a new one with a
    fresh seed. Returns ``(run, resumed)``."""
    jobs = [{"student": j.student, "assignment": j.assignment, "notebooks": list(j.notebooks),
             "invalid": dict(j.invalid), "digest": submission_digest(root, j.student, j.assignment)}
            for j in work]
    key = sorted((j["student"], j["assignment"]) for j in jobs)
    wanted = (kernel, cells, int(cell_timeout), float(timeout), limits)
    if not restart:
        for run in runs(root):
            if run.finished is None and run.key() == key and run.settings() == wanted:
                by_pair = {(j["student"], j["assignment"]): j for j in jobs}
                for job in run.jobs:           # a changed submission is pending again
                    fresh = by_pair[(job["student"], job["assignment"])]
                    job.update(notebooks=fresh["notebooks"], invalid=fresh["invalid"],
                               digest=fresh["digest"])
                run.hidden_key = run.hidden_key or secrets.token_hex(16)
                run.save()
                return run, True
    run = Run(root=str(root), id=new_run_id(), seed=str(secrets.randbelow(2**31 - 1) + 1),
              kernel=kernel, cell_timeout=int(cell_timeout), timeout=float(timeout), cells=cells,
              limits=limits, jobs=jobs, hidden_key=secrets.token_hex(16))
    run.save()
    return run, False


def finish(run):
    """Mark ``run`` finished (it is never resumed) and remove finished runs beyond the
    newest :data:`KEEP_FINISHED`."""
    run.finished = time.time()
    run.save()
    done = [r for r in runs(run.root) if r.finished is not None]
    for old in done[KEEP_FINISHED:]:
        shutil.rmtree(old.dir, ignore_errors=True)
