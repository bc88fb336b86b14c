"""An untouched student release runs from top to bottom: the experiments do not fail.

A student who has not written an exercise yet still sees every figure and number of the
experiments on the pack's code (issue 15): each release notebook (notebooks/*/*.ipynb,
discovered) is executed in quick mode on a copy of its folder with errors allowed. Only
the student's cells (the stubs), the autograded test cells (whose ``check`` fails on the
stubs) and the cells that run the student's own functions (or read what such a cell
computed) may fail; every other cell runs, and the notebook draws its figures.
"""
import ast
import shutil

import nbformat
import pytest

from grader import kernels
from grader.preprocessors import is_autograded_test
from grading_support import REPO, grading_env

RELEASES = sorted((REPO / "notebooks").glob("*/*.ipynb"))


def _names(source):
    """(names read anywhere, names bound at module level) of a cell's code."""
    tree = ast.parse("\n".join(line for line in source.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    bound, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        todo.extend(ast.iter_child_nodes(node))
    return read, bound


def student_cells(nb):
    """Indices of the code cells that run the student's functions (defined in solution
    cells), or read a name such a cell bound."""
    tainted, cells = set(), set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        read, bound = _names(cell.source)
        if cell.metadata.get("nbgrader", {}).get("solution"):
            tainted |= bound
        elif read & tainted:
            cells.add(index)
            tainted |= bound
    return cells


@pytest.mark.parametrize("path", RELEASES, ids=[p.parent.name for p in RELEASES])
def test_an_untouched_release_runs_its_experiments(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    grading_env()
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.delenv("COURSE_GRADING", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)     # the figures are inline outputs
    folder = tmp_path / path.parent.name
    shutil.copytree(path.parent, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.read(folder / path.name, as_version=4)
    km, ipc = kernels.ipc_kernel_manager("python3")
    client = NotebookClient(nb, km=km, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    try:
        client.execute(cleanup_kc=True)
    finally:
        kernels.remove(ipc)
    failed, figures, own = [], 0, student_cells(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and not is_autograded_test(cell) \
                    and not cell.metadata.get("nbgrader", {}).get("solution") \
                    and index not in own:
                failed.append(f"cell {index} ({cell.metadata.get('nbgrader', {}).get('grade_id')}"
                              f"): {output['ename']}: {output['evalue'][:200]}")
            figures += "image/png" in output.get("data", {})
    assert not failed, (f"{path.relative_to(REPO)}: experiments on the pack's code fail while "
                        "the exercises are unfinished:\n" + "\n".join(failed))
    assert figures, f"{path.relative_to(REPO)}: no figure was drawn"
