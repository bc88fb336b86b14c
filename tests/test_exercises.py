"""checker.lessons and checker.judge: the exercise table, seeds, cases, and the judge
``verify``."""
import copy
import hashlib
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from checker import internals
from checker.cases import case_seed
from checker.judge import Verdict, verify
from checker.lessons import EXERCISES, cases_for
from checker.runner import StudentError, run_case

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "interfaces.md"
NAMES = sorted(EXERCISES)


def _contract_exercises():
    """Exercise names in the first column of the contract's 'Autograded exercises' table."""
    text = CONTRACT.read_text(encoding="utf-8")
    section = text[text.index("## Autograded exercises"):]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(re.findall(r"`(\w+)`", first))
    return names


def _reference_outputs(name, seed=None, hidden=False):
    """The outputs a perfect submission produces: the reference outputs themselves (for
    xavier_init, whose outputs are random, those of the reference kernel run as a student)."""
    if name == "xavier_init":
        from helpers.layers import xavier_init
        return [run_case(EXERCISES[name], (xavier_init,), case)
                for case in cases_for(name, seed, hidden)]
    return [{**EXERCISES[name].expected(case),
             **{f"{key}_after": case[key] for key in case.get("unchanged") or ()}}
            for case in cases_for(name, seed, hidden)]


def test_the_table_has_exactly_the_contracts_exercises():
    assert set(EXERCISES) == _contract_exercises()


@pytest.mark.parametrize("name", NAMES)
def test_references_name_real_objects(name):
    exercise = EXERCISES[name]
    assert exercise.references
    for dotted in exercise.references:
        module, _, attr = dotted.rpartition(".")
        try:
            obj = importlib.import_module(dotted)  # a whole module (helpers.mlp)
        except ImportError:
            obj = getattr(importlib.import_module(module), attr)
        assert obj is not None


def test_grading_internals_exist():
    for package in internals.PACKAGES:
        importlib.import_module(package)
    for dotted in internals.PUBLIC:
        module, _, name = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
        assert not internals.is_internal(dotted)


def test_case_seed_is_a_stable_hash():
    text = "coursepack-check\0softmax\0hidden\0" + "42"
    want = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    assert case_seed("softmax", True, "42") == want
    assert case_seed("softmax", True, 42) == want      # the env gives strings; ints agree
    seeds = {case_seed("softmax", h, s) for h in (False, True) for s in (None, "1", "2")}
    assert len(seeds) == 6                              # visible/hidden and every seed differ
    assert case_seed("softmax", False) != case_seed("sigmoid", False)


@pytest.mark.parametrize("name", NAMES)
def test_cases_are_reproducible_and_change_with_the_seed(name):
    def flat(cases):
        return [np.asarray(v, dtype=float).ravel() for case in cases for v in _arrays(case)]
    a, b = flat(cases_for(name)), flat(cases_for(name))
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    c = flat(cases_for(name, seed="7"))
    d = flat(cases_for(name, hidden=True))
    for other in (c, d):
        assert len(a) != len(other) or not all(
            x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, other))


def _arrays(obj):
    """Every numeric array/number inside a case, except its text label."""
    if isinstance(obj, dict):
        for key in sorted(obj):
            if key != "label":
                yield from _arrays(obj[key])
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _arrays(item)
    elif isinstance(obj, np.ndarray) or (isinstance(obj, (int, float))
                                         and not isinstance(obj, bool)):
        yield obj


@pytest.mark.parametrize("name", NAMES)
def test_float_inputs_are_float64_and_there_are_several_cases(name):
    cases = cases_for(name)
    assert len(cases) >= 3
    for case in cases:
        assert isinstance(case["label"], str) and case["label"]
        for arr in _arrays(case):
            if isinstance(arr, np.ndarray) and arr.dtype.kind == "f":
                assert arr.dtype == np.float64


def test_edge_cases_are_present():
    z = np.concatenate([c["z"].ravel() for c in cases_for("sigmoid")])
    assert z.max() == 1000 and z.min() == -1000
    assert any(np.any(c["w"] == 0) for c in cases_for("l1_penalty"))
    assert any(np.ptp(c["Z"].max(axis=-1)) >= 1000 for c in cases_for("softmax"))
    assert any(np.abs(c["logits"]).max() >= 999 for c in cases_for("softmax_cross_entropy"))
    assert any(np.any(c["X"] @ c["w"] == 0) for c in cases_for("logistic_predict"))
    assert all(len(c["dws"]) >= 5 for c in cases_for("adam"))
    shapes = [c["W"].shape for c in cases_for("softmax_loss_grad")]
    assert all(D != K for D, K in shapes)                # so a transposed dW shows


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed,hidden", [(None, False), (None, True), ("2024", False)])
def test_the_reference_outputs_pass_and_agree_with_finite_differences(name, seed, hidden):
    verdict = verify(name, seed, hidden, _reference_outputs(name, seed, hidden))
    assert verdict.passed, verdict.message
    if EXERCISES[name].gradients(cases_for(name, seed, hidden)[0]):
        assert verdict.max_rel_error is not None and verdict.max_rel_error < 1e-7


def test_a_wrong_reference_would_be_caught_by_the_finite_differences(monkeypatch):
    """If a kernel's gradient were wrong, the finite differences (of its loss) disagree."""
    from helpers import losses
    real = losses.softmax_cross_entropy

    def doubled(logits, y):
        loss, d = real(logits, y)
        return loss, 2 * d
    outputs = _reference_outputs("softmax_cross_entropy")
    outputs = [{"loss": o["loss"], "dlogits": 2 * o["dlogits"]} for o in outputs]
    monkeypatch.setattr(losses, "softmax_cross_entropy", doubled)
    broken = copy.copy(EXERCISES["softmax_cross_entropy"])
    broken.kernel = doubled               # the family's expected result comes from it
    monkeypatch.setitem(EXERCISES, "softmax_cross_entropy", broken)
    verdict = verify("softmax_cross_entropy", None, False, outputs)
    assert not verdict.passed and "finite differences" in verdict.message


def test_verify_is_pure():
    outputs = _reference_outputs("softmax_loss_grad")
    snapshot = copy.deepcopy(outputs)
    first = verify("softmax_loss_grad", None, False, outputs)
    second = verify("softmax_loss_grad", None, False, outputs)
    assert first == second
    assert all(np.array_equal(a["dW"], b["dW"]) for a, b in zip(outputs, snapshot))


def test_verify_ignores_the_environment(monkeypatch):
    outputs = _reference_outputs("sigmoid")
    monkeypatch.setenv("COURSE_CHECK_SEED", "999")
    monkeypatch.setenv("COURSE_GRADING", "1")
    assert verify("sigmoid", None, False, outputs).passed


def test_outputs_for_another_seed_fail():
    outputs = _reference_outputs("softmax", seed="1")
    verdict = verify("softmax", "2", False, outputs)
    assert not verdict.passed


def _mutations(outputs):
    """(description, malformed outputs) pairs derived from good outputs."""
    first = outputs[0]
    key = sorted(first)[0]
    yield "not a list", tuple(outputs)
    yield "a missing case", outputs[:-1]
    yield "an extra case", outputs + [outputs[0]]
    yield "a case that is a string", ["oops"] + outputs[1:]
    yield "a case that is None", [None] + outputs[1:]
    yield "a missing key", [{k: v for k, v in first.items() if k != key}] + outputs[1:]
    yield "an extra key", [{**first, "zz": 1.0}] + outputs[1:]
    yield "a string entry", [{**first, key: "text"}] + outputs[1:]
    yield "a None entry", [{**first, key: None}] + outputs[1:]
    yield "a bool entry", [{**first, key: True}] + outputs[1:]
    yield "a nested junk entry", [{**first, key: {"a": [1, (2, None)]}}] + outputs[1:]
    yield "a StudentError entry", [{**first, key: StudentError("raised X")}] + outputs[1:]
    yield "a StudentError case", [StudentError("raised X")] + outputs[1:]
    yield "wrong shapes", [_map_arrays(first, lambda a: np.zeros(a.shape + (2,)))] + outputs[1:]
    yield "NaN everywhere", [_map_arrays(first, lambda a: np.full(a.shape, np.nan))] + outputs[1:]
    yield "inf everywhere", [_map_arrays(first, lambda a: np.full(a.shape, np.inf))] + outputs[1:]
    yield "object arrays", [_map_arrays(first, lambda a: a.astype(object))] + outputs[1:]
    yield "string arrays", [_map_arrays(first, lambda a: a.astype(str))] + outputs[1:]


def _map_arrays(obj, f):
    if isinstance(obj, dict):
        return {k: _map_arrays(v, f) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_arrays(v, f) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_map_arrays(v, f) for v in obj)
    if isinstance(obj, (np.ndarray, float)) and not isinstance(obj, bool):
        return f(np.asarray(obj, dtype=float))
    return obj


@pytest.mark.parametrize("name", NAMES)
def test_malformed_outputs_give_a_failed_verdict_never_an_exception(name):
    outputs = _reference_outputs(name)
    for what, bad in _mutations(outputs):
        verdict = verify(name, None, False, bad)
        assert isinstance(verdict, Verdict)
        assert not verdict.passed, what
        assert verdict.message.startswith(f"{name}:"), (what, verdict.message)


@pytest.mark.parametrize("bad", [
    ("no_such_exercise", None, False), ("sigmoid", None, "yes"), ("sigmoid", 1.5, False),
    (None, None, False), (["sigmoid"], None, False)])
def test_bad_arguments_give_a_failed_verdict(bad):
    name, seed, hidden = bad
    verdict = verify(name, seed, hidden, [])
    assert not verdict.passed and verdict.message


def test_run_case_records_exceptions_with_the_line():
    def sigmoid(z):
        return 1 / 0
    out = run_case(EXERCISES["sigmoid"], (sigmoid,), cases_for("sigmoid")[0])
    assert isinstance(out, StudentError)
    assert "sigmoid raised ZeroDivisionError" in out.message and "return 1 / 0" in out.message


def test_run_case_works_on_copies():
    case = cases_for("softmax")[0]
    before = case["Z"].copy()

    def softmax(Z):
        Z[...] = 0
        return np.full(Z.shape, 1 / Z.shape[1])
    out = run_case(EXERCISES["softmax"], (softmax,), case)
    assert np.array_equal(case["Z"], before)              # the case is untouched ...
    assert np.array_equal(out["Z_after"], np.zeros_like(before))  # ... the change recorded
    verdict = verify("softmax", None, False,
                     [out] + _reference_outputs("softmax")[1:])
    assert not verdict.passed and "changed its argument Z in place" in verdict.message


def test_wrong_return_forms_are_explained():
    def logistic_loss_grad(w, X, t):
        return X.T @ (X @ w - t)
    outputs = [run_case(EXERCISES["logistic_loss_grad"], (logistic_loss_grad,), c)
               for c in cases_for("logistic_loss_grad")]
    verdict = verify("logistic_loss_grad", None, False, outputs)
    assert "must return a tuple (loss, dw), got a ndarray of shape" in verdict.message


def test_xavier_statistics_do_not_fail_a_correct_init_by_chance():
    from helpers.layers import xavier_init
    for seed in range(25):
        outputs = [run_case(EXERCISES["xavier_init"], (xavier_init,), c)
                   for c in cases_for("xavier_init", seed=str(seed))]
        verdict = verify("xavier_init", str(seed), False, outputs)
        assert verdict.passed, verdict.message


def test_every_model_the_notebooks_call_by_name_is_a_flagged_reference():
    """helpers.linear holds complete solutions of graded exercises (the experiments call
    them by name): a solution cell calling one must be flagged like any reference."""
    import inspect

    from checker.lessons import EXERCISES
    from helpers import linear

    referenced = {ref for ex in EXERCISES.values() for ref in ex.references}
    public = {f"helpers.linear.{name}" for name, obj in vars(linear).items()
              if inspect.isfunction(obj) and obj.__module__ == linear.__name__ and not name.startswith("_")}
    assert public, "helpers.linear has no functions?"
    missing = sorted(public - referenced - {"helpers.linear.softmax_predict"})
    assert missing == [], f"not in any exercise's references: {missing}"


def test_a_watched_input_changed_in_place_is_reported_and_others_are_copies():
    """A case with 'unchanged' inputs hands the student's function the case's own arrays
    and records what the call left in them; other cases still get deep copies."""
    name = "logistic_loss_grad"
    case = next(c for c in cases_for(name, "3", True) if c.get("unchanged"))

    def logistic_loss_grad(w, X, t):
        z = X @ w
        loss = float(np.mean(np.logaddexp(0.0, z) - t * z))
        X *= (0.5 * (1 + np.tanh(0.5 * z)) - t)[:, None]     # the caller's X, scaled
        return loss, X.sum(axis=0) / len(t)
    out = run_case(EXERCISES[name], (logistic_loss_grad,), case)
    assert not np.array_equal(out["X_after"], case["X"])
    verdict = verify(name, "3", True, [run_case(EXERCISES[name], (logistic_loss_grad,), c)
                                       for c in cases_for(name, "3", True)])
    assert not verdict.passed and "changed its input X in place" in verdict.message
    assert verify(name, "3", False,                           # visible: copies, no record
                  [run_case(EXERCISES[name], (logistic_loss_grad,), c)
                   for c in cases_for(name, "3", False)]).passed


def test_a_strict_case_turns_overflow_into_an_error_and_leaves_numpy_as_it_was():
    before = np.geterr()
    case = next(c for c in cases_for("sigmoid_layer", "3", True) if c.get("strict"))

    def sigmoid_forward(x):
        out = 1 / (1 + np.exp(-x))
        return out, out
    out = run_case(EXERCISES["sigmoid_layer"], (sigmoid_forward, lambda d, c: d * c * (1 - c)),
                   case)
    assert isinstance(out, StudentError)
    assert "FloatingPointError" in out.message and "without floating-point warnings" in out.message
    assert np.geterr() == before
    loose = dict(case, strict=False)
    with np.errstate(over="ignore"):
        assert isinstance(run_case(EXERCISES["sigmoid_layer"],
                                   (sigmoid_forward, lambda d, c: d * c * (1 - c)), loose), dict)
