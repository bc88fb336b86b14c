"""The grading sandbox (grader.sandbox), tried for real: a kernel started through the
registered kernelspec, driven by nbclient, probing from the inside what a submission could
reach. Every hidden path is checked empirically, and the host side is hashed before and
after to prove nothing outside the scratch copy changed.

The tests that start a sandbox carry the ``sandbox`` marker (tests/system_deps.py): skipped
with the fix named where it cannot start, failed in CI (.ci/run installs bubblewrap).
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from grader import sandbox

REPO = Path(__file__).resolve().parent.parent
SECRET_VARIABLE = "COURSEPACK_TEST_SECRET"


# ---------------------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope="module")
def kernel_prefix(tmp_path_factory):
    """The sandbox kernelspec installed in a throw-away prefix (not the venv)."""
    prefix = tmp_path_factory.mktemp("prefix")
    sandbox.install_kernelspec(prefix)
    return prefix


@pytest.fixture
def jupyter_env(kernel_prefix, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_prefix / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("MNIST_DIR", os.environ.get("MNIST_DIR", "/work/shared/data/mnist"))
    return tmp_path


def make_course(root):
    """A fake course root: gradebook, solutions with hidden tests, two students."""
    (root / "solutions" / "a1").mkdir(parents=True)
    (root / "solutions" / "a1" / "nb.ipynb").write_text("### BEGIN HIDDEN TESTS secret")
    (root / "gradebook.db").write_bytes(b"SQLite format 3\0 fake")
    for student in ("alice", "bob"):
        for top in ("submitted", "autograded"):
            folder = root / top / student / "a1"
            folder.mkdir(parents=True)
            (folder / "nb.ipynb").write_text(f"{student} notebook ### BEGIN HIDDEN TESTS")
            (folder / "notes.txt").write_text(f"{student}'s file")
    return root


def tree_hashes(root, skip=None):
    """{relative path: sha256} of every file under ``root`` (``skip``: a folder left out)."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_cells(cells, cwd, env=None, timeout=60, allow_errors=True, **client_kwargs):
    """Execute code ``cells`` in the sandboxed kernel with working folder ``cwd``.
    Returns the executed notebook."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells])
    client = NotebookClient(nb, kernel_name=sandbox.KERNEL_NAME, timeout=timeout,
                            allow_errors=allow_errors, startup_timeout=60,
                            resources={"metadata": {"path": str(cwd)}}, **client_kwargs)
    client.km = client.create_kernel_manager()
    folder = sandbox.prepare_kernel_manager(client.km)
    assert folder is not None
    kernel_env = dict(os.environ)
    kernel_env.update(env or {})
    try:
        client.execute(env=kernel_env)
    finally:
        sandbox.remove_kernel_dir(folder)
    return nb


def stdout_json(cell):
    """The JSON object printed last by a cell (fails with the cell's outputs otherwise)."""
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    assert lines, f"no JSON printed; outputs: {cell.outputs}"
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------
# Without a kernel

def test_check_available_names_missing_bwrap(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.check_available()


def test_a_bwrap_that_fails_stops_grading_before_any_submission_runs(monkeypatch, tmp_path):
    """A bwrap that is on PATH but cannot make a sandbox (here one that exits 1, as on a
    machine without user namespaces): autograde stops with the reason and the fix, and
    never falls back to an unsandboxed kernel."""
    from grader import pipeline

    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(sandbox.SandboxUnavailable, match="could not create the sandbox's namespaces"):
        sandbox.check_available()
    with pytest.raises(pipeline.GradingError, match="the grading sandbox cannot start: .*UNSAFE=1"):
        pipeline.sandbox_kernel(False, log=lambda *_: None)
    with pytest.raises(pipeline.GradingError, match="the grading sandbox cannot start"):
        pipeline.autograde(tmp_path / "course", log=lambda *_: None)


def test_namespace_failure_is_explained():
    msg = sandbox._explain_failure("bwrap: No permissions to creating new namespace, likely "
                                   "because the kernel does not allow non-privileged user namespaces")
    assert "unprivileged_userns_clone" in msg and "UNSAFE=1" in msg


@pytest.mark.sandbox
def test_check_available_passes_here():
    sandbox.check_available()


def test_limits_from_environment(monkeypatch):
    monkeypatch.delenv("COURSE_MEMORY_LIMIT_MB", raising=False)
    monkeypatch.setenv("COURSE_CPU_LIMIT_S", "30")
    assert sandbox.limits() == {"memory_mb": 4096, "cpu_s": 30, "file_mb": 512}
    monkeypatch.setenv("COURSE_MEMORY_LIMIT_MB", "lots")
    with pytest.raises(ValueError, match="COURSE_MEMORY_LIMIT_MB"):
        sandbox.limits()
    monkeypatch.setenv("COURSE_MEMORY_LIMIT_MB", "-5")
    with pytest.raises(ValueError, match="COURSE_MEMORY_LIMIT_MB"):
        sandbox.limits()


def test_kernelspec_is_registered_and_isolated(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    folder = sandbox.install_kernelspec(tmp_path)
    spec = json.loads((folder / "kernel.json").read_text())
    # -I: the launcher runs outside the sandbox with the submission folder as cwd.
    assert spec["argv"][:4] == [sys.executable, "-I", "-m", "grader.sandbox"]
    assert spec["argv"][-2:] == ["launch", "{connection_file}"]
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    assert sandbox.KERNEL_NAME in ksm.find_kernel_specs()
    before = (folder / "kernel.json").stat().st_mtime_ns
    sandbox.install_kernelspec(tmp_path)
    assert (folder / "kernel.json").stat().st_mtime_ns == before


def test_launcher_cannot_be_shadowed_by_the_submission(tmp_path):
    """A grader/ package in the kernel's cwd (the student's folder) is not imported."""
    evil = tmp_path / "grader"
    evil.mkdir()
    marker = tmp_path / "pwned"
    (evil / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (evil / "sandbox.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    argv = sandbox.kernelspec()["argv"][:4] + ["install", str(tmp_path / "prefix")]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def _connection_file(folder, transport, ip):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel.json"
    path.write_text(json.dumps({"transport": transport, "ip": ip, "key": "k"}))
    return path


def test_launcher_refuses_tcp(tmp_path):
    cf = _connection_file(tmp_path / f"{sandbox.KERNEL_DIR_PREFIX}x", "tcp", "127.0.0.1")
    with pytest.raises(sandbox.SandboxUnavailable, match="ipc"):
        sandbox.launch(str(cf))


def test_launcher_refuses_a_shared_runtime_folder(tmp_path):
    """jupyter_client's default puts connection files in /tmp: never mount that."""
    cf = _connection_file(tmp_path / "shared", "ipc", str(tmp_path / "shared" / "kernel-ipc"))
    with pytest.raises(sandbox.SandboxUnavailable, match="private folder"):
        sandbox.launch(str(cf))


def test_every_grading_kernel_uses_ipc_in_a_private_folder(tmp_path):
    """The plain kernel (--unsafe) too: no grading kernel listens on TCP (and ipykernel
    has no reason to warn about unencrypted TCP)."""
    class FakeKM:
        kernel_name = "python3"
        transport = "tcp"

    km = FakeKM()
    folder = sandbox.prepare_kernel_manager(km, runtime_dir=tmp_path)
    # (a runtime path too long for a Unix socket falls back to the temporary folder)
    assert km.transport == "ipc" and folder.name.startswith(sandbox.KERNEL_DIR_PREFIX)
    assert folder.parent in (tmp_path.resolve(), Path(tempfile.gettempdir()).resolve())
    assert Path(km.connection_file).parent == folder and Path(km.ip).parent == folder
    assert folder.stat().st_mode & 0o777 == 0o700
    sandbox.remove_kernel_dir(folder)
    assert not folder.exists()
    with pytest.raises(ValueError):
        sandbox.remove_kernel_dir(tmp_path)


def test_scratch_copy_has_no_notebooks(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "graded.ipynb").write_text("hidden tests")
    (src / ".ipynb_checkpoints").mkdir()
    (src / ".ipynb_checkpoints" / "graded-checkpoint.ipynb").write_text("hidden tests")
    (src / "sub" / "weights.npy").write_bytes(b"123")
    # Code the interpreter or IPython would run before the grader's cells, or that
    # would shadow numpy/helpers: never copied.
    startup = src / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-evil.py").write_text("print('evil')")
    (src / ".local" / "lib").mkdir(parents=True)
    (src / "numpy.py").write_text("evil")
    (src / "helpers").mkdir()
    (src / "helpers" / "__init__.py").write_text("evil")
    (src / "helpers" / "checks.py").write_text("evil")
    (src / "evil.pth").write_text("import os")
    scratch = sandbox.make_scratch(src, tmp_path)
    files = {str(p.relative_to(scratch)) for p in scratch.rglob("*") if p.is_file()}
    assert "sub/weights.npy" in files
    assert not any(f.endswith((".ipynb", ".py", ".pth")) for f in files), files
    assert not (scratch / ".ipython").exists() and not (scratch / ".local").exists()
    assert not (scratch / "helpers").exists()


# ---------------------------------------------------------------------------------------
# A real sandboxed kernel

@pytest.fixture
def host_listener():
    """A TCP server on the host's loopback; the sandbox must not reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    accepted = []

    def serve():
        try:
            while True:
                conn, _ = server.accept()
                accepted.append(1)
                conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    server.close()


PROBE = r'''
import json, os, socket
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False
def visible(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False
def writable(path):
    try:
        with open(path, "w") as fh:
            fh.write("tamper")
        return True
    except OSError:
        return False
paths = json.loads(os.environ.get("PROBE_PATHS", "null") or "null")
'''


@pytest.mark.sandbox
def test_sandboxed_kernel_isolation(jupyter_env, host_listener, tmp_path):
    port, accepted = host_listener
    course = make_course(tmp_path / "course")
    cwd = course / "autograded" / "alice" / "a1"
    host_tmp_marker = Path("/tmp") / f"coursepack-host-marker-{os.getpid()}"
    host_tmp_marker.write_text("host")
    home = Path.home()
    hidden = {
        "gradebook": course / "gradebook.db",
        "solutions": course / "solutions" / "a1" / "nb.ipynb",
        "other student submitted": course / "submitted" / "bob" / "a1" / "notes.txt",
        "other student autograded": course / "autograded" / "bob" / "a1" / "notes.txt",
        "own submitted notebook": course / "submitted" / "alice" / "a1" / "nb.ipynb",
        "graded notebook in cwd": cwd / "nb.ipynb",
        "repository solutions": REPO / "solutions",
        "repository grader": REPO / "grader",
        "repository root files": REPO / "pyproject.toml",
        "host /tmp": host_tmp_marker,
        "home": home / ".bashrc" if (home / ".bashrc").exists() else home,
    }
    writes = {
        "course root": course / "planted.txt",
        "gradebook": course / "gradebook.db",
        "other student": course / "autograded" / "bob" / "a1" / "notes.txt",
        "helpers": REPO / "helpers" / "planted.py",
        "checker": REPO / "checker" / "planted.py",
        "venv": Path(sys.prefix) / "planted.txt",
        "usr": Path("/usr/planted.txt"),
        "host /tmp": host_tmp_marker,
    }
    before = tree_hashes(course, skip=cwd)
    cwd_before = tree_hashes(cwd)
    probe = PROBE + textwrap.dedent(f'''
        hidden = {{k: visible(v) for k, v in {json.dumps({k: str(v) for k, v in hidden.items()})}.items()}}
        writes = {{k: writable(v) for k, v in {json.dumps({k: str(v) for k, v in writes.items()})}.items()}}
        print(json.dumps({{"hidden": hidden, "writes": writes,
                          "net_host": reach("127.0.0.1", {port}), "net_out": reach("1.1.1.1", 53),
                          "cwd": os.getcwd(), "listing": sorted(os.listdir(".")),
                          "scratch_write": writable("student-output.txt"),
                          "env": sorted(os.environ), "seed": os.environ.get("COURSE_CHECK_SEED"),
                          "home": os.environ.get("HOME"), "tmp": os.listdir("/tmp")}}))
    ''')
    payload_cell = '''
        import numpy as np
        from checker import check
        from checker.wire import PAYLOAD_MIME
        def sigmoid(z):
            return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
        check("sigmoid", sigmoid)
    '''
    try:
        nb = run_cells([probe, payload_cell], cwd,
                       env={"COURSE_GRADING": "1", "COURSE_CHECK_SEED": "12345",
                            SECRET_VARIABLE: "tutor-secret", "NBGRADER_EXECUTION": "autograde"})
    finally:
        host_tmp_marker_text = host_tmp_marker.read_text()
        host_tmp_marker.unlink()
    got = stdout_json(nb.cells[0])
    assert got["hidden"] == {k: False for k in hidden}, got["hidden"]
    assert got["writes"] == {k: False for k in writes}, got["writes"]
    assert not got["net_host"] and not accepted, "the sandbox reached a TCP server on the host"
    assert not got["net_out"]
    assert got["cwd"] == str(cwd)
    assert "notes.txt" in got["listing"] and "nb.ipynb" not in got["listing"]
    assert got["scratch_write"]
    assert SECRET_VARIABLE not in got["env"] and "NBGRADER_EXECUTION" not in got["env"]
    assert "JPY_PARENT_PID" not in got["env"]
    assert got["seed"] == "12345" and got["home"] == str(cwd)
    assert not any(n.startswith("coursepack-host-marker") for n in got["tmp"])
    # The check ran inside and sent its payload instead of a verdict.
    payloads = [o for o in nb.cells[1].outputs if o.get("output_type") == "display_data"
                and "application/vnd.coursepack.check+json" in o.get("data", {})]
    assert len(payloads) == 1, nb.cells[1].outputs
    assert payloads[0]["data"]["application/vnd.coursepack.check+json"]["seed"] == "12345"
    # Nothing outside the scratch copy changed on the host, not even the kernel's own
    # folder: the student's writes went to the scratch copy.
    assert host_tmp_marker_text == "host"
    assert tree_hashes(course, skip=cwd) == before
    assert tree_hashes(cwd) == cwd_before


@pytest.mark.sandbox
def test_memory_limit_gives_memory_error(jupyter_env):
    cwd = jupyter_env / "work"
    cwd.mkdir()
    nb = run_cells(['''
        import numpy as np
        try:
            big = np.ones(400_000_000)   # 3.2 GB, above the 2000 MB limit
            print("allocated")
        except MemoryError:
            print("MemoryError")
        '''], cwd, env={"COURSE_MEMORY_LIMIT_MB": "2000"})
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "MemoryError" in text and "allocated" not in text


@pytest.mark.sandbox
def test_cell_timeout_interrupts_and_later_cells_run(jupyter_env):
    cwd = jupyter_env / "work"
    cwd.mkdir()
    nb = run_cells(["while True:\n    pass", "print('still alive')"], cwd, timeout=3,
                   interrupt_on_timeout=True)
    assert "still alive" in "".join(o.get("text", "") for o in nb.cells[1].outputs)


@pytest.mark.sandbox
def test_cpu_limit_kills_the_kernel(jupyter_env):
    cwd = jupyter_env / "work"
    cwd.mkdir()
    with pytest.raises(DeadKernelError):
        run_cells(["import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"],
                  cwd, env={"COURSE_CPU_LIMIT_S": "2"}, timeout=30)


# ---------------------------------------------------------------------------------------
# The pipeline refuses to grade without the sandbox unless told --unsafe

def test_autograde_refuses_without_sandbox(monkeypatch, tmp_path, capsys):
    from grader import cli, pipeline

    monkeypatch.setenv("PATH", str(tmp_path))          # no bwrap anywhere
    with pytest.raises(pipeline.GradingError, match="apt-get install bubblewrap"):
        pipeline.sandbox_kernel(unsafe=False, log=lambda *_: None)
    assert cli.main(["autograde"]) == 2
    err = capsys.readouterr().err
    assert "sandbox" in err and "UNSAFE=1" in err
    warnings = []
    assert pipeline.sandbox_kernel(unsafe=True, log=warnings.append) == "python3"
    assert "UNSANDBOXED" in warnings[0]
