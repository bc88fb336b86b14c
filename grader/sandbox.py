"""The grading sandbox: a Jupyter kernel that runs one student's code under bubblewrap.

`python -m grader autograde` grades every submission in the kernel ``coursepack-sandbox``
(registered by :func:`install_kernelspec`). Its argv runs this module's launcher outside
the sandbox (``python -I -m grader.sandbox launch {connection_file}``; ``-I`` so a
``grader/`` folder in the student's submission cannot shadow this module), which then
``exec``s ``bwrap`` around a plain ipykernel:

- no network: every namespace is new (``--unshare-all``), only a loopback device inside;
  the grader talks to the kernel over ZeroMQ ipc (Unix sockets in the kernel's private
  runtime folder), so ``KernelManager.transport`` must be ``"ipc"`` (nbgrader_config.py
  sets it for this kernel);
- a read-only view of the system, built from an allow-list rather than by hiding
  things: /usr (and the /bin, /lib... links), the few files of /etc a Python process
  needs, the interpreter (``sys.base_prefix``, the venv ``sys.prefix``), the pack's
  ``helpers/`` and ``checker/`` packages (:data:`PACK_PACKAGES`) and the MNIST folder. Nothing else exists inside: not the course
  root (gradebook, solutions/, submitted/, autograded/, other students), not the
  repository, not $HOME, not the host's /tmp;
- writable only: a scratch copy of the student's own folder, mounted where nbgrader runs
  the kernel (autograded/<student>/<assignment>/) but without its notebooks (the notebook
  being graded holds the hidden tests), plus the kernel's private runtime folder
  (connection file and sockets); /tmp is an empty read-only folder (``TMPDIR`` points
  into the scratch copy); fresh /proc and /dev;
- a minimal environment: COURSE_GRADING, COURSE_CHECK_SEED, COURSE_MODE, COURSE_RESULTS,
  MNIST_DIR, MPLBACKEND=Agg, HOME=the scratch folder, one BLAS thread, PATH, LANG;
- resource limits (``setrlimit`` before ``exec``, inherited by the kernel; read by
  ``grader.settings``): address space ``$COURSE_MEMORY_LIMIT_MB`` (default 4096: a
  larger allocation raises MemoryError in the student's code), CPU seconds
  ``$COURSE_CPU_LIMIT_S`` (default 1200, a backstop behind the per-cell wall-clock
  timeout: the kernel is killed), size of any one written file ``$COURSE_FILE_LIMIT_MB``
  (default 512).

All capabilities are dropped inside (bwrap does this even when started as root) and the
kernel runs in its own session (``--new-session``) and dies with its launcher
(``--die-with-parent``).

:func:`check_available` starts a real sandbox (``bwrap ... python -c ...``) and raises
:class:`SandboxUnavailable` with the reason and the fix when it cannot.
"""
import fnmatch
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader import kernels, settings

KERNEL_NAME = settings.DEFAULT_GRADING_KERNEL
KERNEL_DIR_PREFIX = kernels.DIR_PREFIX
SCRATCH_TMP = ".tmp"
SCRATCH_PREFIX = "scratch-"
DISPLAY_NAME = "Python 3 (course pack grading sandbox)"
# The pack's packages a kernel imports, mounted read-only where they are.
PACK_PACKAGES = ("helpers", "checker")

REPO_ROOT = Path(__file__).resolve().parent.parent

# What of /etc a Python process (and numpy, matplotlib) needs; nothing else of it.
ETC_FILES = (
    "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
    "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts",
    "/etc/fonts", "/etc/ssl", "/etc/mime.types", "/etc/matplotlibrc",
)
# The kernel inside the sandbox: ``python -m ipykernel_launcher`` without the debugger.
# ipykernel imports debugpy at every start when it is installed (a quarter of a grading
# kernel's start-up); a grading kernel is never debugged (its kernelspec says
# "debugger": false), so debugpy is marked absent first and ipykernel then runs without
# one, as wherever debugpy is not installed. The rest is ipykernel_launcher's own code.
KERNEL_MAIN = ("import sys\n"
               "from pathlib import Path\n"
               "if sys.path[0] == '' or Path(sys.path[0]) == Path.cwd():\n    del sys.path[0]\n"
               "sys.modules['debugpy'] = None\n"
               "from ipykernel import kernelapp\n"
               "kernelapp.launch_new_instance()\n")
# Variables passed from the grader to the kernel; every other one is dropped.
PASSED_VARIABLES = ("COURSE_GRADING", "COURSE_CHECK_SEED", "COURSE_MODE", "COURSE_RESULTS")
INSTALL_HINT = ("install bubblewrap: `apt-get install bubblewrap` (Debian/Ubuntu), "
                "`dnf install bubblewrap` (Fedora), or grade trusted code only with "
                "UNSAFE=1 / `python -m grader autograde --unsafe`")


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be started here; the message says why and how to fix it."""


# ---------------------------------------------------------------------------------------
# Limits

def limits():
    """The sandbox's resource limits from the environment.

    Returns ``{"memory_mb", "cpu_s", "file_mb"}`` from ``$COURSE_MEMORY_LIMIT_MB``,
    ``$COURSE_CPU_LIMIT_S``, ``$COURSE_FILE_LIMIT_MB`` (see grader.settings); a value
    that is not a positive number raises ValueError naming the variable."""
    return {"memory_mb": settings.memory_limit_mb(), "cpu_s": settings.cpu_limit_s(),
            "file_mb": settings.file_limit_mb()}


def _apply_limits(lim):
    """setrlimit in this process (inherited by bwrap and the kernel)."""
    mem = lim["memory_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    # Soft limit: SIGXCPU (the kernel dies); hard limit a little later: SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu_s"], lim["cpu_s"] + 5))
    size = lim["file_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# ---------------------------------------------------------------------------------------
# The bwrap command line

def _package_dir(name):
    """The folder of the pack's package ``name`` (the editable install points there)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SandboxUnavailable(f"the course pack's `{name}` package is not importable; "
                                 "install the pack (`make venv` or `pip install -e .`)")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _mnist_dir():
    """$MNIST_DIR, else the repository's data/mnist/ (None if neither exists)."""
    raw = settings.mnist_dir()
    if raw:
        path = Path(raw).resolve()
        return path if path.is_dir() else None
    path = REPO_ROOT / "data" / "mnist"
    return path.resolve() if path.is_dir() else None


def _system_binds():
    """bwrap arguments for the read-only system view: /usr, its top-level links, /etc
    files, the interpreter and the venv."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    seen = set()
    for path in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        real = os.path.realpath(path)
        for p in (path, real):
            if p not in seen and not p.startswith("/usr/"):
                seen.add(p)
                args += ["--ro-bind", real, p]
    return args


def bwrap_args(cwd, runtime_dir, scratch, env, command):
    """The full ``bwrap`` argv that runs ``command`` (a list) in the sandbox.

    cwd: the kernel's folder as nbgrader sees it; inside, ``scratch`` is mounted there
    (read-write) and is the working directory. runtime_dir: the kernel's private runtime
    folder (connection file, ipc sockets), mounted read-write at the same path. env: the
    variables set inside (everything else is cleared)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not on PATH; " + INSTALL_HINT)
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--hostname", "coursepack-sandbox"]
    # Fresh /proc, /dev, /tmp first, so binds below may live under /tmp (a CI venv).
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/var/tmp"]
    args += _system_binds()
    for name in PACK_PACKAGES:
        folder = str(_package_dir(name))
        args += ["--ro-bind", folder, folder]
    mnist = env.get("MNIST_DIR")
    if mnist:
        args += ["--ro-bind", mnist, mnist]
    if runtime_dir is not None:
        args += ["--bind", str(runtime_dir), str(runtime_dir)]
    args += ["--bind", str(scratch), str(cwd), "--chdir", str(cwd)]
    # The mount points created above (parents of the binds) stay read-only, /tmp too:
    # the only writable places are the scratch copy (TMPDIR points into it) and the
    # kernel's runtime folder.
    args += ["--remount-ro", "/", "--remount-ro", "/tmp", "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, str(value)]
    return args + list(command)


def sandbox_env(cwd, source=None):
    """The environment inside the sandbox (a dict), from the grader's ``source`` env."""
    source = os.environ if source is None else source
    env = {
        "HOME": str(cwd),
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(str(cwd), ".cache", "matplotlib"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "IPYTHONDIR": os.path.join(str(cwd), ".ipython-grading"),
        "TMPDIR": os.path.join(str(cwd), SCRATCH_TMP),
        "COURSE_MODE": "quick",
        "COURSE_RESULTS": os.path.join(str(cwd), ".coursepack-results.json"),
    }
    for key in PASSED_VARIABLES:
        if source.get(key):
            env[key] = source[key]
    mnist = _mnist_dir()
    if mnist is not None:
        env["MNIST_DIR"] = str(mnist)
    return env


# ---------------------------------------------------------------------------------------
# Scratch copy

# Never copied into the scratch folder: notebooks (the graded one holds the hidden tests),
# Python code and start-up files the interpreter or IPython would run or import before
# (or instead of) what the grader scans: modules that could shadow numpy or helpers,
# .pth files, ~/.ipython/profile_default/startup, ~/.local site-packages, dot folders.
NOT_COPIED = ("*.ipynb", ".*", "*.py", "*.pyc", "*.pyo", "*.pth", "*.so", "*.pyd", "__pycache__")


def _not_copied(folder, names):
    skipped = {n for n in names if any(fnmatch.fnmatch(n, pat) for pat in NOT_COPIED)}
    skipped |= {n for n in names if (Path(folder) / n / "__init__.py").exists()}
    return skipped


def make_scratch(cwd, parent):
    """A scratch copy of ``cwd`` under ``parent``: the student's data files only (see
    NOT_COPIED: no notebooks, Python code, packages or dot folders); symlinks are copied
    as links. Returns its path."""
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=parent))
    _copy_data_files(cwd, scratch)
    (scratch / SCRATCH_TMP).mkdir(exist_ok=True)
    # matplotlib's font cache, copied so each kernel does not rebuild it.
    cache = Path.home() / ".cache" / "matplotlib"
    if cache.is_dir():
        for font_list in cache.glob("fontlist-*.json"):
            dest = scratch / ".cache" / "matplotlib"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(font_list, dest / font_list.name)
    return scratch


def _copy_data_files(cwd, scratch):
    cwd = Path(cwd)
    if cwd.is_dir():
        shutil.copytree(cwd, scratch, symlinks=True, dirs_exist_ok=True, ignore=_not_copied)


def refresh_scratch(cwd, runtime_dir):
    """Copy ``cwd``'s data files, by :func:`make_scratch`'s rules, into the scratch copy of
    the sandboxed kernel whose private folder is ``runtime_dir``: for a kernel started
    before the files were there (grader/headstart.py), once it is ready and before any
    cell runs. Returns the scratch folder, or None when the kernel has none (one started
    with ``--unsafe`` runs in ``cwd`` itself). SandboxUnavailable if there are several."""
    scratches = sorted(Path(runtime_dir).glob(SCRATCH_PREFIX + "*"))
    if not scratches:
        return None
    if len(scratches) > 1:
        raise SandboxUnavailable(f"the kernel folder {runtime_dir} holds {len(scratches)} "
                                 "scratch copies; one kernel makes one")
    _copy_data_files(cwd, scratches[0])
    return scratches[0]


# ---------------------------------------------------------------------------------------
# Launcher (the kernelspec's argv)

def launch(connection_file):
    """Start the sandboxed ipykernel for ``connection_file`` (never returns: ``exec``).

    Run by Jupyter with the kernel's working directory as cwd. Raises SandboxUnavailable
    when bwrap is missing or the connection does not use the ipc transport."""
    cf = Path(connection_file).resolve()
    try:
        info = json.loads(cf.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SandboxUnavailable(f"cannot read the kernel connection file {cf}: {exc}") from None
    if info.get("transport") != "ipc":
        raise SandboxUnavailable(
            f"the connection file {cf} uses transport {info.get('transport')!r}; the sandboxed "
            "kernel has no network and needs c.KernelManager.transport = 'ipc'")
    runtime_dir = cf.parent
    ip_dir = Path(str(info.get("ip", ""))).parent
    if not runtime_dir.name.startswith(KERNEL_DIR_PREFIX) or ip_dir.resolve() != runtime_dir:
        # Refuse to mount a shared folder (say /tmp, where jupyter_client puts connection
        # files by default) read-write into the sandbox.
        raise SandboxUnavailable(
            f"the connection file {cf} and the ipc sockets ({info.get('ip')!r}) must sit in a "
            f"private folder named {KERNEL_DIR_PREFIX}*; call "
            "grader.sandbox.prepare_kernel_manager(km) before starting the kernel")
    cwd = Path(os.getcwd()).resolve()
    lim = limits()
    env = sandbox_env(cwd)
    scratch = make_scratch(cwd, runtime_dir)
    command = [sys.executable, "-c", KERNEL_MAIN, "-f", str(cf)]
    argv = bwrap_args(cwd, runtime_dir, scratch, env, command)
    _apply_limits(lim)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


# ---------------------------------------------------------------------------------------
# Availability and registration

def prepare_kernel_manager(km, runtime_dir=None):
    """Make a jupyter_client ``KernelManager`` ready to start a grading kernel: the ipc
    transport, with the connection file and sockets in a fresh private folder
    ``coursepack-kernel-*`` (:func:`grader.kernels.private_ipc`). The sandboxed kernel
    needs this (it has no network, and its launcher refuses anything else); a plain
    kernel (``--unsafe``) gets the same, so no grading kernel listens on TCP. Returns the
    folder, for :func:`remove_kernel_dir`."""
    return kernels.private_ipc(km, runtime_dir)


def remove_kernel_dir(folder):
    """Delete a folder made by :func:`prepare_kernel_manager` (and the scratch copy in it).
    Refuses any other folder."""
    kernels.remove(folder)


def _explain_failure(stderr):
    """A reason and a fix for a failed ``bwrap`` start, from its stderr."""
    text = stderr.strip()
    low = text.lower()
    if "namespace" in low or "uid map" in low or "operation not permitted" in low or "permission denied" in low:
        return (f"bwrap could not create the sandbox's namespaces ({text}). Unprivileged user "
                "namespaces are probably disabled: enable them with `sysctl -w "
                "kernel.unprivileged_userns_clone=1` (Debian) or `sysctl -w "
                "kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu 23.10+), or, in a "
                "container, allow them (e.g. docker --security-opt seccomp=unconfined); "
                "else grade trusted code only with UNSAFE=1")
    return f"bwrap failed to start a sandbox: {text or 'no message'}"


def check_available(timeout=60):
    """Raise SandboxUnavailable (reason and fix in the message) unless a sandbox can be
    started here: bwrap on PATH, namespaces allowed, and the interpreter, numpy and the
    pack's packages importable inside it. Actually starts one (about a second)."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed or not on PATH; " + INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="coursepack-sandbox-check-") as tmp:
        cwd = Path(tmp) / "work"
        cwd.mkdir()
        try:
            basic = subprocess.run(bwrap_args(cwd, None, cwd, {"PATH": "/usr/bin:/bin"}, ["true"]),
                                   capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SandboxUnavailable(f"bwrap did not start a sandbox within {timeout} s") from None
        if basic.returncode != 0:
            raise SandboxUnavailable(_explain_failure(basic.stderr))
        probe = ("import numpy, ipykernel, helpers, checker, socket\n"
                 "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
                 "except OSError:\n    pass\nelse:\n    raise SystemExit('network reachable')\n")
        full = subprocess.run(bwrap_args(cwd, None, cwd, sandbox_env(cwd, {}),
                                         [sys.executable, "-c", probe]),
                              capture_output=True, text=True, timeout=timeout)
        if full.returncode != 0:
            last = (full.stderr.strip().splitlines() or ["no message"])[-1]
            raise SandboxUnavailable(f"Python does not run inside the sandbox: {last}")


def kernelspec(python=None):
    """The kernel.json dict of ``coursepack-sandbox``."""
    return {
        "argv": [python or sys.executable, "-I", "-m", "grader.sandbox", "launch", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        # "message": ipykernel interrupts itself; a signal to the launcher's process
        # group would not reach a kernel in its own session.
        "interrupt_mode": "message",
        "metadata": {"debugger": False, "coursepack": "grading sandbox (grader/sandbox.py)"},
    }


def install_kernelspec(prefix=sys.prefix):
    """Register the kernel ``coursepack-sandbox`` under ``<prefix>/share/jupyter/kernels``
    (idempotent: rewritten only when it changed). Returns the kernel folder."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    text = json.dumps(kernelspec(), indent=1) + "\n"
    path = folder / "kernel.json"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return folder


def main(argv=None):
    """``python -m grader.sandbox launch CONNECTION_FILE | check | install [PREFIX]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m grader.sandbox launch CONNECTION_FILE | check | install [PREFIX]"
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    try:
        if argv[0] == "launch" and len(argv) == 2:
            launch(argv[1])
        elif argv[0] == "check" and len(argv) == 1:
            check_available()
            print("the grading sandbox works")
        elif argv[0] == "install" and len(argv) <= 2:
            print(install_kernelspec(*argv[1:]))
        else:
            print(usage, file=sys.stderr)
            return 2
    except (SandboxUnavailable, ValueError) as exc:
        print(f"grader.sandbox: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
