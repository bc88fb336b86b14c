"""The grading kernel's head start: started while nbgrader prepares the submission.

A graded submission in grading mode 'graded' is mostly fixed cost, and the largest part
of it is the sandboxed kernel's start (the launcher, bubblewrap, an interpreter importing
ipykernel: about 0.4 s of 1-1.5 s on the shared 2-core machine). nbgrader starts the
kernel only when it executes the notebook, after its own set-up (gradebook rows, copying
the submission into ``autograded/``) and the sanitising preprocessors, all of which run
in the grader's process while the kernel does not exist yet. So the kernel is started
first and boots in a process of its own while nbgrader does that work:

- :func:`pre_convert` is nbgrader's ``pre_convert_hook`` (``c.Autograde.pre_convert_hook``
  in nbgrader_config.py), called for each submission after nbgrader has decided to grade
  it and before it touches ``autograded/<student>/<assignment>/``. It starts the kernel
  exactly as :class:`grader.preprocessors.GradingExecute` would (the same configuration,
  kernel, environment, seed and working folder), and keeps it here (:data:`_SLOT`).
- ``GradingExecute`` takes it (:func:`take`) when it would start its own kernel, if it is
  the same kernel with the same environment in the same folder; otherwise it is shut
  down and a kernel is started the usual way.

No submission code is involved in a head start: the kernel only starts, and nothing runs
in it before ``GradingExecute`` executes the first cell. A sandboxed kernel sees a
scratch copy of its folder made when it starts, so a kernel started before nbgrader
copied the submission's files would not see them; once it is ready, and before any cell
runs, ``GradingExecute`` copies them into its scratch folder by the scratch copy's own
rules (:func:`grader.sandbox.refresh_scratch`). The head start needs the run's check
seed (``$COURSE_CHECK_SEED``, which ``python -m grader autograde`` always sets): without
it ``GradingExecute`` draws a fresh seed, and there is nothing to start ahead.
``$COURSE_GRADING_HEADSTART=0`` turns it off (grader/settings.py). A kernel that was not
taken is shut down when nbgrader's command ends (:func:`discard`, called by
grader/nbgrader_run.py and at exit).
"""
import atexit
import os
from dataclasses import dataclass

from grader import kernels, settings


@dataclass
class HeadStart:
    """A kernel started ahead: its manager, private folder and what it was started with."""

    km: object
    folder: str
    kernel_name: str
    cwd: str
    env: dict


_SLOT = []       # at most one HeadStart: the next kernel GradingExecute will start
EXECUTION_VARIABLE = "NBGRADER_EXECUTION"


def _autograde_app():
    from nbgrader.apps.autogradeapp import AutogradeApp

    return AutogradeApp.instance() if AutogradeApp.initialized() else None


def pre_convert(assignment, student, notebooks, **_):
    """nbgrader's pre-convert hook: start the grading kernel of ``student``'s
    ``assignment`` ahead. Does nothing when turned off, without a check seed, or when
    the submission has no notebook; any failure leaves the usual start (nbgrader logs
    a failing hook and goes on)."""
    discard()
    if not settings.grading_headstart() or not settings.check_seed() or not notebooks:
        return
    app = _autograde_app()
    if app is None:
        return
    cwd = app.coursedir.format_path(app.coursedir.autograded_directory, student, assignment)
    if start(app.config, cwd):
        app.log.info("Started the grading kernel ahead in %s", cwd)


def start(config, cwd):
    """Start the kernel GradingExecute (configured by ``config``, nbgrader's) would start
    in ``cwd`` (made if missing), and keep it for :func:`take`. Returns True when it was
    started, False when the configuration names no kernel (nbgrader would read it from
    the notebook)."""
    from nbclient.util import run_sync

    from grader.preprocessors import GradingExecute

    discard()
    cwd = os.path.abspath(cwd)
    starter = GradingExecute(config=config)
    if not starter.kernel_name:
        return False
    os.makedirs(cwd, exist_ok=True)
    starter.prepare_start(cwd)
    starter.km = starter.create_kernel_manager()
    # The environment nbgrader executes the notebooks in (Autograde.convert_single_notebook
    # sets this variable; nbgrader.utils.setenv, which it uses, restores nothing on error).
    try:
        with settings.environ({EXECUTION_VARIABLE: "autograde"}):
            run_sync(starter.async_start_new_kernel)(cwd=cwd)
    except BaseException:
        run_sync(_shutdown)(HeadStart(starter.km, starter.sandbox_dir, starter.kernel_name, cwd, {}))
        raise
    _SLOT.append(HeadStart(starter.km, starter.sandbox_dir, starter.kernel_name, cwd,
                           dict(starter.kernel_env)))
    return True


async def take(kernel_name, cwd, env):
    """The head-started kernel ``(km, folder)`` if it is ``kernel_name`` started in
    ``cwd`` with ``env`` and still alive, else None (one that differs or died is shut
    down first). A coroutine: GradingExecute awaits it in its event loop."""
    if not _SLOT:
        return None
    head = _SLOT.pop()
    same = (head.kernel_name, head.cwd, head.env) == (kernel_name, os.path.abspath(cwd), env)
    if same and await _alive(head.km):
        return head.km, head.folder
    await _shutdown(head)
    return None


def discard():
    """Shut down a head-started kernel nobody took, and remove its private folder."""
    from nbclient.util import run_sync

    while _SLOT:
        run_sync(_shutdown)(_SLOT.pop())


async def _alive(km):
    try:
        return bool(await km._async_is_alive())
    except Exception:            # noqa: BLE001 - a manager that cannot tell: not alive
        return False


async def _shutdown(head):
    try:
        await head.km._async_shutdown_kernel(now=True)
    except Exception:            # noqa: BLE001 - already gone
        pass
    kernels.remove(head.folder)


atexit.register(discard)
