"""End to end in a real browser: JupyterLab + the system Chromium, driven by Playwright.

One JupyterLab server (token, random port, its own Jupyter dirs, COURSE_MODE=quick,
MNIST_DIR passed through) serves temporary copies of every solutions/*/*.ipynb. Each
notebook is opened in Chromium and run with JupyterLab's "Run All Cells" command; the test
waits for an idle kernel and an execution count on every code cell, then asserts that no
cell shows an error. Notebooks with lecture demos (boxes with the ``coursepack-demo``
class) must render every demo as ipywidgets, and pressing ArrowRight on a demo's first
slider must redraw its picture. A tiny notebook checks the harness itself first: a slider
that redraws, and an error that is caught and named.

Artefacts in build/browser/: a screenshot per notebook, each demo before and after the
slider move, and timings.json (quick mode; merged, so a run of one notebook keeps the
others): per notebook the wall time to open and to run all cells and the kernel seconds
per section; for notebooks with demos the time and 1-minute load average of the
measurement, and per demo and slider move ``redraw_seconds``
(the page's own clock, from the key press to the new picture decoded) and
``wall_seconds`` (until the test's 0.2 s polling saw the new picture with an idle kernel).
``make bench`` reports the redraw times (bench/demos.py).

Chromium is /usr/bin/chromium (installed by .ci/run from Debian); nothing is downloaded.
Without it the tests skip, except in CI (CI=true) where they fail.
"""

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest

import system_deps

from browser_support import (DEMO_CLASS, REPO, LabServer, copy_notebook,
                             launch_browser, nudge_slider, open_notebook, run_all,
                             shutdown_kernel, state)

SOLUTIONS = sorted((REPO / "solutions").glob("*/*.ipynb"))
ARTEFACTS = REPO / "build" / "browser"
NOTEBOOK_TIMEOUT = 240          # seconds for "Run All" on one notebook in quick mode
REDRAW_TIMEOUT = 120            # seconds for one demo to redraw after a slider move
TIMINGS = {}

# A hung browser or kernel fails the test (and the fixtures still stop the server).
pytestmark = pytest.mark.timeout(NOTEBOOK_TIMEOUT + 4 * REDRAW_TIMEOUT + 120)


@pytest.fixture(scope="module")
def playwright_api():
    sync_playwright = system_deps.require_browser()     # skips (fails in CI) without it
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory):
    """A temporary notebook root: tiny harness notebooks plus copies of the solutions."""
    root = tmp_path_factory.mktemp("lab-root")
    tiny = root / "harness"
    tiny.mkdir()
    nbformat.write(_slider_notebook(), tiny / "slider.ipynb")
    nbformat.write(_error_notebook(), tiny / "error.ipynb")
    for source in SOLUTIONS:
        copy_notebook(source, root / source.parent.name)
    return root


@pytest.fixture(scope="module")
def lab(lab_root, tmp_path_factory, request, playwright_api):
    """The JupyterLab server; stopped (process group killed) whatever happens."""
    scratch = tmp_path_factory.mktemp("lab-scratch")
    env = {"COURSE_MODE": "quick",
           # headline numbers of this run go to scratch, not to the repository's build/
           "COURSE_RESULTS": scratch / "results-quick.json"}
    if os.environ.get("MNIST_DIR"):
        env["MNIST_DIR"] = os.environ["MNIST_DIR"]
    server = LabServer(lab_root, scratch, env=env)
    request.addfinalizer(server.stop)
    server.start()
    return server


@pytest.fixture(scope="module")
def browser(playwright_api, tmp_path_factory, request):
    """Chromium with a new empty profile."""
    context = launch_browser(playwright_api, tmp_path_factory.mktemp("chromium-profile"))
    request.addfinalizer(context.close)
    return context


@pytest.fixture
def page(browser, lab):
    page = browser.new_page()
    yield page
    try:
        shutdown_kernel(page)
    except Exception:               # the page may be gone already; the server stop kills it
        pass
    page.close()


@pytest.fixture(scope="module", autouse=True)
def write_timings():
    """Merge this run's timings into build/browser/timings.json (a notebook this run did
    not open keeps its earlier entry)."""
    yield
    if TIMINGS:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / "timings.json"
        try:
            merged = json.loads(path.read_text())
        except (OSError, ValueError):
            merged = {}
        merged.update(TIMINGS)
        path.write_text(json.dumps(merged, indent=1) + "\n")


def _slider_notebook():
    """A slider that redraws a 28x28 matplotlib image through interactive_output."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import ipywidgets as widgets\n"
            "import matplotlib.pyplot as plt\n"
            "import numpy as np\n"
            "from IPython.display import display\n"
            "import warnings\n"
            "warnings.warn('a warning is not an error')"),
        nbformat.v4.new_code_cell(
            "k = widgets.IntSlider(value=3, min=1, max=9, description='period',\n"
            "                      continuous_update=False)\n"
            "def draw(k):\n"
            "    plt.imshow(np.arange(28 * 28).reshape(28, 28) % k, cmap='gray')\n"
            "    plt.show()\n"
            "box = widgets.VBox([k, widgets.interactive_output(draw, {'k': k})])\n"
            f"box.add_class('{DEMO_CLASS}')\n"
            "display(box)"),
        # A broken demo: the slider is not connected to the picture.
        nbformat.v4.new_code_cell(
            "static_out = widgets.Output()\n"
            "with static_out:\n"
            "    plt.imshow(np.eye(28), cmap='gray')\n"
            "    plt.show()\n"
            "static = widgets.VBox([widgets.IntSlider(value=3, min=1, max=9), static_out])\n"
            "static.add_class('harness-static')\n"
            "display(static)"),
    ]
    return nb


def _error_notebook():
    """The second cell raises; "Run All" stops there and the third never runs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("y = x / 0"),
                nbformat.v4.new_code_cell("print('never reached')")]
    return nb


def _slug(relpath):
    return re.sub(r"[^A-Za-z0-9]+", "-", Path(relpath).with_suffix("").as_posix()).strip("-")


def _check_demos(page, relpath, expected):
    """Every demo box rendered as widgets; a slider move redraws each one's picture."""
    demos = page.locator(f".{DEMO_CLASS}")
    found = demos.count()
    assert found == expected, (
        f"{relpath}: {expected} cell(s) add the {DEMO_CLASS!r} class but {found} demo "
        "box(es) rendered in the page (is the ipywidgets extension loaded?)")
    redraws = []
    for i in range(found):
        demo = demos.nth(i)
        assert demo.locator(".widget-slider").count() >= 1, (
            f"{relpath}: demo {i} rendered without a slider (.widget-slider)")
        assert demo.evaluate("e => e.classList.contains('jupyter-widgets')"
                             " || !!e.closest('.jupyter-widgets')"), (
            f"{relpath}: demo {i} is not a rendered ipywidget (.jupyter-widgets)")
        demo.scroll_into_view_if_needed()
        demo.screenshot(path=str(ARTEFACTS / f"{_slug(relpath)}-demo{i}-before.png"))
        # Twice: a demo whose output starts empty passes the first move by drawing at
        # all; the second move must change a picture that is already there.
        times, walls = [], []
        for move in (1, 2):
            before, after, seconds, label, wall = nudge_slider(page, demo,
                                                               timeout=REDRAW_TIMEOUT)
            errors = [e for c in state(page)["cells"] for e in c["errors"]]
            assert not errors, f"{relpath}: demo {i} ({label!r}) raised on redraw: {errors}"
            assert after, f"{relpath}: demo {i} shows no image after moving {label!r}"
            assert after != before, (
                f"{relpath}: demo {i}: ArrowRight number {move} on slider {label!r} did not "
                f"change the picture within {REDRAW_TIMEOUT} s")
            assert seconds is not None, (
                f"{relpath}: demo {i}: the page did not time the redraw of {label!r}")
            times.append(round(seconds, 2))
            walls.append(round(wall, 2))
        demo.screenshot(path=str(ARTEFACTS / f"{_slug(relpath)}-demo{i}-after.png"))
        redraws.append({"slider": label, "redraw_seconds": times, "wall_seconds": walls})
    return redraws


def _section_seconds(source, run):
    """Kernel seconds per notebook section (the last heading above each code cell)."""
    cells = json.loads(Path(source).read_text(encoding="utf-8"))["cells"]
    seconds = {c["index"]: c["seconds"] for c in run.cells if c["seconds"] is not None}
    heading, sections = "(before the first heading)", {}
    for index, cell in enumerate(cells):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            found = re.findall(r"^#{1,3}\s+(.+?)\s*$", text, flags=re.M)
            heading = found[-1] if found else heading
        elif index in seconds:
            sections[heading] = sections.get(heading, 0.0) + seconds[index]
    return {name: round(value, 1) for name, value in sections.items()}


def _run_and_check(page, lab, relpath):
    """Open, Run All, assert no error and every cell run; returns the `NotebookRun`."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    open_notebook(page, lab, relpath)
    opened = time.monotonic() - start
    run = run_all(page, relpath, timeout=NOTEBOOK_TIMEOUT)
    page.screenshot(path=str(ARTEFACTS / f"{_slug(relpath)}.png"))
    errors = run.errors()
    assert not errors, "error output in the browser run:\n\n" + "\n\n".join(errors)
    pending = [c["index"] for c in run.unexecuted()]
    assert not pending, f"{relpath}: code cells without an execution count: {pending}"
    TIMINGS[relpath] = {"open_seconds": round(opened, 2),
                        "run_all_seconds": round(run.seconds, 2)}
    return run


def test_harness_slider_redraws_image(page, lab):
    relpath = "harness/slider.ipynb"
    run = _run_and_check(page, lab, relpath)
    assert [c["count"] for c in run.cells] == [1, 2, 3]
    assert all(c["seconds"] is not None for c in run.cells), "no recorded cell timing"
    TIMINGS[relpath]["demos"] = _check_demos(page, relpath, expected=1)
    # The check must catch a demo whose slider does not redraw.
    before, after, seconds, _, _ = nudge_slider(page, page.locator(".harness-static"),
                                                timeout=3)
    assert before and after == before and seconds is None


def test_harness_reports_error_cell(page, lab):
    relpath = "harness/error.ipynb"
    open_notebook(page, lab, relpath)
    run = run_all(page, relpath, timeout=60)
    errors = run.errors()
    assert len(errors) == 1, errors
    assert "harness/error.ipynb, cell 1" in errors[0]
    assert "ZeroDivisionError" in errors[0] and "y = x / 0" in errors[0]
    assert [c["index"] for c in run.unexecuted()] == [2]


def test_solutions_found():
    names = [p.parent.name for p in SOLUTIONS]
    assert len(names) >= 5, f"expected the five solution notebooks, found {names}"


@pytest.mark.parametrize("source", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_solution_notebook_in_browser(page, lab, source):
    relpath = f"{source.parent.name}/{source.name}"
    run = _run_and_check(page, lab, relpath)
    TIMINGS[relpath]["section_seconds"] = _section_seconds(source, run)
    code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in json.loads(source.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code"]
    expected = sum(f'add_class("{DEMO_CLASS}")' in s or f"add_class('{DEMO_CLASS}')" in s
                   for s in code)
    if expected:
        TIMINGS[relpath]["demos"] = _check_demos(page, relpath, expected)
        TIMINGS[relpath]["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
        TIMINGS[relpath]["loadavg"] = round(os.getloadavg()[0], 2)
