"""Tests for helpers.metrics: a worked example, agreement with scikit-learn, clear errors."""
import numpy as np
import pytest

from helpers import metrics

Y_TRUE = np.array([0, 0, 1, 1, 1, 2])
Y_PRED = np.array([0, 1, 1, 1, 0, 1])


def test_worked_example():
    assert metrics.accuracy(Y_PRED, Y_TRUE) == pytest.approx(3 / 6)
    C = metrics.confusion_matrix(Y_TRUE, Y_PRED, 3)
    # rows true, columns predicted
    np.testing.assert_array_equal(C, [[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    assert C.dtype == np.int64
    precision, recall = metrics.precision_recall(C)
    # class 0: predicted twice, right once; class 1: predicted 4 times, right twice;
    # class 2: never predicted (precision undefined), present once, never found
    np.testing.assert_allclose(precision[:2], [1 / 2, 2 / 4])
    assert np.isnan(precision[2])
    np.testing.assert_allclose(recall, [1 / 2, 2 / 3, 0.0])


def test_against_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=300)
    pred = np.where(rng.random(300) < 0.7, y, rng.integers(0, 5, size=300))
    C = metrics.confusion_matrix(y, pred, 5)
    np.testing.assert_array_equal(C, sk.confusion_matrix(y, pred, labels=range(5)))
    precision, recall = metrics.precision_recall(C)
    np.testing.assert_allclose(precision, sk.precision_score(y, pred, average=None))
    np.testing.assert_allclose(recall, sk.recall_score(y, pred, average=None))
    assert metrics.accuracy(pred, y) == pytest.approx(sk.accuracy_score(y, pred))
    assert np.trace(C) / C.sum() == pytest.approx(metrics.accuracy(pred, y))


def test_inputs_untouched():
    y, p = Y_TRUE.copy(), Y_PRED.copy()
    metrics.confusion_matrix(y, p, 3)
    metrics.accuracy(p, y)
    np.testing.assert_array_equal(y, Y_TRUE)
    np.testing.assert_array_equal(p, Y_PRED)


def test_bad_arguments():
    with pytest.raises(ValueError, match="pred_labels has shape"):
        metrics.accuracy(np.zeros(3, dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy(np.zeros(0, dtype=int), np.zeros(0, dtype=int))
    with pytest.raises(TypeError, match="integer labels"):
        metrics.accuracy(np.array([0.9, 0.1]), np.array([1, 0]))
    with pytest.raises(ValueError, match="y_pred holds labels from 0 to 3"):
        metrics.confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="y_true holds labels"):
        metrics.confusion_matrix(np.array([-1, 1]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="K must be"):
        metrics.confusion_matrix(np.array([0]), np.array([0]), 0)
    with pytest.raises(ValueError, match="square"):
        metrics.precision_recall(np.zeros((2, 3)))
