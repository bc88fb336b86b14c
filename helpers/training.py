"""Training-loop pieces: learning-rate schedules, seeded mini-batches, early stopping
(notebooks 2 to 5).

Schedules take the initial rate eta0 and the step (or epoch) counter t = 0, 1, 2, ...
"""
import copy
import numbers

import numpy as np


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
