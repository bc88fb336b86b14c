"""Every promise an exercise's text makes is checked by some case (issue 15 item 6).

Each exercise of ``checker.lessons`` declares its ``promises`` (``checker.exercise.Promise``:
what the notebook says the check verifies, and which cases verify it). Here:

- every exercise declares promises, and every promise has a case in the visible check or
  in every hidden draw (the table of promises against cases is printed with ``-s``);
- the hidden check adds cases the visible one does not have, and the visible cases are
  the start of a hidden draw of the same kinds;
- each promise has a mistake that breaks it (``BREAKERS``; most are named mistakes of
  tests/mistakes.py, the rest wrap a correct solution so that it breaks only that
  promise), and that mistake fails the check when it is run on the promise's cases alone
  (every other case gets the correct solution's outputs), in several hidden draws.
"""
import copy

import numpy as np
import pytest

import mistakes
from checker.judge import verify
from checker.lessons import EXERCISES, cases_for
from checker.runner import run_case

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SEEDS = ("h-1", "h-2", "h-3")
M = {m.__name__: m for ms in mistakes.MISTAKES.values() for m in ms}


def named(mistake_name):
    """The student functions of a named mistake of tests/mistakes.py."""
    return mistakes.as_student_functions(M[mistake_name])


def _scribble(obj):
    """Change an input in place (every array of a dict; ints stay ints)."""
    if isinstance(obj, dict):
        for value in obj.values():
            _scribble(value)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            obj += 1.5
        else:
            obj[...] = np.where(obj == 0, 1, 0)


def changes_input(exercise, index, which=0):
    """The correct solution, except that function ``which`` changes its argument
    ``index`` in place after computing its (right) result."""
    functions = list(mistakes.CORRECT[exercise])
    good = functions[which]

    def wrapper(*args):
        result = good(*copy.deepcopy(args))
        _scribble(args[index])
        return result
    wrapper.__name__ = good.__name__
    functions[which] = wrapper
    return tuple(functions)


def matrices_only(exercise):
    """The correct layer, except that its forward refuses anything but a matrix."""
    forward, backward = mistakes.CORRECT[exercise]

    def wrapper(x):
        if np.ndim(x) != 2:
            raise ValueError(f"expected a matrix, got shape {np.shape(x)}")
        return forward(x)
    wrapper.__name__ = forward.__name__
    return wrapper, backward


def updates_in_place(exercise):
    """The correct rule, except that it writes next_w into the w it was given."""
    (good,) = mistakes.CORRECT[exercise]

    def rule(w, dw, config):
        next_w, config = good(np.array(w), dw, config)
        w[...] = next_w
        return w, config
    rule.__name__ = good.__name__
    return (rule,)


LAYERS = ("sigmoid_layer", "tanh", "relu", "leaky_relu", "identity")
RULES = ("sgd", "momentum", "rmsprop", "adam")

#: (exercise, promise key) -> the student functions of a mistake that breaks the promise.
BREAKERS = {
    ("sigmoid", "random"): named("sigmoid_sign_flipped"),
    ("sigmoid", "scalar"): named("sigmoid_atleast_1d"),
    ("sigmoid", "extreme"): named("sigmoid_exp_ratio"),
    ("sigmoid_grad", "values"): named("sigmoid_grad_at_z"),
    ("sigmoid_grad", "extreme"): named("sigmoid_grad_exp_form"),
    ("numerical_gradient", "centred"): named("numerical_gradient_forward"),
    ("numerical_gradient", "restored"): named("numerical_gradient_not_restoring"),
    ("numerical_gradient", "shapes"): named("numerical_gradient_flat_loop"),
    ("logistic_loss_grad", "random"): named("logistic_loss_grad_no_mean"),
    ("logistic_loss_grad", "confident"): named("logistic_loss_grad_log_epsilon"),
    ("logistic_loss_grad", "single"): named("logistic_loss_grad_squeeze"),
    ("logistic_loss_grad", "stable"): named("logistic_loss_grad_naive_log"),
    ("logistic_loss_grad", "unchanged"): named("logistic_loss_grad_residual_in_place"),
    ("softmax", "random"): named("softmax_axis0"),
    ("softmax", "extreme"): named("softmax_unshifted"),
    ("softmax", "unchanged"): named("softmax_global_max_in_place"),
    ("softmax", "vector"): named("softmax_axis1"),
    ("softmax_jacobian", "random"): named("softmax_jacobian_diagonal"),
    ("softmax_jacobian", "extreme"): named("softmax_jacobian_unshifted"),
    ("softmax_loss_grad", "random"): named("softmax_loss_grad_no_mean"),
    ("softmax_loss_grad", "shifted"): named("softmax_loss_grad_unshifted"),
    ("softmax_loss_grad", "unchanged"): named("softmax_loss_grad_shift_w_in_place"),
    ("l2_penalty", "values"): named("l2_penalty_factor_two"),
    ("l2_penalty", "shapes"): named("l2_penalty_vector_only"),
    ("l1_penalty", "values"): named("l1_penalty_l2_gradient"),
    ("l1_penalty", "zero"): named("l1_penalty_subgradient_one"),
    ("two_layer_loss_grad", "random"): named("two_layer_no_mean"),
    ("two_layer_loss_grad", "stable"): named("two_layer_log_of_softmax"),
    ("two_layer_loss_grad", "unchanged"): changes_input("two_layer_loss_grad", 0),
    ("lr_annealing", "formula"): named("lr_annealing_times"),
    ("lr_annealing", "start"): named("lr_annealing_one_based"),
    ("lr_step_decay", "formula"): named("lr_step_decay_true_division"),
    ("lr_step_decay", "start"): named("lr_step_decay_one_based"),
    ("lr_step_decay", "multiples"): named("lr_step_decay_one_based"),
    ("logistic_predict", "random"): named("logistic_predict_flipped"),
    ("logistic_predict", "boundary"): named("logistic_predict_strict"),
    ("logistic_predict", "integer"): named("logistic_predict_float"),
    ("regularized_logistic_loss_grad", "both"): named("regularized_logistic_no_penalty_gradient"),
    ("regularized_logistic_loss_grad", "bias"): named("regularized_logistic_penalises_bias"),
    ("regularized_logistic_loss_grad", "stable"): named("regularized_logistic_naive_log"),
    ("regularized_logistic_loss_grad", "unchanged"):
        changes_input("regularized_logistic_loss_grad", 0),
    ("softmax_regression_loss_grad", "default"): named("softmax_regression_no_default"),
    ("softmax_regression_loss_grad", "penalised"):
        named("softmax_regression_no_penalty_gradient"),
    ("softmax_regression_loss_grad", "stable"): named("softmax_regression_log_of_softmax"),
    ("dense", "values"): named("dense_forward_no_bias"),
    ("dense", "unchanged"): changes_input("dense", 0),
    ("sigmoid_layer", "extreme"): named("sigmoid_forward_naive"),
    ("relu", "kink"): named("relu_backward_right_branch"),
    ("leaky_relu", "kink"): named("leaky_relu_backward_right_branch"),
    ("identity", "copy"): named("identity_forward_alias"),
    ("identity", "copy_dout"): named("identity_backward_alias"),
    ("mse_softmax", "random"): named("mse_softmax_diagonal"),
    ("mse_softmax", "extreme"): named("mse_softmax_unshifted"),
    ("mse_softmax", "unchanged"): changes_input("mse_softmax", 0),
    ("xavier_init", "range"): named("xavier_init_fan_in_only"),
    ("xavier_init", "reproducible"): named("xavier_init_global_rng"),
    ("xavier_init", "variance"): named("xavier_init_variance_as_limit"),
    ("weight_decay", "decay"): named("add_weight_decay_biases_too"),
    ("weight_decay", "new"): named("add_weight_decay_in_place"),
    ("early_stopping_gd", "start"): named("early_stopping_gd_no_start_loss"),
    ("early_stopping_gd", "shuffled"): named("early_stopping_gd_not_shuffled"),
    ("early_stopping_gd", "shorter"): named("early_stopping_gd_drops_last"),
    ("early_stopping_gd", "best"): named("early_stopping_gd_previous_only"),
    ("early_stopping_gd", "kept"): named("early_stopping_gd_last_weights"),
    ("early_stopping_gd", "patience"): named("early_stopping_gd_patience_plus_one"),
    ("early_stopping_gd", "epochs"): named("early_stopping_gd_one_epoch_short"),
    ("early_stopping_gd", "unchanged"): named("early_stopping_gd_updates_w0"),
    ("mlp_loss_grad", "values"): named("mlp_loss_grad_no_mean"),
    ("mlp_loss_grad", "layers"): named("mlp_loss_grad_two_layers"),
    ("mlp_loss_grad", "linear_output"): named("mlp_loss_grad_act_on_output"),
    ("mlp_loss_grad", "reverse"): named("mlp_loss_grad_no_act_backward"),
    ("mlp_loss_grad", "given"): named("mlp_loss_grad_own_relu"),
    ("mlp_loss_grad", "decay"): named("mlp_loss_grad_decays_biases"),
    ("mlp_loss_grad", "default"): named("mlp_loss_grad_no_default"),
    ("mlp_loss_grad", "keys"): named("mlp_loss_grad_d_keys"),
    ("mlp_loss_grad", "unchanged"): named("mlp_loss_grad_caches_in_params"),
    ("train_epoch", "shuffled"): named("train_epoch_not_shuffled"),
    ("train_epoch", "shorter"): named("train_epoch_drops_last"),
    ("train_epoch", "losses"): named("train_epoch_loss_after_update"),
    ("train_epoch", "every"): named("train_epoch_weights_only"),
    ("train_epoch", "state"): named("train_epoch_forgets_state"),
}
for _layer in LAYERS:
    BREAKERS[(_layer, "values")] = mistakes.as_student_functions(mistakes.MISTAKES[_layer][0])
    BREAKERS[(_layer, "shapes")] = matrices_only(_layer)
for _rule in RULES:
    BREAKERS[(_rule, "steps")] = mistakes.as_student_functions(mistakes.MISTAKES[_rule][0])
    BREAKERS[(_rule, "unchanged")] = updates_in_place(_rule)

PROMISES = [(name, promise) for name, ex in EXERCISES.items() for promise in ex.promises]


def test_every_exercise_declares_its_promises():
    assert [name for name, ex in EXERCISES.items() if not ex.promises] == []
    for name, ex in EXERCISES.items():
        keys = [p.key for p in ex.promises]
        assert len(keys) == len(set(keys)), name
        assert all(p.text and callable(p.covers) for p in ex.promises), name


def test_every_promise_has_a_mistake_that_breaks_it():
    declared = {(name, promise.key) for name, promise in PROMISES}
    assert set(BREAKERS) == declared


def test_the_table_of_promises_against_cases():
    """For each promise, the cases that check it: some in every hidden draw (printed)."""
    lines, missing = [], []
    for name, promise in PROMISES:
        visible = cases_for(name, None, False)
        found = [promise.cases(cases_for(name, seed, True)) for seed in SEEDS]
        if not all(found):
            missing.append((name, promise.key))
        draw = cases_for(name, SEEDS[0], True)
        where = ", ".join(("hidden " if i >= len(visible) else "") + f"#{i + 1} {draw[i]['label']}"
                          for i in found[0])
        lines.append(f"{name}: {promise.text} -> {where or 'NO CASE'}")
    print("\n".join(lines))
    assert missing == []


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_hidden_check_adds_cases_the_visible_one_lacks(name):
    for seed in SEEDS:
        visible, hidden = cases_for(name, seed, False), cases_for(name, seed, True)
        assert len(hidden) > len(visible)


def _outputs(name, functions, cases, covered):
    """Outputs of ``functions`` on the covered cases, of the correct solution elsewhere."""
    ex = EXERCISES[name]
    return [run_case(ex, functions if i in covered else mistakes.CORRECT[name], case)
            for i, case in enumerate(cases)]


@pytest.mark.parametrize("name,promise", PROMISES, ids=[f"{n}-{p.key}" for n, p in PROMISES])
def test_each_promise_rejects_a_mistake_that_breaks_it(name, promise):
    breaker = BREAKERS[(name, promise.key)]
    for seed in SEEDS:
        cases = cases_for(name, seed, True)
        covered = set(promise.cases(cases))
        assert verify(name, seed, True, _outputs(name, mistakes.CORRECT[name], cases,
                                                 covered)).passed
        verdict = verify(name, seed, True, _outputs(name, breaker, cases, covered))
        assert not verdict.passed, (seed, verdict.message)
        failed_at = int(verdict.message.split(": case ")[1].split(" of ")[0]) - 1
        assert failed_at in covered, verdict.message


def _hidden_only_promises():
    """[(exercise, promise, named mistake)] for the promises only hidden cases check whose
    breaker is a named mistake with a diagnosis."""
    found = []
    for name, promise in PROMISES:
        if promise.cases(cases_for(name, None, False)):
            continue
        for m in mistakes.MISTAKES[name]:
            if m.diagnosis and mistakes.as_student_functions(m) == BREAKERS[(name, promise.key)]:
                found.append((name, promise, m))
                break
    return found


def test_promises_that_only_the_hidden_cases_check_name_their_mistake():
    """Where a promise's cases are all hidden (the sigmoid layer at +-1000, the ReLU kink,
    the identity's copy, inputs left unchanged...), the named mistake that breaks it is
    told what it got wrong (its diagnosis in tests/mistakes.py), not just that it failed."""
    found = _hidden_only_promises()
    assert {(n, p.key) for n, p, _ in found} >= {
        ("sigmoid_layer", "extreme"), ("relu", "kink"), ("leaky_relu", "kink"),
        ("identity", "copy"), ("identity", "copy_dout"), ("softmax_loss_grad", "unchanged"),
        ("logistic_loss_grad", "unchanged"), ("early_stopping_gd", "epochs"),
        ("early_stopping_gd", "unchanged"), ("mlp_loss_grad", "unchanged")}
    for name, promise, m in found:
        for seed in SEEDS:
            cases = cases_for(name, seed, True)
            verdict = verify(name, seed, True, _outputs(name, BREAKERS[(name, promise.key)],
                                                        cases, set(promise.cases(cases))))
            assert m.diagnosis in verdict.message, (name, promise.key, verdict.message)
