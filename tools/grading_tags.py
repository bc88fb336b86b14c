"""The instructor's marks of the experiment cells in solutions/ (grading mode 'graded').

``python -m tools.grading_tags [--check]``

A grading run leaves out every cell after the last graded cell by itself
(grader/grading_cells.py). Before it, the experiments that sit between the exercises (data
loading, sanity checks, figures) are left out only where the instructor marked them in
the source notebook with ``{"coursepack": {"grading": "skip"}}``. This script is the one
place those decisions are written down, :data:`EXPERIMENTS`, and writes them into
solutions/*/*.ipynb and the committed release notebooks/*/*.ipynb (only the marked cells'
metadata changes: the notebooks are stored in nbformat's own layout, so a rewrite leaves
every other byte alone). Run it again after
editing or rebasing the notebooks; ``--check`` changes nothing and exits 1 when a notebook
and this list disagree (a test runs it).

Each entry names a cell by its nbgrader grade id, or, for a cell without nbgrader
metadata (notebook 02), by the first line of its source. The script refuses a mark it
cannot place (no cell, several cells, a solution or test cell) or one that grading would
not honour on the instructor's own solution (a later cell that runs reads a name the
marked cell binds: then the mark would only cost a static analysis), naming the file
and the cell.
"""
import argparse
import sys
from pathlib import Path

import nbformat

from grader import grading_cells

ROOT = Path(__file__).resolve().parent.parent

# assignment -> cells marked as experiments (grade id, or the first source line)
EXPERIMENTS = {
    "01_derivations": [
        "numerical_gradient-demo", "step-size-sweep", "sigmoid-demo", "sigmoid-extremes",
        "logistic-demo", "softmax-jacobian-demo", "softmax-jacobian-properties",
        "softmax-loss-demo", "penalties-demo",
    ],
    "02_logistic": [
        "mnist = data.load_mnist()",              # the two digit pairs, loaded and cut
        "fig, axes = plt.subplots(2, 8, figsize=(10, 3))",   # the first images
        "# The pack's logistic regression (helpers.linear), called by name from here on:",
        "# NBVAL_CHECK_OUTPUT",                   # its gradient check (first code line below)
    ],
    "03_regularization": ["load-data"],
    "05_mlp": ["gradcheck-stack"],
}
# A first line shared by several cells is made unique by the line after it.
SECOND_LINE = {("02_logistic", "# NBVAL_CHECK_OUTPUT"): "d = DATA[(2, 3)]"}


class TagError(ValueError):
    """A mark that cannot be placed or would not be honoured (names file and cell)."""


def _locate(nb, assignment, key, path):
    matches = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = grading_cells.grade_id(cell)
        lines = cell.source.splitlines()
        if gid == key:
            matches.append(index)
        elif gid is None and lines and lines[0].strip() == key.strip():
            second = SECOND_LINE.get((assignment, key))
            if second is None or (len(lines) > 1 and lines[1].strip() == second):
                matches.append(index)
    if len(matches) != 1:
        raise TagError(f"{path}: {len(matches)} code cells match the mark {key!r} (expected one)")
    cell = nb.cells[matches[0]]
    nbg = cell.metadata.get("nbgrader", {})
    if nbg.get("solution") or nbg.get("grade"):
        raise TagError(f"{path}: cell {matches[0]} ({key!r}) is a solution or test cell; only "
                       "the instructor's locked or plain cells can be experiments")
    return matches[0]


def wanted_marks(root=ROOT):
    """{notebook path: set of cell indices that should carry the mark}."""
    out = {}
    for path in sorted((Path(root) / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        out[path] = {_locate(nb, path.parent.name, key, path)
                     for key in EXPERIMENTS.get(path.parent.name, [])}
    return out


def _release_of(path, nb, root):
    """The release to check against: notebooks/<a>/<nb>.ipynb if it exists, else the
    source itself (its structure is the release's)."""
    rel = Path(root) / "notebooks" / path.parent.name / path.name
    return nbformat.read(rel, as_version=4) if rel.is_file() else nb


def honoured(path, nb, indices, root=ROOT):
    """Raise TagError unless grading the instructor's own solution would leave out every
    marked cell in ``indices``."""
    release = _release_of(path, nb, root)
    # The instructor's notebook as a submission: the release structure with the solution
    # sources pasted in, which is what the rebuilt full-marks submission holds.
    sub = nbformat.from_dict(nbformat.reads(nbformat.writes(release), as_version=4))
    by_id = {grading_cells.grade_id(c): c for c in nb.cells if grading_cells.grade_id(c)}
    for cell in sub.cells:
        gid = grading_cells.grade_id(cell)
        if gid in by_id:
            cell.source = by_id[gid].source
    marked = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    for index in indices:
        marked.cells[index].metadata.setdefault(grading_cells.TAG_KEY, {})[grading_cells.TAG_FIELD] = \
            grading_cells.TAG_SKIP
    result = grading_cells.plan(sub, release, marked)
    kept = result.kept_experiments
    if kept:
        detail = "; ".join(f"cell {i}: a later cell reads {', '.join(v)}" for i, v in sorted(kept.items()))
        raise TagError(f"{path}: grading would still run marked cell(s): {detail}")


def _mark(nb, indices):
    """Put the mark on exactly the cells ``indices`` of ``nb``; True when it changed."""
    changed = False
    for index, cell in enumerate(nb.cells):
        own = cell.metadata.get(grading_cells.TAG_KEY)
        has = grading_cells.is_tagged(cell)
        if index in indices and not has:
            cell.metadata.setdefault(grading_cells.TAG_KEY, {})[grading_cells.TAG_FIELD] = \
                grading_cells.TAG_SKIP
            changed = True
        elif index not in indices and has:
            del own[grading_cells.TAG_FIELD]
            if not own:
                del cell.metadata[grading_cells.TAG_KEY]
            changed = True
    return changed


def apply(root=ROOT, check=False, log=print):
    """Write (or with ``check`` only compare) the marks in solutions/ and in the committed
    release notebooks/ (nbgrader copies cell metadata into the release, so a fresh
    `python -m grader release` gives the same files); returns the notebooks that differ
    from :data:`EXPERIMENTS`."""
    root = Path(root)
    differ = []
    for path, indices in wanted_marks(root).items():
        nb = nbformat.read(path, as_version=4)
        honoured(path, nb, indices, root)
        targets = [(path, nb, indices)]
        rel_path = root / "notebooks" / path.parent.name / path.name
        if rel_path.is_file():
            rel = nbformat.read(rel_path, as_version=4)
            keys = EXPERIMENTS.get(path.parent.name, [])
            targets.append((rel_path, rel, {_locate(rel, path.parent.name, k, rel_path) for k in keys}))
        for target, book, marks in targets:
            if _mark(book, marks):
                differ.append(target)
                if not check:
                    nbformat.write(book, target)
                    log(f"marked {len(marks)} experiment cell(s) in {target.relative_to(root)}")
    return differ


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.grading_tags", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook differs")
    parser.add_argument("--root", default=str(ROOT), help="course root (default: this repository)")
    args = parser.parse_args(argv)
    try:
        differ = apply(Path(args.root), check=args.check)
    except TagError as exc:
        print(f"tools.grading_tags: {exc}", file=sys.stderr)
        return 2
    if args.check and differ:
        print("tools.grading_tags: the experiment marks differ in " + ", ".join(str(p) for p in differ)
              + "; run `python -m tools.grading_tags`", file=sys.stderr)
        return 1
    if not differ:
        print("experiment marks up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
