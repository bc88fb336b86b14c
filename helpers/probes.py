"""Looking inside a ``helpers.mlp.MLP`` (notebook 5): its initialisation, the signal and
the gradient layer by layer, dead ReLUs, and Adam with and without its bias correction.

The MLP itself (``helpers.mlp``) is the fast training path and is not changed here: these
functions only read its public attributes (``params`` views, ``theta``, ``grad``,
``loss``, ``sizes``, ``activation``) and write new weights into its ``params`` views.

- :func:`initialise` redraws the weights with ``"xavier"`` (Glorot) or ``"he"`` (Kaiming);
  :func:`default_init` says which one suits an activation.
- :func:`hidden_activations`, :func:`activation_spread`, :func:`dead_fraction`: a forward
  pass in float64 with the reference activations, layer by layer.
- :func:`layer_gradient_norms`: ``||dL/dW_l||`` for each layer on one batch.
- :func:`adam_uncorrected_inplace` and :func:`train_steps`: a short training run with any
  in-place rule (used for the bias-correction ablation), and
  :func:`adam_step_ratio`, the size of Adam's uncorrected step relative to the corrected
  one for a steady gradient.

Shapes: N rows, D inputs, H_l units of hidden layer l.
"""
import math

import numpy as np
from tqdm.auto import tqdm

from helpers import activations, layers, optim

INITS = {"xavier": layers.xavier_init, "he": layers.he_init}
_FORWARD = {"sigmoid": activations.sigmoid_forward, "tanh": activations.tanh_forward,
            "relu": activations.relu_forward, "leaky_relu": activations.leaky_relu_forward,
            "identity": activations.identity_forward}


def default_init(activation):
    """"he" for the rectifiers (relu, leaky_relu), "xavier" for the others."""
    if activation not in _FORWARD:
        raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(_FORWARD)}")
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


def initialise(model, scheme, seed):
    """Redraw every weight matrix of ``model`` in place, layer by layer from
    ``np.random.default_rng(seed)``, with ``scheme`` "xavier" or "he"; biases set to 0.

    With "xavier" and the model's own seed this reproduces ``MLP(..., seed=seed)``'s
    initialisation exactly. Returns the model.
    """
    if scheme not in INITS:
        raise ValueError(f"scheme must be one of {sorted(INITS)}, got {scheme!r}")
    rng = np.random.default_rng(seed)
    for i in range(1, len(model.sizes)):
        W = model.params[f"W{i}"]
        W[...] = INITS[scheme](W.shape[0], W.shape[1], rng, dtype=W.dtype)
        model.params[f"b{i}"][...] = 0
    return model


def hidden_activations(model, X):
    """The activation of every hidden layer for the rows of X (N, D), in float64.

    Returns a list of (N, H_l) arrays, one per hidden layer (the logits are not included).
    """
    h = np.asarray(X, dtype=np.float64)
    forward = _FORWARD[model.activation]
    out = []
    for i in range(1, len(model.sizes) - 1):
        z = h @ model.params[f"W{i}"].astype(np.float64) + model.params[f"b{i}"]
        h, _ = forward(z)
        out.append(h)
    return out


def activation_spread(model, X):
    """Standard deviation of each hidden layer's activations over the rows of X and its
    units: a list of floats, one per hidden layer."""
    return [float(a.std()) for a in hidden_activations(model, X)]


def dead_fraction(model, X):
    """Per hidden layer, the fraction of units whose input z is <= 0 for every row of X
    (a dead ReLU passes no gradient for any of those images).

    Returns (per_layer list of floats, overall fraction over all hidden units).
    """
    h = np.asarray(X, dtype=np.float64)
    forward = _FORWARD[model.activation]
    per_layer, dead, total = [], 0, 0
    for i in range(1, len(model.sizes) - 1):
        z = h @ model.params[f"W{i}"].astype(np.float64) + model.params[f"b{i}"]
        never_on = np.all(z <= 0, axis=0)
        per_layer.append(float(never_on.mean()))
        dead += int(never_on.sum())
        total += never_on.size
        h, _ = forward(z)
    return per_layer, dead / total


def layer_gradient_norms(model, X, y):
    """Frobenius norm of dL/dW_l for every layer l = 1, 2, ... on the batch (X, y).

    Uses ``model.loss`` (mean loss of the batch, plus the weight-decay term if the model
    has one). Returns a list of floats, input layer first. ``model.grad`` is overwritten.
    """
    _, grads = model.loss(X, y)
    return [float(np.linalg.norm(grads[f"W{i}"].astype(np.float64)))
            for i in range(1, len(model.sizes))]


def adam_uncorrected_inplace(w, dw, config=None):
    """Adam WITHOUT the bias correction, in place: ``m``, ``v`` as in Adam, then
    ``w -= lr * m / (sqrt(v) + eps)`` (the ablation of notebook 5; keys as
    ``helpers.optim.adam``): ``helpers.optim.adam_inplace`` with
    ``config["bias_correction"] = False``. Returns None."""
    config = {} if config is None else config
    config["bias_correction"] = False
    optim.adam_inplace(w, dw, config)


def train_steps(model, X, y, rule, config, steps, batch_size=64, seed=0, desc=None,
                hold=None, eval_every=10):
    """``steps`` minibatch updates of ``model`` with the in-place ``rule(theta, grad,
    config)`` (e.g. ``helpers.optim.adam_inplace`` or :func:`adam_uncorrected_inplace`).

    Minibatches follow ``np.random.default_rng(seed)``, a fresh permutation of the rows
    per pass over X. ``config`` is changed (it holds the rule's state). ``hold``: optional
    ``(X_hold, y_hold)``, whose mean loss is measured before the first step and after every
    ``eval_every`` steps (and the last). Returns a dict: ``batch_loss`` (steps,),
    ``hold_step`` and ``hold_loss`` (lists; empty without ``hold``). A non-finite loss
    raises FloatingPointError.
    """
    rng = np.random.default_rng(seed)
    out = {"batch_loss": np.empty(steps), "hold_step": [], "hold_loss": []}

    def measure(step):
        if hold is not None:
            out["hold_step"].append(step)
            out["hold_loss"].append(model.evaluate(*hold)[0])

    measure(0)
    order, pos = rng.permutation(len(X)), 0
    for step in tqdm(range(steps), desc=desc, leave=False, disable=desc is None):
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(X)), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        loss, _ = model.loss(X[idx], y[idx])
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss {loss} at step {step}")
        rule(model.theta, model.grad, config)
        out["batch_loss"][step] = loss
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            if not out["hold_step"] or out["hold_step"][-1] != step + 1:
                measure(step + 1)
    return out


def adam_step_ratio(t, beta1=0.9, beta2=0.999):
    """Uncorrected over corrected Adam step for a steady gradient after t steps:
    ``(1 - beta1**t) / sqrt(1 - beta2**t)`` (t >= 1; array or scalar). 3.16 at t = 1."""
    t = np.asarray(t, dtype=np.float64)
    return (1 - beta1**t) / np.sqrt(1 - beta2**t)

