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
from checker.cases import case_seed, dims
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
    assert any(np.abs(c["logits"]).max() >= 999 for c in cases_for("mse_softmax"))
    assert any(np.any(c["X"] @ c["w"] == 0) for c in cases_for("logistic_predict"))
    assert all(len(c["dws"]) >= 5 for c in cases_for("adam"))
    shapes = [c["W"].shape for c in cases_for("softmax_loss_grad")]
    assert all(D != K for D, K in shapes)                # so a transposed dW shows


# Drawing early_stopping_gd's cases runs the reference training (0.2 s a draw).
SEEDS_PER_EXERCISE = {"early_stopping_gd": 10}


@pytest.mark.parametrize("name", NAMES)
def test_every_seed_draws_its_cases(name):
    """A grading run draws every exercise's cases from its one seed: a seed for which the
    drawing fails gives every submission of the run 0 on that exercise. mlp_loss_grad
    failed so for 13 of the course seeds 0-299 (five distinct sizes out of five values,
    drawn by rejection alone)."""
    for seed in range(SEEDS_PER_EXERCISE.get(name, 200)):
        for hidden in (False, True):
            assert cases_for(name, str(seed), hidden), (name, seed, hidden)


def test_dims_draws_distinct_sizes_when_the_range_is_tight():
    for seed in range(500):
        sizes = dims(np.random.default_rng(seed), 2, 6, 5)
        assert sorted(sizes) == [2, 3, 4, 5, 6], (seed, sizes)
    with pytest.raises(ValueError, match="6 distinct sizes in \\[2, 6\\]"):
        dims(np.random.default_rng(0), 2, 6, 6)
    assert len(dims(np.random.default_rng(0), 2, 3, 5, distinct=False)) == 5


@pytest.mark.parametrize("seed,hidden", [("24", False), ("90", True)])
def test_a_seed_where_rejection_alone_failed_grades_the_reference_in_full(seed, hidden):
    verdict = verify("mlp_loss_grad", seed, hidden, _reference_outputs("mlp_loss_grad", seed, hidden))
    assert verdict.passed, verdict.message


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
    real = losses.mse_softmax

    def doubled(logits, y):
        loss, d = real(logits, y)
        return loss, 2 * d
    outputs = _reference_outputs("mse_softmax")
    outputs = [{"loss": o["loss"], "dlogits": 2 * o["dlogits"]} for o in outputs]
    monkeypatch.setattr(losses, "mse_softmax", doubled)
    broken = copy.copy(EXERCISES["mse_softmax"])
    broken.kernel = doubled               # the family's expected result comes from it
    monkeypatch.setitem(EXERCISES, "mse_softmax", broken)
    verdict = verify("mse_softmax", None, False, outputs)
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


# ------------------------------------------- the student's network and training loops

@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_the_network_reference_is_helpers_mlp_in_float64(activation, loss):
    """mlp_loss_grad's reference, composed from the kernels, is helpers.mlp.MLP."""
    from checker.lessons.mlp import mlp_reference
    from helpers import mlp

    rng = np.random.default_rng(0)
    model = mlp.MLP((6, 5, 4, 3), activation=activation, loss=loss, weight_decay=0.3, seed=0,
                    dtype=np.float64)
    model.theta[...] = rng.normal(0, 0.5, size=model.theta.shape)
    X, y = rng.normal(size=(7, 6)), rng.integers(0, 3, size=7)
    params = {key: value.copy() for key, value in model.params.items()}
    want_loss, want = model.loss(X, y)
    got_loss, got = mlp_reference(params, X, y, activation, loss, 0.3)
    assert abs(got_loss - want_loss) <= 1e-12 * abs(want_loss)
    assert set(got) == set(want)
    for key in want:
        assert np.allclose(got[key], want[key], rtol=1e-10, atol=1e-13), key


def test_the_epoch_reference_walks_helpers_mlp_trains_minibatches():
    """train_epoch's reference with SGD on the float64 MLP gives helpers.mlp.train's
    minibatch losses and weights (same initialisation, same seed)."""
    from checker.lessons.mlp import _epoch_reference, mlp_reference
    from helpers import mlp, optim

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(45, 8)), rng.integers(0, 3, size=45)
    model = mlp.MLP((8, 6, 3), activation="tanh", seed=3, dtype=np.float64)
    params = {key: value.copy() for key, value in model.params.items()}
    hist = mlp.train(model, X, y, optimizer="momentum", learning_rate=0.05,
                     optim_config={"momentum": 0.9}, epochs=2, batch_size=10, eval_every=None,
                     seed=5, progress=False)
    configs = {key: {"learning_rate": 0.05, "momentum": 0.9} for key in params}
    order = np.random.default_rng(5)
    ours = []
    for _ in range(2):
        params, losses = _epoch_reference(
            params, X, y, lambda p, Xb, yb: mlp_reference(p, Xb, yb, "tanh"), optim.momentum,
            configs, 10, order)
        ours += losses
    assert np.allclose(ours, hist["batch_loss"], rtol=1e-12)
    for key in params:
        assert np.allclose(params[key], model.params[key], rtol=1e-10, atol=1e-13), key


def test_the_early_stopping_reference_is_helpers_training_train():
    from helpers import linear, training

    exercise = EXERCISES["early_stopping_gd"]
    for seed, hidden in [(None, False), (None, True), ("99", False)]:
        for case in cases_for("early_stopping_gd", seed, hidden):
            want_w, hist = training.train(
                linear.logistic_loss_grad, case["w0"], case["X"], case["t"], case["X_hold"],
                case["t_hold"], schedule=lambda u, eta=case["eta"]: eta, epochs=case["epochs"],
                batch_size=case["batch_size"], patience=case["patience"],
                rng=np.random.default_rng(case["seed"]))
            got = exercise.expected(case)
            assert np.array_equal(got["w"], want_w)
            assert np.array_equal(got["hold_losses"], hist.hold_loss)
            # the patience ends every case early, but the one with a patience longer
            # than the epochs
            assert hist.stopped == (case["patience"] <= case["epochs"])
            for name, wrong in exercise.mistakes(case).items():
                assert not np.allclose(wrong["w"], got["w"], rtol=1e-3), name


def _early_stopping_while(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs, batch_size,
                          patience, rng):
    """Correct, written differently: a while loop, a countdown and a dict of the best."""
    w = w0 + 0.0
    losses = [float(loss_grad(w, X_hold, t_hold)[0])]
    best = {"loss": losses[0], "w": np.copy(w)}
    left, epoch = patience, 0
    while epoch < epochs and left > 0:
        epoch += 1
        order = rng.permutation(X.shape[0])
        for batch in [order[i:i + batch_size] for i in range(0, len(order), batch_size)]:
            w -= eta * loss_grad(w, X[batch], t[batch])[1]
        losses.append(float(loss_grad(w, X_hold, t_hold)[0]))
        if losses[-1] < best["loss"]:
            best = {"loss": losses[-1], "w": np.copy(w)}
            left = patience
        else:
            left -= 1
    return best["w"], np.array(losses)


def _mlp_loss_grad_layers(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Correct, written differently: a tape of dicts, the decay folded into a loop over the
    layers on the way back."""
    n = len([k for k in params if k[0] == "W"])
    tape, h = [], X
    for layer in range(1, n + 1):
        h, dense_cache = dense[0](h, params["W%d" % layer], params["b%d" % layer])
        act_cache = None
        if layer != n:
            h, act_cache = activation[0](h)
        tape.append({"dense": dense_cache, "act": act_cache})
    value, g = loss(h, y)
    grads = {}
    for layer in reversed(range(1, n + 1)):
        step = tape[layer - 1]
        if layer != n:
            g = activation[1](g, step["act"])
        g, dW, db = dense[1](g, step["dense"])
        W = params["W%d" % layer]
        grads["W%d" % layer], grads["b%d" % layer] = dW + weight_decay * W, db
        value += weight_decay * np.vdot(W, W) / 2
    return value, grads


def _train_epoch_in_place(params, X, y, loss_grad, update, configs, batch_size, rng):
    """Correct, written differently: the caller's dict updated in place, the batch count
    computed first, the losses as an array."""
    import math

    perm = rng.permutation(len(X))
    out = np.empty(math.ceil(len(X) / batch_size))
    for i in range(len(out)):
        rows = perm[i * batch_size:(i + 1) * batch_size]
        out[i], grads = loss_grad(params, X[rows], y[rows])
        for key, value in list(params.items()):
            new, cfg = update(value, grads[key], configs[key])
            params[key] = new
            configs[key] = cfg
    return params, out


@pytest.mark.parametrize("name,function", [
    ("early_stopping_gd", _early_stopping_while), ("mlp_loss_grad", _mlp_loss_grad_layers),
    ("train_epoch", _train_epoch_in_place)])
def test_correct_code_written_differently_passes(name, function):
    with np.errstate(over="ignore"):
        for seed, hidden in [(None, False), (None, True), ("5", False)]:
            outputs = [run_case(EXERCISES[name], (function,), case)
                       for case in cases_for(name, seed, hidden)]
            verdict = verify(name, seed, hidden, outputs)
            assert verdict.passed, verdict.message
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
