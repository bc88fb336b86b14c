"""Correct and wrong student solutions for every autograded exercise (test material).

``CORRECT[exercise]``: a tuple of independent correct implementations, in the order of the
exercise's functions (``checker.lessons.EXERCISES[exercise].functions``), written here
from the equations and NOT calling ``helpers``. Each is named exactly like the student's
function, so its source can be pasted into a solution cell as it is.

``MISTAKES[exercise]``: plausible wrong implementations, one function per mistake, each
with the exact student signature and a docstring naming the mistake. Their Python names
are descriptive (many mistakes per exercise cannot share one name); use
:func:`student_source` for source whose ``def`` line carries the student's function name,
and :func:`as_student_functions` for the full tuple to pass to ``check`` (the mistake in
place of the function it replaces, the correct partner for the others). Attributes set by
:func:`mistake`: ``exercise``, ``replaces`` (student function name), ``diagnosis`` (a
piece of text ``check``'s failure message must contain, or None when no specific
diagnosis applies), ``hard_coded`` (True for answers captured from one run: they pass
the default visible seed and fail any other).

Self-contained: every function that uses numpy imports it itself (``import numpy as np``
as its first statement; nothing relies on a notebook's ``np``) and calls no other function
of this module, so its source runs wherever it is pasted. The notebook round-trip tests
import this module (tests/ is on sys.path under pytest).
"""
import inspect
import re

from checker.lessons import EXERCISES

MISTAKES = {}


def mistake(exercise, diagnosis=None, replaces=None, hard_coded=False, hidden_only=False):
    """``mistake(exercise, ...)(func)`` registers ``func`` as a wrong solution of ``exercise``
    (called at the end of this module, so that ``inspect.getsource(func)`` is the plain
    function); ``hidden_only``: the visible check may pass it (see the registry below)."""
    functions = EXERCISES[exercise].functions
    if replaces is None:
        if len(functions) != 1:
            raise ValueError(f"{exercise} has several functions {functions}; say which one "
                             "the mistake replaces")
        replaces = functions[0]
    if replaces not in functions:
        raise ValueError(f"{replaces!r} is not a function of {exercise} {functions}")

    def register(func):
        func.exercise = exercise
        func.replaces = replaces
        func.diagnosis = diagnosis
        func.hard_coded, func.hidden_only = hard_coded, hidden_only
        MISTAKES.setdefault(exercise, []).append(func)
        return func
    return register


def student_source(func):
    """Source of ``func`` ready to paste into a solution cell, its ``def`` renamed to the
    student's function name (``func.replaces`` for a mistake)."""
    source = inspect.getsource(func)
    name = getattr(func, "replaces", func.__name__)
    return re.sub(r"^def\s+\w+\(", f"def {name}(", source, count=1)


def as_student_functions(func):
    """The tuple of functions to pass to ``check`` for the mistake ``func``."""
    exercise = EXERCISES[func.exercise]
    correct = CORRECT[func.exercise]
    return tuple(func if name == func.replaces else good
                 for name, good in zip(exercise.functions, correct))


# ============================================================================ correct

def sigmoid(z):
    """Logistic function, stable at +-1000."""
    import numpy as np
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    """ds/dz = s (1 - s), written with exp(-|z|) so that nothing overflows."""
    import numpy as np
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2  # symmetric in z: sigmoid'(z) = sigmoid'(-z)


def numerical_gradient(f, x, h=1e-5):
    """Centred differences, every coordinate; x restored exactly."""
    import numpy as np
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def logistic_loss_grad(w, X, t):
    """Mean BCE via logaddexp and its gradient X^T (s - t) / N."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow
    return float(loss), X.T @ (s - t) / X.shape[0]


def softmax(Z):
    """Row-wise, shifted by each row's maximum; Z untouched."""
    import numpy as np
    E = np.exp(Z - np.max(Z, axis=-1, keepdims=True))
    return E / np.sum(E, axis=-1, keepdims=True)


def softmax_jacobian(z):
    """J = diag(p) - p p^T."""
    import numpy as np
    e = np.exp(z - np.max(z))
    p = e / e.sum()
    return np.diag(p) - np.outer(p, p)


def softmax_loss_grad(W, X, y):
    """Mean cross-entropy of softmax(X W) and dW = X^T (P - Y) / N."""
    import numpy as np
    N = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y])
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    return float(loss), X.T @ G / N


def l2_penalty(w, lam):
    """lam/2 * sum(w**2), lam * w."""
    import numpy as np
    return 0.5 * lam * float(np.sum(w * w)), lam * w


def l1_penalty(w, lam):
    """lam * sum|w|, lam * sign(w) (0 at 0)."""
    import numpy as np
    return lam * float(np.sum(np.abs(w))), lam * np.sign(w)


def two_layer_loss_grad(params, X, y):
    """Sigmoid hidden layer, softmax output, mean cross-entropy, backprop by hand."""
    import numpy as np
    N = X.shape[0]
    a = X @ params["W1"] + params["b1"]
    h = 0.5 * (1.0 + np.tanh(0.5 * a))
    Z = h @ params["W2"] + params["b2"]
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y])
    dZ = np.exp(logP)
    dZ[np.arange(N), y] -= 1
    dZ /= N
    dh = dZ @ params["W2"].T
    da = dh * h * (1 - h)
    grads = {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dZ, "b2": dZ.sum(axis=0)}
    return float(loss), grads


def lr_annealing(eta0, t, T):
    """eta0 / (1 + t/T)."""
    return eta0 / (1.0 + t / T)


def lr_step_decay(eta0, t, k):
    """eta0 * 0.1**(t // k)."""
    return eta0 * 0.1 ** (t // k)


def logistic_predict(w, X):
    """1 where sigmoid(X w) >= 0.5, i.e. where X w >= 0."""
    import numpy as np
    return (X @ w >= 0).astype(np.int64)


def early_stopping_gd(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs, batch_size, patience,
                      rng):
    """Mini-batch GD; the hold-out loss of w0 and after every epoch; the best weights kept,
    stop after `patience` evaluations without a new best."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def regularized_logistic_loss_grad(w, X, t, lam, penalty):
    """Mean BCE plus an L1 or L2 penalty on w[1:] (the bias w[0] is not penalised)."""
    import numpy as np
    N = X.shape[0]
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    dw = X.T @ (s - t) / N
    v = w[1:]
    if penalty == "l2":
        loss += 0.5 * lam * np.sum(v * v)
        dw[1:] += lam * v
    elif penalty == "l1":
        loss += lam * np.sum(np.abs(v))
        dw[1:] += lam * np.sign(v)
    else:
        raise ValueError(f"penalty must be 'l1' or 'l2', got {penalty!r}")
    return float(loss), dw


def softmax_regression_loss_grad(params, X, y, lam=0.0):
    """Mean CE of softmax(X W + b) plus lam/2 ||W||^2; grads for W and b."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * lam * np.sum(W * W)
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G + lam * W, "b": G.sum(axis=0)}


def dense_forward(x, W, b):
    """out = x W + b; cache (x, W)."""
    return x @ W + b, (x, W)


def dense_backward(dout, cache):
    """dx = dout W^T, dW = x^T dout, db = column sums of dout."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def sigmoid_forward(x):
    """out = sigmoid(x); the cache is the output."""
    import numpy as np
    out = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out, out


def sigmoid_backward(dout, cache):
    """dx = dout s (1 - s)."""
    return dout * cache * (1 - cache)


def tanh_forward(x):
    """out = tanh(x); the cache is the output."""
    import numpy as np
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """dx = dout (1 - tanh^2)."""
    return dout * (1 - cache**2)


def relu_forward(x):
    """out = max(x, 0); the cache is x."""
    import numpy as np
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0."""
    return dout * (cache > 0)


def leaky_relu_forward(x):
    """out = x for x > 0, 0.01 x otherwise."""
    import numpy as np
    return np.where(x > 0, x, 0.01 * x), x


def leaky_relu_backward(dout, cache):
    """dx = dout for x > 0, 0.01 dout otherwise."""
    import numpy as np
    return np.where(cache > 0, dout, 0.01 * dout)


def identity_forward(x):
    """out = x."""
    return x.copy(), None


def identity_backward(dout, cache):
    """dx = dout."""
    return dout.copy()


def mse_softmax(logits, y):
    """sum((P - Y)**2) / (2N) and its gradient through the full softmax Jacobian."""
    import numpy as np
    N, K = logits.shape
    E = np.exp(logits - logits.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.zeros((N, K))
    Y[np.arange(N), y] = 1
    R = P - Y
    dP = R / N
    # J = diag(p) - p p^T per row: (J dP)_k = p_k (dP_k - sum_j p_j dP_j)
    dZ = P * dP - P * np.sum(P * dP, axis=1, keepdims=True)
    return float(np.sum(R**2) / (2 * N)), dZ


def xavier_init(fan_in, fan_out, rng):
    """Glorot uniform U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    import numpy as np
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def add_weight_decay(grads, params, wd):
    """New dict: wd * W added to every key starting with 'W'."""
    return {k: (g + wd * params[k] if k.startswith("W") else g) for k, g in grads.items()}


def sgd(w, dw, config):
    """w - lr dw."""
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def momentum(w, dw, config):
    """v = mu v - lr dw; w + v."""
    import numpy as np
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config):
    """cache = d cache + (1 - d) dw^2; w - lr dw / (sqrt(cache) + eps)."""
    import numpy as np
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    d = config["decay_rate"]
    cache = d * config.get("cache", np.zeros_like(w)) + (1 - d) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config):
    """Adam with bias correction."""
    import numpy as np
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] = config.get("t", 0) + 1
    t = config["t"]
    config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    m_hat = config["m"] / (1 - b1**t)
    v_hat = config["v"] / (1 - b2**t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def mlp_loss_grad(params, X, y, dense, activation, loss, weight_decay=0.0):
    """The given layer functions composed: every forward with its cache kept, the loss of
    the last layer's output, then the backward functions from the last layer to the first."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, caches[i - 1][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads

def train_epoch(params, X, y, loss_grad, update, configs, batch_size, rng):
    """A fresh permutation, consecutive slices of it, one update per parameter with its own
    config; the minibatch losses in order."""
    params = dict(params)
    order = rng.permutation(len(y))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = loss_grad(params, X[idx], y[idx])
        losses.append(loss)
        for key in params:
            params[key], configs[key] = update(params[key], grads[key], configs[key])
    return params, losses


CORRECT = {
    "sigmoid": (sigmoid,),
    "sigmoid_grad": (sigmoid_grad,),
    "numerical_gradient": (numerical_gradient,),
    "logistic_loss_grad": (logistic_loss_grad,),
    "softmax": (softmax,),
    "softmax_jacobian": (softmax_jacobian,),
    "softmax_loss_grad": (softmax_loss_grad,),
    "l2_penalty": (l2_penalty,),
    "l1_penalty": (l1_penalty,),
    "two_layer_loss_grad": (two_layer_loss_grad,),
    "lr_annealing": (lr_annealing,),
    "lr_step_decay": (lr_step_decay,),
    "logistic_predict": (logistic_predict,),
    "early_stopping_gd": (early_stopping_gd,),
    "regularized_logistic_loss_grad": (regularized_logistic_loss_grad,),
    "softmax_regression_loss_grad": (softmax_regression_loss_grad,),
    "dense": (dense_forward, dense_backward),
    "sigmoid_layer": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "identity": (identity_forward, identity_backward),
    "mse_softmax": (mse_softmax,),
    "xavier_init": (xavier_init,),
    "weight_decay": (add_weight_decay,),
    "sgd": (sgd,),
    "momentum": (momentum,),
    "rmsprop": (rmsprop,),
    "adam": (adam,),
    "mlp_loss_grad": (mlp_loss_grad,),
    "train_epoch": (train_epoch,),
}


# =========================================================================== mistakes
# ---- sigmoid

def sigmoid_exp_ratio(z):
    """Mistake: exp(z) / (1 + exp(z)) overflows to inf/inf = NaN at z = 1000."""
    import numpy as np
    return np.exp(z) / (1 + np.exp(z))


def sigmoid_sign_flipped(z):
    """Mistake: 1 / (1 + exp(z)), the sign inside exp flipped (that is sigmoid(-z))."""
    import numpy as np
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))


# ---- sigmoid_grad

def sigmoid_grad_at_z(z):
    """Mistake: z (1 - z), the formula s (1 - s) applied to z instead of to sigmoid(z)."""
    return z * (1 - z)


def sigmoid_grad_sign(z):
    """Mistake: a sign error, -s (1 - s)."""
    import numpy as np
    s = 0.5 * (1 + np.tanh(0.5 * np.asarray(z, dtype=float)))
    return -s * (1 - s)


# ---- numerical_gradient

def numerical_gradient_forward(f, x, h=1e-5):
    """Mistake: the forward difference (f(x+h) - f(x)) / h, first-order accurate only."""
    import numpy as np
    grad = np.zeros_like(x, dtype=np.float64)
    fx = f(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad


def numerical_gradient_not_restoring(f, x, h=1e-5):
    """Mistake: x[i] is moved to x+h, then to x-h, and never put back."""
    import numpy as np
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(*x.shape):
        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        minus = f(x)
        grad[i] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_missing_half(f, x, h=1e-5):
    """Mistake: (f(x+h) - f(x-h)) / h, the 2 in the denominator missing."""
    import numpy as np
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / h
    return grad


# ---- logistic_loss_grad

def logistic_loss_grad_no_mean(w, X, t):
    """Mistake: the loss is a mean but the gradient a sum (missing 1/N)."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(loss), X.T @ (s - t)


def logistic_loss_grad_sign(w, X, t):
    """Mistake: a sign error, X^T (t - s) / N."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(loss), X.T @ (t - s) / X.shape[0]


def logistic_loss_grad_mixed_up(w, X, t):
    """Mistake (seed 004): dC/dw_i = x_i C (1 - C), loss and prediction mixed up."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(loss), X.T @ (s * (1 - s)) / X.shape[0]


def logistic_loss_grad_column(w, X, t):
    """Mistake: t treated as a column (N, 1), so (s - t) broadcasts to (N, N)."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(loss), X.T @ (s - t.reshape(-1, 1)) / X.shape[0]


# ---- softmax

def softmax_global_max_in_place(Z):
    """Mistake (seed 002): subtracts the global maximum, in place, changing the caller's Z."""
    import numpy as np
    Z -= np.max(Z)
    E = np.exp(Z)
    return E / np.sum(E, axis=-1, keepdims=True)


def softmax_global_max(Z):
    """Mistake: the global maximum instead of each row's: rows far below it give 0/0."""
    import numpy as np
    E = np.exp(Z - np.max(Z))
    return E / np.sum(E, axis=-1, keepdims=True)


def softmax_unshifted(Z):
    """Mistake: no shift at all, exp(1000) overflows."""
    import numpy as np
    E = np.exp(Z)
    return E / np.sum(E, axis=-1, keepdims=True)


def softmax_axis0(Z):
    """Mistake: normalised over axis 0 (the examples) instead of over the classes."""
    import numpy as np
    E = np.exp(Z - np.max(Z))
    return E / np.sum(E, axis=0, keepdims=True)


# ---- softmax_jacobian

def softmax_jacobian_diagonal(z):
    """Mistake: only the diagonal p_i (1 - p_i); the -p_i p_j terms are missing."""
    import numpy as np
    e = np.exp(z - np.max(z))
    p = e / e.sum()
    return np.diag(p * (1 - p))


def softmax_jacobian_plus(z):
    """Mistake: diag(p) + p p^T, the sign of the outer product flipped."""
    import numpy as np
    e = np.exp(z - np.max(z))
    p = e / e.sum()
    return np.diag(p) + np.outer(p, p)


# ---- softmax_loss_grad

def softmax_loss_grad_no_mean(W, X, y):
    """Mistake: the gradient of the summed loss (missing 1/N)."""
    import numpy as np
    N = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    return float(-np.mean(logP[np.arange(N), y])), X.T @ G


def softmax_loss_grad_diagonal(W, X, y):
    """Mistake: dL/dp = -y/p pushed through only the diagonal p(1-p) of the Jacobian."""
    import numpy as np
    N, K = X.shape[0], W.shape[1]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    Y = np.eye(K)[y]
    loss = -np.mean(np.log(P[np.arange(N), y]))
    dP = -Y / P / N
    return float(loss), X.T @ (dP * P * (1 - P))


def softmax_loss_grad_transposed(W, X, y):
    """Mistake: dW = (P - Y)^T X, shape (K, D) instead of (D, K)."""
    import numpy as np
    N = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    return float(-np.mean(logP[np.arange(N), y])), G.T @ X / N


def softmax_loss_grad_sign(W, X, y):
    """Mistake (seed 002): the sign of dL/dp lost, dW = X^T (Y - P) / N."""
    import numpy as np
    N = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    return float(-np.mean(logP[np.arange(N), y])), -X.T @ G / N


# ---- penalties

def l2_penalty_factor_two(w, lam):
    """Mistake: lam * sum(w**2) with gradient 2 lam w (the report's convention)."""
    import numpy as np
    return lam * float(np.sum(w * w)), 2 * lam * w


def l2_penalty_sign(w, lam):
    """Mistake: the gradient -lam * w (a sign error)."""
    import numpy as np
    return 0.5 * lam * float(np.sum(w * w)), -lam * w


def l1_penalty_l2_gradient(w, lam):
    """Mistake: the gradient lam * w (the L2 one) instead of lam * sign(w)."""
    import numpy as np
    return lam * float(np.sum(np.abs(w))), lam * w


def l1_penalty_subgradient_one(w, lam):
    """Mistake: sign(0) taken as +1 (w >= 0), a subgradient the contract does not use."""
    import numpy as np
    return lam * float(np.sum(np.abs(w))), lam * np.where(w >= 0, 1.0, -1.0)


# ---- two_layer_loss_grad

def two_layer_no_bias_grads(params, X, y):
    """Mistake: bias gradients left at zero."""
    import numpy as np
    N = X.shape[0]
    h = 0.5 * (1.0 + np.tanh(0.5 * (X @ params["W1"] + params["b1"])))
    Z = h @ params["W2"] + params["b2"]
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    dZ = np.exp(logP)
    dZ[np.arange(N), y] -= 1
    dZ /= N
    da = dZ @ params["W2"].T * h * (1 - h)
    return float(-np.mean(logP[np.arange(N), y])), {
        "W1": X.T @ da, "b1": np.zeros_like(params["b1"]),
        "W2": h.T @ dZ, "b2": np.zeros_like(params["b2"])}


def two_layer_no_sigmoid_derivative(params, X, y):
    """Mistake: backprop through the hidden layer without the factor h (1 - h)."""
    import numpy as np
    N = X.shape[0]
    h = 0.5 * (1.0 + np.tanh(0.5 * (X @ params["W1"] + params["b1"])))
    Z = h @ params["W2"] + params["b2"]
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    dZ = np.exp(logP)
    dZ[np.arange(N), y] -= 1
    dZ /= N
    da = dZ @ params["W2"].T
    return float(-np.mean(logP[np.arange(N), y])), {
        "W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dZ, "b2": dZ.sum(axis=0)}


def two_layer_no_mean(params, X, y):
    """Mistake: gradients of the summed loss (missing 1/N) while the loss is a mean."""
    import numpy as np
    N = X.shape[0]
    h = 0.5 * (1.0 + np.tanh(0.5 * (X @ params["W1"] + params["b1"])))
    Z = h @ params["W2"] + params["b2"]
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    dZ = np.exp(logP)
    dZ[np.arange(N), y] -= 1
    da = dZ @ params["W2"].T * h * (1 - h)
    return float(-np.mean(logP[np.arange(N), y])), {
        "W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dZ, "b2": dZ.sum(axis=0)}


def two_layer_bias_not_summed(params, X, y):
    """Mistake: db2 = dZ (one row per example) instead of its sum over the batch."""
    import numpy as np
    N = X.shape[0]
    h = 0.5 * (1.0 + np.tanh(0.5 * (X @ params["W1"] + params["b1"])))
    Z = h @ params["W2"] + params["b2"]
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    dZ = np.exp(logP)
    dZ[np.arange(N), y] -= 1
    dZ /= N
    da = dZ @ params["W2"].T * h * (1 - h)
    return float(-np.mean(logP[np.arange(N), y])), {
        "W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dZ, "b2": dZ}


# ---- schedules

def lr_annealing_times(eta0, t, T):
    """Mistake: eta0 / (1 + t*T)."""
    return eta0 / (1 + t * T)


def lr_annealing_hard_coded(eta0, t, T):
    """Mistake: answers captured from one run of the visible check (default seed)."""
    answers = {(0.5369563681401333, 0, 10.0): 0.5369563681401333,
               (0.6913951005233163, 4, 1.0): 0.13827902010466325,
               (0.30693520297056803, 15, 5): 0.07673380074264201,
               (0.02558823138410541, 103, 9): 0.002056197164794185}
    return answers[(eta0, t, T)]


def lr_step_decay_true_division(eta0, t, k):
    """Mistake: 0.1**(t / k), a smooth decay instead of whole steps."""
    return eta0 * 0.1 ** (t / k)


def lr_step_decay_early(eta0, t, k):
    """Mistake: (t + 1) // k, the first drop one step early."""
    return eta0 * 0.1 ** ((t + 1) // k)


# ---- logistic_predict

def logistic_predict_strict(w, X):
    """Mistake: sigmoid(z) > 0.5, so a logit of exactly 0 gets label 0."""
    import numpy as np
    return (X @ w > 0).astype(np.int64)


def logistic_predict_float(w, X):
    """Mistake: returns the probabilities rounded, as floats."""
    import numpy as np
    return np.where(X @ w >= 0, 1.0, 0.0)


def logistic_predict_flipped(w, X):
    """Mistake: the comparison the wrong way round."""
    import numpy as np
    return (X @ w < 0).astype(np.int64)


# ---- regularized_logistic_loss_grad

def regularized_logistic_no_penalty_gradient(w, X, t, lam, penalty):
    """Mistake: the penalty is added to the loss but its gradient is dropped."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    v = w[1:]
    loss += 0.5 * lam * np.sum(v * v) if penalty == "l2" else lam * np.sum(np.abs(v))
    return float(loss), X.T @ (s - t) / X.shape[0]


def regularized_logistic_penalises_bias(w, X, t, lam, penalty):
    """Mistake: the penalty covers the bias w[0] too."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    dw = X.T @ (s - t) / X.shape[0]
    if penalty == "l2":
        return float(loss + 0.5 * lam * np.sum(w * w)), dw + lam * w
    return float(loss + lam * np.sum(np.abs(w))), dw + lam * np.sign(w)


def regularized_logistic_factor_two(w, X, t, lam, penalty):
    """Mistake: the L2 term as lam * ||w||^2 with gradient 2 lam w."""
    import numpy as np
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    dw = X.T @ (s - t) / X.shape[0]
    v = w[1:]
    if penalty == "l2":
        loss += lam * np.sum(v * v)
        dw[1:] += 2 * lam * v
    else:
        loss += lam * np.sum(np.abs(v))
        dw[1:] += lam * np.sign(v)
    return float(loss), dw


def regularized_logistic_penalty_over_n(w, X, t, lam, penalty):
    """Mistake: the penalty averaged over the examples too (divided by N)."""
    import numpy as np
    N = X.shape[0]
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    dw = X.T @ (s - t) / N
    v = w[1:]
    if penalty == "l2":
        loss += 0.5 * lam * np.sum(v * v) / N
        dw[1:] += lam * v / N
    else:
        loss += lam * np.sum(np.abs(v)) / N
        dw[1:] += lam * np.sign(v) / N
    return float(loss), dw


# ---- softmax_regression_loss_grad

def softmax_regression_no_penalty_gradient(params, X, y, lam=0.0):
    """Mistake: lam/2 ||W||^2 in the loss, but lam W missing from grads['W']."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * lam * np.sum(W * W)
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G, "b": G.sum(axis=0)}


def softmax_regression_penalises_bias(params, X, y, lam=0.0):
    """Mistake: the bias b penalised as well."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * lam * (np.sum(W * W) + np.sum(b * b))
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G + lam * W, "b": G.sum(axis=0) + lam * b}


def softmax_regression_no_bias_gradient(params, X, y, lam=0.0):
    """Mistake: grads['b'] left at zero."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * lam * np.sum(W * W)
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G + lam * W, "b": np.zeros_like(b)}


# ---- dense

def dense_backward_transposed(dout, cache):
    """Mistake: dW = dout^T x, shape (M, D) instead of (D, M)."""
    x, W = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def dense_backward_no_db(dout, cache):
    """Mistake: db left at zero."""
    import numpy as np
    x, W = cache
    return dout @ W.T, x.T @ dout, np.zeros(W.shape[1])


def dense_backward_db_not_summed(dout, cache):
    """Mistake: db = dout, one row per example, not summed over the batch."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.copy()


def dense_forward_no_bias(x, W, b):
    """Mistake: out = x W, the bias term forgotten."""
    return x @ W, (x, W)


# ---- activation layers

def sigmoid_backward_from_input(dout, cache):
    """Mistake: s (1 - s) evaluated at the input x instead of at s = sigmoid(x). The
    correct forward caches s, so this backward first recovers x = log(s / (1 - s))."""
    import numpy as np
    x = np.log(cache / (1 - cache))
    return dout * x * (1 - x)


def tanh_backward_from_input(dout, cache):
    """Mistake: 1 - x**2 with x the layer's input; here the cache is tanh(x), so this
    variant applies the formula to arctanh(cache) = x."""
    import numpy as np
    x = np.arctanh(cache)
    return dout * (1 - x**2)


def relu_backward_output_mask(dout, cache):
    """Mistake: the mask taken from the output with >= 0; out = max(x, 0) is >= 0
    everywhere, so every gradient passes. Here the cache is x, so the output is
    recomputed first."""
    import numpy as np
    out = np.maximum(cache, 0)
    return dout * (out >= 0)


def relu_backward_times_output(dout, cache):
    """Mistake: dout * relu(x) instead of dout * (x > 0)."""
    import numpy as np
    return dout * np.maximum(cache, 0)


def leaky_relu_backward_no_slope(dout, cache):
    """Mistake: the ReLU backward (0 for x <= 0) instead of the slope 0.01."""
    return dout * (cache > 0)


def leaky_relu_forward_wrong_slope(x):
    """Mistake: slope 0.1 instead of 0.01 for negative inputs."""
    import numpy as np
    return np.where(x > 0, x, 0.1 * x), x


def identity_backward_zeros(dout, cache):
    """Mistake: no gradient passed back."""
    import numpy as np
    return np.zeros_like(dout)


# ---- mse_softmax

def mse_softmax_diagonal(logits, y):
    """Mistake: dL/dP times only the diagonal p(1-p) of the softmax Jacobian."""
    import numpy as np
    N, K = logits.shape
    E = np.exp(logits - logits.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    R = P - np.eye(K)[y]
    return float(np.sum(R**2) / (2 * N)), R / N * P * (1 - P)


def mse_softmax_no_jacobian(logits, y):
    """Mistake: dL/dP = (P - Y)/N returned as dL/dlogits; the softmax is skipped."""
    import numpy as np
    N, K = logits.shape
    E = np.exp(logits - logits.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    R = P - np.eye(K)[y]
    return float(np.sum(R**2) / (2 * N)), R / N


def mse_softmax_no_mean(logits, y):
    """Mistake: the gradient of the summed loss (missing 1/N)."""
    import numpy as np
    N, K = logits.shape
    E = np.exp(logits - logits.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    R = P - np.eye(K)[y]
    return float(np.sum(R**2) / (2 * N)), P * R - P * np.sum(P * R, axis=1, keepdims=True)


# ---- xavier_init

def xavier_init_fan_in_only(fan_in, fan_out, rng):
    """Mistake: limit sqrt(6 / fan_in) (He-style), too wide."""
    import numpy as np
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_init_normal(fan_in, fan_out, rng):
    """Mistake: a normal distribution with the right variance, not the uniform one."""
    import numpy as np
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def xavier_init_global_rng(fan_in, fan_out, rng):
    """Mistake: draws from np.random's global state, ignoring the rng argument."""
    import numpy as np
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-a, a, size=(fan_in, fan_out))


def xavier_init_transposed(fan_in, fan_out, rng):
    """Mistake: shape (fan_out, fan_in)."""
    import numpy as np
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_out, fan_in))


def xavier_init_variance_as_limit(fan_in, fan_out, rng):
    """Mistake: limit sqrt(2 / (fan_in + fan_out)), the standard deviation used as the
    bound (variance 3 times too small)."""
    import numpy as np
    a = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_init_positive(fan_in, fan_out, rng):
    """Mistake: U(0, a), only positive weights (mean a/2; mean(W**2) is still a**2/3)."""
    import numpy as np
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(0.0, a, size=(fan_in, fan_out))


# ---- weight decay

def add_weight_decay_biases_too(grads, params, wd):
    """Mistake: wd * params added to every key, biases included."""
    return {k: g + wd * params[k] for k, g in grads.items()}


def add_weight_decay_in_place(grads, params, wd):
    """Mistake: changes the caller's grads arrays in place (the values returned are right)."""
    for k in grads:
        if k.startswith("W"):
            grads[k] += wd * params[k]
    return grads


def add_weight_decay_factor_two(grads, params, wd):
    """Mistake: 2 wd W, the gradient of wd ||W||^2 instead of wd/2 ||W||^2."""
    return {k: (g + 2 * wd * params[k] if k.startswith("W") else g) for k, g in grads.items()}


# ---- optimisers

def sgd_ascent(w, dw, config):
    """Mistake: w + lr dw, a step uphill."""
    config.setdefault("learning_rate", 1e-2)
    return w + config["learning_rate"] * dw, config


def sgd_fixed_rate(w, dw, config):
    """Mistake: a hard-coded rate 0.01, ignoring config['learning_rate']."""
    return w - 0.01 * dw, config


def momentum_forgets_velocity(w, dw, config):
    """Mistake: the velocity starts from zero at every call (never stored in config)."""
    import numpy as np
    lr = config.get("learning_rate", 1e-2)
    mu = config.get("momentum", 0.9)
    v = mu * np.zeros_like(w) - lr * dw
    return w + v, config


def momentum_opposite_velocity(w, dw, config):
    """Mistake: velocity stored with the opposite sign (v = mu v + lr dw; w - v), which
    breaks as soon as config already holds a velocity in the contract's convention."""
    import numpy as np
    lr = config.get("learning_rate", 1e-2)
    mu = config.get("momentum", 0.9)
    v = mu * config.get("velocity", np.zeros_like(w)) + lr * dw
    config["velocity"] = v
    return w - v, config


def momentum_wrong_default(w, dw, config):
    """Mistake: a default momentum of 0.99 instead of 0.9."""
    import numpy as np
    lr = config.get("learning_rate", 1e-2)
    mu = config.get("momentum", 0.99)
    v = mu * config.get("velocity", np.zeros_like(w)) - lr * dw
    config["velocity"] = v
    return w + v, config


def rmsprop_no_sqrt(w, dw, config):
    """Mistake: dw / (cache + eps), the square root forgotten."""
    import numpy as np
    lr = config.get("learning_rate", 1e-2)
    d = config.get("decay_rate", 0.99)
    eps = config.get("epsilon", 1e-8)
    cache = d * config.get("cache", np.zeros_like(w)) + (1 - d) * dw**2
    config["cache"] = cache
    return w - lr * dw / (cache + eps), config


def rmsprop_forgets_cache(w, dw, config):
    """Mistake: the cache restarts from zero at every call."""
    import numpy as np
    lr = config.get("learning_rate", 1e-2)
    d = config.get("decay_rate", 0.99)
    eps = config.get("epsilon", 1e-8)
    cache = (1 - d) * dw**2
    return w - lr * dw / (np.sqrt(cache) + eps), config


def rmsprop_decay_swapped(w, dw, config):
    """Mistake: cache = (1 - d) cache + d dw^2, the decay weights swapped."""
    import numpy as np
    lr = config.get("learning_rate", 1e-2)
    d = config.get("decay_rate", 0.99)
    eps = config.get("epsilon", 1e-8)
    cache = (1 - d) * config.get("cache", np.zeros_like(w)) + d * dw**2
    config["cache"] = cache
    return w - lr * dw / (np.sqrt(cache) + eps), config


def adam_no_bias_correction(w, dw, config):
    """Mistake: m and v used without the bias correction 1 / (1 - beta**t)."""
    import numpy as np
    lr = config.get("learning_rate", 1e-3)
    b1, b2 = config.get("beta1", 0.9), config.get("beta2", 0.999)
    eps = config.get("epsilon", 1e-8)
    config["t"] = config.get("t", 0) + 1
    config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    return w - lr * config["m"] / (np.sqrt(config["v"]) + eps), config


def adam_t_late(w, dw, config):
    """Mistake: t incremented after the bias correction, so the first step divides by
    1 - beta**0 = 0."""
    import numpy as np
    lr = config.get("learning_rate", 1e-3)
    b1, b2 = config.get("beta1", 0.9), config.get("beta2", 0.999)
    eps = config.get("epsilon", 1e-8)
    t = config.get("t", 0)
    config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = config["m"] / (1 - b1**t)
        v_hat = config["v"] / (1 - b2**t)
        next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    config["t"] = t + 1
    return next_w, config


def adam_t_not_stored(w, dw, config):
    """Mistake: t is never stored, so every step is bias-corrected as if it were step 1."""
    import numpy as np
    lr = config.get("learning_rate", 1e-3)
    b1, b2 = config.get("beta1", 0.9), config.get("beta2", 0.999)
    eps = config.get("epsilon", 1e-8)
    config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    m_hat = config["m"] / (1 - b1)
    v_hat = config["v"] / (1 - b2)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), config


# ---- early_stopping_gd

def early_stopping_gd_previous_only(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: each hold-out loss compared with the previous one only (the
    source report's test), so a slow rise with small dips resets the count; the weights
    of the last dip are kept."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < hold[-2]:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def early_stopping_gd_never_set(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: the best weights stored under another name inside the loop,
    so the variable returned is never set there and w0 comes back."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_weights, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def early_stopping_gd_last_weights(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: the weights of the last epoch returned instead of the best."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return w, hold


def early_stopping_gd_first_rise(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: stops at the first hold-out loss above the previous one and
    returns the weights of two evaluations back (the source report's code, patience ignored)."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    history = [w.copy(), w.copy()]
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        history.append(w.copy())
        if len(hold) > 3 and hold[-1] > hold[-2]:
            return history[-3], hold
    return w, hold



def early_stopping_gd_no_start_loss(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: the hold-out loss of w0 is the first best but is not recorded: the list
    starts with the loss after the first epoch."""
    import numpy as np
    w = np.array(w0, dtype=float)
    best_loss, best_w, waited = loss_grad(w, X_hold, t_hold)[0], w.copy(), 0
    hold = []
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def early_stopping_gd_not_shuffled(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: the minibatches taken in the stored order every epoch (rng never used)."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        for start in range(0, len(t), batch_size):
            idx = np.arange(start, min(start + batch_size, len(t)))
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def early_stopping_gd_drops_last(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: range(0, N - batch_size + 1, batch_size): the last, shorter minibatch is
    never used when batch_size does not divide N."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def early_stopping_gd_patience_plus_one(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: waited > patience: one evaluation without a new best too many before
    stopping."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited > patience:
                break
    return best_w, hold


def early_stopping_gd_one_epoch_short(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: epochs counted from 1 with range(1, epochs): one epoch too few when the
    loop does not stop early."""
    import numpy as np
    w = np.array(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for epoch in range(1, epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


def early_stopping_gd_updates_w0(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs,
        batch_size, patience, rng):
    """Mistake: w = np.asarray(w0) (no copy of a float array) and w -= ...: the results
    are right, but the caller's w0 is changed."""
    import numpy as np
    w = np.asarray(w0, dtype=float)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best_loss, best_w, waited = hold[0], w.copy(), 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for start in range(0, len(t), batch_size):
            idx = order[start:start + batch_size]
            w -= eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        if hold[-1] < best_loss:
            best_loss, best_w, waited = hold[-1], w.copy(), 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, hold


# ---- mlp_loss_grad

def mlp_loss_grad_act_on_output(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: the activation applied after the last layer too, so the
    logits the loss sees are squashed (the output layer must stay linear)."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        h, act_cache = act_forward(h)
        caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        d = act_backward(d, caches[i - 1][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_no_act_backward(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: the activation's derivative left out of the backward pass
    (dout goes through the activation unchanged)."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_decays_biases(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: weight decay on the biases too (loss and gradient)."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, caches[i - 1][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
        grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_no_decay_in_loss(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: the weight-decay term wd/2 sum ||W||^2 missing from the loss
    (its gradient wd W is there)."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, caches[i - 1][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_no_mean(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: the loss and every gradient of the summed loss, not the mean
    (a missing 1/N)."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    value, d = value * len(y), d * len(y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, caches[i - 1][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads



def mlp_loss_grad_two_layers(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: notebook 1's two-layer network written out (W1, b1, W2, b2): right for
    two layers only."""
    forward, backward = dense
    act_forward, act_backward = activation
    z1, cache1 = forward(X, params["W1"], params["b1"])
    h1, act_cache = act_forward(z1)
    logits, cache2 = forward(h1, params["W2"], params["b2"])
    value, d = loss(logits, y)
    dh1, dW2, db2 = backward(d, cache2)
    dX, dW1, db1 = backward(act_backward(dh1, act_cache), cache1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    for key in ("W1", "W2"):
        value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
        grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_own_relu(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: ReLU written in place of the activation it is given (np.maximum(z, 0) and
    its mask): right for ReLU networks only."""
    import numpy as np
    forward, backward = dense
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            caches[-1].append(h)
            h = np.maximum(h, 0)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = d * (caches[i - 1][1] > 0)
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_no_default(params, X, y, dense, activation, loss, weight_decay):
    """Mistake: weight_decay without its default 0.0: a call without it fails."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, caches[i - 1][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, caches[i - 1][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


def mlp_loss_grad_d_keys(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: the gradients keyed "dW1", "db1", ... (CS231n's local names), not like
    params."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h, caches = X, []
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        caches.append([cache])
        if i < n:
            h, act_cache = act_forward(h)
            caches[-1].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, caches[i - 1][1])
        d, grads["dW%d" % i], grads["db%d" % i] = backward(d, caches[i - 1][0])
    for i in range(1, n + 1):
        value = value + 0.5 * weight_decay * (params["W%d" % i] ** 2).sum()
        grads["dW%d" % i] = grads["dW%d" % i] + weight_decay * params["W%d" % i]
    return float(value), grads


def mlp_loss_grad_caches_in_params(params, X, y, dense, activation, loss, weight_decay=0.0):
    """Mistake: the forward caches kept in the params dict ("cache1", ...): the results
    are right, but the caller's params gain keys."""
    forward, backward = dense
    act_forward, act_backward = activation
    n = sum(1 for key in params if key.startswith("W"))
    h = X
    for i in range(1, n + 1):
        h, cache = forward(h, params["W%d" % i], params["b%d" % i])
        params["cache%d" % i] = [cache]
        if i < n:
            h, act_cache = act_forward(h)
            params["cache%d" % i].append(act_cache)
    value, d = loss(h, y)
    grads = {}
    for i in range(n, 0, -1):
        if i < n:
            d = act_backward(d, params["cache%d" % i][1])
        d, grads["W%d" % i], grads["b%d" % i] = backward(d, params["cache%d" % i][0])
    for key in grads:
        if key.startswith("W"):
            value = value + 0.5 * weight_decay * (params[key] ** 2).sum()
            grads[key] = grads[key] + weight_decay * params[key]
    return float(value), grads


# ---- train_epoch

def train_epoch_not_shuffled(params, X, y, loss_grad, update, configs, batch_size, rng):
    """Mistake: the examples taken in their stored order every epoch
    (rng never used)."""
    params = dict(params)
    order = list(range(len(y)))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = loss_grad(params, X[idx], y[idx])
        losses.append(loss)
        for key in params:
            params[key], configs[key] = update(params[key], grads[key], configs[key])
    return params, losses


def train_epoch_drops_last(params, X, y, loss_grad, update, configs, batch_size, rng):
    """Mistake: range(0, N - batch_size + 1, batch_size), the source report's
    loop: the last, shorter minibatch is never used."""
    params = dict(params)
    order = rng.permutation(len(y))
    losses = []
    for start in range(0, len(y) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        loss, grads = loss_grad(params, X[idx], y[idx])
        losses.append(loss)
        for key in params:
            params[key], configs[key] = update(params[key], grads[key], configs[key])
    return params, losses


def train_epoch_forgets_state(params, X, y, loss_grad, update, configs, batch_size, rng):
    """Mistake: each step gets a fresh copy of the settings, so the rule's
    state (velocity, moments) is lost between steps."""
    params = dict(params)
    order = rng.permutation(len(y))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = loss_grad(params, X[idx], y[idx])
        losses.append(loss)
        for key in params:
            params[key], _ = update(params[key], grads[key], dict(configs[key]))
    return params, losses


def train_epoch_loss_after_update(params, X, y, loss_grad, update, configs, batch_size, rng):
    """Mistake: the loss recorded after the update (a second forward pass)
    instead of the minibatch loss the gradient came from."""
    params = dict(params)
    order = rng.permutation(len(y))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = loss_grad(params, X[idx], y[idx])
        for key in params:
            params[key], configs[key] = update(params[key], grads[key], configs[key])
        losses.append(loss_grad(params, X[idx], y[idx])[0])
    return params, losses


def train_epoch_weights_only(params, X, y, loss_grad, update, configs, batch_size, rng):
    """Mistake: only the weights updated (keys starting with "W"), as for weight decay:
    the biases stay where they started."""
    params = dict(params)
    order = rng.permutation(len(y))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = loss_grad(params, X[idx], y[idx])
        losses.append(loss)
        for key in params:
            if key.startswith("W"):
                params[key], configs[key] = update(params[key], grads[key], configs[key])
    return params, losses



# ---- epsilon inside the log (issue 15 item 7): the tip "add a small epsilon (1e-7) inside
# the log" gives a loss off by up to ~1e-4 for confident predictions, and by far more where
# the true class has a tiny probability

def logistic_loss_grad_log_epsilon(w, X, t):
    """Mistake: log(p + 1e-7) and log(1 - p + 1e-7) instead of the stable form (logaddexp)."""
    import numpy as np
    z = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    loss = -np.mean(t * np.log(p + 1e-7) + (1 - t) * np.log(1 - p + 1e-7))
    return float(loss), X.T @ (p - t) / X.shape[0]


def logistic_loss_grad_log_clipped(w, X, t):
    """Mistake: p clipped to [1e-7, 1 - 1e-7] before the log, instead of the stable form."""
    import numpy as np
    z = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    q = np.clip(p, 1e-7, 1 - 1e-7)
    loss = -np.mean(t * np.log(q) + (1 - t) * np.log(1 - q))
    return float(loss), X.T @ (p - t) / X.shape[0]


def softmax_loss_grad_log_epsilon(W, X, y):
    """Mistake: -log(P[y] + 1e-7) instead of log-sum-exp."""
    import numpy as np
    N = X.shape[0]
    Z = X @ W
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y] + 1e-7))
    G = P.copy()
    G[np.arange(N), y] -= 1
    return float(loss), X.T @ G / N


def regularized_logistic_log_epsilon(w, X, t, lam, penalty):
    """Mistake: log(p + 1e-8) and log(1 - p + 1e-8) in the data term."""
    import numpy as np
    N = X.shape[0]
    z = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    loss = -np.mean(t * np.log(p + 1e-8) + (1 - t) * np.log(1 - p + 1e-8))
    dw = X.T @ (p - t) / N
    v = w[1:]
    if penalty == "l2":
        loss += 0.5 * lam * np.sum(v * v)
        dw[1:] += lam * v
    else:
        loss += lam * np.sum(np.abs(v))
        dw[1:] += lam * np.sign(v)
    return float(loss), dw


def softmax_regression_log_epsilon(params, X, y, lam=0.0):
    """Mistake: -log(P[y] + 1e-7) in the data term."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y] + 1e-7)) + 0.5 * lam * np.sum(W * W)
    G = P.copy()
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G + lam * W, "b": G.sum(axis=0)}


def two_layer_log_epsilon(params, X, y):
    """Mistake: -log(P[y] + 1e-7) instead of log-sum-exp."""
    import numpy as np
    N = X.shape[0]
    a = X @ params["W1"] + params["b1"]
    h = 0.5 * (1.0 + np.tanh(0.5 * a))
    Z = h @ params["W2"] + params["b2"]
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y] + 1e-7))
    dZ = P.copy()
    dZ[np.arange(N), y] -= 1
    dZ /= N
    da = (dZ @ params["W2"].T) * h * (1 - h)
    grads = {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dZ, "b2": dZ.sum(axis=0)}
    return float(loss), grads


# ---- promises of the exercise texts (issue 15 item 6): each breaks one promise

def sigmoid_atleast_1d(z):
    """Mistake: np.atleast_1d(z) so that masks work: a single number comes back as shape (1,)."""
    import numpy as np
    z = np.atleast_1d(np.asarray(z, dtype=np.float64))
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out


def sigmoid_grad_exp_form(z):
    """Mistake: exp(-z) / (1 + exp(-z))**2 overflows to inf/inf = NaN at z = -1000."""
    import numpy as np
    e = np.exp(-np.asarray(z, dtype=np.float64))
    return e / (1 + e) ** 2


def numerical_gradient_flat_loop(f, x, h=1e-5):
    """Mistake: for i in range(x.size) with x[i]: right for a vector only (x[i] is a row of a
    matrix)."""
    import numpy as np
    grad = np.zeros_like(x, dtype=np.float64)
    for i in range(x.size):
        old = x[i].copy()
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def logistic_loss_grad_squeeze(w, X, t):
    """Mistake: np.squeeze on the scores: a single example (N = 1) becomes a scalar and the
    mean over the batch breaks."""
    import numpy as np
    z = np.squeeze(X @ w)
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(loss), X.T @ (s - t) / len(z)


def logistic_loss_grad_naive_log(w, X, t):
    """Mistake: the naive -[t log p + (1 - t) log(1 - p)]: log(0) once p rounds to 0 or 1."""
    import numpy as np
    z = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    return float(loss), X.T @ (p - t) / X.shape[0]


def logistic_loss_grad_residual_in_place(w, X, t):
    """Mistake: the residual p - t computed in the caller's t (np.asarray does not copy a
    float array): the outputs are right but t is changed."""
    import numpy as np
    z = X @ w
    r = np.asarray(t, dtype=np.float64)
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    loss = np.mean(np.logaddexp(0.0, z) - r * z)
    r -= p
    return float(loss), -(X.T @ r) / X.shape[0]


def softmax_axis1(Z):
    """Mistake: axis=1 written out: breaks on a single score vector of shape (K,)."""
    import numpy as np
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)


def softmax_jacobian_unshifted(z):
    """Mistake: exp(z) / sum(exp(z)) without the shift: inf/inf = NaN at scores of 1000."""
    import numpy as np
    e = np.exp(z)
    p = e / e.sum()
    return np.diag(p) - np.outer(p, p)


def softmax_loss_grad_unshifted(W, X, y):
    """Mistake: the softmax without the row maximum: inf/inf = NaN once scores reach 1000."""
    import numpy as np
    N = X.shape[0]
    E = np.exp(X @ W)
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y]))
    G = P.copy()
    G[np.arange(N), y] -= 1
    return float(loss), X.T @ G / N


def softmax_loss_grad_shift_w_in_place(W, X, y):
    """Mistake: the stability shift applied to W itself (W -= its row maxima): every score
    of a row moves by the same amount, so the outputs are right, but W is changed."""
    import numpy as np
    N = X.shape[0]
    W -= W.max(axis=1, keepdims=True)
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y])
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    return float(loss), X.T @ G / N


def l2_penalty_vector_only(w, lam):
    """Mistake: w @ w for the sum of squares: right for a vector only."""
    return 0.5 * lam * float(w @ w), lam * w


def two_layer_log_of_softmax(params, X, y):
    """Mistake: log(softmax) instead of log-sum-exp: log(0) once a class is far below."""
    import numpy as np
    N = X.shape[0]
    a = X @ params["W1"] + params["b1"]
    h = 0.5 * (1.0 + np.tanh(0.5 * a))
    Z = h @ params["W2"] + params["b2"]
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y]))
    dZ = P.copy()
    dZ[np.arange(N), y] -= 1
    dZ /= N
    da = (dZ @ params["W2"].T) * h * (1 - h)
    grads = {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dZ, "b2": dZ.sum(axis=0)}
    return float(loss), grads


def lr_annealing_one_based(eta0, t, T):
    """Mistake: t counted from 1 (t - 1 updates made): wrong from the first update, t = 0."""
    return eta0 / (1.0 + (t - 1) / T)


def lr_step_decay_one_based(eta0, t, k):
    """Mistake: t counted from 1 ((t - 1) // k): wrong at t = 0 and at every multiple of k."""
    return eta0 * 0.1 ** ((t - 1) // k)


def regularized_logistic_naive_log(w, X, t, lam, penalty):
    """Mistake: the naive log(p), log(1 - p) data term: log(0) for large |x^T w|."""
    import numpy as np
    N = X.shape[0]
    z = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    dw = X.T @ (p - t) / N
    v = w[1:]
    if penalty == "l2":
        loss += 0.5 * lam * np.sum(v * v)
        dw[1:] += lam * v
    else:
        loss += lam * np.sum(np.abs(v))
        dw[1:] += lam * np.sign(v)
    return float(loss), dw


def softmax_regression_no_default(params, X, y, lam):
    """Mistake: lam without its default 0.0: a call without lam fails."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * lam * np.sum(W * W)
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G + lam * W, "b": G.sum(axis=0)}


def softmax_regression_log_of_softmax(params, X, y, lam=0.0):
    """Mistake: log(softmax) instead of log-sum-exp: log(0) once a class is far below."""
    import numpy as np
    N = X.shape[0]
    W, b = params["W"], params["b"]
    Z = X @ W + b
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y])) + 0.5 * lam * np.sum(W * W)
    G = P.copy()
    G[np.arange(N), y] -= 1
    G /= N
    return float(loss), {"W": X.T @ G + lam * W, "b": G.sum(axis=0)}


def sigmoid_forward_naive(x):
    """Mistake: 1 / (1 + exp(-x)): the value is right but exp overflows (a warning) at
    x = -1000; the text asks for a warning-free sigmoid."""
    import numpy as np
    out = 1 / (1 + np.exp(-x))
    return out, out


def relu_backward_right_branch(dout, cache):
    """Mistake: the mask x >= 0: the derivative at x = 0 taken as 1 (the text's convention
    is the left branch's, 0)."""
    import numpy as np
    return np.where(cache >= 0, dout, 0.0)


def leaky_relu_backward_right_branch(dout, cache):
    """Mistake: x >= 0: the derivative at x = 0 taken as 1 (the convention is 0.01)."""
    import numpy as np
    return np.where(cache >= 0, dout, 0.01 * dout)


def identity_forward_alias(x):
    """Mistake: returns its input itself: a later in-place change of x changes the output."""
    return x, None


def identity_backward_alias(dout, cache):
    """Mistake: returns dout itself: a later in-place change of dout changes dx."""
    return dout


def mse_softmax_unshifted(logits, y):
    """Mistake: exp(logits) without the row maximum: inf/inf = NaN at logits of 1000."""
    import numpy as np
    N, K = logits.shape
    E = np.exp(logits)
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.zeros((N, K))
    Y[np.arange(N), y] = 1
    R = P - Y
    dP = R / N
    dZ = P * dP - P * np.sum(P * dP, axis=1, keepdims=True)
    return float(np.sum(R**2) / (2 * N)), dZ


def sgd_in_place(w, dw, config):
    """Mistake: w -= lr dw: the trajectory is right but the caller's w is changed."""
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


# ======================================================================= registry
# Not decorators: a pasted function's source must not refer to this module. The order
# within an exercise is kept (the round-trip tests use each exercise's first mistake).

mistake("sigmoid", diagnosis="NaN")(sigmoid_exp_ratio)
mistake("sigmoid", diagnosis="sign of z")(sigmoid_sign_flipped)
mistake("sigmoid_grad", diagnosis="evaluated at z")(sigmoid_grad_at_z)
mistake("sigmoid_grad", diagnosis="opposite sign")(sigmoid_grad_sign)
mistake("numerical_gradient", diagnosis="forward difference")(numerical_gradient_forward)
mistake("numerical_gradient", diagnosis="not restored")(numerical_gradient_not_restoring)
mistake("numerical_gradient", diagnosis="off by a factor 2")(numerical_gradient_missing_half)
mistake("logistic_loss_grad", diagnosis="missing 1/N")(logistic_loss_grad_no_mean)
mistake("logistic_loss_grad", diagnosis="opposite sign")(logistic_loss_grad_sign)
mistake("logistic_loss_grad", diagnosis="mixed up")(logistic_loss_grad_mixed_up)
mistake("logistic_loss_grad", diagnosis="expected shape")(logistic_loss_grad_column)
mistake("softmax", diagnosis="changed its argument Z in place")(softmax_global_max_in_place)
mistake("softmax", diagnosis="NaN")(softmax_global_max)
mistake("softmax", diagnosis="NaN")(softmax_unshifted)
mistake("softmax", diagnosis="columns")(softmax_axis0)
mistake("softmax_jacobian", diagnosis="only the diagonal")(softmax_jacobian_diagonal)
mistake("softmax_jacobian", diagnosis="sign of the p p^T")(softmax_jacobian_plus)
mistake("softmax_loss_grad", diagnosis="missing 1/N")(softmax_loss_grad_no_mean)
mistake("softmax_loss_grad", diagnosis="only the diagonal")(softmax_loss_grad_diagonal)
mistake("softmax_loss_grad", diagnosis="transposed")(softmax_loss_grad_transposed)
mistake("softmax_loss_grad", diagnosis="opposite sign")(softmax_loss_grad_sign)
mistake("l2_penalty", diagnosis="factor 2 in the L2 term")(l2_penalty_factor_two)
mistake("l2_penalty", diagnosis="opposite sign")(l2_penalty_sign)
mistake("l1_penalty", diagnosis="L2 gradient")(l1_penalty_l2_gradient)
mistake("l1_penalty")(l1_penalty_subgradient_one)
mistake("two_layer_loss_grad", diagnosis="missing bias gradient")(two_layer_no_bias_grads)
mistake("two_layer_loss_grad", diagnosis="sigmoid derivative")(two_layer_no_sigmoid_derivative)
mistake("two_layer_loss_grad", diagnosis="missing 1/N")(two_layer_no_mean)
mistake("two_layer_loss_grad", diagnosis="sum over the batch")(two_layer_bias_not_summed)
mistake("lr_annealing", diagnosis="t*T")(lr_annealing_times)
mistake("lr_annealing", hard_coded=True)(lr_annealing_hard_coded)
mistake("lr_step_decay", diagnosis="true division")(lr_step_decay_true_division)
mistake("lr_step_decay", diagnosis="one step early")(lr_step_decay_early)
mistake("logistic_predict", diagnosis="> 0.5 instead of >= 0.5")(logistic_predict_strict)
mistake("logistic_predict", diagnosis="integer labels")(logistic_predict_float)
mistake("logistic_predict", diagnosis="flipped")(logistic_predict_flipped)
mistake("early_stopping_gd", diagnosis="previous evaluation only")(early_stopping_gd_previous_only)
mistake("early_stopping_gd", diagnosis="never set inside the loop")(early_stopping_gd_never_set)
mistake("early_stopping_gd", diagnosis="last epoch returned")(early_stopping_gd_last_weights)
mistake("early_stopping_gd")(early_stopping_gd_first_rise)
mistake("early_stopping_gd")(early_stopping_gd_no_start_loss)
mistake("early_stopping_gd")(early_stopping_gd_not_shuffled)
mistake("early_stopping_gd", diagnosis="shorter minibatch dropped", hidden_only=True)(
    early_stopping_gd_drops_last)
mistake("early_stopping_gd")(early_stopping_gd_patience_plus_one)
mistake("early_stopping_gd", diagnosis="one epoch too few", hidden_only=True)(
    early_stopping_gd_one_epoch_short)
mistake("early_stopping_gd", diagnosis="changed its input w0 in place", hidden_only=True)(
    early_stopping_gd_updates_w0)
mistake("regularized_logistic_loss_grad", diagnosis="missing regularisation term")(
    regularized_logistic_no_penalty_gradient)
mistake("regularized_logistic_loss_grad", diagnosis="bias w[0] penalised")(
    regularized_logistic_penalises_bias)
mistake("regularized_logistic_loss_grad", diagnosis="factor 2 in the L2 term")(
    regularized_logistic_factor_two)
mistake("regularized_logistic_loss_grad", diagnosis="divided by N")(
    regularized_logistic_penalty_over_n)
mistake("softmax_regression_loss_grad", diagnosis="missing regularisation term")(
    softmax_regression_no_penalty_gradient)
mistake("softmax_regression_loss_grad", diagnosis="bias b penalised")(
    softmax_regression_penalises_bias)
mistake("softmax_regression_loss_grad", diagnosis="missing bias gradient")(
    softmax_regression_no_bias_gradient)
mistake("dense", diagnosis="transposed", replaces="dense_backward")(dense_backward_transposed)
mistake("dense", diagnosis="missing bias gradient", replaces="dense_backward")(
    dense_backward_no_db)
mistake("dense", diagnosis="sum over the batch", replaces="dense_backward")(
    dense_backward_db_not_summed)
mistake("dense", diagnosis="missing bias term", replaces="dense_forward")(dense_forward_no_bias)
mistake("sigmoid_layer", diagnosis="evaluated at x", replaces="sigmoid_backward")(
    sigmoid_backward_from_input)
mistake("tanh", diagnosis="1 - x**2", replaces="tanh_backward")(tanh_backward_from_input)
mistake("relu", diagnosis=">= 0", replaces="relu_backward")(relu_backward_output_mask)
mistake("relu", diagnosis="multiplied by the output", replaces="relu_backward")(
    relu_backward_times_output)
mistake("leaky_relu", diagnosis="slope 0.01 missing", replaces="leaky_relu_backward")(
    leaky_relu_backward_no_slope)
mistake("leaky_relu", replaces="leaky_relu_forward")(leaky_relu_forward_wrong_slope)
mistake("identity", diagnosis="all zeros", replaces="identity_backward")(identity_backward_zeros)
mistake("mse_softmax", diagnosis="only the diagonal")(mse_softmax_diagonal)
mistake("mse_softmax", diagnosis="Jacobian left out")(mse_softmax_no_jacobian)
mistake("mse_softmax", diagnosis="missing 1/N")(mse_softmax_no_mean)
mistake("xavier_init", diagnosis="exceeds the Glorot limit")(xavier_init_fan_in_only)
mistake("xavier_init", diagnosis="exceeds the Glorot limit")(xavier_init_normal)
mistake("xavier_init", diagnosis="different matrices")(xavier_init_global_rng)
mistake("xavier_init", diagnosis="transposed")(xavier_init_transposed)
mistake("xavier_init", diagnosis="empirical variance")(xavier_init_variance_as_limit)
mistake("xavier_init", diagnosis="mean of W")(xavier_init_positive)
mistake("weight_decay", diagnosis="biases decayed too")(add_weight_decay_biases_too)
mistake("weight_decay", diagnosis="in place")(add_weight_decay_in_place)
mistake("weight_decay", diagnosis="factor 2 in the L2 term")(add_weight_decay_factor_two)
mistake("sgd")(sgd_ascent)
mistake("sgd")(sgd_fixed_rate)
mistake("momentum", diagnosis="not kept between steps")(momentum_forgets_velocity)
mistake("momentum")(momentum_opposite_velocity)
mistake("momentum")(momentum_wrong_default)
mistake("rmsprop", diagnosis="square root missing")(rmsprop_no_sqrt)
mistake("rmsprop", diagnosis="not kept between steps")(rmsprop_forgets_cache)
mistake("rmsprop")(rmsprop_decay_swapped)
mistake("adam", diagnosis="without the bias correction")(adam_no_bias_correction)
mistake("adam", diagnosis="NaN")(adam_t_late)
mistake("adam")(adam_t_not_stored)
mistake("mlp_loss_grad", diagnosis="after the last layer too")(mlp_loss_grad_act_on_output)
mistake("mlp_loss_grad", diagnosis="backward pass skipped")(mlp_loss_grad_no_act_backward)
mistake("mlp_loss_grad", diagnosis="biases decayed too")(mlp_loss_grad_decays_biases)
mistake("mlp_loss_grad", diagnosis="missing from the loss")(mlp_loss_grad_no_decay_in_loss)
mistake("mlp_loss_grad", diagnosis="missing 1/N")(mlp_loss_grad_no_mean)
mistake("mlp_loss_grad")(mlp_loss_grad_two_layers)
mistake("mlp_loss_grad", diagnosis="ReLU written in place")(mlp_loss_grad_own_relu)
mistake("mlp_loss_grad", diagnosis="TypeError")(mlp_loss_grad_no_default)
mistake("mlp_loss_grad", diagnosis="keys are wrong")(mlp_loss_grad_d_keys)
mistake("mlp_loss_grad", diagnosis="changed its input params in place", hidden_only=True)(
    mlp_loss_grad_caches_in_params)
mistake("train_epoch", diagnosis="not shuffled")(train_epoch_not_shuffled)
mistake("train_epoch", diagnosis="shorter minibatch dropped")(train_epoch_drops_last)
mistake("train_epoch", diagnosis="not kept between steps")(train_epoch_forgets_state)
mistake("train_epoch")(train_epoch_loss_after_update)
mistake("train_epoch", diagnosis="only the weights updated")(train_epoch_weights_only)
# issue 15: epsilon inside the log (item 7), and mistakes that break one promise of an
# exercise's text (item 6). hidden_only=True: the visible check may pass the mistake (for
# some seeds or all); the hidden cases (an edge case the text promises) reject it, and its
# diagnosis is what the hidden check's message must contain (tests/test_checks.py).
EPS = "epsilon inside the log: use log-sum-exp / logaddexp instead"
mistake("logistic_loss_grad", diagnosis=EPS)(logistic_loss_grad_log_epsilon)
mistake("logistic_loss_grad", diagnosis=EPS, hidden_only=True)(
    logistic_loss_grad_log_clipped)
mistake("softmax_loss_grad", diagnosis=EPS, hidden_only=True)(
    softmax_loss_grad_log_epsilon)
mistake("regularized_logistic_loss_grad", diagnosis=EPS, hidden_only=True)(
    regularized_logistic_log_epsilon)
mistake("softmax_regression_loss_grad", diagnosis=EPS, hidden_only=True)(
    softmax_regression_log_epsilon)
mistake("two_layer_loss_grad", diagnosis=EPS, hidden_only=True)(
    two_layer_log_epsilon)
mistake("sigmoid", diagnosis="expected a single number")(sigmoid_atleast_1d)
mistake("sigmoid_grad", diagnosis="NaN")(sigmoid_grad_exp_form)
mistake("numerical_gradient")(numerical_gradient_flat_loop)
mistake("logistic_loss_grad")(logistic_loss_grad_squeeze)
mistake("logistic_loss_grad", hidden_only=True)(logistic_loss_grad_naive_log)
mistake("logistic_loss_grad", diagnosis="changed its input t in place", hidden_only=True)(
    logistic_loss_grad_residual_in_place)
mistake("softmax", diagnosis="AxisError")(softmax_axis1)
mistake("softmax_jacobian", diagnosis="NaN")(softmax_jacobian_unshifted)
mistake("softmax_loss_grad", diagnosis="NaN")(softmax_loss_grad_unshifted)
mistake("softmax_loss_grad", diagnosis="changed its input W in place", hidden_only=True)(
    softmax_loss_grad_shift_w_in_place)
mistake("l2_penalty")(l2_penalty_vector_only)
mistake("two_layer_loss_grad", diagnosis="NaN/inf", hidden_only=True)(two_layer_log_of_softmax)
mistake("lr_annealing")(lr_annealing_one_based)
mistake("lr_step_decay")(lr_step_decay_one_based)
mistake("regularized_logistic_loss_grad", diagnosis="NaN/inf", hidden_only=True)(
    regularized_logistic_naive_log)
mistake("softmax_regression_loss_grad", diagnosis="TypeError")(softmax_regression_no_default)
mistake("softmax_regression_loss_grad", diagnosis="NaN/inf", hidden_only=True)(
    softmax_regression_log_of_softmax)
mistake("sigmoid_layer", diagnosis="FloatingPointError", replaces="sigmoid_forward",
        hidden_only=True)(sigmoid_forward_naive)
mistake("relu", diagnosis="left branch's: 0", replaces="relu_backward", hidden_only=True)(
    relu_backward_right_branch)
mistake("leaky_relu", diagnosis="left branch's: 0.01", replaces="leaky_relu_backward",
        hidden_only=True)(leaky_relu_backward_right_branch)
mistake("identity", diagnosis="an alias", replaces="identity_forward", hidden_only=True)(
    identity_forward_alias)
mistake("identity", diagnosis="an alias", replaces="identity_backward", hidden_only=True)(
    identity_backward_alias)
mistake("mse_softmax", diagnosis="NaN")(mse_softmax_unshifted)
mistake("sgd", diagnosis="changed the w it was given in place", hidden_only=True)(sgd_in_place)
