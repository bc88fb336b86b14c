"""The committed student release (notebooks/) is exactly what nbgrader generates from
solutions/, and the release hides what it must: solutions and hidden tests.

Notebooks are discovered (solutions/*/*.ipynb); nothing here lists them.
"""

import nbformat
import pytest

from grader import pipeline
from grading_support import REPO, make_course, released_course, source_notebooks

SOURCES = source_notebooks()
IDS = [f"{a}/{p.name}" for a, p in SOURCES]
# Cell metadata that Jupyter front ends change freely; not part of the release.
VOLATILE_CELL_META = {"collapsed", "scrolled", "execution", "trusted", "jupyter", "ExecuteTime"}


def _release_path(assignment, path):
    return REPO / "notebooks" / assignment / path.name


def _comparable(cell):
    meta = {k: v for k, v in cell.metadata.items() if k not in VOLATILE_CELL_META}
    return {"cell_type": cell.cell_type, "source": cell.source, "metadata": meta}


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """A fresh `nbgrader generate_assignment` of every assignment, in a throw-away course."""
    if not SOURCES:
        pytest.skip("no solutions/*/*.ipynb yet")
    return released_course()


def test_assignments_are_discovered():
    assert pipeline.discover_assignments(REPO) == sorted({a for a, _ in SOURCES})


@pytest.mark.parametrize("assignment,path", SOURCES, ids=IDS)
def test_solutions_are_stored_without_outputs(assignment, path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.relative_to(REPO)}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("assignment,path", SOURCES, ids=IDS)
def test_committed_release_equals_fresh_generation(assignment, path, fresh_release):
    committed_path = _release_path(assignment, path)
    assert committed_path.is_file(), f"{committed_path} is missing: run `python -m grader release` and commit it"
    committed = nbformat.read(committed_path, as_version=4)
    fresh = nbformat.read(fresh_release / "notebooks" / assignment / path.name, as_version=4)
    assert committed.metadata.get("kernelspec") == fresh.metadata.get("kernelspec")
    if len(committed.cells) != len(fresh.cells):
        pytest.fail(f"{committed_path}: {len(committed.cells)} cells, a fresh release has "
                    f"{len(fresh.cells)}; rerun `python -m grader release`")
    for i, (got, want) in enumerate(zip(committed.cells, fresh.cells)):
        got, want = _comparable(got), _comparable(want)
        if got != want:
            what = [k for k in got if got[k] != want[k]]
            pytest.fail(f"{committed_path} cell {i} ({', '.join(what)}) differs from a fresh release; "
                        "rerun `python -m grader release`")


@pytest.mark.parametrize("assignment,path", SOURCES, ids=IDS)
def test_release_hides_solutions_and_hidden_tests(assignment, path):
    committed_path = _release_path(assignment, path)
    if not committed_path.is_file():
        pytest.fail(f"{committed_path} is missing: run `python -m grader release` and commit it")
    assert pipeline.check_release(REPO, assignment) == []
    source = nbformat.read(path, as_version=4)
    release = nbformat.read(committed_path, as_version=4)
    source_by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    n_stubs = 0
    for cell in release.cells:
        nbg = cell.metadata.get("nbgrader", {})
        text = cell.source
        assert "BEGIN HIDDEN TESTS" not in text
        if cell.cell_type == "code":   # Markdown may say what check(..., hidden=True) does
            assert "hidden=True" not in text
        if nbg.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in text
            n_stubs += 1
            # The model answer's body is gone (only its signature/docstring may remain).
            full = source_by_id[nbg["grade_id"]].source
            if "### BEGIN SOLUTION" in full:
                body = full.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0].strip()
                if body:
                    assert body not in text
        if nbg.get("solution") and cell.cell_type == "markdown":
            assert source_by_id[nbg["grade_id"]].source.strip() not in text or not text.strip()
    assert n_stubs > 0, f"{path.relative_to(REPO)} has no solution cell"


def test_fresh_release_is_checked(fresh_release):
    for assignment in pipeline.discover_assignments(fresh_release):
        assert pipeline.check_release(fresh_release, assignment) == []


def test_check_release_catches_a_leak(tmp_path):
    """check_release must notice hidden tests and solutions left in a release."""
    from grading_support import FIXTURE_ASSIGNMENT, FIXTURE_NAME, fixture_source

    root = make_course(tmp_path, fixtures={FIXTURE_ASSIGNMENT: {FIXTURE_NAME: fixture_source()}})
    assert pipeline.check_release(root, FIXTURE_ASSIGNMENT) == []
    leaked = nbformat.read(root / "solutions" / FIXTURE_ASSIGNMENT / FIXTURE_NAME, as_version=4)
    nbformat.write(leaked, root / "notebooks" / FIXTURE_ASSIGNMENT / FIXTURE_NAME)
    problems = pipeline.check_release(root, FIXTURE_ASSIGNMENT)
    assert any("BEGIN HIDDEN TESTS" in p for p in problems)
    assert any("NotImplementedError" in p for p in problems)


def test_nbval_compares_expected_output_from_metadata():
    """The root conftest.py turns metadata coursepack.expected_output into nbval's
    reference output: a matching cell passes, a different one fails."""
    import shutil
    import subprocess
    import sys
    import uuid

    from nbformat.v4 import new_code_cell, new_notebook

    folder = REPO / "build" / f"nbval-hook-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        for name, expected in (("good", "shape (4, 4)\nok\n"), ("bad", "shape (4, 5)\nok\n")):
            nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}})
            nb.cells = [new_code_cell("# NBVAL_CHECK_OUTPUT\nprint('shape', (4, 4))\nprint('ok')",
                                      metadata={"coursepack": {"expected_output": expected}}),
                        new_code_cell("print('not compared')")]
            nbformat.write(nb, folder / f"{name}.ipynb")
        run = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
        assert "1 failed, 3 passed" in run.stdout, run.stdout[-2000:]
        assert "bad.ipynb::Cell 0" in run.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
