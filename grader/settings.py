"""Every environment variable the grader reads, parsed in one place by one rule.

| variable                    | what                                          | default              |
|-----------------------------|-----------------------------------------------|----------------------|
| ``COURSE_CELL_TIMEOUT``     | seconds per executed cell                     | 120                  |
| ``COURSE_SUBMISSION_TIMEOUT`` | seconds per submission (nbgrader process)   | 1200                 |
| ``COURSE_MEMORY_LIMIT_MB``  | address space of a sandboxed kernel           | 4096                 |
| ``COURSE_CPU_LIMIT_S``      | CPU seconds of a sandboxed kernel (backstop)  | 1200                 |
| ``COURSE_FILE_LIMIT_MB``    | largest file a sandboxed kernel may write     | 512                  |
| ``COURSE_GRADING_KERNEL``   | kernel that runs submissions                  | ``coursepack-sandbox`` |
| ``COURSE_CHECK_SEED``       | seed of the checks (else a fresh random one)  | unset                |
| ``COURSE_HIDDEN_KEY``       | key of the hidden checks' seeds (else fresh); never passed to a kernel | unset |
| ``MNIST_DIR``               | MNIST folder mounted in the sandbox           | unset (data/mnist/)  |
| ``COURSE_DB_URL``           | the gradebook (SQLAlchemy URL; grader.gradebook) | gradebook.db, SQLite |
| ``COURSE_GRADING_PRELOAD``  | ``0``: each submission's nbgrader in a fresh interpreter, not forked from a preloaded one (local backend) | ``1`` |
| ``COURSE_GRADING_HEADSTART`` | ``0``: start each grading kernel when nbgrader executes the notebook, not ahead while it prepares the submission (grader/headstart.py) | ``1`` |
| ``SLURM_ARRAY_TASK_ID``     | set by Slurm: the array task a grading task is | unset                |
| ``COURSEPACK_TASK_OFFSET``  | added to it (runs split into several arrays)  | 0                    |

Switches (``COURSE_GRADING_PRELOAD``, ``COURSE_GRADING_HEADSTART``): ``1``/``yes``/``true``
or ``0``/``no``/``false`` (any case), unset or empty gives the default, anything else is a
ValueError. Numbers: unset or empty gives the default; anything else must be a positive
number (decimals are cut to whole units), or ValueError names the variable and what it
holds.
Every value is read when it is asked for, never at import.
"""
import contextlib
import os

CELL_TIMEOUT = "COURSE_CELL_TIMEOUT"
SUBMISSION_TIMEOUT = "COURSE_SUBMISSION_TIMEOUT"
MEMORY_LIMIT_MB = "COURSE_MEMORY_LIMIT_MB"
CPU_LIMIT_S = "COURSE_CPU_LIMIT_S"
FILE_LIMIT_MB = "COURSE_FILE_LIMIT_MB"
GRADING_KERNEL = "COURSE_GRADING_KERNEL"
CHECK_SEED = "COURSE_CHECK_SEED"
HIDDEN_KEY = "COURSE_HIDDEN_KEY"
MNIST_DIR = "MNIST_DIR"
DB_URL = "COURSE_DB_URL"
GRADING_PRELOAD = "COURSE_GRADING_PRELOAD"
GRADING_HEADSTART = "COURSE_GRADING_HEADSTART"
ARRAY_TASK_ID = "SLURM_ARRAY_TASK_ID"
TASK_OFFSET = "COURSEPACK_TASK_OFFSET"

DEFAULT_CELL_TIMEOUT = 120
DEFAULT_SUBMISSION_TIMEOUT = 1200
DEFAULT_MEMORY_LIMIT_MB = 4096
DEFAULT_CPU_LIMIT_S = 1200
DEFAULT_FILE_LIMIT_MB = 512
DEFAULT_GRADING_KERNEL = "coursepack-sandbox"


def _text(name):
    """The variable's value without surrounding blanks; "" when unset."""
    return os.environ.get(name, "").strip()


def _positive(name, default, unit):
    """The rule for every number: unset/empty -> default, else a positive whole number."""
    raw = _text(name)
    if not raw:
        return int(default)
    try:
        value = int(float(raw))
    except (ValueError, OverflowError):
        value = 0
    if value <= 0:
        raise ValueError(f"${name} is {raw!r}; expected a positive number of {unit}")
    return value


def cell_timeout():
    """Seconds per executed cell (``$COURSE_CELL_TIMEOUT``)."""
    return _positive(CELL_TIMEOUT, DEFAULT_CELL_TIMEOUT, "seconds")


def submission_timeout():
    """Seconds per submission (``$COURSE_SUBMISSION_TIMEOUT``)."""
    return _positive(SUBMISSION_TIMEOUT, DEFAULT_SUBMISSION_TIMEOUT, "seconds")


def memory_limit_mb():
    """Address space of a sandboxed kernel in MB (``$COURSE_MEMORY_LIMIT_MB``)."""
    return _positive(MEMORY_LIMIT_MB, DEFAULT_MEMORY_LIMIT_MB, "megabytes")


def cpu_limit_s():
    """CPU seconds of a sandboxed kernel (``$COURSE_CPU_LIMIT_S``)."""
    return _positive(CPU_LIMIT_S, DEFAULT_CPU_LIMIT_S, "seconds")


def file_limit_mb():
    """Largest file a sandboxed kernel may write, in MB (``$COURSE_FILE_LIMIT_MB``)."""
    return _positive(FILE_LIMIT_MB, DEFAULT_FILE_LIMIT_MB, "megabytes")


def grading_kernel():
    """Name of the kernel that runs submissions (``$COURSE_GRADING_KERNEL``)."""
    return _text(GRADING_KERNEL) or DEFAULT_GRADING_KERNEL


def check_seed():
    """``$COURSE_CHECK_SEED`` as set by ``python -m grader autograde``, or None."""
    return _text(CHECK_SEED) or None


def hidden_key():
    """``$COURSE_HIDDEN_KEY`` as set by ``python -m grader autograde`` (the key the hidden
    checks' seeds are derived from; the grading kernel never sees it), or None."""
    return _text(HIDDEN_KEY) or None


def _switch(name, default):
    """The rule for every switch: unset/empty -> default, else yes/no in one of its forms."""
    raw = _text(name)
    if not raw:
        return default
    if raw.lower() in ("1", "yes", "true"):
        return True
    if raw.lower() in ("0", "no", "false"):
        return False
    raise ValueError(f"${name} is {raw!r}; expected 1 or 0 (yes/no, true/false)")


def grading_preload():
    """Whether the local backend forks each submission's nbgrader process from a
    preloaded server (grader/nbgrader_run.py; ``$COURSE_GRADING_PRELOAD``, default yes).
    No: a fresh interpreter per submission, as ``nbgrader autograde`` runs (slower; for
    a platform where forking a loaded interpreter is unsafe, and for the baseline of
    ``make bench``)."""
    return _switch(GRADING_PRELOAD, True)


def grading_headstart():
    """Whether each submission's grading kernel is started ahead, while nbgrader prepares
    the submission (grader/headstart.py; ``$COURSE_GRADING_HEADSTART``, default yes)."""
    return _switch(GRADING_HEADSTART, True)


@contextlib.contextmanager
def environ(values):
    """``os.environ`` with ``values`` (name -> text) set inside, as it was after, however
    the block ends."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mnist_dir():
    """``$MNIST_DIR`` (a path as written), or None when unset."""
    return _text(MNIST_DIR) or None


def db_url():
    """``$COURSE_DB_URL`` as written (grader.gradebook checks it), or None when unset."""
    return _text(DB_URL) or None


def array_task_index():
    """The grading task's job index in its run: ``$SLURM_ARRAY_TASK_ID`` plus
    ``$COURSEPACK_TASK_OFFSET`` (None when Slurm set no task id); ValueError names the
    variable that is not a whole number."""
    raw = _text(ARRAY_TASK_ID)
    if not raw:
        return None
    offset = _text(TASK_OFFSET) or "0"
    for name, value in ((ARRAY_TASK_ID, raw), (TASK_OFFSET, offset)):
        if not value.isdigit():
            raise ValueError(f"${name} is {value!r}; expected a whole number")
    return int(raw) + int(offset)
