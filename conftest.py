"""Expected outputs for nbval from cell metadata (solutions are stored without outputs).

For notebook authors: to have nbval compare a cell's output, make its first line
``# NBVAL_CHECK_OUTPUT`` and put the exact expected stdout in the cell metadata:

    {"coursepack": {"expected_output": "J shape: (4, 4)\\nsymmetric: True\\n"}}

The hook below turns that string into the reference stream output of the cell before
nbval runs it, so `pytest --nbval-lax` compares the fresh stdout against it (a cell with
this metadata is compared even without the marker). The cell must print only to stdout
(no figure, no return value shown), since every output kind is compared. nbval's usual
sanitising applies; cells without the metadata behave as nbval defines.
"""
from nbformat.v4 import new_output


def _expected_output(cell):
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    value = meta.get("coursepack", {}).get("expected_output") if isinstance(meta.get("coursepack"), dict) else None
    return value if isinstance(value, str) else None


def pytest_collection_modifyitems(session, config, items):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:          # nbval not installed: nothing to do
        return
    for item in items:
        if not isinstance(item, IPyNbCell):
            continue
        expected = _expected_output(item.cell)
        if expected is None:
            continue
        item.cell.outputs = [new_output("stream", name="stdout", text=expected)]
        item.cell.execution_count = item.cell.get("execution_count") or 1
        item.options["check"] = True


# ---------------------------------------------------------------------------------------
# System requirements of the tests (tests/system_deps.py): the ``sandbox`` and ``browser``
# markers, and a closing summary that counts the skips by reason.

def _system_deps():
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import system_deps

    return system_deps


def pytest_configure(config):
    config.addinivalue_line("markers", "sandbox: runs submission code (possibly hostile); only "
                                       "inside the grading sandbox, skipped without it (failed in CI)")
    config.addinivalue_line("markers", "browser: drives headless Chromium; skipped without it "
                                       "(failed in CI)")


import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture: a ``sandbox`` test never starts where the sandbox cannot."""
    _system_deps().check_markers(item)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    by_reason = {}
    for report in skipped:
        longrepr = report.longrepr
        text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        text = text.removeprefix("Skipped: ")
        by_reason[text] = by_reason.get(text, 0) + 1
    terminalreporter.section("skipped, by reason")
    for text, count in sorted(by_reason.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{count:5d} skipped: {text}")
