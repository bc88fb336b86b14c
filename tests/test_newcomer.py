"""A newcomer's machine (issue 13): no hostile code ever runs outside the sandbox.

The proof runs the suite's sandbox-dependent part (every test marked ``sandbox``: the
attack students, the looping and crashing fixture students, the sandbox probes) in a
second pytest, on a throw-away copy of this checkout, with bubblewrap hidden from PATH,
HOME and TMPDIR pointing into fresh folders and CI unset, as on a fresh machine. Every
one of those tests must skip with the one-line reason (the doctor's), none may pass or
fail, no course may be graded, and the copy, the home folder and the temp folder hash the
same before and after (the attack students write sentinel files there when they run).

In CI bubblewrap is installed, so this is the newcomer path proved on every run.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import grading_support as gs
import system_deps

REPO = Path(__file__).resolve().parent.parent
SANDBOX_TESTS = ["tests/test_grading_integrity.py", "tests/test_grading_roundtrip.py",
                 "tests/test_sandbox.py", "tests/test_grading_cells.py", "tests/test_cluster.py"]
SENTINEL = "coursepack-pwned"          # what the "other-files" attack writes
IGNORED = {".git", ".venv", "build", "node_modules", "__pycache__", ".pytest_cache",
           "autograded", "submitted", "feedback"}


def _tracked_files(repo):
    """Files of the checkout worth copying: git's tracked and untracked-not-ignored files,
    or every file outside IGNORED folders where git is not available."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo,
                             capture_output=True, check=True, timeout=60).stdout
        return [Path(p) for p in out.decode().split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        return [p.relative_to(repo) for p in repo.rglob("*")
                if p.is_file() and not IGNORED.intersection(p.relative_to(repo).parts)]


def copy_checkout(dest):
    for rel in _tracked_files(REPO):
        src = REPO / rel
        if src.is_file() and not IGNORED.intersection(rel.parts):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def path_without(tool, farm):
    """A PATH whose folders hold every executable of the current PATH except ``tool``:
    symbolic links in ``farm`` (the interpreter's own folder first)."""
    farm.mkdir()
    folders = [os.path.dirname(sys.executable)] + os.environ.get("PATH", "").split(os.pathsep)
    for folder in folders:
        if not folder or not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            link = farm / entry.name
            if entry.name == tool or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(farm)


def tree_hashes(root):
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_symlink():
            out[str(path.relative_to(root))] = "link:" + os.readlink(path)
        elif path.is_file():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[str(path.relative_to(root)) + "/"] = "dir"
    return out


def test_without_the_sandbox_no_attack_runs(tmp_path):
    checkout = copy_checkout(tmp_path / "checkout")
    home, tmp, basetemp = tmp_path / "home", tmp_path / "tmp", tmp_path / "pytest"
    for folder in (home, tmp):
        folder.mkdir()
        (folder / "keep.txt").write_text(f"{folder.name} before the run\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTHONPATH")}
    env.update(PATH=path_without("bwrap", tmp_path / "bin"), HOME=str(home), TMPDIR=str(tmp),
               PYTHONDONTWRITEBYTECODE="1", MPLCONFIGDIR=str(tmp_path / "mpl"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    before = {"checkout": tree_hashes(checkout), "home": tree_hashes(home), "tmp": tree_hashes(tmp)}

    cmd = [sys.executable, "-m", "pytest", "-m", "sandbox", "-p", "no:cacheprovider", "-q",
           "--basetemp", str(basetemp), *SANDBOX_TESTS]
    collected = subprocess.run(cmd + ["--collect-only"], cwd=checkout, env=env, capture_output=True,
                               text=True, timeout=300)
    match = re.search(r"(\d+)(?:/\d+)? tests? (?:collected|selected)", collected.stdout)
    assert match, collected.stdout[-2000:] + collected.stderr[-2000:]
    expected = int(match.group(1))
    assert expected >= 40, f"only {expected} sandbox tests collected"

    run = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    final = output.strip().splitlines()[-1]
    assert re.search(rf"\b{expected} skipped\b", final), final
    assert "passed" not in final and "failed" not in final and "error" not in final, final
    assert "bubblewrap (bwrap) is not installed" in output, output[-2000:]

    after = {"checkout": tree_hashes(checkout), "home": tree_hashes(home), "tmp": tree_hashes(tmp)}
    for key in before:
        assert after[key] == before[key], f"the {key} folder changed"
    graded = [p for p in basetemp.rglob("autograded")] if basetemp.exists() else []
    assert graded == [], f"a course was graded: {graded}"
    for sentinel in (Path.home() / SENTINEL, Path("/tmp") / SENTINEL):
        assert not sentinel.exists(), sentinel


def test_untrusted_grading_refuses_without_the_sandbox(monkeypatch, tmp_path):
    """grading_support.grade() never falls back to a plain kernel for code it did not
    write: without the sandbox it skips (and nothing is graded)."""
    calls = []
    monkeypatch.setattr(gs, "SANDBOX", False)
    monkeypatch.setattr(gs.pipeline, "autograde", lambda *a, **k: calls.append(k))
    monkeypatch.delenv("CI", raising=False)
    system_deps.reason.cache_clear()
    monkeypatch.setattr(system_deps, "reason", lambda name: "no sandbox here (test)")
    with pytest.raises(pytest.skip.Exception, match="no sandbox here"):
        gs.grade(tmp_path)
    assert calls == []
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        gs.grade(tmp_path)
    assert calls == []
    gs.grade(tmp_path, trusted=True)
    assert calls and calls[0]["unsafe"] is True


def test_unsandboxed_isolation_points_away_from_home_and_checkout():
    saved = {k: os.environ.get(k) for k in gs.ISOLATED_VARIABLES}
    with gs.unsandboxed_isolation() as base:
        assert os.environ["HOME"] == str(base / "home") and os.environ["TMPDIR"] == str(base / "tmp")
        assert (Path(os.environ["PYTHONPATH"]) / "helpers" / "__init__.py").read_bytes() == \
            (REPO / "helpers" / "__init__.py").read_bytes()
        probe = subprocess.run([sys.executable, "-c", "import helpers, os, tempfile; "
                                "print(helpers.__file__); print(tempfile.gettempdir())"],
                               capture_output=True, text=True, check=True, cwd=base)
        module, tempdir = probe.stdout.split()
        assert Path(module).is_relative_to(base) and Path(tempdir) == base / "tmp"
    assert not base.exists()
    assert {k: os.environ.get(k) for k in gs.ISOLATED_VARIABLES} == saved


def test_sandbox_tests_are_marked():
    """Every grading test that takes a course with hostile students carries the marker
    (a new attack test without it would run unsandboxed on a newcomer's machine)."""
    import ast

    for rel in SANDBOX_TESTS[:2]:
        tree = ast.parse((REPO / rel).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                args = {a.arg for a in node.args.args}
                if args & {"course", "fixture_course"}:
                    marks = {ast.unparse(d) for d in node.decorator_list}
                    assert "pytest.mark.sandbox" in marks, f"{rel}::{node.name} lacks @pytest.mark.sandbox"


# ---------------------------------------------------------------------------------------
# make test's system packages (tools.doctor)

def _fake_missing(monkeypatch, doctor, rounds):
    """doctor.missing() answers from ``rounds`` (a list of lists of requirement names)."""
    reqs = {r.name: r for r in doctor.REQUIREMENTS}
    answers = iter(rounds)
    monkeypatch.setattr(doctor, "missing", lambda *a: [(reqs[n], f"{n} is missing") for n in next(answers)])


def test_doctor_names_the_command_when_it_may_not_install(monkeypatch):
    from tools import doctor

    _fake_missing(monkeypatch, doctor, [["bubblewrap", "chromium"]])
    monkeypatch.setattr(doctor, "_can_install", lambda: None)
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: pytest.fail("apt-get ran"))
    lines = []
    assert doctor.install_missing(log=lines.append) == ["bubblewrap", "chromium"]
    assert len(lines) == 1 and "apt-get install -y bubblewrap chromium" in lines[0], lines
    assert "skip" in lines[0]


def test_doctor_installs_where_it_may(monkeypatch):
    from tools import doctor

    _fake_missing(monkeypatch, doctor, [["chromium", "fonts"], []])
    monkeypatch.setattr(doctor, "_can_install", lambda: "sudo")
    calls = []
    monkeypatch.setattr(doctor.subprocess, "run", lambda cmd, **k: calls.append(cmd))
    lines = []
    assert doctor.install_missing(log=lines.append) == []
    assert calls[0][:2] == ["sudo", "-n"] and "update" in calls[0]
    assert calls[1][-2:] == ["chromium", "fonts-dejavu-core"] and "install" in calls[1]
    assert "installing" in lines[0] and "chromium fonts-dejavu-core" in lines[0]
    assert lines[-1] == "make test: system packages installed."


def test_doctor_reports_every_requirement():
    from tools import doctor

    run = subprocess.run([sys.executable, "-m", "tools.doctor"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    for req in doctor.REQUIREMENTS + doctor.OPTIONAL:
        assert re.search(rf"^{req.name}\s+(ok|missing|note)\b", run.stdout, re.M), run.stdout


def test_notebook_runs_print_no_kernel_transport_warning(tmp_path):
    """make demo's kernels talk over ipc in a private folder: no 'Kernel is running over
    TCP without encryption' (nor a kernel left behind to warn that its parent exited)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder = tmp_path / "solutions" / "99_tiny"
    folder.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[new_code_cell("print(6 * 7)")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}}),
                   folder / "tiny.ipynb")
    code = ("import sys; from pathlib import Path; from tools.run_notebooks import main; "
            f"sys.exit(main(['--only', '99_tiny'], root=Path({str(tmp_path)!r})))")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    executed = nbformat.read(tmp_path / "build" / "executed" / "99_tiny.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    for text in ("without encryption", "Parent appears to have exited", "WARNING"):
        assert text not in run.stderr, run.stderr
    assert not list((tmp_path / "runtime").glob("coursepack-kernel-*")), "kernel folder left behind"
