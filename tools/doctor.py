"""What this machine has for the course pack: ``python -m tools.doctor [--install]``.

``make doctor`` prints one line per requirement (present or missing, what needs it, the
command that installs it). ``make test`` runs ``--install`` first: on Debian/Ubuntu,
running as root or where ``sudo -n`` works, it installs the missing system packages
with apt-get and says so; elsewhere it prints one line with the exact command and the
tests that need the package skip with that same line as their reason (pytest's summary
counts them). ``make demo`` needs none of the system packages.

The same checks serve the tests (``tests/system_deps.py``), so a skip reason and the
doctor's line are one text.
"""
import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
APT_TIMEOUT_S = 900


@dataclass
class Requirement:
    name: str              # what it is, as a person calls it
    apt: str               # the Debian/Ubuntu package that provides it ("" if none)
    needed_for: str        # which targets or tests need it
    problem: object        # () -> None if present, else a short text saying what is wrong


def _bubblewrap_problem():
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    from grader import sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as exc:
        return f"bubblewrap is installed but cannot start a sandbox: {exc}"
    return None


def _chromium_problem():
    return None if CHROMIUM.exists() else f"{CHROMIUM} is missing"


def _fonts_problem():
    return None if DEJAVU.exists() else f"the DejaVu fonts ({DEJAVU}) are missing"


def _python3_venv_problem():
    if not Path("/usr/bin/python3").exists():
        return "/usr/bin/python3 is missing"
    ok = subprocess.run(["/usr/bin/python3", "-c", "import ensurepip, venv"], capture_output=True).returncode == 0
    return None if ok else "/usr/bin/python3 cannot create a venv (python3-venv missing)"


def _npm_problem():
    return None if shutil.which("npm") else "npm is missing (configurable-http-proxy)"


def _postgresql_problem():
    from grader import gradebook

    try:
        gradebook.postgres_bindir()
    except gradebook.GradebookError:
        return "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    return None


def _slurm_problem():
    missing = [t for t in ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel")
               if shutil.which(t) is None]
    return None if not missing else f"Slurm's {', '.join(missing)} missing"


def _munge_problem():
    missing = [t for t in ("munged", "mungekey") if shutil.which(t) is None]
    return None if not missing else f"MUNGE's {', '.join(missing)} missing"


def _mnist_problem():
    from helpers import data

    root = os.environ.get("MNIST_DIR", "").strip() or str(ROOT / "data" / "mnist")
    missing = [f for f in data.FILES.values()
               if not any((Path(root) / (f + ext)).is_file() for ext in ("", ".gz"))]
    if missing:
        return f"not in {root} ({len(missing)} of {len(data.FILES)} files missing); " \
               "the notebooks download and verify them on first use"
    return None


REQUIREMENTS = [
    Requirement("bubblewrap", "bubblewrap",
                "the grading sandbox: make autograde, the sandbox and grading tests", _bubblewrap_problem),
    Requirement("chromium", "chromium", "the browser tests (JupyterLab, exported pages)", _chromium_problem),
    Requirement("fonts", "fonts-dejavu-core", "the browser tests' screenshots", _fonts_problem),
    Requirement("python3-venv", "python3-venv", "make hub, the hub test (a venv every user can run)",
                _python3_venv_problem),
    Requirement("npm", "npm", "make hub, the hub test (configurable-http-proxy)", _npm_problem),
    Requirement("postgresql", "postgresql",
                "make gradebook-postgres, the PostgreSQL gradebook and cluster tests", _postgresql_problem),
    Requirement("slurm", "slurm-wlm", "the Slurm backend test (slurmctld, slurmd, sbatch)", _slurm_problem),
    Requirement("munge", "munge", "the Slurm backend test (Slurm's authentication)", _munge_problem),
]
OPTIONAL = [Requirement("MNIST", "", "make demo, the notebooks and the MNIST tests", _mnist_problem)]


def install_command(packages):
    """The exact command a person runs to install ``packages`` (Debian names)."""
    names = " ".join(packages)
    if shutil.which("apt-get"):
        prefix = "" if _is_root() else "sudo "
        return f"{prefix}apt-get install -y {names}"
    return f"install {names} with your system's package manager (Debian/Ubuntu: apt-get install -y {names})"


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _can_install():
    """'root', 'sudo' or None: how this process may run apt-get without a password."""
    if not shutil.which("apt-get"):
        return None
    if _is_root():
        return "root"
    if shutil.which("sudo"):
        try:
            ok = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return "sudo"
    return None


def missing(requirements=REQUIREMENTS):
    """[(requirement, problem)] for each requirement that is not met."""
    return [(r, p) for r in requirements for p in [r.problem()] if p]


def reason(name):
    """One line for a test that skips because requirement ``name`` is not met (None if it
    is): what is wrong and the exact command that fixes it."""
    req = next(r for r in REQUIREMENTS if r.name == name)
    problem = req.problem()
    if problem is None:
        return None
    if not req.apt or "cannot start" in problem:
        return problem            # the sandbox's own message names the fix
    return f"{problem}: run `{install_command([req.apt])}` (or `make doctor`)"


def install_missing(log=print):
    """Install the missing system packages if this process may (root or passwordless
    sudo, apt-get present); otherwise print the exact command. Never raises, returns
    the list of packages still missing."""
    todo = [(r, p) for r, p in missing() if r.apt and "cannot start" not in p]
    if not todo:
        return []
    packages = sorted({r.apt for r, _ in todo})
    how = _can_install()
    if how is None:
        log(f"make test: {', '.join(packages)} missing; the tests that need them will skip. "
            f"To run them: {install_command(packages)}")
        return packages
    log(f"make test: installing the system packages the tests need: {' '.join(packages)} "
        f"(apt-get as {how})")
    sudo = [] if how == "root" else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=120"]
    try:
        subprocess.run(sudo + ["apt-get", *lock, "update", "-qq"], env=env, check=True,
                       timeout=APT_TIMEOUT_S, stdout=subprocess.DEVNULL)
        subprocess.run(sudo + ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends",
                               *packages], env=env, check=True, timeout=APT_TIMEOUT_S,
                       stdout=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"make test: apt-get failed ({exc}); the tests that need {', '.join(packages)} will "
            f"skip. To install them by hand: {install_command(packages)}")
    still = sorted({r.apt for r, _ in missing() if r.apt})
    if not still:
        log("make test: system packages installed.")
    return still


def report(log=print):
    """Print what is present and what is missing; returns the number missing (required)."""
    log(f"python      {sys.version.split()[0]} at {sys.executable}"
        + ("" if sys.version_info >= (3, 11) else "  (MISSING: Python 3.11 or newer is needed)"))
    for req in REQUIREMENTS + OPTIONAL:
        problem = req.problem()
        state = "ok" if problem is None else ("missing" if req in REQUIREMENTS else "note")
        line = f"{req.name:<11} {state:<8} for {req.needed_for}"
        if problem:
            line += f"\n{'':<20}{problem}"
            if req.apt and "cannot start" not in problem:
                line += f"; install: {install_command([req.apt])}"
        log(line)
    count = sum(1 for r in REQUIREMENTS if r.problem())
    log("all system packages present" if count == 0 else
        f"{count} missing: `make demo` works without them; `make test` skips the tests that need them")
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true",
                        help="install missing system packages where allowed (make test does this)")
    args = parser.parse_args(argv)
    if args.install:
        install_missing()
        return 0
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
