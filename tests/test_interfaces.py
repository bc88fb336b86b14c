"""docs/interfaces.md tells the truth: every signature it writes, ``name(parameters)`` in
backticks, names an importable function or class of the pack with those parameters.

A name is looked up in the modules its heading or its bullet names in backticks (``## Data
(`helpers.data`)``, ``- `activations`: ...``), then in every module of ``helpers``,
``checker``, ``grader`` and ``tools``, where it must be found exactly once.
``a|b(x)`` documents both ``a(x)`` and ``b(x)``; ``optim.a|b(x)`` both ``optim.a`` and
``optim.b``. The documented parameters must be the code's, in order; trailing parameters
with defaults may be left out (any trailing parameters, after a last ``...``), and a
default the doc writes as a Python literal must be the code's. A full dotted name may
also start with ``hub`` (``hub.setup.up``). Spans that are call examples (``record("acc", 0.9)``) are not signatures.

Also: importing any module of the pack changes no process state (umask, environment,
working folder, sys.path).
"""
import ast
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "interfaces.md"
PACKAGES = ("helpers", "checker", "grader", "tools")
FULL_NAME_ROOTS = PACKAGES + ("hub",)   # hub/ holds config files that are not importable
SPAN = re.compile(r"`([^`\n]+)`")
NAME = re.compile(r"^([A-Za-z_][\w.|]*)\(")
PARAM = re.compile(r"^(\*{0,2}[A-Za-z_]\w*|\*|\.\.\.)(=.+)?$")
EXTERNAL = ("np.", "plt.")        # numpy and matplotlib, not the pack


def _all_modules():
    names = []
    for package in PACKAGES:
        names.append(package)
        pkg = importlib.import_module(package)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return names


ALL_MODULES = _all_modules()


def _call(span):
    """(name, parameter text) when ``span`` reads ``name(...)`` or ``name(...) -> ...``."""
    m = NAME.match(span)
    if not m:
        return None
    depth = 0
    for end in range(m.end() - 1, len(span)):
        depth += span[end] == "("
        depth -= span[end] == ")"
        if depth == 0:
            break
    rest = span[end + 1:].strip()
    if depth or (rest and not rest.startswith("->")):
        return None
    return m.group(1), span[m.end():end]


def _split_params(text):
    """Top-level comma split (defaults may hold tuples: ``panel_size=(3.2, 2.4)``)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _section_modules(line):
    """Dotted module names written in backticks on a heading or bullet line."""
    found = []
    for span in SPAN.findall(line):
        name = span.strip("/")
        if re.fullmatch(r"[A-Za-z_][\w.]*", name):
            for prefix in ("", "helpers."):
                if f"{prefix}{name}" in ALL_MODULES:
                    found.append(f"{prefix}{name}")
                    break
    return found


def documented_signatures():
    """[(line number, name, [parameter texts], context modules)] from the doc."""
    out = []
    section, bullet, in_code = [], [], False
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("#"):
            section = _section_modules(line)
        if not line.startswith("  "):             # a bullet's context lasts for its lines
            bullet = _section_modules(line.split(":", 1)[0]) if line.startswith("- `") else []
        for span in SPAN.findall(line):
            call = _call(span.strip())
            if not call or call[0].startswith(EXTERNAL):
                continue
            params = _split_params(call[1])
            if not all(PARAM.match(p) for p in params):
                continue                          # a call example, not a signature
            names = call[0].split("|")
            prefix = names[0].rpartition(".")[0]
            names = [names[0]] + [n if "." in n or not prefix else f"{prefix}.{n}"
                                  for n in names[1:]]
            for name in names:
                out.append((number, name, params, bullet + section))
    return out


SIGNATURES = documented_signatures()


def _resolve(dotted, module):
    """The object ``dotted`` names inside ``module`` (importing submodules), or None."""
    obj = importlib.import_module(module)
    for part in dotted.split("."):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif inspect.ismodule(obj) and hasattr(obj, "__path__"):
            try:
                obj = importlib.import_module(f"{obj.__name__}.{part}")
            except ImportError:
                return None
        else:
            return None
    return obj


def lookup(name, context):
    root, _, rest = name.partition(".")
    if root in FULL_NAME_ROOTS and rest:           # a full dotted name
        return _resolve(rest, root)
    for module in context:
        obj = _resolve(name, module)
        if obj is not None:
            return obj
    found = {}
    for module in ALL_MODULES:
        obj = _resolve(name, module)
        if obj is not None and not inspect.ismodule(obj):
            found.setdefault(id(obj), (module, obj))
    assert len(found) == 1, f"{name}: found in {sorted(m for m, _ in found.values())}"
    return next(iter(found.values()))[1]


def _code_params(obj):
    """[(text as the doc writes it, has a default, default)] of obj's parameters."""
    params, star_written = [], False
    for p in inspect.signature(obj).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            params.append((f"*{p.name}", True, p.empty))
            star_written = True
        elif p.kind is p.VAR_KEYWORD:
            params.append((f"**{p.name}", True, p.empty))
        else:
            if p.kind is p.KEYWORD_ONLY and not star_written:
                params.append(("*", True, p.empty))
                star_written = True
            params.append((p.name, p.default is not p.empty, p.default))
    return params


def test_the_doc_documents_signatures():
    assert len(SIGNATURES) > 60
    assert {"check", "helpers.data.load_mnist", "judge_payload"} & {n for _, n, _, _ in SIGNATURES}


@pytest.mark.parametrize("number,name,params,context", SIGNATURES,
                         ids=[f"line{n}-{name}" for n, name, _, _ in SIGNATURES])
def test_documented_signature_matches_the_code(number, name, params, context):
    obj = lookup(name, context)
    assert callable(obj), f"docs/interfaces.md:{number}: {name} is not callable"
    code = _code_params(obj)
    more = params[-1:] == ["..."]                 # "f(a, b, ...)": more parameters follow
    params = params[:-1] if more else params
    assert "..." not in params, f"docs/interfaces.md:{number}: '...' only at the end"
    doc_names = [p.split("=", 1)[0] for p in params]
    code_names = [text for text, _, _ in code]
    where = f"docs/interfaces.md:{number}: {name}({', '.join(params)}) but the code has " \
            f"({', '.join(code_names)})"
    assert doc_names == code_names[:len(doc_names)], where
    assert more or all(has_default for _, has_default, _ in code[len(doc_names):]), where
    for text, (_, has_default, default) in zip(params, code):
        if "=" in text:
            assert has_default, where
            try:
                value = ast.literal_eval(text.split("=", 1)[1])
            except (ValueError, SyntaxError):
                continue                          # np.float64, TIMEOUT, ...: not a literal
            assert value is Ellipsis or value == default, where   # "eps=...": any default


def test_importing_the_pack_changes_no_process_state():
    probe = textwrap.dedent(f"""
        import importlib, json, os, sys
        calls = []
        real_umask = os.umask
        os.umask = lambda mask: calls.append(mask) or real_umask(mask)
        import matplotlib, nbformat, nbgrader.api, numpy   # third-party first: not ours
        calls.clear()
        env, cwd, path = dict(os.environ), os.getcwd(), list(sys.path)
        for name in {ALL_MODULES!r}:
            importlib.import_module(name)
        print(json.dumps({{"umask calls": calls, "environment": dict(os.environ) == env,
                          "working folder": os.getcwd() == cwd, "sys.path": sys.path == path}}))
    """)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {
        "umask calls": [], "environment": True, "working folder": True, "sys.path": True}
