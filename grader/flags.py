"""Static tamper flags: what a submission's own code cells try to do, found without
running them.

:func:`scan` reads the student's code cells (solution cells and cells the student added;
never the locked and test cells, which the grader restored) through Python's ``ast``
(IPython magics and ``!shell`` lines are first turned into Python by IPython's own
transformer) and returns one short human-readable flag per suspicious construct, naming
the cell and the construct:

- monkeypatching: assigning or deleting attributes of imported modules (numpy, helpers,
  builtins, ...), ``setattr``/``delattr``, ``__dict__``, ``vars()``/``globals()`` writes,
  redefining ``check``;
- execution hooks: IPython's ``events``, input and AST transformers, ``run_cell``,
  custom exception handlers, ``sys.settrace``/``setprofile``/``meta_path``/``modules``,
  threads;
- the grading environment: ``os.environ``/``getenv``, names such as ``COURSE_GRADING``,
  ``COURSE_CHECK_SEED``, ``NBGRADER``, sandbox probing (network modules, /proc, host
  names, parent process);
- files outside the student's scratch folder: paths naming the gradebook, submitted/,
  autograded/, solutions/, notebooks, ``..`` or absolute paths; ``sqlite3``;
- processes and native code: ``subprocess``, ``os.system`` and friends, ``ctypes``,
  shell escapes and risky magics (``%run``, ``%%writefile``, ``%env``, ...);
- dynamic code: ``exec``/``eval``/``compile``, ``__import__``, ``importlib``,
  introspection dunders (``__globals__``, ``__subclasses__``, ...);
- the pack's reference implementation of an exercise, or the grading machinery's
  internals (``checker.internals``: anything of ``checker`` but ``check`` and
  ``CheckFailed``, and ``grader``), used by that exercise's functions (directly, through an alias, or through the student's own
  helper functions they call). Such a flag ends with "(exercise 'E' scores 0)", and
  :func:`zeroed_exercises` turns it into a 0 for that exercise (TrustedVerdicts fails
  it). A reference that the instructor's own solution uses for the same exercise (for
  example the pack's ``sigmoid`` inside ``logistic_predict`` in notebook 2) is part of
  the intended toolkit and is not flagged.

- a copy of the pack's reference implementation of an exercise (``grader.copies``): a
  function of the exercise (or one it calls) whose source is a reference's after
  normalising names, comments, docstrings and formatting, or a near copy of a long one.
  The flag ("matches the pack's reference implementation of E") does not change the
  score; the tutor judges. A reference the instructor's solution itself matches is not
  flagged.

Flags marked "[severe]" are constructs that could forge or hide what the grader sees
(execution hooks, the grader's internals, patching numpy/helpers/builtins/sys, dynamic
code and imports, pickles, modules shipped with the submission that the scan cannot
read, the payload's MIME type): one of them adds :data:`SEVERE_SUMMARY` and every
exercise of the notebook scores 0 until a tutor reviews it (a manual grade in formgrader
overrides). Other flags do not change the score: they are shown to the tutor (report,
CSV) who decides. :func:`execution_flags` adds what happened while running (timeouts, a
dead kernel, memory errors). The scan is a net for deliberate tricks, not a proof: the sandbox and the
trusted verdicts are what make tampering useless.
"""
import ast
import functools
import importlib.util
import re

from IPython.core.inputtransformer2 import TransformerManager

from checker.internals import PACKAGES as GRADING_PACKAGES
from checker.internals import is_internal
from checker.lessons import EXERCISES
from grader import copies

ZERO_SUFFIX_RE = re.compile(r"\(exercise '([A-Za-z0-9_]+)' scores 0\)$")

# Modules whose import alone is worth a flag, with what they allow.
SUSPICIOUS_MODULES = {
    "sqlite3": "opens databases (the gradebook is one)",
    "subprocess": "runs other programs",
    "ctypes": "calls native code",
    "cffi": "calls native code",
    "multiprocessing": "starts processes",
    "socket": "opens network connections (sandbox probing)",
    "urllib": "opens network connections",
    "http": "opens network connections",
    "requests": "opens network connections",
    "importlib": "imports modules dynamically",
    "builtins": "reaches the builtins",
    "threading": "runs code in the background (after later cells started)",
    "_thread": "runs code in the background",
    "signal": "changes signal handling (interrupts, timeouts)",
    "pty": "spawns terminals",
    "nbformat": "reads or writes notebooks",
    "nbgrader": "uses the grader",
    "nbclient": "executes notebooks",
    "jupyter_client": "talks to kernels",
    "zmq": "talks to kernels",
    "grader": "uses the grader",
    "gc": "reaches objects through the garbage collector",
    "inspect": "inspects frames and source",
    "platform": "probes the machine (sandbox detection)",
    "resource": "changes process limits",
}
# Of those, the ones that can forge or hide what the grader sees: all exercises score 0.
SEVERE_MODULES = {"importlib", "builtins", "threading", "_thread", "nbformat", "nbgrader",
                  "nbclient", "jupyter_client", "zmq", "grader", "gc", "inspect", "ctypes",
                  "cffi", "pickle", "marshal", "dill", "types", "code", "codeop", "runpy",
                  "pkgutil", "zipimport", "multiprocessing", "subprocess"}
for _name in ("pickle", "marshal", "dill", "types", "code", "codeop", "runpy", "pkgutil", "zipimport"):
    SUSPICIOUS_MODULES.setdefault(_name, "builds or loads code dynamically")
# Monkeypatching these modules is severe (the checks and their encoding rely on them).
SEVERE_PATCH_ROOTS = {"numpy", "helpers", "builtins", "sys", "IPython", "ipykernel", "os",
                      "json", "math", "base64", "hashlib", "traceback", "copy",
                      "dataclasses", "numbers", *GRADING_PACKAGES}
SEVERE_SUMMARY = ("tampering with the grading machinery (severe flags above): every exercise "
                  "of this notebook scores 0 until a tutor reviews it")
# Calls that run or alter code dynamically.
DYNAMIC_BUILTINS = {
    "exec": "runs code from a string", "eval": "runs code from a string",
    "compile": "compiles code from a string", "__import__": "imports dynamically",
    "globals": "reaches the global namespace", "locals": "reaches local namespaces",
    "vars": "reaches a namespace", "setattr": "sets attributes dynamically",
    "delattr": "deletes attributes dynamically",
    "breakpoint": "starts a debugger", "exit": "stops the kernel", "quit": "stops the kernel",
}
# Attribute names of IPython / interpreter execution machinery (any base object).
HOOK_ATTRS = {
    "events", "input_transformers_cleanup", "input_transformers_post",
    "input_transformer_manager", "ast_transformers", "run_cell", "run_cell_async",
    "run_ast_nodes", "run_code", "set_custom_exc", "showtraceback", "display_pub",
    "displayhook", "excepthook", "register_magic_function", "register_magics", "user_ns",
    "user_global_ns", "kernel", "settrace", "setprofile", "meta_path", "path_hooks",
    "modules", "f_globals", "f_locals", "f_back", "tb_frame", "_getframe", "audit",
    "addaudithook",
}
# Attributes of os / sys / shutil (resolved) that matter.
MODULE_ATTRS = {
    "os.environ": "reads or changes the environment (detecting the grader)",
    "os.getenv": "reads the environment (detecting the grader)",
    "os.putenv": "changes the environment", "os.unsetenv": "changes the environment",
    "os.environb": "reads the environment",
    "os.system": "runs a shell command", "os.popen": "runs a shell command",
    "os.fork": "starts processes", "os.forkpty": "starts processes",
    "os.kill": "sends signals", "os.killpg": "sends signals", "os._exit": "stops the kernel",
    "os.remove": "deletes files", "os.unlink": "deletes files", "os.rmdir": "deletes folders",
    "os.removedirs": "deletes folders", "os.rename": "moves files", "os.replace": "moves files",
    "os.chmod": "changes permissions", "os.chown": "changes owners", "os.symlink": "links files",
    "os.link": "links files", "os.getppid": "probes the parent process (sandbox detection)",
    "os.uname": "probes the machine", "os.listdir": "lists folders", "os.scandir": "lists folders",
    "os.walk": "walks folders", "os.chdir": "changes folder",
    "shutil.rmtree": "deletes folders", "shutil.move": "moves files",
    "sys.settrace": "installs a tracer", "sys.setprofile": "installs a profiler",
    "sys.meta_path": "changes how modules are imported",
    "sys.path_hooks": "changes how modules are imported", "sys.modules": "reaches loaded modules",
    "sys.excepthook": "changes exception handling", "sys.displayhook": "changes display",
    "sys.stdout": "replaces the output streams", "sys.stderr": "replaces the output streams",
    "sys.exit": "stops the kernel", "sys._getframe": "reads the caller's frame",
    "sys.argv": "reads the kernel's arguments (sandbox detection)",
    "sys.path": "changes where modules are found",
}
for _name in ("execv", "execve", "execvp", "execvpe", "execl", "execlp", "spawnv", "spawnve",
              "spawnl", "posix_spawn", "posix_spawnp"):
    MODULE_ATTRS[f"os.{_name}"] = "replaces or starts processes"
# Dunders that open the way to namespaces, code objects and classes.
DUNDER_ATTRS = {
    "__globals__", "__code__", "__closure__", "__subclasses__", "__bases__", "__mro__",
    "__dict__", "__builtins__", "__import__", "__loader__", "__spec__", "__defaults__",
    "__kwdefaults__", "__getattribute__", "__setattr__", "__delattr__", "__class__",
    "__self__", "__func__", "__wrapped__", "__reduce__", "__reduce_ex__",
}
# Magics that run files, write files, touch the environment or capture outputs.
RISKY_MAGICS = {
    "run", "load", "loadpy", "writefile", "file", "system", "sx", "sh", "bash", "script",
    "perl", "ruby", "python", "python2", "python3", "pypy", "env", "set_env", "capture",
    "config", "alias", "store", "macro", "reset", "reset_selective", "xdel", "autoawait",
    "load_ext", "javascript", "js", "html", "cd", "bookmark", "pushd", "popd", "dhist",
    "killbgscripts", "debug", "pdb",
}
ENV_WORDS_RE = re.compile(r"COURSE_|NBGRADER|JPY_|JUPYTER_|coursepack|vnd\.coursepack|bwrap|bubblewrap",
                          re.IGNORECASE)
PATH_WORDS_RE = re.compile(
    r"gradebook|(^|[/\\])(submitted|autograded|solutions|feedback|release|notebooks|source)"
    r"([/\\]|$)|\.ipynb|\.db$|\.sqlite|(^|[/\\])\.\.([/\\]|$)|^/(proc|sys|etc|dev|home|root|tmp|"
    r"work|var|srv|mnt|opt|usr)\b", re.IGNORECASE)
REDEFINED_NAMES = {"check", "CheckFailed", "display", "get_ipython", "__import__"}


def _importable(root):
    """True when the top-level module ``root`` is part of the environment (found here,
    in the grader's process, whose path does not include the submission's folder)."""
    if root in SUSPICIOUS_MODULES or root in ("__future__",):
        return True
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------------------------------
# Cells

def _nbg(cell):
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def _release_grade_ids(release_nb):
    """grade id -> nbgrader metadata of the release's graded/locked cells."""
    out = {}
    for cell in release_nb.cells:
        nbg = _nbg(cell)
        gid = nbg.get("grade_id")
        if isinstance(gid, str) and gid:
            out[gid] = nbg
    return out


def student_cells(nb, release_nb):
    """The student's own code cells of ``nb``: [(label, source)], in order.

    Solution cells (by the release's metadata) and cells with no grade id of the release
    (added by the student); locked and test cells are the grader's and are skipped."""
    released = _release_grade_ids(release_nb)
    release_sources = {c.source for c in release_nb.cells
                       if c.get("cell_type") == "code" and not _nbg(c).get("grade_id")}
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not isinstance(cell.get("source"), str):
            continue
        gid = _nbg(cell).get("grade_id")
        if isinstance(gid, str) and gid in released:
            if released[gid].get("solution"):
                cells.append((f"solution cell {gid!r}", cell.source))
            continue
        if cell.source in release_sources:
            continue            # an ordinary cell of the release, unchanged
        cells.append((f"cell {index} (added or changed by the student)", cell.source))
    return cells


def _grader_cells(nb, release_nb):
    """Sources of the locked/test code cells (the grader's own) and of the release's
    ordinary code cells, in order."""
    released = _release_grade_ids(release_nb)
    out = []
    for cell in nb.cells:
        gid = _nbg(cell).get("grade_id")
        if (cell.get("cell_type") == "code" and isinstance(gid, str) and gid in released
                and not released[gid].get("solution")):
            out.append(cell.source)
    # The release's ordinary cells (their imports are the course's, e.g. its setup).
    out.extend(c.source for c in release_nb.cells if c.get("cell_type") == "code" and not _nbg(c))
    return out


def parse_cell(source):
    """The cell's ``ast.Module`` (IPython syntax turned into Python first); raises
    SyntaxError when it cannot be parsed.

    The tree is shared between callers (one scan parses the grader's cells for the
    submission and again for the instructor's notebook, and IPython's transformation is
    most of a parse's cost): read it, never change it (``grader.copies`` works on a copy)."""
    tree = _parse(source)
    if isinstance(tree, SyntaxError):
        raise SyntaxError(*tree.args)       # a fresh exception each time
    return tree


@functools.lru_cache(maxsize=1024)
def _parse(source):
    try:
        source = TransformerManager().transform_cell(source)
    except Exception:       # IPython confused: parse the raw text
        pass
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        return exc


# ---------------------------------------------------------------------------------------
# Names

def _bind_imports(tree, aliases):
    """Record in ``aliases`` (name -> dotted path) what the imports of ``tree`` bind,
    and assignments of an already-known dotted object to a plain name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            dotted = resolve(node.value, aliases)
            if dotted:
                aliases[node.targets[0].id] = dotted


def resolve(node, aliases):
    """The dotted name ``node`` stands for (``np.linalg.norm`` -> "numpy.linalg.norm")
    when its root is an imported name, else None."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = resolve(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# ---------------------------------------------------------------------------------------
# Generic constructs

class _Scanner(ast.NodeVisitor):
    """Collects the suspicious constructs of one cell as short strings."""

    def __init__(self, aliases):
        self.aliases = aliases
        self.found = []
        self.severe = []

    def add(self, text, severe=False):
        if text not in self.found:
            self.found.append(text)
        if severe and text not in self.severe:
            self.severe.append(text)

    # imports
    def visit_Import(self, node):
        for alias in node.names:
            self._module(alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.level:
            self.add("relative import (runs files shipped next to the notebook)", severe=True)
        elif node.module:
            self._module(node.module)
            for alias in node.names:
                if alias.name == "*":
                    self.add(f"from {node.module} import * (hides what it binds)", severe=True)
                self._dotted(f"{node.module}.{alias.name}", "imports")
        self.generic_visit(node)

    def _module(self, name):
        root = name.split(".")[0]
        if root in SUSPICIOUS_MODULES:
            self.add(f"imports {name} ({SUSPICIOUS_MODULES[root]})", severe=root in SEVERE_MODULES)
        if name.startswith("IPython.core") or name.startswith("ipykernel"):
            self.add(f"imports {name} (the kernel's machinery)", severe=True)
        if not _importable(root):
            self.add(f"imports {root}, which is not installed (code shipped with the submission "
                     "cannot be scanned)", severe=True)
        self._dotted(name, "imports")

    def _dotted(self, dotted, verb):
        if is_internal(dotted):
            self.add(f"{verb} {dotted} (the grader's internals)", severe=True)
        if dotted in MODULE_ATTRS:
            self.add(f"uses {dotted} ({MODULE_ATTRS[dotted]})")

    # names and attributes
    def visit_Name(self, node):
        if node.id in DYNAMIC_BUILTINS and node.id not in self.aliases:
            self.add(f"uses {node.id} ({DYNAMIC_BUILTINS[node.id]})",
                     severe=node.id not in ("exit", "quit", "breakpoint"))
        elif node.id == "__builtins__":
            self.add("uses __builtins__ (reaches the builtins)", severe=True)
        if isinstance(node.ctx, ast.Store) and node.id in REDEFINED_NAMES:
            self.add(f"redefines {node.id} (used by the test cells)", severe=True)

    def visit_FunctionDef(self, node):
        if node.name in REDEFINED_NAMES:
            self.add(f"redefines {node.name} (used by the test cells)", severe=True)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Attribute(self, node):
        dotted = resolve(node, self.aliases)
        if dotted:
            self._dotted(dotted, "uses")
        if node.attr in DUNDER_ATTRS:
            self.add(f"uses .{node.attr} (reaches namespaces or code objects)", severe=True)
        elif node.attr in HOOK_ATTRS and not (dotted and dotted.startswith(("numpy.", "matplotlib."))):
            self.add(f"uses .{node.attr} (the interpreter's execution machinery)", severe=True)
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._module_write(node, dotted)
        self.generic_visit(node)

    def _module_write(self, target, dotted):
        root = _root_name(target)
        if root is not None and (root in self.aliases or root in ("__builtins__",)):
            what = dotted or ast.unparse(target)
            module = (dotted or root).split(".")[0]
            self.add(f"assigns or deletes {what} (changes an imported module: monkeypatching)",
                     severe=module in SEVERE_PATCH_ROOTS or root == "__builtins__")

    def visit_Subscript(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            base = node.value
            if isinstance(base, ast.Attribute) and base.attr == "__dict__":
                self._module_write(base, resolve(base, self.aliases))
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id in ("vars", "globals"):
                self.add(f"writes into {base.func.id}() (changes a namespace)", severe=True)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr", "getattr") and node.args:
            target = resolve(node.args[0], self.aliases)
            if target:
                self.add(f"{func.id}() on the module {target} (monkeypatching or hidden lookup)",
                         severe=True)
        if isinstance(func, ast.Attribute) and func.attr in ("run_line_magic", "run_cell_magic", "magic") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            magic = node.args[0].value.split()[0] if node.args[0].value.split() else ""
            if magic in RISKY_MAGICS:
                self.add(f"uses the magic %{magic}")
        if isinstance(func, ast.Attribute) and func.attr in ("system", "getoutput") \
                and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) \
                and func.value.func.id == "get_ipython":
            self.add("runs a shell command (!...)")
        if isinstance(func, ast.Attribute) and func.attr in ("register", "unregister") \
                and isinstance(func.value, ast.Attribute) and func.value.attr == "events":
            self.add("registers an IPython event hook (changes how later cells run)", severe=True)
        for kw in node.keywords:
            if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and not kw.value.value):
                self.add("loads pickled objects (allow_pickle: code hidden in a file)", severe=True)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and len(node.value) < 500:
            text = node.value
            m = ENV_WORDS_RE.search(text)
            if m:
                self.add(f"mentions {text.strip()[:40]!r} (the grading environment)",
                         severe="vnd.coursepack" in text.lower() or "check+json" in text.lower())
            elif PATH_WORDS_RE.search(text.strip()):
                self.add(f"refers to the path {text.strip()[:60]!r} (outside the scratch folder)")


# ---------------------------------------------------------------------------------------
# Reference implementations

def _functions(trees):
    """name -> list of top-level function nodes (def or ``name = lambda``) in ``trees``."""
    out = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        out.setdefault(target.id, []).append(node.value)
    return out


def _forbidden(dotted, references, internals=True):
    """The reference (or, with ``internals``, grader module) ``dotted`` stands for, or None."""
    if dotted is None:
        return None
    for ref in references:
        if dotted == ref or dotted.startswith(ref + "."):
            return ref
    if internals and is_internal(dotted):
        return dotted
    return None


def closure_uses(names, functions, aliases, references):
    """{forbidden dotted name: function using it} over the student's functions ``names``
    and every student function they reach by name (calls, arguments)."""
    found, seen, todo = {}, set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in functions:
            hit = _forbidden(aliases.get(name), references)
            if hit:
                found.setdefault(hit, name)
            continue
        for fn in functions[name]:
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    if node.id in functions and node.id not in seen:
                        todo.append(node.id)
                    elif node.id not in functions:
                        hit = _forbidden(aliases.get(node.id), references)
                        if hit:
                            found.setdefault(hit, name)
                elif isinstance(node, ast.Attribute):
                    hit = _forbidden(resolve(node, aliases), references)
                    if hit:
                        found.setdefault(hit, name)
    return found


def _checked_functions(nb, exercises):
    """exercise -> the function names its test cell passes to ``check``."""
    by_gid = {}
    for cell in nb.cells:
        gid = _nbg(cell).get("grade_id")
        if cell.get("cell_type") == "code" and isinstance(gid, str):
            by_gid[gid] = cell.source
    out = {}
    for exercise, gid in exercises.items():
        names = []
        try:
            tree = parse_cell(by_gid.get(gid, ""))
        except SyntaxError:
            tree = None
        for node in ast.walk(tree) if tree is not None else ():
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == exercise):
                names = [a.id for a in node.args[1:] if isinstance(a, ast.Name)]
                break
        if not names:
            names = list(EXERCISES[exercise].functions) if exercise in EXERCISES else []
        out[exercise] = names
    return out


def _program(nb, release_nb):
    """(student [(label, tree)], unparsable [(label, error)], aliases, functions) of ``nb``."""
    aliases = dict(_grader_aliases(tuple(_grader_cells(nb, release_nb))))
    parsed, broken = [], []
    for label, source in student_cells(nb, release_nb):
        try:
            parsed.append((label, parse_cell(source)))
        except (SyntaxError, ValueError) as exc:
            broken.append((label, exc))
    student_aliases = dict(aliases)
    for _, tree in parsed:
        _bind_imports(tree, student_aliases)
    return parsed, broken, aliases, student_aliases, _functions([t for _, t in parsed])


@functools.lru_cache(maxsize=64)
def _grader_aliases(sources):
    """What the imports of the grader's cells bind (the same cells for the submission and
    for the instructor's notebook, read once); a shared dict: copy it before changing."""
    aliases = {}
    for source in sources:
        try:
            _bind_imports(parse_cell(source), aliases)
        except SyntaxError:
            pass
    return aliases


def _reference_flags(nb, exercises, source_nb, source_program, parsed, aliases, functions):
    checked = _checked_functions(nb, exercises)
    allowed = {}
    if source_nb is not None:
        s_parsed, _, _, s_aliases, s_functions = source_program
        for exercise in checked:
            refs = EXERCISES[exercise].references if exercise in EXERCISES else ()
            allowed[exercise] = {hit for _, hit in _uses_anywhere(s_parsed, s_functions, s_aliases, refs)}
    label_of = {}
    for label, tree in parsed:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                label_of[node.name] = label
            elif isinstance(node, (ast.Assign, ast.ImportFrom, ast.Import)):
                for name in _bound_names(node):
                    label_of.setdefault(name, label)
    flags, done = [], set()
    for exercise, names in checked.items():
        refs = EXERCISES[exercise].references if exercise in EXERCISES else ()
        for dotted, fn in closure_uses(names, functions, aliases, refs).items():
            if dotted in allowed.get(exercise, ()):
                continue
            where = label_of.get(fn, "a student cell")
            done.add((where, dotted))
            flags.append(f"{where}: {fn} uses the pack's reference {dotted} "
                         f"(exercise {exercise!r} scores 0)")
        # Anywhere else in the student's cells too (a forged result needs the right
        # outputs, and the reference is where they would come from).
        for where, dotted in _uses_anywhere(parsed, functions, aliases, refs):
            if dotted in allowed.get(exercise, ()) or (where, dotted) in done:
                continue
            flag = f"{where}: uses the pack's reference {dotted} (exercise {exercise!r} scores 0)"
            if flag not in flags:
                flags.append(flag)
    return flags


def _reached(names, functions):
    """The student's functions ``names`` and every student function they call by name."""
    seen, todo = [], list(names)
    while todo:
        name = todo.pop(0)
        if name in seen or name not in functions:
            continue
        seen.append(name)
        for fn in functions[name]:
            todo.extend(n.id for n in ast.walk(fn)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    return seen


def _copy_flags(nb, exercises, source_nb, source_program, parsed, aliases, functions):
    """One flag per function of an exercise (or function it calls) that copies one of the
    exercise's references (grader.copies); references the instructor's solution itself
    matches are allowed."""
    checked = _checked_functions(nb, exercises)
    allowed = set()
    if source_nb is not None:
        s_parsed, _, _, s_aliases, s_functions = source_program
        for exercise, names in _checked_functions(source_nb, exercises).items():
            refs = EXERCISES[exercise].references if exercise in EXERCISES else ()
            for name in _reached(names, s_functions):
                for fn in s_functions[name]:
                    found = copies.match(fn, s_aliases, refs)
                    if found:
                        allowed.add((exercise, found[0]))
    label_of = {}
    for label, tree in parsed:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign)):
                for name in ([node.name] if not isinstance(node, ast.Assign)
                             else _bound_names(node)):
                    label_of[name] = label
    flags = []
    for exercise, names in checked.items():
        refs = EXERCISES[exercise].references if exercise in EXERCISES else ()
        for name in _reached(names, functions):
            for fn in functions[name]:
                found = copies.match(fn, aliases, refs)
                if found and (exercise, found[0]) not in allowed:
                    flag = copies.describe(label_of.get(name, "a student cell"), name, exercise,
                                           *found)
                    if flag not in flags:
                        flags.append(flag)
    return flags


def _uses_anywhere(parsed, functions, aliases, references):
    """[(cell label, forbidden dotted name)] for every use in the student's cells."""
    found = []
    for label, tree in parsed:
        for node in ast.walk(tree):
            dotted = None
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in functions:
                dotted = aliases.get(node.id)
            elif isinstance(node, ast.Attribute):
                dotted = resolve(node, aliases)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    hit = _forbidden(f"{node.module}.{alias.name}", references, internals=False)
                    if hit and (label, hit) not in found:
                        found.append((label, hit))
            hit = _forbidden(dotted, references, internals=False)
            if hit and (label, hit) not in found:
                found.append((label, hit))
    return found


def _bound_names(node):
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [a.asname or a.name.split(".")[0] for a in node.names]


# ---------------------------------------------------------------------------------------
# Entry points

def scan(submission_nb, release_nb, exercises, source_nb=None):
    """Static tamper flags of a (rebuilt) submission, as a list of strings.

    submission_nb: the submission after RebuildFromRelease (NotebookNode); release_nb:
    the release it was rebuilt on; exercises: exercise name -> grade id of the test cell
    that checks it; source_nb: the instructor notebook (references its solutions use
    for an exercise are allowed there). Never executes student code; never raises on a
    strange cell (an unparsable one gets a flag saying it was not scanned)."""
    parsed, broken, _grader_aliases, aliases, functions = _program(submission_nb, release_nb)
    flags = []
    for label, exc in broken:
        flags.append(f"{label}: could not be parsed ({type(exc).__name__}: "
                     f"{str(exc)[:80]}), so it was not scanned")
    running, severe = {}, False
    for label, tree in parsed:
        _bind_imports(tree, running)
        scanner = _Scanner({**_grader_aliases, **running})
        scanner.visit(tree)
        flags.extend(f"{label}: {what}{' [severe]' if what in scanner.severe else ''}"
                     for what in scanner.found)
        severe = severe or bool(scanner.severe)
    source_program = _program(source_nb, release_nb) if source_nb is not None else None
    flags.extend(_reference_flags(submission_nb, exercises, source_nb, source_program, parsed,
                                  aliases, functions))
    flags.extend(_copy_flags(submission_nb, exercises, source_nb, source_program, parsed,
                             aliases, functions))
    if severe and exercises:
        flags.append(SEVERE_SUMMARY)
    seen, unique = set(), []
    for flag in flags:
        if flag not in seen:
            seen.add(flag)
            unique.append(flag)
    return unique


def execution_flags(nb):
    """Flags for the executed notebook's cells that hit a limit or stopped the kernel:
    per-cell timeout, the kernel dying (killed, out of CPU time, crashed), MemoryError
    (the sandbox's memory limit). Cells not run after a death are summed up once."""
    flags, not_run = [], 0
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if not isinstance(out, dict) or out.get("output_type") != "error":
                continue
            ename = out.get("ename")
            if ename == "CellTimeoutError":
                flags.append(f"cell {index}: stopped at the per-cell time limit")
            elif ename == "KernelDied":
                flags.append(f"cell {index}: the kernel died (killed itself, CPU or memory limit, "
                             "or crashed)")
            elif ename == "NotRun":
                not_run += 1
            elif ename == "MemoryError":
                flags.append(f"cell {index}: ran out of memory (the sandbox's memory limit)")
    if not_run:
        flags.append(f"{not_run} later code cell(s) were not run (the kernel was gone)")
    return flags


def zeroed_exercises(flags, exercises):
    """exercise -> reason for every exercise a flag gives 0 points: the exercises whose
    reference a submission uses, and all of them after a severe flag."""
    out = {}
    if SEVERE_SUMMARY in flags:
        return {e: "0 points: " + SEVERE_SUMMARY for e in exercises}
    for flag in flags:
        m = ZERO_SUFFIX_RE.search(flag)
        if m and m.group(1) in exercises:
            out.setdefault(m.group(1), f"uses the pack's reference implementation ({flag})")
    return out
