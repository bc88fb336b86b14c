"""``python -m grader.nbgrader_run ARGS``: the ``nbgrader`` command, started and ended faster.

Every grading step runs nbgrader in a process of its own (grader.pipeline.run_nbgrader),
so what nbgrader costs before and after its work is paid once per submission:

- Importing nbgrader imports nbformat, whose validator imports jsonschema, which imports
  the optional ``rfc3987_syntax`` when it is installed (jupyter_server's dependencies
  install it). That module compiles an Earley grammar for IRIs at import time: 1.5-4 s
  of every nbgrader start on the shared 2-core machine, more than the rest of nbgrader's
  start-up together. Neither nbformat nor nbgrader checks the ``iri`` string formats, so
  this entry point marks the module as absent (jsonschema then skips those two format
  checks, as it does wherever the module is not installed).
- Tearing down an interpreter that has imported nbgrader, nbconvert, SQLAlchemy and
  jupyter_client takes most of a second. Once nbgrader's command has returned (every
  file written and closed, every gradebook session closed, the kernel shut down), this
  entry point flushes the log handlers and the standard streams and ends the process
  with nbgrader's exit status (``os._exit``).

Nothing else differs from ``python -m nbgrader``; an exception nbgrader does not handle
ends the process the usual way, traceback included.

**Preloaded** (``python -m grader.nbgrader_run --serve``; :class:`Preloaded`, used by the
local grading backend). Even so, starting the interpreter and importing nbgrader,
nbconvert, nbclient, jupyter_client, SQLAlchemy and the pack's preprocessors is the
largest single cost of grading one submission in grading mode 'graded' (1.2 s of 3 s
at load 4 on the shared 2-core machine, see grader/grading_cells.py). A preloaded server imports
them once (:data:`PRELOAD`) and then, for each submission, forks a fresh process that
runs exactly this entry point's :func:`main` with the submission's arguments,
environment and working folder, its output going to a log file of its own. Each
submission still gets a process of its own (its own address space, its own session, its
own kernel and sandbox, killed with its kernels on the time limit); nothing it does
reaches the server, which never runs nbgrader itself and holds no open file, gradebook
connection, thread or event loop when it forks (it refuses to serve if an import started
a thread). The server stops, and kills a run in progress, when its client goes away.
Before it forks a grading run it also computes what the judge compares the
assignment's checks with (:func:`_prepare_verdicts`): the same for every submission of
the run, so each submission's process starts with it. ``$COURSE_GRADING_PRELOAD=0``
(grader/settings.py) turns the server off: each submission then starts an interpreter
of its own, as ``nbgrader autograde`` does.
"""
import json
import logging
import os
import select
import sys
import time
import traceback

SLOW_OPTIONAL_MODULES = ("rfc3987_syntax",)

# What a grading nbgrader process imports, in the order it does; a module that cannot be
# imported here is left to the run itself (which then fails or not exactly as before).
PRELOAD = (
    "nbgrader.apps.nbgraderapp", "nbgrader.apps.autogradeapp", "nbgrader.converters.autograde",
    "nbgrader.preprocessors", "nbconvert.preprocessors", "nbconvert.exporters", "nbclient",
    "jupyter_client.manager", "jupyter_client.asynchronous", "jupyter_client.provisioning",
    "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql",
    "grader.preprocessors", "grader.export", "tools.offline_html", "checker.judge",
    "checker.lessons",
)


def main(argv=None):
    for name in SLOW_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)      # `import name` now raises ImportError
    from nbgrader.apps.nbgraderapp import NbGraderApp

    if argv is not None:
        sys.argv = ["nbgrader", *argv]
    try:
        NbGraderApp.launch_instance()
        status = 0
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
    from grader import headstart             # imported by nbgrader_config.py already

    headstart.discard()                      # a kernel started ahead and not taken
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


# ---------------------------------------------------------------------------------------
# The preloaded server (runs in its own process)

def _preload():
    import importlib

    loaded = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:        # noqa: BLE001 - the run itself imports it (and reports)
            pass
    for warm in (_warm_validators, _warm_reference_forms):
        try:
            warm()
        except Exception:        # noqa: BLE001 - only a head start; the run does it again
            pass
    return loaded


def _warm_validators():
    """nbformat compiles its schema validators on first use (reading, writing, and
    nbconvert after each preprocessor), and the pack's CheckCellMetadata its schema."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for relax in (False, True):
        nbformat.validate(nb, relax_add_props=relax)
    from grader.preprocessors import _MetadataValidator

    cell = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "schema_version": _MetadataValidator.schema_version, "grade": False, "solution": False,
        "locked": True, "grade_id": "warm"}})
    nb.cells = [cell]
    _MetadataValidator().validate_nb(nb)


def _warm_reference_forms():
    """grader.flags compares each graded function with the normal forms of its
    exercise's references (grader.copies), read from the pack's own source files: the
    same for every submission, so read once here."""
    from checker.lessons import EXERCISES
    from grader import copies

    for exercise in EXERCISES.values():
        for dotted in exercise.references:
            copies.reference_forms(dotted)


_PREPARED = set()


def _prepare_verdicts(request):
    """Before forking a grading run of an assignment: compute what the judge compares
    its checks with (checker.judge.prepare_reference). Every submission of a grading run
    is judged with the run's seed and hidden key (in the request's environment), so the
    cases and the reference outputs are the same for all of them: drawn and computed
    here once per server, each submission's process starts with them. The checks are read from the
    instructor's notebooks (``solutions/<assignment>/*.ipynb``, nbgrader's source
    folder), never from a submission."""
    argv, env = list(request.get("argv") or ()), dict(request.get("env") or {})
    if len(argv) < 2 or argv[0] != "autograde":
        return
    from grader import settings

    assignment = argv[1]
    seed, key = env.get(settings.CHECK_SEED) or None, env.get(settings.HIDDEN_KEY) or None
    if (assignment, seed, key) in _PREPARED:
        return
    _PREPARED.add((assignment, seed, key))
    import nbformat
    from pathlib import Path

    from checker import judge
    from grader.preprocessors import expected_checks, hidden_seed, is_autograded_test

    checks = set()
    for path in sorted((Path(request["cwd"]) / "solutions" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_autograded_test(cell):      # the cells TrustedVerdicts judges
                checks.update((e, h) for e, h in expected_checks(cell.source) if e)
    for exercise, hidden in sorted(checks):
        if hidden and key is not None:
            judge.prepare_reference(exercise, hidden_seed(key, exercise), True)
        elif not hidden and seed is not None:
            judge.prepare_reference(exercise, seed, False)


def _send(fd, message):
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _lines(fd):
    """The newline-terminated JSON messages read from ``fd`` (ends at end of file)."""
    buffer = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)


def _child(request, proto_in, proto_out):
    """In the forked process: become the submission's nbgrader process (never returns)."""
    try:
        os.setsid()
        os.close(proto_in)
        os.close(proto_out)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile

        tempfile.tempdir = None          # read $TMPDIR again
        main(list(request["argv"]))
    except BaseException:                # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(1)


def _kill_tree(pid):
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def _wait(pid, proto_in):
    """The child's exit code (negative: killed by that signal), or None when the client
    went away first (the child and its kernels are then killed)."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([pidfd, proto_in], [], [])
            if pidfd in ready:
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status)
            if not os.read(proto_in, 65536):      # end of file: the client is gone
                _kill_tree(pid)
                os.waitpid(pid, 0)
                return None
    finally:
        os.close(pidfd)


def serve():
    """``--serve``: preload, say ready, then one forked run per request on stdin."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)        # a stray print of an import goes to the log, not the protocol
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for name in SLOW_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)
    start = time.monotonic()
    loaded = _preload()
    import threading

    if threading.active_count() != 1:
        _send(proto_out, {"error": f"{threading.active_count()} threads after preloading; "
                                   "forking would not be safe"})
        return 2
    _send(proto_out, {"ready": True, "pid": os.getpid(), "preloaded": loaded,
                      "seconds": round(time.monotonic() - start, 3)})
    for request in _lines(proto_in):
        try:
            _prepare_verdicts(request)
        except Exception:        # noqa: BLE001 - only a head start; the run judges anyway
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, proto_in, proto_out)
        _send(proto_out, {"pid": pid})
        code = _wait(pid, proto_in)
        if code is None:
            return 0
        _send(proto_out, {"pid": pid, "returncode": code})
    return 0


# ---------------------------------------------------------------------------------------
# The client (in the grading process)

class PreloadUnavailable(RuntimeError):
    """The preloaded server could not start or died; the message says why."""


class Preloaded:
    """One preloaded nbgrader server for one course root, used by one thread at a time.

    ``run(args, env, timeout)`` grades like ``subprocess.run`` of ``python -m
    grader.nbgrader_run ARGS`` in ``root`` with ``env``, killed with its kernels after
    ``timeout`` seconds: returns ``(returncode, output, seconds, timed_out)``. Raises
    PreloadUnavailable when the server cannot start or dies (the caller then runs the
    command the usual way, and so does every later run: ``broken`` says why);
    :meth:`close` stops it (also at the end of a ``with``)."""

    def __init__(self, root, env, start_timeout=300):
        self.root, self.env, self.start_timeout = str(root), dict(env), start_timeout
        self.proc = None
        self.info = None
        self.broken = None          # why the server is not used any more

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self):
        import subprocess
        import tempfile

        self._errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.nbgrader_run", "--serve"], cwd=self.root,
            env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
            start_new_session=True, bufsize=0)
        self._buffer = b""
        info = self._receive(self.start_timeout, "start")
        if not info.get("ready"):
            raise self._fail(f"refused to serve: {info.get('error')}")
        self.info = info

    def _fail(self, why):
        detail = ""
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:        # noqa: BLE001
                pass
            self._errors.seek(0)
            tail = self._errors.read()[-2000:].decode("utf-8", "replace").strip()
            detail = f"; its output: {tail}" if tail else ""
            self._errors.close()
        self.proc = None
        self.broken = f"the preloaded nbgrader server {why}{detail}"
        return PreloadUnavailable(self.broken)

    def _wait_readable(self, timeout):
        """True when a message is waiting (buffered or on the pipe) within ``timeout``."""
        if b"\n" in self._buffer:
            return True
        ready, _, _ = select.select([self.proc.stdout.fileno()], [], [], timeout)
        return bool(ready)

    def _receive(self, timeout, what):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if not self._wait_readable(max(0.0, deadline - time.monotonic())):
                raise self._fail(f"did not answer within {timeout:.0f} s ({what})")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise self._fail(f"ended unexpectedly ({what})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise self._fail(f"sent something unreadable ({what}): {line[:200]!r}") from None

    def run(self, args, env, timeout=None):
        import tempfile

        if self.broken:
            raise PreloadUnavailable(self.broken)
        if self.proc is None:
            self._start()
        with tempfile.NamedTemporaryFile(mode="w+", encoding="utf-8", errors="replace",
                                         prefix="coursepack-nbgrader-", suffix=".log") as log:
            start = time.monotonic()
            request = {"argv": list(args), "env": dict(env), "cwd": self.root, "log": log.name}
            try:
                _send(self.proc.stdin.fileno(), request)
            except OSError as exc:
                raise self._fail(f"cannot be reached ({exc})") from None
            pid = self._receive(60, "fork")["pid"]
            timed_out = False
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
            try:
                if not self._wait_readable(left):
                    timed_out = True
                    _kill_tree(pid)
                done = self._receive(60, "end of a run")
            except PreloadUnavailable:
                _kill_tree(pid)          # the server died: no run of it may go on
                raise
            seconds = time.monotonic() - start
            log.seek(0)
            return done["returncode"], log.read(), seconds, timed_out

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()          # the server ends (and kills a run in progress)
            self.proc.wait(timeout=30)
        except Exception:                    # noqa: BLE001
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._errors.close()
        self.proc = None


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    main()
