"""Copies of the pack's reference implementations, found in a submission's source.

The pack ships every graded solution as readable source (``helpers/activations.py``,
``losses.py``, ``layers.py``, ``optim.py``, ``linear.py``, ``regularization.py``...: the
``references`` of each exercise in ``checker.lessons``). ``grader.flags`` flags a *call* to
one; this module finds a *copy*: a student function that is a reference's source after
normalising what a copy changes cheaply.

:func:`normalise` reads a function through ``ast`` and drops its docstrings, comments
(``ast`` has none), annotations, decorators and formatting (``ast.unparse``), names the
function ``F`` and its arguments and local variables ``v0, v1, ...`` in order of first
appearance, and writes imported modules by their full names (``np.exp`` -> ``numpy.exp``).
Two functions that differ only in those respects have the same normal form.

:func:`copy_flags` compares each function a test cell passes to ``check`` with every
reference of its exercise: the same normal form is a copy; a near copy is a normal form
sharing at least :data:`NEAR` of its tokens with a reference of at least
:data:`NEAR_MIN_NODES` AST nodes (short references are what honest answers look like too:
the instructor's own solutions reach 0.89 on the five-line softmax). A reference the
instructor's solution itself matches is not flagged. A copy flag does not change the
score: it goes to the report and the CSV for the tutor to judge.
"""
import ast
import copy
import difflib
import functools
import importlib
import inspect
import io
import textwrap
import tokenize

#: Share of normalised tokens (difflib ratio) from which a function is a near copy.
NEAR = 0.95
#: Smallest reference (AST nodes of its definition) that a near copy is looked for in.
NEAR_MIN_NODES = 80


class _Renamer(ast.NodeTransformer):
    """Renames the function, its arguments and its local names; expands module aliases."""

    def __init__(self, aliases):
        self.aliases = aliases
        self.names = {}

    def _canonical(self, old):
        if old not in self.names:
            self.names[old] = f"v{len(self.names)}"
        return self.names[old]

    def _arguments(self, args):
        every = args.posonlyargs + args.args + args.kwonlyargs
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in every:
            arg.arg = self._canonical(arg.arg)
            arg.annotation = None

    def visit_FunctionDef(self, node):
        node.name = "F"
        node.returns = None
        node.decorator_list = []
        self._arguments(node.args)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._arguments(node.args)
        self.generic_visit(node)
        return node

    def visit_Name(self, node):
        if node.id in self.names or isinstance(node.ctx, (ast.Store, ast.Del)):
            node.id = self._canonical(node.id)
        elif node.id in self.aliases:
            node.id = self.aliases[node.id]
        return node

    def visit_arg(self, node):
        node.annotation = None
        return node


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalise(function, aliases=None):
    """The normal form (a string) of a function node (``ast.FunctionDef`` or
    ``ast.Lambda``); ``aliases``: name -> module (``{"np": "numpy"}``) in its scope."""
    node = _strip_docstrings(copy.deepcopy(function))
    node = _Renamer(dict(aliases or {})).visit(node)
    return ast.unparse(ast.fix_missing_locations(node))


def tokens(text):
    """The tokens of a normal form (names, operators, numbers, strings), for comparison."""
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.ENDMARKER, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError):
        return text.split()


def similarity(a, b):
    """Share of tokens two normal forms have in common (difflib's ratio, 0..1)."""
    return difflib.SequenceMatcher(None, tokens(a), tokens(b), autojunk=False).ratio()


def _module_aliases(module):
    """name -> module for the ``import x [as y]`` statements of ``module``'s source."""
    aliases = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = \
                    alias.name if alias.asname else alias.name.split(".")[0]
    return aliases


@functools.lru_cache(maxsize=None)
def reference_forms(dotted):
    """[(dotted name, normal form, AST nodes)] of the reference ``dotted``: one function,
    or every public function of a module. [] for what is not Python source."""
    try:
        obj = importlib.import_module(dotted)
    except ImportError:
        module_name, _, attr = dotted.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError):
            return []
    if inspect.ismodule(obj):
        found = []
        for name, member in vars(obj).items():
            if inspect.isfunction(member) and member.__module__ == obj.__name__ \
                    and not name.startswith("_"):
                found.extend(reference_forms(f"{dotted}.{name}"))
        return found
    if not inspect.isfunction(obj):
        return []
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return []
    node = tree.body[0]
    aliases = _module_aliases(inspect.getmodule(obj))
    return [(dotted, normalise(node, aliases), sum(1 for _ in ast.walk(node)))]


def match(function, aliases, references):
    """(dotted reference, similarity) of the best reference ``function`` copies (1.0: the
    same normal form; >= NEAR: a near copy of a reference of >= NEAR_MIN_NODES nodes), or
    None. ``references``: dotted names (an exercise's ``references``)."""
    form = normalise(function, aliases)
    best = None
    for dotted in references:
        for name, ref_form, size in reference_forms(dotted):
            if ref_form == form:
                return name, 1.0
            if size >= NEAR_MIN_NODES:
                ratio = similarity(form, ref_form)
                if ratio >= NEAR and (best is None or ratio > best[1]):
                    best = (name, ratio)
    return best


def describe(where, function_name, exercise, dotted, ratio):
    """The flag's text (no score suffix: the tutor judges)."""
    how = ("after normalising names, comments, docstrings and formatting" if ratio >= 1.0
           else f"a near copy: {ratio:.0%} of its normalised tokens in common")
    return (f"{where}: {function_name} matches the pack's reference implementation of "
            f"{exercise} ({dotted}; {how}): a copy? for the tutor to judge")
