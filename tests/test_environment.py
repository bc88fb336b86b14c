"""requirements.txt (pip) and environment.yml (conda) pin the same packages at the
same versions. Names are compared case-insensitively with - and _ (and .) treated
alike; python and pip are conda-only entries and are ignored."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORED = {"python", "pip"}


def normalise(name):
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def parse_requirements(text):
    """name -> version from ``name==version`` lines; anything else pinned is an error."""
    pins = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)",
                             line)
        if not match:
            raise ValueError(f"requirements.txt line {number}: {line!r} is not name==version")
        pins[normalise(match.group(1))] = match.group(3)
    return pins


def parse_environment(text):
    """name -> version from the ``dependencies:`` list (``- name=version`` or ``==``),
    including a nested ``- pip:`` list; no YAML library needed for this flat file."""
    pins = {}
    in_deps = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith((" ", "\t", "-")):
            in_deps = line.strip() == "dependencies:"
            continue
        item = line.strip()
        if not in_deps or not item.startswith("-"):
            continue
        item = item[1:].strip()
        if item.endswith(":"):  # "- pip:" opens the pip sub-list
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\s*(==?)\s*([^\s=]+))?", item)
        if not match:
            raise ValueError(f"environment.yml line {number}: cannot read {item!r}")
        name, version = normalise(match.group(1)), match.group(3)
        pins[name] = version
    return pins


def test_parsers_on_examples():
    assert parse_requirements("# c\nNumPy==1.0\nscikit_learn == 2.1  # x\n") == \
        {"numpy": "1.0", "scikit-learn": "2.1"}
    with pytest.raises(ValueError, match="line 1"):
        parse_requirements("numpy>=1\n")
    env = ("name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
           "  - pip\n  - jupyter_client=8.1\n  - pip:\n    - nbval==0.11\n")
    assert parse_environment(env) == {"python": "3.11", "pip": None,
                                      "jupyter-client": "8.1", "nbval": "0.11"}


def test_requirements_and_environment_pin_the_same_versions():
    req = parse_requirements((ROOT / "requirements.txt").read_text())
    env = parse_environment((ROOT / "environment.yml").read_text())
    env = {name: version for name, version in env.items() if name not in IGNORED}
    unpinned = sorted(name for name, version in env.items() if version is None)
    assert not unpinned, f"environment.yml entries without a version: {unpinned}"
    only_pip = sorted(set(req) - set(env))
    only_conda = sorted(set(env) - set(req))
    assert not only_pip and not only_conda, (
        f"only in requirements.txt: {only_pip}; only in environment.yml: {only_conda}")
    differ = {name: (req[name], env[name]) for name in req if req[name] != env[name]}
    assert not differ, f"versions differ (pip, conda): {differ}"
    assert "python" in parse_environment((ROOT / "environment.yml").read_text())
