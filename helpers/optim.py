"""First-order update rules: SGD, momentum, RMSProp, Adam (notebook 5).

Two flavours with the same ``config`` keys and the same equations:

- the reference rules ``sgd|momentum|rmsprop|adam(w, dw, config) -> (next_w, config)``
  (CS231n style). They never change ``w`` or ``dw``; the moments live in ``config``, a
  plain dict the caller owns and can print, created there on the first call.
- the fast rules ``<name>_inplace(w, dw, config) -> None`` for the MLP training loop,
  which keeps every layer's parameters in ONE flat contiguous float32 vector so that one
  vectorised update covers the whole network. They change ``w`` (and the state arrays in
  ``config``) in place; the state and one scratch buffer (``config["scratch"]``) are
  allocated on the first call and reused, so a step allocates no arrays. On contiguous
  arrays they run block by block (:data:`BLOCK` elements; see :func:`_blocks`).

State belongs to the ``config`` dict, one per parameter array; it is never keyed by
``id()`` (ids are reused after garbage collection, which silently mixes states).

Hyper-parameter keys and defaults (the contract in docs/interfaces.md):

==========  ==============================================================
sgd         learning_rate=1e-2
momentum    learning_rate=1e-2, momentum=0.9; state velocity
rmsprop     learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8; state cache
adam        learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8; state m, v, t
==========  ==============================================================
"""
import math
import numbers

import numpy as np

_DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


# --------------------------------------------------------------------------- checks

def _check_arrays(w, dw, rule, inplace):
    if not isinstance(w, np.ndarray) or not np.issubdtype(w.dtype, np.floating):
        raise TypeError(f"{rule}: w must be a floating-point NumPy array, "
                        f"got {type(w).__name__} {getattr(w, 'dtype', '')}")
    dw = np.asarray(dw)
    if dw.shape != w.shape:
        raise ValueError(f"{rule}: dw has shape {dw.shape} but w has shape {w.shape}; "
                         "the gradient must match its parameter")
    if inplace and not w.flags.writeable:
        raise ValueError(f"{rule}: w is read-only; the in-place rule must write into it")
    return dw


def _setup(config, rule):
    """Return ``config`` (a new dict if None) with the rule's defaults filled in."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"{rule}: config must be a dict or None, got {type(config).__name__}")
    for key, value in _DEFAULTS[rule].items():
        config.setdefault(key, value)
    lr = config["learning_rate"]
    if not isinstance(lr, numbers.Real) or not lr >= 0:
        raise ValueError(f"{rule}: config['learning_rate'] must be a number >= 0, got {lr!r}")
    for key in ("momentum", "decay_rate", "beta1", "beta2"):
        if key in _DEFAULTS[rule]:
            value = config[key]
            if not isinstance(value, numbers.Real) or not 0 <= value < 1:
                raise ValueError(f"{rule}: config[{key!r}] must be in [0, 1), got {value!r}")
    if "epsilon" in _DEFAULTS[rule]:
        eps = config["epsilon"]
        if not isinstance(eps, numbers.Real) or not eps > 0:
            raise ValueError(f"{rule}: config['epsilon'] must be > 0, got {eps!r}")
    return config


def _state(config, key, w, rule):
    """The state array ``config[key]`` (zeros like ``w`` when missing), shape-checked."""
    if key not in config:
        config[key] = np.zeros_like(w)
    state = config[key]
    if not isinstance(state, np.ndarray) or state.shape != w.shape:
        raise ValueError(f"{rule}: config[{key!r}] has shape {getattr(state, 'shape', None)} "
                         f"but w has shape {w.shape}; use one config dict per parameter array")
    return state


#: Elements per block of the in-place rules (256 kB of float32; see :func:`_blocks`).
BLOCK = 1 << 16


def _blocked(written):
    """True if the arrays a rule writes (w and its state) can be cut into flat blocks."""
    return all(a.ndim > 0 and a.flags.c_contiguous for a in written)


def _scratch(config, rule, *written):
    """The reusable work buffer of the in-place rules (allocated once): one block of
    ``min(w.size, BLOCK)`` elements, or an array shaped like ``w`` if the arrays written
    (``w`` first, then the state) are not all C-contiguous."""
    w = written[0]
    shape = (min(w.size, BLOCK),) if _blocked(written) else w.shape
    if "scratch" not in config:
        config["scratch"] = np.empty(shape, w.dtype)
    buf = config["scratch"]
    if not isinstance(buf, np.ndarray) or buf.shape != shape or buf.dtype != w.dtype:
        raise ValueError(f"{rule}: config['scratch'] does not match w ({w.shape}, {w.dtype}); "
                         "use one config dict per parameter array")
    return buf


def _blocks(scratch, written, read):
    """The in-place rules' arrays block by block: yields ``(*written, *read, scratch)``
    as views of at most :data:`BLOCK` consecutive elements each.

    Each rule makes several passes over ``w``, ``dw``, its state and the scratch (2 for
    SGD, 12 for Adam). Over the MLP's whole flat vector (545k floats, 2.2 MB an array)
    every pass streams all of them through the caches, and a whole-vector scratch adds
    2.2 MB to what the next step's products have to find in cache; one block at a time,
    the passes over a block find it still in cache and the scratch is 256 kB. The
    elements and the arithmetic are the same, so the result is bit for bit that of
    whole-array passes; the bench network's SGD and Adam epochs were 3-6 % faster in
    paired interleaved runs (blocks of 64k-256k; 16k blocks lost it to the Python loop).

    ``written`` (w and the state arrays) are cut into flat views only if they are all
    C-contiguous (:func:`_blocked`); otherwise every array is yielded whole, once, with a
    scratch shaped like w. ``read`` (dw) is read through ``np.ravel`` (a copy only if
    it is not contiguous).
    """
    if not _blocked(written):
        yield (*written, *read, scratch)
        return
    flat = [a.reshape(-1) for a in written] + [np.ravel(a) for a in read]
    size = flat[0].size
    for start in range(0, size, BLOCK):
        stop = min(start + BLOCK, size)
        yield (*(a[start:stop] for a in flat), scratch[:stop - start])


# ------------------------------------------------------------------ reference rules

def sgd(w, dw, config=None):
    """Vanilla SGD: ``next_w = w - lr * dw``.

    w, dw: arrays of the same shape. Returns (next_w, config); w is not changed.
    """
    dw = _check_arrays(w, dw, "sgd", inplace=False)
    config = _setup(config, "sgd")
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def momentum(w, dw, config=None):
    """SGD with momentum: ``v = mu*v - lr*dw; next_w = w + v``.

    w, dw: arrays of the same shape; config["velocity"] (like w) is created as zeros.
    Returns (next_w, config); w is not changed, config["velocity"] is replaced.
    """
    dw = _check_arrays(w, dw, "momentum", inplace=False)
    config = _setup(config, "momentum")
    v = _state(config, "velocity", w, "momentum")
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: ``cache = d*cache + (1-d)*dw**2; next_w = w - lr*dw/(sqrt(cache)+eps)``.

    w, dw: arrays of the same shape; config["cache"] (like w) is created as zeros.
    Returns (next_w, config); w is not changed, config["cache"] is replaced.
    """
    dw = _check_arrays(w, dw, "rmsprop", inplace=False)
    config = _setup(config, "rmsprop")
    cache = _state(config, "cache", w, "rmsprop")
    d = config["decay_rate"]
    cache = d * cache + (1 - d) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction (Kingma and Ba, 2015).

    ``t += 1; m = b1*m + (1-b1)*dw; v = b2*v + (1-b2)*dw**2; m_hat = m/(1-b1**t);
    v_hat = v/(1-b2**t); next_w = w - lr*m_hat/(sqrt(v_hat)+eps)``.
    w, dw: arrays of the same shape; config["m"], config["v"] (like w) and config["t"]
    (int) are created on the first call. Returns (next_w, config); w is not changed.
    """
    dw = _check_arrays(w, dw, "adam", inplace=False)
    config = _setup(config, "adam")
    m = _state(config, "m", w, "adam")
    v = _state(config, "v", w, "adam")
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


def add_weight_decay(grads, params, wd):
    """Return new grads with ``wd * params[k]`` added for every key starting with "W".

    grads, params: dicts of arrays with the same keys and shapes. Biases (keys not
    starting with "W") are not decayed and are passed through as the same arrays.
    Neither dict is changed. This is the gradient of the penalty wd/2 * sum(W**2).
    """
    if not isinstance(wd, numbers.Real) or not wd >= 0:
        raise ValueError(f"add_weight_decay: wd must be a number >= 0, got {wd!r}")
    if set(grads) != set(params):
        raise ValueError("add_weight_decay: grads and params must have the same keys, got "
                         f"{sorted(grads)} and {sorted(params)}")
    out = dict(grads)
    for key in grads:
        if key.startswith("W"):
            if np.shape(grads[key]) != np.shape(params[key]):
                raise ValueError(f"add_weight_decay: grads[{key!r}] has shape "
                                 f"{np.shape(grads[key])} but params[{key!r}] has shape "
                                 f"{np.shape(params[key])}")
            out[key] = grads[key] + wd * params[key]
    return out


# ------------------------------------------------------------------- in-place rules
# Same equations as above, written with out= so that no array is allocated per step, and
# applied block by block (_blocks): ``w``, ``dw``, ``v``... below are blocks of the arrays
# and ``s`` the block of config["scratch"].

def sgd_inplace(w, dw, config=None):
    """Vanilla SGD in place: ``w -= lr * dw``.

    w: float array (typically the MLP's flat float32 vector), changed in place;
    dw: gradient shaped like w. Returns None; config gains config["scratch"].
    """
    dw = _check_arrays(w, dw, "sgd_inplace", inplace=True)
    config = _setup(config, "sgd")
    lr = config["learning_rate"]
    scratch = _scratch(config, "sgd_inplace", w)
    for w, dw, s in _blocks(scratch, (w,), (dw,)):
        np.multiply(dw, lr, out=s)
        np.subtract(w, s, out=w)


def momentum_inplace(w, dw, config=None):
    """SGD with momentum in place: ``v = mu*v - lr*dw; w += v``.

    w changed in place; config["velocity"] and config["scratch"] allocated once, then
    updated in place. Returns None.
    """
    dw = _check_arrays(w, dw, "momentum_inplace", inplace=True)
    config = _setup(config, "momentum")
    mu, lr = config["momentum"], config["learning_rate"]
    v = _state(config, "velocity", w, "momentum_inplace")
    scratch = _scratch(config, "momentum_inplace", w, v)
    for w, v, dw, s in _blocks(scratch, (w, v), (dw,)):
        np.multiply(v, mu, out=v)
        np.multiply(dw, lr, out=s)
        np.subtract(v, s, out=v)
        np.add(w, v, out=w)


def rmsprop_inplace(w, dw, config=None):
    """RMSProp in place: ``cache = d*cache + (1-d)*dw**2; w -= lr*dw/(sqrt(cache)+eps)``.

    w changed in place; config["cache"] and config["scratch"] allocated once. Returns None.
    """
    dw = _check_arrays(w, dw, "rmsprop_inplace", inplace=True)
    config = _setup(config, "rmsprop")
    d, eps, lr = config["decay_rate"], config["epsilon"], config["learning_rate"]
    cache = _state(config, "cache", w, "rmsprop_inplace")
    scratch = _scratch(config, "rmsprop_inplace", w, cache)
    for w, cache, dw, s in _blocks(scratch, (w, cache), (dw,)):
        np.multiply(cache, d, out=cache)
        np.multiply(dw, dw, out=s)
        np.multiply(s, 1 - d, out=s)
        np.add(cache, s, out=cache)
        np.sqrt(cache, out=s)
        np.add(s, eps, out=s)
        np.divide(dw, s, out=s)
        np.multiply(s, lr, out=s)
        np.subtract(w, s, out=w)


def adam_inplace(w, dw, config=None):
    """Adam in place, same equations and keys as :func:`adam`.

    w changed in place; config["m"], config["v"], config["scratch"] allocated once and
    updated in place, config["t"] incremented. Returns None.

    The bias corrections are folded into two scalars instead of being applied to whole
    arrays: with ``c1 = 1 - b1**t`` and ``c2 = 1 - b2**t``,
    ``lr * m_hat / (sqrt(v_hat) + eps) = lr_t * m / (sqrt(v) + eps_hat)`` where
    ``lr_t = lr * sqrt(c2) / c1`` and ``eps_hat = eps * sqrt(c2)`` (multiply numerator and
    denominator by ``sqrt(c2)``). It is the same update, computed with 12 passes over the
    arrays instead of 13 (the step is bound by those passes: about 0.8 ms for the 545k
    float32 parameters of the bench MLP, of which np.sqrt alone is 0.25 ms).

    ``config["bias_correction"] = False`` (not a key of :func:`adam`) leaves the
    corrections out: ``w -= lr * m / (sqrt(v) + eps)``, the ablation of notebook 5
    (``helpers.probes.adam_uncorrected_inplace``).
    """
    dw = _check_arrays(w, dw, "adam_inplace", inplace=True)
    config = _setup(config, "adam")
    m = _state(config, "m", w, "adam_inplace")
    v = _state(config, "v", w, "adam_inplace")
    scratch = _scratch(config, "adam_inplace", w, m, v)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    config["t"] = t
    # m_hat = m/c1, v_hat = v/c2, w -= lr*m_hat/(sqrt(v_hat)+eps): folded into lr_t and
    # eps_hat (see the docstring), so s = lr_t * m / (sqrt(v) + eps_hat), then w -= s.
    if config.get("bias_correction", True):
        c1, c2 = 1 - b1**t, 1 - b2**t
        lr_t = config["learning_rate"] * math.sqrt(c2) / c1
        eps_hat = config["epsilon"] * math.sqrt(c2)
    else:                # the ablation of notebook 5: w -= lr * m / (sqrt(v) + eps)
        lr_t, eps_hat = config["learning_rate"], config["epsilon"]
    for w, m, v, dw, s in _blocks(scratch, (w, m, v), (dw,)):
        # m = b1*m + (1-b1)*dw
        np.multiply(m, b1, out=m)
        np.multiply(dw, 1 - b1, out=s)
        np.add(m, s, out=m)
        # v = b2*v + (1-b2)*dw**2
        np.multiply(v, b2, out=v)
        np.square(dw, out=s)
        np.multiply(s, 1 - b2, out=s)
        np.add(v, s, out=v)
        # w -= lr_t * m / (sqrt(v) + eps_hat)
        np.sqrt(v, out=s)
        np.add(s, eps_hat, out=s)
        np.divide(m, s, out=s)
        np.multiply(s, lr_t, out=s)
        np.subtract(w, s, out=w)
