"""The training loop of notebooks 2 to 4 and its pieces: learning-rate schedules, seeded
mini-batches, early stopping.

``train(loss_grad, w0, X, y, X_hold, y_hold, schedule=..., epochs=...)`` runs (mini-)batch
gradient descent and returns ``(w, History)``: the weights kept (the best hold-out ones
with ``patience``) and one record of the run, one entry per evaluation. Schedules take the
initial rate eta0 and the step (or epoch) counter t = 0, 1, 2, ...
"""
import copy
import dataclasses
import math
import numbers

import numpy as np

from helpers import metrics


def _check_eta0_t(eta0, t, name):
    if isinstance(eta0, bool) or not isinstance(eta0, numbers.Real) or not eta0 > 0:
        raise ValueError(f"{name}: eta0 must be a positive learning rate, got {eta0!r}")
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not t >= 0:
        raise ValueError(f"{name}: t must be a step count >= 0, got {t!r}")


def constant(eta0, t):
    """The same rate at every step: eta0."""
    _check_eta0_t(eta0, t, "constant")
    return float(eta0)


def annealing(eta0, t, T):
    """Annealed rate eta0 / (1 + t/T): eta0 at t = 0, half of it at t = T, ~T/t later."""
    _check_eta0_t(eta0, t, "annealing")
    if isinstance(T, bool) or not isinstance(T, numbers.Real) or not T > 0:
        raise ValueError(f"annealing: T must be a positive time scale, got {T!r}")
    return eta0 / (1 + t / T)


def step_decay(eta0, t, k):
    """Step decay eta0 * 0.1**(t // k): divide the rate by 10 every k steps."""
    _check_eta0_t(eta0, t, "step_decay")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"step_decay: k must be an integer number of steps >= 1, got {k!r}")
    return eta0 * 0.1 ** (t // k)


def minibatches(N, batch_size, rng):
    """Index arrays for one epoch of mini-batches over N examples, in a shuffled order.

    N: number of examples; batch_size >= 1; rng: np.random.Generator (or an int seed).
    Returns an iterator of int64 index arrays of length batch_size (the last one shorter
    if batch_size does not divide N); together they hold every index 0..N-1 exactly once.
    The permutation is drawn when this function is called, one draw of rng per epoch.
    """
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or N < 0:
        raise ValueError(f"minibatches: N must be an integer >= 0, got {N!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be an integer >= 1, got {batch_size!r}")
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        rng = np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("minibatches: rng must be a np.random.Generator or an int seed, "
                        f"got {type(rng).__name__}")
    order = rng.permutation(N)
    return (order[start:start + batch_size] for start in range(0, N, batch_size))


class EarlyStopping:
    """Stop when the hold-out score has not beaten its best for ``patience`` updates.

    Higher scores are better (e.g. hold-out accuracy; pass -loss for a loss). Each
    ``update(score, params)`` compares with the BEST score so far, not with the previous
    one: a slow decline that alternates small ups and downs would otherwise never stop.
    A deep copy of the parameters of the best update is kept and ``restore`` puts it back.

    Attributes: ``best_score`` (-inf before any update), ``best_params`` (None before any
    update), ``best_step`` (0-based index of the best update), ``steps`` (updates so far),
    ``bad_steps`` (updates since the best), ``stopped``.
    """

    def __init__(self, patience):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) \
                or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 1, got {patience!r}")
        self.patience = int(patience)
        self.best_score = -np.inf
        self.best_params = None
        self.best_step = None
        self.steps = 0
        self.bad_steps = 0
        self.stopped = False

    def update(self, score, params):
        """Record one evaluation; return True when training should stop.

        score: a finite number, higher is better. params: a dict of arrays (or one array),
        deep-copied when the score is a new best (strictly higher than the best so far).
        """
        if isinstance(score, bool) or not isinstance(score, numbers.Real) \
                or not np.isfinite(score):
            raise ValueError(f"EarlyStopping.update: score must be a finite number, got "
                             f"{score!r}; a nan score usually means the training diverged")
        if score > self.best_score:
            self.best_score = float(score)
            self.best_params = copy.deepcopy(params)
            self.best_step = self.steps
            self.bad_steps = 0
        else:
            self.bad_steps += 1
        self.steps += 1
        self.stopped = self.bad_steps >= self.patience
        return self.stopped

    def restore(self, params):
        """Copy the best parameters back INTO ``params`` (in place) and return it.

        params: the dict of arrays (or the array) that was passed to ``update``. Arrays
        are overwritten element by element, so views into them (e.g. the MLP's layers
        inside one flat vector) see the restored values too.
        """
        if self.best_params is None:
            raise RuntimeError("EarlyStopping.restore: no update yet, nothing to restore")
        if isinstance(params, np.ndarray):
            _copy_into(params, self.best_params, "params")
            return params
        if not isinstance(params, dict):
            raise TypeError(f"EarlyStopping.restore: params must be a dict of arrays or an "
                            f"array, got {type(params).__name__}")
        if set(params) != set(self.best_params):
            raise ValueError("EarlyStopping.restore: params has keys "
                             f"{sorted(params)} but the saved best has {sorted(self.best_params)}")
        for key, best in self.best_params.items():
            if isinstance(params[key], np.ndarray):
                _copy_into(params[key], best, f"params[{key!r}]")
            else:
                params[key] = copy.deepcopy(best)
        return params


def _copy_into(target, source, name):
    if np.shape(source) != target.shape:
        raise ValueError(f"EarlyStopping.restore: {name} has shape {target.shape} but the "
                         f"saved best has shape {np.shape(source)}")
    np.copyto(target, source)


# --------------------------------------------------------------------------- the loop

@dataclasses.dataclass
class History:
    """One run of `train`, one entry per evaluation; entry 0 is the starting weights.

    epoch, update: epochs and updates completed at each evaluation (ints).
    train_loss, hold_loss: the evaluation loss on the whole training / hold-out set.
    train_acc, hold_acc: accuracies (fractions) when ``train`` got a ``predict``.
    step_size: the step of the last update before each evaluation (nan at entry 0).
    Lists that a run does not measure (no hold-out set, no ``predict``) stay empty.
    best: index of the returned weights in these lists (the best hold-out evaluation with
    ``patience``, else the last one); stopped: True when early stopping ended the run.
    """
    epoch: list = dataclasses.field(default_factory=list)
    update: list = dataclasses.field(default_factory=list)
    train_loss: list = dataclasses.field(default_factory=list)
    hold_loss: list = dataclasses.field(default_factory=list)
    train_acc: list = dataclasses.field(default_factory=list)
    hold_acc: list = dataclasses.field(default_factory=list)
    step_size: list = dataclasses.field(default_factory=list)
    best: int = 0
    stopped: bool = False

    @property
    def best_epoch(self):
        """Epochs completed when the returned weights were evaluated."""
        return self.epoch[self.best]

    @property
    def best_update(self):
        """Updates made when the returned weights were evaluated."""
        return self.update[self.best]

    def curves(self, metric="loss"):
        """{"train": values, "hold-out": values} of ``metric`` ("loss" or "accuracy"), the
        sets that were measured, for ``helpers.plots.plot_curves``."""
        if metric not in ("loss", "accuracy"):
            raise ValueError(f"metric must be 'loss' or 'accuracy', got {metric!r}")
        short = "loss" if metric == "loss" else "acc"
        out = {"train": getattr(self, f"train_{short}"),
               "hold-out": getattr(self, f"hold_{short}")}
        return {name: values for name, values in out.items() if values}


def _axpy(w, grad, eta):
    """w - eta * grad for an array or a dict of arrays (a new object; w is unchanged)."""
    if isinstance(w, dict):
        return {key: w[key] - eta * grad[key] for key in w}
    return w - eta * grad


def _copy(w):
    """A copy of an array or of a dict of arrays (the dtypes kept)."""
    if isinstance(w, dict):
        return {key: np.array(value, copy=True) for key, value in w.items()}
    return np.array(w, copy=True)


def _average_into(mean, w, count):
    """mean += (w - mean) / count: the running mean of ``count`` iterates, in place."""
    if isinstance(mean, dict):
        for key in mean:
            mean[key] += (w[key] - mean[key]) / count
    else:
        mean += (w - mean) / count


def _count(value, name, minimum=1, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"train: {name} must be an integer >= {minimum}"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def train(loss_grad, w0, X, y, X_hold=None, y_hold=None, *, schedule, epochs,
          batch_size=None, patience=None, rng=None, predict=None, loss=None,
          eval_every=1, monitor="loss", schedule_unit="update", average=False, prox=None):
    """(Mini-)batch gradient descent with a schedule and early stopping on the hold-out set.

    loss_grad(w, X, y) -> (loss, grad): grad shaped like w (an array, or a dict of arrays
        with the same keys), e.g. ``functools.partial(linear.logistic_loss_grad, lam=...)``.
    w0: the starting weights (copied; never changed). X (N, D), y (N,): the training set.
    X_hold, y_hold: the hold-out set (optional), evaluated, never trained on.
    schedule(t) -> step size, t = updates made so far (``schedule_unit="update"``) or
        epochs completed (``"epoch"``), e.g. ``lambda t: annealing(1.0, t, 100)``.
    epochs: passes over the training set (0: only evaluate w0). batch_size: None for batch
        GD (one update per epoch), else the size of the mini-batches, drawn by
        ``minibatches`` from ``rng`` (a np.random.Generator or an int seed; one
        permutation per epoch, the last batch shorter if batch_size does not divide N).
    patience: None (run every epoch, return the last weights) or stop after that many
        evaluations without a new best hold-out score and return the best weights (the
        BEST, not the last: EarlyStopping compares with the best so far). Entry 0, the
        starting weights, is an evaluation too.
    predict(w, X) -> labels: when given, accuracies are recorded too.
    loss(w, X, y) -> float: the loss recorded for the train and hold-out sets (default:
        loss_grad's loss), e.g. the cross-entropy without the penalty.
    eval_every: evaluate after every that many epochs (and after the last one).
    monitor: "loss" (lower hold-out loss is better) or "accuracy" (needs ``predict``).
    average: the evaluated and returned weights are the mean of each epoch's iterates
        (averaged SGD, Polyak-Ruppert) instead of the last iterate.
    prox(w, eta) -> w: applied after every gradient step (a proximal step, e.g. the L1
        soft-threshold); None for plain gradient descent.

    Returns (w, history): the kept weights (a new array or dict) and a `History`.
    """
    epochs = _count(epochs, "epochs", minimum=0)
    eval_every = _count(eval_every, "eval_every")
    batch_size = _count(batch_size, "batch_size", allow_none=True)
    stopper = EarlyStopping(patience) if patience is not None else None
    if (X_hold is None) != (y_hold is None):
        raise ValueError("train: give both X_hold and y_hold, or neither")
    if stopper is not None and X_hold is None:
        raise ValueError("train: early stopping (patience) needs a hold-out set")
    if monitor not in ("loss", "accuracy"):
        raise ValueError(f"train: monitor must be 'loss' or 'accuracy', got {monitor!r}")
    if monitor == "accuracy" and predict is None:
        raise ValueError("train: monitor='accuracy' needs predict")
    if schedule_unit not in ("update", "epoch"):
        raise ValueError(f"train: schedule_unit must be 'update' or 'epoch', got "
                         f"{schedule_unit!r}")
    if batch_size is not None:
        if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
            rng = np.random.default_rng(rng)
        if not isinstance(rng, np.random.Generator):
            raise TypeError("train: mini-batches need rng, a np.random.Generator or an int "
                            f"seed (for a reproducible order), got {type(rng).__name__}")
    evaluate_loss = loss if loss is not None else (lambda w, Xe, ye: loss_grad(w, Xe, ye)[0])

    w = _copy(w0)                           # the iterate that the updates move
    model = _copy(w0) if average else w     # the weights evaluated and kept
    history = History()
    updates, eta = 0, math.nan
    # Batch GD recording loss_grad's loss: evaluating the training set computes exactly
    # the gradient the next update needs (same weights, same data), so keep it.
    reuse = batch_size is None and loss is None and not average
    next_grad = None

    def evaluate(epoch):
        """Record the model on both sets; True when early stopping says stop."""
        nonlocal next_grad
        history.epoch.append(epoch)
        history.update.append(updates)
        history.step_size.append(eta)
        if reuse:
            train_loss, next_grad = loss_grad(model, X, y)
        else:
            train_loss = evaluate_loss(model, X, y)
        history.train_loss.append(float(train_loss))
        if predict is not None:
            history.train_acc.append(metrics.accuracy(predict(model, X), y))
        if X_hold is None:
            return False
        history.hold_loss.append(float(evaluate_loss(model, X_hold, y_hold)))
        if predict is not None:
            history.hold_acc.append(metrics.accuracy(predict(model, X_hold), y_hold))
        if stopper is None:
            return False
        # EarlyStopping keeps the parameters of its highest score: minus a loss.
        score = -history.hold_loss[-1] if monitor == "loss" else history.hold_acc[-1]
        return stopper.update(score, model)

    stop = evaluate(0)
    epoch = 0
    while epoch < epochs and not stop:
        epoch += 1
        batches = [slice(None)] if batch_size is None else minibatches(len(y), batch_size, rng)
        for step, idx in enumerate(batches, start=1):
            eta = schedule(updates if schedule_unit == "update" else epoch - 1)
            if next_grad is not None:
                grad, next_grad = next_grad, None
            else:
                _, grad = loss_grad(w, X[idx], y[idx])
            w = _axpy(w, grad, eta)
            if prox is not None:
                w = prox(w, eta)
            updates += 1
            if average:                     # running mean of this epoch's iterates
                _average_into(model, w, step)
            else:
                model = w
        if epoch % eval_every == 0 or epoch == epochs:
            stop = evaluate(epoch)

    history.stopped = stop and epoch < epochs
    if stopper is None:
        history.best = len(history.epoch) - 1
        return _copy(model), history
    history.best = stopper.best_step
    return _copy(stopper.best_params), history
