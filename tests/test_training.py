"""Tests for helpers.training: schedules by hand, mini-batches cover every index once and
are reproducible, early stopping compares with the best and restores the best weights, and
the loop `train` on small problems whose every step can be followed by hand (no gradient of
a real model is needed: the loss-and-gradient callables below are made up)."""
import functools
import math

import numpy as np
import pytest

from helpers import linear, training
from helpers.training import EarlyStopping, History


def test_schedules_by_hand():
    assert training.constant(0.5, 0) == 0.5 and training.constant(0.5, 1000) == 0.5
    assert training.annealing(0.9, 0, 3) == pytest.approx(0.9)
    assert training.annealing(0.9, 1, 3) == pytest.approx(0.675)  # 0.9 / (4/3)
    assert training.annealing(0.9, 3, 3) == pytest.approx(0.45)  # half at t = T
    assert training.annealing(0.9, 6, 3) == pytest.approx(0.3)
    # the tutor's schedule (seed 000): the large step for 50 iterations, then /10 every 50
    assert training.step_decay(1.0, 0, 50) == 1.0
    assert training.step_decay(1.0, 49, 50) == 1.0
    assert training.step_decay(1.0, 50, 50) == pytest.approx(0.1)
    assert training.step_decay(1.0, 149, 50) == pytest.approx(0.01)
    assert training.step_decay(2.0, 150, 50) == pytest.approx(0.002)


def test_schedule_errors():
    with pytest.raises(ValueError, match="T must be"):
        training.annealing(0.1, 1, 0)
    with pytest.raises(ValueError, match="k must be"):
        training.step_decay(0.1, 1, 0)
    with pytest.raises(ValueError, match="eta0"):
        training.constant(-0.1, 0)
    with pytest.raises(ValueError, match="t must be"):
        training.annealing(0.1, -1, 3)


@pytest.mark.parametrize("N, batch_size", [(10, 3), (12, 4), (5, 8), (1, 1)])
def test_minibatches_cover_every_index_once(N, batch_size):
    batches = list(training.minibatches(N, batch_size, np.random.default_rng(0)))
    sizes = [len(b) for b in batches]
    assert sizes == [batch_size] * (N // batch_size) + ([N % batch_size] if N % batch_size else [])
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(N))


def test_minibatches_reproducible_and_shuffled():
    first = np.concatenate(list(training.minibatches(100, 7, np.random.default_rng(0))))
    again = np.concatenate(list(training.minibatches(100, 7, np.random.default_rng(0))))
    other = np.concatenate(list(training.minibatches(100, 7, np.random.default_rng(1))))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(100))
    # successive epochs from one generator differ (one draw per epoch)
    rng = np.random.default_rng(0)
    e1 = np.concatenate(list(training.minibatches(100, 7, rng)))
    e2 = np.concatenate(list(training.minibatches(100, 7, rng)))
    assert not np.array_equal(e1, e2)
    # an int seed is the same as default_rng(seed)
    np.testing.assert_array_equal(np.concatenate(list(training.minibatches(100, 7, 0))), first)


def test_minibatches_errors_are_raised_at_call_time():
    with pytest.raises(ValueError, match="batch_size"):
        training.minibatches(10, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="N must be"):
        training.minibatches(-1, 2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        training.minibatches(10, 2, "seed")


def test_early_stopping_restores_best_not_last():
    params = {"W": np.zeros((2, 2)), "b": np.zeros(2)}
    stopper = EarlyStopping(patience=2)
    scores = [0.5, 0.8, 0.7, 0.75, 0.6]
    stops = []
    for step, score in enumerate(scores):
        params["W"][...] = step  # training changes the weights in place
        params["b"] += 1
        stops.append(stopper.update(score, params))
        if stops[-1]:
            break
    # best 0.8 at step 1; 0.7 and 0.75 are both below the best: stop after two of them
    assert stops == [False, False, False, True]
    assert stopper.best_score == 0.8 and stopper.best_step == 1 and stopper.stopped
    W_view = params["W"]
    restored = stopper.restore(params)
    assert restored is params and params["W"] is W_view  # written in place
    np.testing.assert_array_equal(params["W"], np.full((2, 2), 1.0))
    np.testing.assert_array_equal(params["b"], [2.0, 2.0])


def test_early_stopping_compares_with_best_not_previous():
    # Ups and downs below the best: "worse than the previous step" would never reach
    # patience 2 here (every other step improves on its predecessor).
    stopper = EarlyStopping(patience=2)
    w = np.zeros(1)
    assert not stopper.update(0.9, w)
    assert not stopper.update(0.7, w)
    assert stopper.update(0.8, w)


def test_early_stopping_resets_on_improvement_and_restores_flat_vector():
    flat = np.zeros(4, dtype=np.float32)
    W = flat[:2]  # a view, as in the MLP's flat parameter vector
    stopper = EarlyStopping(patience=3)
    for step, score in enumerate([0.1, 0.2, 0.15, 0.3, 0.25, 0.29, 0.3]):
        flat[:] = step
        stop = stopper.update(score, flat)
    assert stop  # three updates after the best at step 3, a tie does not count as better
    assert stopper.best_step == 3
    stopper.restore(flat)
    np.testing.assert_array_equal(W, [3.0, 3.0])
    assert flat.dtype == np.float32


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(0)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(1.5)
    stopper = EarlyStopping(1)
    with pytest.raises(RuntimeError, match="no update"):
        stopper.restore({"W": np.zeros(1)})
    with pytest.raises(ValueError, match="finite"):
        stopper.update(float("nan"), {"W": np.zeros(1)})
    stopper.update(0.5, {"W": np.zeros(1)})
    with pytest.raises(ValueError, match="keys"):
        stopper.restore({"V": np.zeros(1)})
    with pytest.raises(ValueError, match="shape"):
        stopper.restore({"W": np.zeros(2)})


# --------------------------------------------------------------------------- the loop
# A quadratic with its minimum at 3: loss = mean over the batch of (w - 3)^2 / 2 (the data
# are ignored), grad = w - 3. Every step w <- w - eta (w - 3) is known in closed form.

def quadratic(w, X, y):
    return float(0.5 * np.sum((w - 3.0) ** 2)), w - 3.0


def constant_rate(eta):
    return functools.partial(training.constant, eta)


def test_batch_gd_on_a_quadratic_by_hand():
    X, y = np.zeros((4, 1)), np.zeros(4)
    w, h = training.train(quadratic, np.zeros(1), X, y, schedule=constant_rate(0.5), epochs=3)
    # w: 0 -> 1.5 -> 2.25 -> 2.625; the loss (w - 3)^2 / 2 at each of them
    np.testing.assert_allclose(w, [2.625])
    assert h.epoch == [0, 1, 2, 3] and h.update == [0, 1, 2, 3]
    np.testing.assert_allclose(h.train_loss, [4.5, 1.125, 0.28125, 0.0703125])
    assert math.isnan(h.step_size[0]) and h.step_size[1:] == [0.5, 0.5, 0.5]
    assert h.hold_loss == [] and h.train_acc == [] and h.hold_acc == []
    assert h.best == 3 and h.best_epoch == 3 and not h.stopped   # no patience: the last


def test_w0_is_copied_and_dicts_of_arrays_work():
    w0 = {"W": np.zeros((2, 2)), "b": np.zeros(2)}

    def loss_grad(params, X, y):
        return 0.0, {"W": np.ones((2, 2)), "b": -np.ones(2)}

    w, h = training.train(loss_grad, w0, np.zeros((3, 1)), np.zeros(3),
                          schedule=constant_rate(0.1), epochs=2)
    np.testing.assert_allclose(w["W"], -0.2)
    np.testing.assert_allclose(w["b"], 0.2)
    assert np.all(w0["W"] == 0) and np.all(w0["b"] == 0)


def test_schedule_per_update_or_per_epoch():
    seen = []

    def schedule(t):
        seen.append(t)
        return 0.1

    X, y = np.zeros((10, 1)), np.zeros(10)
    training.train(quadratic, np.zeros(1), X, y, schedule=schedule, epochs=2, batch_size=4,
                   rng=np.random.default_rng(0))
    assert seen == [0, 1, 2, 3, 4, 5]                 # 3 mini-batches per epoch (4, 4, 2)
    seen.clear()
    _, h = training.train(quadratic, np.zeros(1), X, y, schedule=schedule, epochs=2,
                          batch_size=4, rng=np.random.default_rng(0), schedule_unit="epoch")
    assert seen == [0, 0, 0, 1, 1, 1] and h.update == [0, 3, 6]


def test_minibatches_follow_the_seeded_permutations():
    # loss_grad records the rows of every batch: the batches of epoch e are the e-th
    # permutation of default_rng(seed), batch_size at a time.
    X = np.arange(10.0)[:, None]
    batches = []

    def loss_grad(w, Xb, yb):
        batches.append(Xb[:, 0].astype(int).tolist())
        return 0.0, np.zeros_like(w)

    training.train(loss_grad, np.zeros(1), X, np.zeros(10), schedule=constant_rate(0.1),
                   epochs=2, batch_size=4, rng=np.random.default_rng(7))
    rng = np.random.default_rng(7)
    expected = []
    for _ in range(2):
        order = rng.permutation(10)
        expected += [order[i:i + 4].tolist() for i in range(0, 10, 4)]
    # (the calls on all 10 rows are the evaluations of the training loss)
    assert [b for b in batches if len(b) != 10] == expected


def test_deterministic_with_a_seed():
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(60), rng.standard_normal((60, 3))]
    t = (X[:, 1] + 0.5 * rng.standard_normal(60) > 0).astype(np.int64)
    args = dict(schedule=constant_rate(0.5), epochs=5, batch_size=16,
                predict=linear.logistic_predict)
    w1, h1 = training.train(linear.logistic_loss_grad, np.zeros(4), X, t, X, t,
                            rng=np.random.default_rng(3), **args)
    w2, h2 = training.train(linear.logistic_loss_grad, np.zeros(4), X, t, X, t,
                            rng=np.random.default_rng(3), **args)
    w3, _ = training.train(linear.logistic_loss_grad, np.zeros(4), X, t, X, t,
                           rng=np.random.default_rng(4), **args)
    np.testing.assert_array_equal(w1, w2)
    assert h1 == h2
    assert not np.array_equal(w1, w3)                 # another seed, another order
    w4, _ = training.train(linear.logistic_loss_grad, np.zeros(4), X, t, X, t, rng=3, **args)
    np.testing.assert_array_equal(w1, w4)             # an int seed is default_rng(seed)


def scripted(w, X, y):
    """A made-up loss whose value on a set of several rows is scripted by the epoch.

    w counts the updates (grad = -1, step 1: w = 0, 1, 2, ...); the hold-out X holds one row
    per epoch with the hold-out loss to report at that w; the one-row training set gives 0.
    """
    return float(X[int(round(w[0])), 0]) if len(X) > 1 else 0.0, -np.ones(1)


def test_early_stopping_keeps_the_best_weights_with_patience():
    hold = np.array([[5.0], [3.0], [1.0], [2.0], [1.5], [4.0], [0.5], [9.0]])
    X_train, y_train = np.zeros((1, 1)), np.zeros(1)
    # hold-out losses by epoch 0..7: 5 3 1 2 1.5 4 0.5 9; the best so far is 1 at epoch 2,
    # then 2, 1.5, 4 are three evaluations without a new best: patience 3 stops at epoch 5,
    # before the 0.5 of epoch 6.
    w, h = training.train(scripted, np.zeros(1), X_train, y_train, hold, np.zeros(8),
                          schedule=constant_rate(1.0), epochs=7, patience=3)
    assert h.epoch == [0, 1, 2, 3, 4, 5] and h.hold_loss == [5, 3, 1, 2, 1.5, 4]
    assert h.best == 2 and h.best_epoch == 2 and h.best_update == 2 and h.stopped
    np.testing.assert_array_equal(w, [2.0])           # the weights of epoch 2, not the last
    # patience 4 waits long enough to find the 0.5 of epoch 6; it then runs out of epochs
    w, h = training.train(scripted, np.zeros(1), X_train, y_train, hold, np.zeros(8),
                          schedule=constant_rate(1.0), epochs=7, patience=4)
    assert h.best_epoch == 6 and not h.stopped and h.epoch[-1] == 7
    np.testing.assert_array_equal(w, [6.0])


def test_early_stopping_on_accuracy_and_eval_every():
    # predict says 1 for every row of X when w >= the row's threshold: hold-out accuracy
    # rises with w until w = 3, where the last threshold is passed, then stays there.
    thresholds = np.array([1.0, 2.0, 3.0, 3.0])

    def loss_grad(w, X, y):
        return 0.0, -np.ones(1)

    def predict(w, X):
        return (w[0] >= X[:, 0]).astype(np.int64)

    X_hold, y_hold = thresholds[:, None], np.ones(4, dtype=np.int64)
    w, h = training.train(loss_grad, np.zeros(1), np.zeros((1, 1)), np.ones(1, np.int64),
                          X_hold, y_hold, schedule=constant_rate(1.0), epochs=20,
                          patience=2, predict=predict, monitor="accuracy", eval_every=2)
    # best 1.0 at epoch 4 (a tie is not better): epochs 6 and 8 use up the patience of 2
    assert h.epoch == [0, 2, 4, 6, 8] and h.hold_acc == [0.0, 0.5, 1.0, 1.0, 1.0]
    assert h.best_epoch == 4 and h.stopped
    np.testing.assert_array_equal(w, [4.0])


def test_evaluation_loss_and_prox_and_average():
    X, y = np.zeros((4, 1)), np.zeros(4)
    # loss= replaces loss_grad's loss in the records, not in the updates
    _, h = training.train(quadratic, np.zeros(1), X, y, schedule=constant_rate(0.5),
                          epochs=1, loss=lambda w, X, y: float(w[0]))
    assert h.train_loss == [0.0, 1.5]
    # prox is applied after every gradient step, with that step's size
    calls = []

    def prox(w, eta):
        calls.append(eta)
        return np.minimum(w, 1.0)

    w, _ = training.train(quadratic, np.zeros(1), X, y, schedule=constant_rate(0.5),
                          epochs=3, prox=prox)
    np.testing.assert_allclose(w, [1.0])
    assert calls == [0.5] * 3
    # average: the kept weights are the mean of the iterates of the epoch just finished
    w, _ = training.train(lambda w, X, y: (0.0, -np.ones(1)), np.zeros(1), np.zeros((4, 1)),
                          np.zeros(4), schedule=constant_rate(1.0), epochs=2, batch_size=2,
                          rng=0, average=True)
    np.testing.assert_allclose(w, [3.5])               # epoch 2's iterates are 3 and 4


def test_batch_gd_computes_each_gradient_once():
    calls = []

    def counting(w, X, y):
        calls.append(len(X))
        return quadratic(w, X, y)

    training.train(counting, np.zeros(1), np.zeros((4, 1)), np.zeros(4),
                   schedule=constant_rate(0.5), epochs=5)
    assert len(calls) == 6        # 6 evaluations; the 5 updates reuse their gradients


def test_logistic_regression_learns_and_history_is_consistent():
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(200), rng.standard_normal((200, 2))]
    t = (X[:, 1] - X[:, 2] > 0).astype(np.int64)
    X_hold = np.c_[np.ones(100), rng.standard_normal((100, 2))]
    t_hold = (X_hold[:, 1] - X_hold[:, 2] > 0).astype(np.int64)
    w, h = training.train(functools.partial(linear.logistic_loss_grad, lam=1e-3), np.zeros(3),
                          X, t, X_hold, t_hold, schedule=constant_rate(1.0), epochs=30,
                          batch_size=50, rng=np.random.default_rng(0),
                          predict=linear.logistic_predict, loss=linear.logistic_loss,
                          patience=5)
    n = len(h.epoch)
    assert all(len(v) == n for v in (h.update, h.train_loss, h.hold_loss, h.train_acc,
                                     h.hold_acc, h.step_size))
    assert h.update == [4 * e for e in h.epoch]       # four batches of 50 per epoch
    assert h.hold_acc[h.best] > 0.9 and h.train_loss[-1] < h.train_loss[0]
    assert h.hold_loss[h.best] == min(h.hold_loss)
    assert linear.logistic_loss(w, X_hold, t_hold) == h.hold_loss[h.best]
    assert set(h.curves("loss")) == {"train", "hold-out"}
    assert h.curves("accuracy")["hold-out"] is h.hold_acc


def test_train_errors():
    X, y = np.zeros((4, 1)), np.zeros(4)
    lr = constant_rate(0.1)
    with pytest.raises(ValueError, match="patience"):
        training.train(quadratic, np.zeros(1), X, y, schedule=lr, epochs=2, patience=3)
    with pytest.raises(ValueError, match="both X_hold and y_hold"):
        training.train(quadratic, np.zeros(1), X, y, X, schedule=lr, epochs=2)
    with pytest.raises(TypeError, match="rng"):
        training.train(quadratic, np.zeros(1), X, y, schedule=lr, epochs=2, batch_size=2)
    with pytest.raises(ValueError, match="epochs"):
        training.train(quadratic, np.zeros(1), X, y, schedule=lr, epochs=-1)
    with pytest.raises(ValueError, match="batch_size"):
        training.train(quadratic, np.zeros(1), X, y, schedule=lr, epochs=1, batch_size=0,
                       rng=0)
    with pytest.raises(ValueError, match="needs predict"):
        training.train(quadratic, np.zeros(1), X, y, X, y, schedule=lr, epochs=1,
                       patience=1, monitor="accuracy")
    with pytest.raises(ValueError, match="schedule_unit"):
        training.train(quadratic, np.zeros(1), X, y, schedule=lr, epochs=1,
                       schedule_unit="step")
    with pytest.raises(ValueError, match="metric"):
        History().curves("error")
