"""What the tests need from the machine, and what they do without it.

Two pytest markers (registered in the root conftest.py):

- ``sandbox``: the test runs submission code that may be hostile (attacks, loops, killed
  kernels, patched checkers, sandbox probes). It runs only inside the grading sandbox.
  Where the sandbox cannot start, the test is skipped with one line naming the fix
  (``tools.doctor.reason``), and fails under ``CI=true`` (``.ci/run`` installs it).
- ``browser``: the test drives headless Chromium; skipped (failed in CI) without it.

``require(name)`` applies the same rule inside a fixture; ``run_make`` runs a make target
of the checkout as a user would. The reasons are computed once
per process (starting a sandbox takes about a second).
"""
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import doctor

MARKERS = {"sandbox": "bubblewrap", "browser": "chromium"}


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=None)
def reason(requirement):
    """Why ``requirement`` ("bubblewrap", "chromium", "fonts") is not met here, or None."""
    return doctor.reason(requirement)


def sandbox_usable():
    return reason("bubblewrap") is None


def require(requirement):
    """Skip the calling test (fail it in CI) unless ``requirement`` is met."""
    why = reason(requirement)
    if why is None:
        return
    if in_ci():
        pytest.fail(f"{why} (CI=true: .ci/run installs it, so this is an error)", pytrace=False)
    pytest.skip(why)


def require_browser():
    """Skip (fail in CI) unless Playwright and Debian's Chromium are both there; returns
    ``playwright.sync_api.sync_playwright``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        why = f"the playwright package is not installed ({exc}); see requirements.txt"
        if in_ci():
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    require("chromium")
    return sync_playwright


def check_markers(item):
    """pytest_runtest_setup: enforce the ``sandbox`` and ``browser`` markers."""
    for marker, requirement in MARKERS.items():
        if item.get_closest_marker(marker) is not None:
            require(requirement)


REPO = Path(__file__).resolve().parent.parent


def run_make(*args, timeout=600, env=None):
    """``make <args>`` in the checkout, as a user types it; returns the CompletedProcess
    (text). ``-o .venv/.installed``: a test never rebuilds the venv it runs in. Skips
    (fails in CI) without make."""
    if shutil.which("make") is None:
        why = "make is missing: apt-get install -y make"
        if in_ci():
            pytest.fail(f"{why} (CI=true)", pytrace=False)
        pytest.skip(why)
    cmd = ["make", "-C", str(REPO), "--no-print-directory", "-o", ".venv/.installed", *args]
    if not (REPO / ".venv" / "bin" / "python").exists():
        cmd.append(f"PY={sys.executable}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
