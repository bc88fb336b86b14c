"""The checker's observable behaviour, recorded before the checker moved out of helpers/
(issue 14) and compared byte for byte: the cases every exercise draws (visible, hidden,
with a course seed), the verdict and message for every correct and wrong solution of
tests/mistakes.py, and the grading-mode payload of every correct solution.

``tests/data/verdicts.json`` was written by the code of main before the move. With
``COURSE_WRITE_GOLDEN=1`` the test writes the file instead of comparing: only for an
intended change of what students see.
"""
import hashlib
import json
import os
from pathlib import Path

import pytest

import mistakes
from checker.judge import verify
from checker.lessons import EXERCISES, cases_for
from checker.runner import collect_outputs
from checker.wire import build_payload, encode_outputs

GOLDEN = Path(__file__).resolve().parent / "data" / "verdicts.json"
SEEDS = ((None, False), (None, True), ("4242", False), ("4242", True))

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _key(seed, hidden):
    return f"{seed or 'default'}-{'hidden' if hidden else 'visible'}"


def _digest(obj):
    text = json.dumps(obj, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _solutions(name):
    """{label: functions} for the correct solution and every mistake of ``name``."""
    out = {"correct": tuple(mistakes.CORRECT[name])}
    for func in mistakes.MISTAKES.get(name, []):
        out[func.__name__] = mistakes.as_student_functions(func)
    return out


def observed(name):
    """What students and the grader see of exercise ``name`` (see the module docstring)."""
    cases = {_key(s, h): _digest(encode_outputs(cases_for(name, s, h))) for s, h in SEEDS}
    verdicts = {}
    for label, functions in _solutions(name).items():
        verdicts[label] = {}
        for seed, hidden in SEEDS:
            outputs = collect_outputs(EXERCISES[name], functions, seed, hidden)
            verdict = verify(name, seed, hidden, outputs)
            verdicts[label][_key(seed, hidden)] = [verdict.passed, verdict.message]
    payload = build_payload(name, False, "4242",
                            collect_outputs(EXERCISES[name], mistakes.CORRECT[name], "4242", False))
    return {"cases": cases, "verdicts": verdicts, "payload": _digest(payload)}


def _golden():
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_the_same_exercises():
    if os.environ.get("COURSE_WRITE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        data = {name: observed(name) for name in sorted(EXERCISES)}
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert sorted(EXERCISES) == sorted(_golden())


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_cases_verdicts_and_payloads_are_unchanged(name):
    want, got = _golden()[name], observed(name)
    assert got["cases"] == want["cases"], "the cases changed"
    assert sorted(got["verdicts"]) == sorted(want["verdicts"])
    for label, by_seed in want["verdicts"].items():
        for key, verdict in by_seed.items():
            assert got["verdicts"][label][key] == verdict, (label, key)
    assert got["payload"] == want["payload"], "the grading-mode payload changed"
