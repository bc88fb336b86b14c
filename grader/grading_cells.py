"""Which cells a grading run executes: the graded cells and what they need.

The experiments in the notebooks (training runs, sweeps, figures) are not graded, yet
running them was most of the cost of grading a submission. ``GradingExecute`` (grader/
preprocessors.py) asks :func:`plan` which cells of the rebuilt submission it may leave
out; the grading mode ``c.GradingExecute.cells`` (nbgrader_config.py; ``python -m grader
autograde --cells all|graded``) chooses:

``graded`` (the default)
    Executes every cell up to the last *needed* graded cell (an autograded test cell, or
    a code cell a tutor grades by hand), except the cells the instructor marked as
    experiments that nothing executed later needs. Every cell after the last needed
    graded cell is left out: execution is linear, so no verdict can depend on it.
``all``
    Executes every cell, as nbgrader does.

What is left out is decided from the instructor's files only, never from the
submission's own metadata:

- the *structure* is the release's: ``RebuildFromRelease`` has already put every graded
  cell back in the release's order with the release's nbgrader metadata (and the
  gradebook's source for locked and test cells), so the position of the last needed
  graded cell is the release's;
- an *experiment* is a cell the instructor marked in ``solutions/<a>/<nb>.ipynb`` with
  ``{"coursepack": {"grading": "skip"}}`` (``tools/grading_tags.py`` writes these
  marks). A locked cell is matched by its grade id (its source is the gradebook's); a
  cell without nbgrader metadata is matched only when the submission holds it
  *unchanged*, after the same graded cell as in the release. A cell the student added
  or edited is never an experiment;
- an experiment is left out only if no cell that still runs after it reads a name it
  binds (assignments, definitions, imports, loop targets, ``global`` names, and the
  objects it mutates through an attribute, an item, ``+=`` or a method call): a
  static analysis of the names each cell binds and reads (:func:`names`), run
  backwards from the last needed cell. A later cell that can be read only
  dynamically (``globals()``, ``eval``, ``exec``, IPython's ``_``/``Out``, magics, a
  syntax error) keeps every experiment before it.

A left-out cell keeps no outputs but one line saying why (:data:`NOTE`), so feedback
pages and the formgrader show that it was not run.

Where a graded-mode submission's seconds went (December 2026, one submission at a time
on the shared 2-core machine; timestamps around every nbgrader preprocessor and
nbclient's per-cell execution times in the autograded notebook, plus cProfile; 02 at load
4, 05 at load 6, in seconds): starting the interpreter and importing nbgrader,
nbconvert, nbclient, SQLAlchemy and the pack's preprocessors 1.2 / 2.9; nbgrader's
set-up (config, gradebook rows) 0.4 / 0.9; sanitising 0.3 / 1.3 (``CheckCellMetadata``
checked nbgrader's schema again for every cell, 0.3 per pass; the static flags of
grader/flags.py); the kernel's start (launcher, bwrap, ipykernel, which imported debugpy:
a quarter of it) 0.6 / 1.4; the graded cells themselves 0.2 / 0.6 (no MNIST: the data
cells are experiments; no matplotlib: pruned imports); the kernel's stop 0.15; verdicts,
grades and writing 0.1 / 1.2 (``CheckCellMetadata`` again). The experiments were gone
already; the fixed cost per submission was what remained. Now each submission's
nbgrader process is forked from a preloaded server (grader/nbgrader_run.py: the imports
paid once per worker), ``CheckCellMetadata`` compiles the schema once
(grader/preprocessors.py) and the sandboxed kernel starts without debugpy
(grader/sandbox.py). What is left is mostly the kernel's start (about 40%), nbgrader's
gradebook sessions (about ten per submission, each with an engine of its own), the
static flags, and jupyter_client's fixed waits (0.2 s of iopub silence after the kernel
answers, a 0.1 s poll when it stops). The judge's references (each check's cases,
expected outputs and finite differences: the same for every submission of a run) are
computed once per server before it forks (checker.judge.Reference), no longer in every
submission's process, and the kernel starts while nbgrader sets up the submission and
sanitises it, in a process of its own (grader/headstart.py), instead of after. ``make
bench`` measures the result (grader/throughput.py), against every cell forked from the
server, against every cell in a fresh nbgrader process per submission with the kernel
started late, as nbgrader grades, and against the kernel started late alone.
"""
import ast
import copy
import re
from dataclasses import dataclass, field

MODES = ("graded", "all")
DEFAULT_MODE = "graded"
TAG_KEY = "coursepack"
TAG_FIELD = "grading"
TAG_SKIP = "skip"
NOTE = ("[not run when grading: this cell is not graded and no graded cell needs it "
        "(grading mode 'graded'; grader/grading_cells.py)]")

# Names through which a cell can read what another cell left behind without naming it.
DYNAMIC_CALLS = frozenset({"globals", "locals", "vars", "eval", "exec", "get_ipython",
                           "__import__", "compile", "dir"})
_HISTORY = re.compile(r"^(_+\d*|_i+\d*|_ih|_oh|_dh|In|Out)$")


def _nbgrader(cell):
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def grade_id(cell):
    gid = _nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_needed_graded(cell):
    """A cell whose execution a grade depends on: an autograded test cell (grade, not
    solution) or a code answer a tutor grades by hand (grade and solution)."""
    return cell.get("cell_type") == "code" and bool(_nbgrader(cell).get("grade"))


def is_tagged(cell):
    """True when the instructor marked the cell ``{"coursepack": {"grading": "skip"}}``."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    own = meta.get(TAG_KEY) if isinstance(meta, dict) else None
    return isinstance(own, dict) and own.get(TAG_FIELD) == TAG_SKIP


# ---------------------------------------------------------------------------------------
# Names a cell binds and reads

def _parse(source):
    """The cell's AST, or None when it is not plain Python (IPython magics, shell
    escapes, help requests, syntax errors): such a cell reads everything."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _base_name(node):
    """The name at the root of ``a.b[c].d`` (None for anything else)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _local_names(node):
    """Names local to the function, lambda or comprehension ``node``: its parameters and
    what its own body binds (not nested scopes), minus its ``global``/``nonlocal``
    declarations."""
    found, declared = set(), set()
    args = getattr(node, "args", None)
    if isinstance(args, ast.arguments):
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None:
                found.add(arg.arg)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        roots = [gen.target for gen in node.generators]
    else:
        roots = node.body if isinstance(node.body, list) else [node.body]
    stack = list(roots)
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            found.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(sub.name)
            stack.extend(sub.decorator_list)
            continue
        elif isinstance(sub, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            found.update(a.asname or a.name.split(".")[0] for a in sub.names if a.name != "*")
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            declared.update(sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            found.add(sub.name)
        elif isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
            found.add(sub.target.id)
        stack.extend(ast.iter_child_nodes(sub))
    return found - declared


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


class _Names(ast.NodeVisitor):
    """Collects the global names a cell binds and reads. Names local to a function,
    lambda or comprehension of the cell are neither."""

    def __init__(self, modules):
        self.binds, self.reads = set(), set()
        self.dynamic = False
        self.modules = modules
        self.scopes = []        # local-name sets of the enclosing functions

    def _is_local(self, name):
        return any(name in scope for scope in self.scopes)

    def _bind(self, name):
        if name is not None and not self._is_local(name):
            self.binds.add(name)

    def _read(self, name):
        if name is not None and not self._is_local(name):
            self.reads.add(name)
            if _HISTORY.match(name):
                self.dynamic = True

    def _changed(self, target):
        """An attribute or item of an object is assigned: the object changes."""
        base = _base_name(target)
        self._bind(base)
        self._read(base)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        else:
            self._bind(node.id)

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self._target(target)

    def _target(self, target):
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._target(elt)
        elif isinstance(target, ast.Starred):
            self._target(target.value)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            self._changed(target)
            self.visit(target)
        else:
            self.visit(target)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self._bind(node.target.id)
            self._read(node.target.id)
        else:
            self._changed(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
        self._target(node.target)

    def visit_For(self, node):
        self.visit(node.iter)
        self._target(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node):
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._target(node.optional_vars)

    def visit_Delete(self, node):
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._bind(target.id)
            else:
                self._changed(target)
                self.visit(target)

    def visit_ExceptHandler(self, node):
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self._bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name == "*":
                self.dynamic = True        # binds names nobody can list
            else:
                self._bind(alias.asname or alias.name)

    def visit_Global(self, node):
        for name in node.names:
            self.binds.add(name)
            self.reads.add(name)

    visit_Nonlocal = visit_Global

    def _enter(self, node):
        self.scopes.append(_local_names(node))
        try:
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
                for gen in node.generators:
                    for cond in gen.ifs:
                        self.visit(cond)
                self.visit(node.elt)
            elif isinstance(node, ast.DictComp):
                for gen in node.generators:
                    for cond in gen.ifs:
                        self.visit(cond)
                self.visit(node.key)
                self.visit(node.value)
            else:
                for stmt in (node.body if isinstance(node.body, list) else [node.body]):
                    self.visit(stmt)
        finally:
            self.scopes.pop()

    def visit_FunctionDef(self, node):
        for deco in node.decorator_list:
            self.visit(deco)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        for ann in [a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation]:
            self.visit(ann)
        self._bind(node.name)
        self._enter(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        self._enter(node)

    def _comprehension(self, node):
        # The first iterable is evaluated in the enclosing scope; the rest inside.
        self.visit(node.generators[0].iter)
        self.scopes.append(_local_names(node))
        try:
            for gen in node.generators[1:]:
                self.visit(gen.iter)
        finally:
            self.scopes.pop()
        self._enter(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ClassDef(self, node):
        for deco in node.decorator_list:
            self.visit(deco)
        for base in node.bases + [k.value for k in node.keywords]:
            self.visit(base)
        self._bind(node.name)
        for stmt in node.body:       # class bodies: treated like the cell itself
            self.visit(stmt)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self._bind(node.target.id)     # in a comprehension: binds outside it

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS:
            self.dynamic = True
        if isinstance(func, ast.Attribute):
            # A method call may change its object (d.update(...), rng.normal(...)); a
            # call on a module (np.zeros, plt.subplots) counts as reading it only.
            base = _base_name(func.value)
            if base is not None and base not in self.modules:
                self._bind(base)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in ("__dict__", "__globals__", "f_globals", "f_locals", "f_back", "user_ns"):
            self.dynamic = True
        self.generic_visit(node)


@dataclass(frozen=True)
class CellNames:
    binds: frozenset
    reads: frozenset
    dynamic: bool      # reads or binds names no static analysis can list


def names(source, modules=frozenset()):
    """(binds, reads, dynamic) of one code cell's source. ``modules``: names known to be
    modules (bound only by imports), whose attribute calls do not count as changes."""
    tree = _parse(source)
    if tree is None:
        return CellNames(frozenset(), frozenset(), True)
    visitor = _Names(modules)
    visitor.visit(tree)
    return CellNames(frozenset(visitor.binds), frozenset(visitor.reads), visitor.dynamic)


def module_names(sources):
    """Names that the given cell sources bind only through ``import`` statements."""
    imported, other = set(), set()
    for source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(a.asname or a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.update(a.asname or a.name for a in node.names if a.name != "*")
            elif isinstance(node, (ast.Name,)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                other.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                other.add(node.name)
            elif isinstance(node, ast.arg):
                other.add(node.arg)
    return frozenset(imported - other)


# ---------------------------------------------------------------------------------------
# The plan

@dataclass
class Plan:
    mode: str
    skip: dict = field(default_factory=dict)      # cell index -> "after" | "experiment"
    shrink: dict = field(default_factory=dict)    # cell index -> the source actually run
    originals: dict = field(default_factory=dict)  # cell index -> its source, while shrunk
    left_out_imports: dict = field(default_factory=dict)   # cell index -> names
    kept_experiments: dict = field(default_factory=dict)   # index -> names a later cell reads
    last_needed: int | None = None

    def summary(self):
        """One line for the log."""
        if self.mode == "all":
            return "grading mode 'all': every cell runs"
        tail = sum(1 for r in self.skip.values() if r == "after")
        return (f"grading mode 'graded': {len(self.skip)} cell(s) not run "
                f"({tail} after the last graded cell, {len(self.skip) - tail} experiment(s)), "
                f"unused imports left out of {len(self.shrink)} cell(s); "
                f"{len(self.kept_experiments)} experiment(s) run because a later cell needs them")


def _segments(cells):
    """For each cell, the grade id of the graded cell before it (None at the start)."""
    anchor, out = None, []
    for cell in cells:
        gid = grade_id(cell)
        out.append(gid if gid is not None else anchor)
        if gid is not None:
            anchor = gid
    return out


@dataclass(frozen=True)
class InstructorCells:
    """The instructor's code cells, located on the release's structure.

    ``locked``: grade ids of locked code cells that are neither solutions nor tests (the
    rebuilt submission holds the gradebook's source for them); ``free``: ``(graded cell
    before it, source)`` of every release code cell without nbgrader metadata (a
    submission's cell is the instructor's only while it is unchanged and in the same
    place); ``tagged_locked`` / ``tagged_free``: those of them marked as experiments in
    the source notebook."""
    locked: frozenset = frozenset()
    free: frozenset = frozenset()
    tagged_locked: frozenset = frozenset()
    tagged_free: frozenset = frozenset()


def instructor_cells(source, release):
    """:class:`InstructorCells` from the source notebook (solutions/: the marks) and the
    release (notebooks/: the structure a submission is rebuilt on)."""
    if release is None:
        return InstructorCells()
    locked, free = set(), set()
    for anchor, cell in zip(_segments(release.cells), release.cells):
        if cell.get("cell_type") != "code":
            continue
        gid = grade_id(cell)
        nbg = _nbgrader(cell)
        if gid is None:
            free.add((anchor, cell.source))
        elif not nbg.get("solution") and not nbg.get("grade"):
            locked.add(gid)
    tagged_locked, tagged_free = set(), set()
    if source is not None:
        for anchor, cell in zip(_segments(source.cells), source.cells):
            if cell.get("cell_type") != "code" or not is_tagged(cell):
                continue
            gid = grade_id(cell)
            if gid is not None and gid in locked:
                tagged_locked.add(gid)
            elif gid is None and (anchor, cell.source) in free:
                tagged_free.add((anchor, cell.source))
    return InstructorCells(frozenset(locked), frozenset(free), frozenset(tagged_locked),
                           frozenset(tagged_free))


def prune_imports(source, needed):
    """``source`` without the top-level imports of names that neither ``needed`` nor the
    rest of the cell reads: ``(source to run, names left out)``. Only whole-line
    ``import``/``from ... import`` statements are touched; ``from __future__`` and star
    imports always stay. Returns the source unchanged when nothing can go."""
    tree = _parse(source)
    if tree is None:
        return source, []
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
               and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
               and not any(a.name == "*" for a in node.names)]
    if not imports:
        return source, []
    rest = ast.Module(body=[n for n in tree.body if n not in imports], type_ignores=[])
    own = names(ast.unparse(rest)).reads
    if names(ast.unparse(rest)).dynamic:
        return source, []
    keep_names = set(needed) | set(own)
    lines = source.splitlines(keepends=True)
    line_owner = {}
    for node in tree.body:
        for ln in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            line_owner.setdefault(ln, []).append(node)
    replace, dropped = {}, []
    for node in imports:
        span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        if any(len(line_owner[ln]) > 1 for ln in span):
            continue        # shares a line with another statement: leave it
        bound = lambda a: a.asname or (a.name.split(".")[0] if isinstance(node, ast.Import) else a.name)  # noqa: E731
        kept = [a for a in node.names if bound(a) in keep_names]
        if len(kept) == len(node.names):
            continue
        dropped.extend(bound(a) for a in node.names if a not in kept)
        if kept:
            clone = copy.copy(node)
            clone.names = kept
            replace[node.lineno] = (span, ast.unparse(clone) + "\n")
        else:
            replace[node.lineno] = (span, "")
    if not dropped:
        return source, []
    out, skip_until = [], 0
    for number, line in enumerate(lines, start=1):
        if number <= skip_until:
            continue
        if number in replace:
            span, text = replace[number]
            out.append(text)
            skip_until = span[-1]
            continue
        out.append(line)
    return "".join(out), sorted(dropped)


def plan(nb, release, source, mode=DEFAULT_MODE):
    """What a grading run of ``nb`` (a submission rebuilt on ``release`` by
    RebuildFromRelease) leaves out, as a :class:`Plan`: the cells it does not run
    (``skip``) and, for the instructor's own cells that do run, the source without
    unused imports (``shrink``). ``source``: the instructor's notebook (solutions/),
    or None (then only the cells after the last needed graded cell are left out)."""
    if mode not in MODES:
        raise ValueError(f"grading mode {mode!r} is not one of {', '.join(MODES)}")
    result = Plan(mode)
    if mode == "all":
        return result
    cells = nb.cells
    needed = [i for i, c in enumerate(cells) if is_needed_graded(c)]
    last = needed[-1] if needed else -1
    result.last_needed = last if needed else None
    for i in range(last + 1, len(cells)):
        if cells[i].get("cell_type") == "code":
            result.skip[i] = "after"
    ours = instructor_cells(source, release)
    release_sources = [c.source for c in (release.cells if release is not None else [])
                       if c.get("cell_type") == "code"]
    modules = module_names(release_sources) & module_names(
        [c.source for c in cells if c.get("cell_type") == "code"])
    segments = _segments(cells)
    reads = set()
    everything = False      # a later cell reads names dynamically: keep everything before
    for i in range(last, -1, -1):
        cell = cells[i]
        if cell.get("cell_type") != "code":
            continue
        gid = grade_id(cell)
        if gid is not None:
            instructor = gid in ours.locked
            marked = gid in ours.tagged_locked
        else:
            instructor = (segments[i], cell.source) in ours.free
            marked = (segments[i], cell.source) in ours.tagged_free
        info = names(cell.source, modules)
        if marked and not info.dynamic:
            clash = set(info.binds) & reads
            if not clash and not everything:
                result.skip[i] = "experiment"
                continue
            result.kept_experiments[i] = (sorted(clash) if not everything
                                          else ["(a later cell reads names dynamically)"])
        if instructor and not everything and not info.dynamic:
            pruned, dropped = prune_imports(cell.source, reads)
            if dropped:
                result.shrink[i] = pruned
                result.left_out_imports[i] = dropped
                info = names(pruned, modules)
        if info.dynamic:
            everything = True
        reads |= info.reads
    return result


# ---------------------------------------------------------------------------------------
# The hook in GradingExecute

def _read(path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None


def for_run(nb, resources, course_root, mode=DEFAULT_MODE, log=None):
    """The plan for the notebook ``GradingExecute`` is about to run: the release and the
    instructor's notebook are read from ``course_root`` (notebooks/ and solutions/); the
    plan is written into the grading record (key ``grading_cells``). Without a course
    root only the cells after the last needed graded cell are left out."""
    from pathlib import Path

    from grader.preprocessors import read_record, record_path, write_record

    info = (resources or {}).get("nbgrader") or {}
    release = source = None
    if course_root and info.get("assignment") and info.get("notebook"):
        root = Path(course_root)
        name = f"{info['notebook']}.ipynb"
        release = _read(root / "notebooks" / info["assignment"] / name)
        source = _read(root / "solutions" / info["assignment"] / name)
    result = plan(nb, release, source, mode)
    if log is not None:
        log.info("%s", result.summary())
    if course_root and info.get("student"):
        path = record_path(course_root, info["student"], info["assignment"], info["notebook"])
        record = read_record(path)
        record["grading_cells"] = {
            "mode": result.mode,
            "not_run": sorted(result.skip),
            "imports_left_out": {str(i): v for i, v in sorted(result.left_out_imports.items())},
            "experiments_run": {str(i): v for i, v in sorted(result.kept_experiments.items())},
        }
        write_record(path, record)
    return result


def note_output():
    """The one output a left-out cell keeps."""
    from nbformat.notebooknode import from_dict

    return from_dict({"output_type": "stream", "name": "stdout", "text": NOTE + "\n"})


def before_cell(plan_, cell, index):
    """Called by ``GradingExecute`` before it runs code cell ``index``: a cell left out
    gets the note as its only output (returns True: do not run it); a shrunk cell gets
    the source to run (put back by :func:`restore_sources`). Returns False to run."""
    if index in plan_.skip:
        cell.outputs, cell.execution_count = [note_output()], None
        return True
    if index in plan_.shrink:
        plan_.originals[index] = cell.source
        cell.source = plan_.shrink[index]
    return False


def restore_sources(plan_, nb):
    """Put the instructor's full source back into every shrunk cell after the run (the
    autograded notebook shows the cell as written)."""
    for index, source in plan_.originals.items():
        nb.cells[index].source = source
    plan_.originals.clear()
