"""Classification metrics: accuracy, confusion matrix, per-class precision and recall
(notebooks 2, 4 and 5). Accuracies are fractions in [0, 1]."""
import numbers

import numpy as np


def _labels(y, name):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels (N,), got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise TypeError(f"{name} must hold integer labels, got dtype {y.dtype}")
    return y


def accuracy(pred_labels, y):
    """Fraction of predictions equal to the labels.

    pred_labels, y: (N,) integer labels, N >= 1. Returns a float in [0, 1].
    """
    pred = _labels(pred_labels, "pred_labels")
    y = _labels(y, "y")
    if pred.shape != y.shape:
        raise ValueError(f"pred_labels has shape {pred.shape} but y has shape {y.shape}")
    if y.size == 0:
        raise ValueError("accuracy of an empty set is undefined (N = 0)")
    return float(np.mean(pred == y))


def confusion_matrix(y_true, y_pred, K):
    """Counts C[i, j] of examples with true label i predicted as j.

    y_true, y_pred: (N,) integer labels in 0..K-1. Returns C (K, K) int64; rows are true
    classes, columns predicted classes, so C.sum() == N and trace(C) / N is the accuracy.
    """
    if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K must be a positive integer number of classes, got {K!r}")
    y_true = _labels(y_true, "y_true").astype(np.int64)
    y_pred = _labels(y_pred, "y_pred").astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= K):
            raise ValueError(f"{name} holds labels from {y.min()} to {y.max()}, outside "
                             f"0..{K - 1} for K = {K}")
    return np.bincount(K * y_true + y_pred, minlength=K * K).reshape(K, K)


def precision_recall(confusion):
    """Per-class precision C[k, k] / sum_i C[i, k] and recall C[k, k] / sum_j C[k, j].

    confusion: (K, K) counts, rows true, columns predicted (see confusion_matrix).
    Returns (precision (K,), recall (K,)) as float64. A class never predicted has an
    undefined precision and a class absent from y_true an undefined recall: those
    entries are nan (use np.nanmean for a macro average).
    """
    C = np.asarray(confusion)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"confusion must be a square (K, K) matrix, got shape {C.shape}")
    if np.any(C < 0):
        raise ValueError("confusion holds negative counts")
    C = C.astype(np.float64)
    diag = np.diag(C)
    predicted = C.sum(axis=0)
    actual = C.sum(axis=1)
    precision = np.full(diag.shape, np.nan)
    recall = np.full(diag.shape, np.nan)
    np.divide(diag, predicted, out=precision, where=predicted > 0)
    np.divide(diag, actual, out=recall, where=actual > 0)
    return precision, recall
