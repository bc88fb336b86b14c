"""Tests for helpers.training: schedules by hand, mini-batches cover every index once and
are reproducible, early stopping compares with the best and restores the best weights."""
import numpy as np
import pytest

from helpers import training
from helpers.training import EarlyStopping


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
