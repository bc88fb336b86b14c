"""checker.diagnose: each known wrong form of an answer is named, and nothing else is."""
import numpy as np
import pytest

from checker.diagnose import diagnose


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_a_right_answer_has_no_diagnosis(rng):
    e = rng.normal(size=(4, 3))
    assert diagnose(e.copy(), e) is None
    assert diagnose((1.5, e.copy()), (1.5, e), names=("loss", "dW")) is None
    assert diagnose({"W": e.copy()}, {"W": e}) is None


def test_an_unrelated_wrong_answer_has_no_diagnosis(rng):
    e = rng.normal(size=(4, 3))
    assert diagnose(rng.normal(size=(4, 3)), e, batch_size=4) is None


@pytest.mark.parametrize("factor,words", [(7.0, "a missing 1/N (the result is N = 7 times"),
                                          (1 / 7, "an extra 1/N"),
                                          (2.0, "off by a factor 2"),
                                          (0.5, "off by a factor 1/2"),
                                          (3.7, "off by a factor 3.7"),
                                          (-1.0, "the opposite sign"),
                                          (-7.0, "the opposite sign and a missing 1/N")])
def test_constant_factors_are_named(rng, factor, words):
    e = rng.normal(size=(7, 3))
    assert words in diagnose(factor * e, e, batch_size=7)


def test_a_factor_n_without_a_batch_size_is_just_a_factor(rng):
    e = rng.normal(size=5)
    assert diagnose(5 * e, e) == "off by a factor 5 (the result is 5 times too large)"


@pytest.mark.parametrize("got,expected,words", [
    ((3, 5), (5, 3), "expected shape (5, 3), got (3, 5): transposed?"),
    ((6, 6), (6,), "a broadcast between shapes (6,) and (6, 1)"),
    ((6, 1), (6,), "an extra or missing axis"),
    ((6, 4), (4,), "a missing sum over the batch (axis 0)"),
    ((2,), (), "the loss must be a single number"),
    ((4, 6), (4,), "a column vector (n, 1) broadcast"),
])
def test_shape_mismatches_are_explained(got, expected, words):
    assert words in diagnose(np.zeros(got), np.ones(expected))


def test_a_transposed_square_matrix(rng):
    e = rng.normal(size=(4, 4))
    assert "transposed" in diagnose(e.T.copy(), e)


def test_a_symmetric_matrix_is_never_called_transposed(rng):
    a = rng.normal(size=(4, 4))
    e = a + a.T
    assert diagnose(-e, e) == "the opposite sign (a minus sign missing or doubled)"


def test_all_zeros_names_a_missing_bias_gradient_by_key(rng):
    grads = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    got = {"W1": grads["W1"].copy(), "b1": np.zeros(2)}
    assert diagnose(got, grads) == "b1: all zeros: a missing bias gradient"
    nested = diagnose({"grads": got}, {"grads": grads})
    assert nested == "grads['b1']: all zeros: a missing bias gradient"
    assert diagnose((np.zeros(3),), (np.ones(3),), names=("db",)) == \
        "db: all zeros: a missing bias gradient"
    assert "missing gradient" in diagnose({"W1": np.zeros((3, 2))}, {"W1": grads["W1"]})


def test_variants_name_mistakes_that_are_not_simple_transformations(rng):
    z = rng.normal(size=4)
    p = np.exp(z) / np.exp(z).sum()
    J = np.diag(p) - np.outer(p, p)
    name = "only the diagonal of the softmax Jacobian"
    assert diagnose(np.diag(p * (1 - p)), J, {name: np.diag(p * (1 - p))}) == name


def test_variants_are_matched_entry_by_entry_and_report_the_key(rng):
    w = rng.normal(size=5)
    data_grad = rng.normal(size=5)
    expected = (2.0, data_grad + 0.3 * w)
    variants = {"a missing regularisation term": (1.5, data_grad)}
    # loss right, gradient without the penalty
    got = (2.0, data_grad.copy())
    assert diagnose(got, expected, variants, names=("loss", "dw")) == \
        "dw: a missing regularisation term"


def test_a_variant_wins_over_the_generic_factor(rng):
    w = rng.normal(size=4)
    expected = (0.5 * np.sum(w**2), w)
    variants = {"a factor 2 in the L2 term": (np.sum(w**2), 2 * w)}
    assert diagnose((0.5 * np.sum(w**2), 2 * w), expected, variants,
                    names=("penalty", "dW")) == "dW: a factor 2 in the L2 term"


def test_lists_are_labelled_by_index(rng):
    e = [rng.normal(size=3) for _ in range(3)]
    got = [e[0], e[1], -e[2]]
    assert diagnose({"w": got}, {"w": e}) == \
        "w[2]: the opposite sign (a minus sign missing or doubled)"


def test_nan_and_inf_point_at_numerical_stability():
    assert "NaN" in diagnose(np.array([0.5, np.nan]), np.array([0.5, 0.4]))
    assert "inf" in diagnose(np.inf, 3.0)


def test_integer_labels(rng):
    labels = rng.integers(0, 2, size=8)
    assert "flipped" in diagnose(1 - labels, labels)
    wrong = labels.copy()
    wrong[0] = 1 - wrong[0]
    assert diagnose(wrong, labels, {"> instead of >=": wrong.copy()}) == "> instead of >="
    assert diagnose(labels.copy(), labels) is None


@pytest.mark.parametrize("got,expected,words", [
    (None, (1.0, np.zeros(2)), "expected a tuple of 2 (loss, dw), got None"),
    ((1.0,), (1.0, np.zeros(2)), "expected 2 items, got 1"),
    ({"W": 1.0}, {"W": 1.0, "b": 2.0}, "missing key(s) ['b']"),
    ({"W": 1.0, "c": 2.0, "b": 1.0}, {"W": 1.0, "b": 2.0}, "unexpected key(s) ['c']"),
    (np.zeros(2), {"W": np.zeros(2)}, "expected a dict"),
    ("text", np.zeros(2), "expected numbers, got a str"),
    ((1.0, 2.0), 3.0, "expected a single number, got a tuple"),
])
def test_malformed_answers_are_described_not_raised(got, expected, words):
    assert words in diagnose(got, expected, names=("loss", "dw"))


# ---------------------------------------------------------------- epsilon inside the log

def test_an_epsilon_inside_the_log_is_named_not_called_a_factor():
    """The source tutor's tip, -log(p + 1e-7), on confident predictions: the generic
    diagnosis saw only "off by a factor 0.9996"; the variant names the mistake."""
    from checker.diagnose import EPSILON_IN_LOG, epsilon_in_log
    logits = np.array([[9.0, 0.0, 0.0], [0.0, 8.5, 0.0], [0.0, 0.0, 9.5], [7.0, 0.0, 0.0]])
    y = np.array([0, 1, 2, 0])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_q = (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[np.arange(4), y]
    right = float(-np.mean(log_q))
    got = float(-np.mean(np.log(np.exp(log_q) + 1e-7)))
    assert "off by a factor 0.99" in diagnose(got, right)
    found = diagnose(got, right, epsilon_in_log(log_q))
    assert found.startswith(EPSILON_IN_LOG) and "log(p + 1e-07)" in found
    assert EPSILON_IN_LOG == "epsilon inside the log: use log-sum-exp / logaddexp instead"


def test_an_epsilon_close_to_the_answer_needs_an_exact_match():
    from checker.diagnose import Near, epsilon_in_log
    rng = np.random.default_rng(3)
    log_q = np.log(rng.uniform(0.05, 0.9, size=8))       # not confident: eps moves ~1e-6
    variants = epsilon_in_log(log_q)
    near = {k: v for k, v in variants.items() if isinstance(v, Near)}
    assert near, variants
    name, value = next(iter(near.items()))
    assert diagnose(value.value, float(-np.mean(log_q)), {name: value}) == name
    off = value.value * (1 + 1e-7)                          # close, but not the same formula
    assert diagnose(off, float(-np.mean(log_q)), {name: value}) != name


def test_an_epsilon_the_judge_accepts_is_never_offered():
    from checker.diagnose import epsilon_in_log
    from checker.judge import TOLERANCE
    rng = np.random.default_rng(4)
    log_q = np.log(rng.uniform(0.3, 0.9, size=6))
    right = float(-np.mean(log_q))
    for value in epsilon_in_log(log_q).values():
        value = getattr(value, "value", value)
        assert abs(value - right) > TOLERANCE * (abs(value) + abs(right))
    import inspect
    assert inspect.signature(epsilon_in_log).parameters["judged"].default == TOLERANCE
    assert epsilon_in_log(np.array([np.nan, 0.0])) == {}


def test_every_graded_loss_offers_the_epsilon_variant():
    """Wherever a cross-entropy is graded, the exercise's mistakes include the epsilon
    variants (on a case where the true class is far below, they are ordinary ones).
    Not listed: mse_softmax (no log) and mlp_loss_grad, which is given its loss function
    (the pack's softmax_cross_entropy in the check) and computes no cross-entropy itself."""
    from checker.diagnose import EPSILON_IN_LOG
    from checker.lessons import EXERCISES, cases_for
    losses = ("logistic_loss_grad", "softmax_loss_grad",
              "regularized_logistic_loss_grad", "softmax_regression_loss_grad",
              "two_layer_loss_grad")
    for name in losses:
        offered = [any(k.startswith(EPSILON_IN_LOG) for k in EXERCISES[name].mistakes(c))
                   for c in cases_for(name, "1", True)]
        assert any(offered), name
