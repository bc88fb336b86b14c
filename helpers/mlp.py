"""A small multilayer perceptron and its training loop (notebook 5, ``make bench``).

The model is written to be read, in the spirit of Nielsen's ``network.py`` and CS231n's
``FullyConnectedNet``, but it is also the fast path the experiments run on:

- every parameter ``W1, b1, W2, b2, ...`` is a *view* into one flat vector
  ``model.theta`` (weights first, then biases) and every gradient a view into
  ``model.grad``: the backward pass writes each ``dW`` straight into ``model.grad``, and
  one call of an in-place optimizer rule (``helpers.optim.<name>_inplace``) updates the
  whole network at once;
- training runs in float32; every array a step needs (the gathered minibatch, the
  pre-activations, the gradients flowing back) is allocated once per batch size and
  reused, the matrix products write into them through ``np.matmul(..., out=)``, and the
  bias and the activation are applied in place on the product's output;
- the float64 variant (``MLP(..., dtype=np.float64)``) is the same code, used by the
  gradient checks.

Where the time of a training step goes, measured per operation over whole epochs
(``time.process_time`` around each call, median of 6 epochs of each loop, alternating;
bench network 784-500-250-100-10, ReLU, SGD, minibatch 64, float32, OpenBLAS 0.3.31
Haswell kernels on the shared 2-core AMD EPYC VM, one BLAS thread; two runs, 1-minute
load 3.8-4.9):

============================  ======================  ======================
per step, us (share)          helpers (mlp.train)     plain loop (bench)
============================  ======================  ======================
11 matrix products            2646-2673 (76-78 %)     2708-2846 (76 %)
SGD update (545k parameters)   414-469  (12-13 %)      403-445  (11-12 %)
softmax + cross-entropy        120-122   (3-4 %)       113-116   (3 %)
gather of the minibatch         58-60    (2 %)          61-63    (2 %)
bias, ReLU                      68-70    (2 %)         119-123   (3 %)
db, ReLU'                       85-86    (2-3 %)       111-116   (3 %)
rest (Python)                  < 20      (< 1 %)        26-39    (1 %)
whole step                    3378-3496               3558-3732
============================  ======================  ======================

The plain loop (``bench.speed.plain_epoch``) allocates about 40 arrays per step (5.7 MB:
the gathered batch, every activation, every ``dW`` and ``lr * dW``); this module
allocates only the loss's few temporaries of at most 64 x 10 floats. Allocation is not
where the time goes: NumPy reuses the freed blocks, and each of the plain loop's
operations takes about as long as helpers' in-place one (its ``np.maximum(., 0)`` and
``sum`` are the slower ones). Both loops spend three quarters of a step in the same 11
``np.matmul`` calls (148.4 GFLOP an epoch, :func:`bench.speed.epoch_flops`) and most of
the rest in the update, which reads the gradient and rewrites the parameters (2.2 MB
each) once per step in either loop. Hence the floor: in the same interleaved runs the
11 products alone take 0.69-0.80 of the plain loop's time (``products_over_plain`` in
``make bench``), and the products plus the flat SGD update 0.82-0.91. A loop making these
NumPy calls could get to 0.83 of the plain loop only if the rest of a step (loss, gather,
bias, activation and their derivatives, a tenth of it) cost nothing. helpers measures
0.84-1.20 of the plain loop epoch by epoch, 0.92-1.01 as the median of a run.

With two BLAS threads the products run on both cores and the rest on one. At load 1.7-1.9
a step took 2087 us in helpers (products 1444, 69 %; update 367, 18 %) and 2068 us in
the plain loop (products 1390, 67 %; update 349, 17 %), and in ``make bench`` the
products alone take 0.57-0.58 of the plain loop. When other jobs hold the cores, each
product waits until both threads have been scheduled: at load 6-9 a step took 147 ms
(helpers) and 178 ms (plain) of wall-clock time, 97 % of it in the products, and in the
same minutes the products alone took 11-180 ms a step with two threads and 2-15 ms with
one. OpenBLAS also rounds the products of layers 1-3 differently with one and two threads
(by up to 5e-7 of the largest entry), so the thread count changes a float32 trajectory
(after 200 Adam steps, max |delta theta| = 0.04); a fixed thread count reproduces it bit
for bit.

The fast path keeps the small things that were measured to pay: the gather uses
``np.take(..., mode="clip", out=)`` (``mode="raise"`` with ``out=`` copies through a
temporary: 37 instead of 25 ms an epoch), the activation overwrites the product (its
derivative is read from the activation, so ``z`` is not kept), ReLU is a ``maximum``
against a zeros array (5 us against 25 us for the scalar 0 on 64 x 500), ``db`` is
``ones @ dz`` (3 us against 8 us for a sum), the weight gradients are written
straight into ``model.grad``, and the in-place optimizer rules of :mod:`helpers.optim`
make their passes block by block (64k elements, a 256 kB scratch instead of a 2.2 MB
one): the same numbers, 5 % off the SGD and the Adam epoch in paired runs.

Measured and not taken (paired, interleaved segments against the plain loop):

- one gather per epoch into a shuffled copy of X, then contiguous slices: 0.99 of the
  plain loop against 0.98 for the per-batch gather (full epochs) and a second 188 MB copy
  of X;
- the update of each layer inside the backward pass while its ``dW`` is in cache:
  products + update 0.83-0.87 of the plain loop against 0.82-0.91 for the flat update,
  within the noise, and the loop would no longer read forward, backward, update;
- ``dW1`` in row blocks of 128 or 256, each block updated at once: products + update
  0.92-0.94 of the plain loop against 0.91 for the flat update in the same run;
- layer 1 transposed (``W1.T @ x.T``): 570-630 us against 595-606 us for ``x @ W1``.

Shapes: N batch, D input (784), H hidden, K classes (10). ``W<l>`` is ``(fan_in, fan_out)``,
``b<l>`` is ``(fan_out,)``; a layer computes ``z = h @ W + b``.
"""
import math

import numpy as np
from tqdm.auto import tqdm

from helpers import layers, optim

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
LEAKY_SLOPE = 0.01
EVAL_BATCH = 2000
FLUSH_EVERY = 100      # steps between two flushes of subnormal parameters (see train)


class _Buffers:
    """Work arrays for one batch size N (allocated once, reused by every step)."""

    def __init__(self, n, sizes, dtype):
        hidden = sizes[1:-1]
        self.x = np.empty((n, sizes[0]), dtype)                 # minibatch gathered in place
        # z[l]: the product h @ W + b of layer l; for a hidden layer the activation is
        # then written over it (the backward pass needs the activation only).
        self.z = [np.empty((n, h), dtype) for h in sizes[1:]]
        self.dz = [np.empty((n, h), dtype) for h in hidden]      # dL/da, turned into dL/dz
        self.tmp = [np.empty((n, h), dtype) for h in hidden]     # activation (derivative)
        self.mask = [np.empty((n, h), bool) for h in hidden]     # ReLU sign pattern
        self.dlogits = np.empty((n, sizes[-1]), dtype)
        self.p = np.empty((n, sizes[-1]), dtype)                  # softmax probabilities
        # ReLU as maximum(z, zeros): NumPy's maximum with a scalar 0 takes a slow path,
        # about 3 times the time of the same maximum against an array of zeros.
        self.zeros = [np.zeros((n, h), dtype) for h in hidden]
        self.ones = np.ones(n, dtype)                             # db = ones @ dz
        self.rows = np.arange(n)                                  # row index for p[rows, y]


class MLP:
    """A fully connected network ``D -> H1 -> ... -> K`` with one activation for all hidden layers.

    Parameters
    ----------
    sizes : sequence of int, e.g. ``(784, 500, 250, 100, 10)``.
    activation : one of ``ACTIVATIONS`` (hidden layers; the output layer is linear).
    loss : ``"cross_entropy"`` (softmax + cross-entropy) or ``"mse"`` (squared error on the
        softmax probabilities, ``sum((P - onehot)**2) / (2N)``).
    weight_decay : ``wd >= 0``; adds ``wd/2 * sum ||W||^2`` to the loss and ``wd * W`` to the
        weight gradients (biases are not decayed).
    seed : seeds the Xavier/Glorot uniform initialisation; biases start at 0.
    dtype : ``np.float32`` (training) or ``np.float64`` (gradient checks).

    Attributes: ``params`` / ``grads`` dicts of views into the flat ``theta`` / ``grad``.
    """

    def __init__(self, sizes=(784, 500, 250, 100, 10), activation="relu", loss="cross_entropy",
                 weight_decay=0.0, seed=0, dtype=np.float32):
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.sizes, self.activation, self.loss_name = sizes, activation, loss
        self.weight_decay, self.dtype = float(weight_decay), dtype
        self.n_layers = len(sizes) - 1

        # One flat vector, weights first: weight decay is then a single slice operation.
        w_shapes = [(sizes[i], sizes[i + 1]) for i in range(self.n_layers)]
        self.n_weights = sum(a * b for a, b in w_shapes)
        n_total = self.n_weights + sum(sizes[1:])
        self.theta = np.zeros(n_total, dtype)
        self.grad = np.zeros(n_total, dtype)
        self.params, self.grads = {}, {}
        offset = 0
        for i, shape in enumerate(w_shapes, start=1):
            size = shape[0] * shape[1]
            self.params[f"W{i}"] = self.theta[offset:offset + size].reshape(shape)
            self.grads[f"W{i}"] = self.grad[offset:offset + size].reshape(shape)
            offset += size
        for i, width in enumerate(sizes[1:], start=1):
            self.params[f"b{i}"] = self.theta[offset:offset + width]
            self.grads[f"b{i}"] = self.grad[offset:offset + width]
            offset += width
        self._wd_scratch = np.empty(self.n_weights, dtype) if self.n_weights else None

        # The same views as lists, for the hot loops (no string keys per step).
        self._W = [self.params[f"W{i}"] for i in range(1, self.n_layers + 1)]
        self._b = [self.params[f"b{i}"] for i in range(1, self.n_layers + 1)]
        self._dW = [self.grads[f"W{i}"] for i in range(1, self.n_layers + 1)]
        self._db = [self.grads[f"b{i}"] for i in range(1, self.n_layers + 1)]

        rng = np.random.default_rng(seed)
        for i, (fan_in, fan_out) in enumerate(w_shapes, start=1):
            self.params[f"W{i}"][...] = layers.xavier_init(fan_in, fan_out, rng, dtype=dtype)
        self._buffers = {}

    # ----------------------------------------------------------------------------- helpers
    def _buf(self, n):
        buf = self._buffers.get(n)
        if buf is None:
            buf = self._buffers[n] = _Buffers(n, self.sizes, self.dtype)
        return buf

    def _as_input(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (N, {self.sizes[0]}), got {X.shape}")
        return np.ascontiguousarray(X, dtype=self.dtype)

    def _activate(self, z, tmp, zeros):
        """The hidden activation of ``z``, written over ``z`` (``tmp``: scratch)."""
        kind = self.activation
        if kind == "relu":
            np.maximum(z, zeros, out=z)      # zeros: a (N, H) array of 0 (see _Buffers)
        elif kind == "leaky_relu":
            np.multiply(z, LEAKY_SLOPE, out=tmp)
            np.maximum(z, tmp, out=z)        # max(z, 0.01 z) is z for z > 0, 0.01 z otherwise
        elif kind == "sigmoid":
            # sigmoid(z) = (1 + tanh(z/2)) / 2: no exp, so no overflow for large |z|.
            z *= 0.5
            np.tanh(z, out=z)
            z += 1
            z *= 0.5
        elif kind == "tanh":
            np.tanh(z, out=z)
        # identity: nothing to do

    def _activation_backward(self, da, a, tmp, mask):
        """Turn ``da`` (dL/da) into dL/dz in place, from the activation ``a`` alone."""
        kind = self.activation
        # Plain elementwise products below: a masked write (copyto/ufunc with where=)
        # costs about 15 times as much on these (64, H) arrays. a > 0 exactly where z > 0
        # for ReLU and LeakyReLU, so the sign pattern can be read from the activation.
        if kind == "relu":
            np.greater(a, 0, out=mask)
            np.multiply(da, mask, out=da)
        elif kind == "leaky_relu":
            np.greater(a, 0, out=tmp)        # slope: 1 where z > 0, else LEAKY_SLOPE
            np.multiply(tmp, 1 - LEAKY_SLOPE, out=tmp)
            np.add(tmp, LEAKY_SLOPE, out=tmp)
            np.multiply(da, tmp, out=da)
        elif kind == "sigmoid":
            np.subtract(1, a, out=tmp)       # sigma' = sigma (1 - sigma)
            tmp *= a
            da *= tmp
        elif kind == "tanh":
            np.multiply(a, a, out=tmp)       # tanh' = 1 - tanh^2
            np.subtract(1, tmp, out=tmp)
            da *= tmp
        # identity: derivative 1, nothing to do

    def _forward(self, X, buf):
        """Logits ``buf.z[-1]`` (N, K) of X (N, D); each hidden ``buf.z[l]`` ends up holding
        that layer's activation."""
        h = X
        last = self.n_layers - 1
        for i in range(self.n_layers):
            z = buf.z[i]
            np.matmul(h, self._W[i], out=z)
            z += self._b[i]
            if i < last:
                self._activate(z, buf.tmp[i], buf.zeros[i])
            h = z
        return h

    def _data_loss(self, logits, y, buf, need_grad):
        """Mean loss over the batch and, if asked, dL/dlogits written into ``buf.dlogits``."""
        n = logits.shape[0]
        p = buf.p
        rows = buf.rows
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=p)   # row-max shift
        if self.loss_name == "cross_entropy":
            shifted_y = p[rows, y]           # z_y - m, read before p is exponentiated
        np.exp(p, out=p)
        sums = p.sum(axis=1, keepdims=True)
        if self.loss_name == "cross_entropy":
            # -log p_y = log sum_j exp(z_j - m) - (z_y - m), from the logits: no log(0).
            loss = float(np.mean(np.log(sums[:, 0]).astype(np.float64) - shifted_y))
            if need_grad:
                # Softmax followed by its matched loss: the Jacobian and the 1/p of the log
                # cancel, leaving the fused delta (P - onehot) / N.
                np.multiply(p, 1 / (n * sums), out=buf.dlogits)
                buf.dlogits[rows, y] -= 1 / n
        else:
            p /= sums
            diff = buf.dlogits
            np.copyto(diff, p)
            diff[rows, y] -= 1                                  # P - onehot
            loss = float(np.sum(diff.astype(np.float64) ** 2) / (2 * n))
            if need_grad:
                # No cancellation here: dL/dz = J^T g with g = (P - Y)/N and J the softmax
                # Jacobian diag(p) - p p^T, i.e. p * (g - <g, p>) row by row.
                diff /= n
                inner = np.einsum("ij,ij->i", diff, p)[:, None]
                diff -= inner
                diff *= p
        return loss

    def _penalty(self):
        if self.weight_decay == 0 or not self.n_weights:
            return 0.0
        w = self.theta[:self.n_weights]
        return 0.5 * self.weight_decay * float(np.dot(w, w))

    def _forward_loss(self, X, y, buf):
        """Forward pass and loss: X (N, D) contiguous of the model's dtype, y (N,) int, buf
        ``self._buf(N)``. Returns the mean loss (weight-decay term included); the
        activations and dL/dlogits stay in ``buf`` for :meth:`_backward`."""
        logits = self._forward(X, buf)
        return self._data_loss(logits, y, buf, need_grad=True) + self._penalty()

    def _backward(self, X, buf):
        """Backward pass after :meth:`_forward_loss` on the same X and buf: dL/dtheta
        written into ``self.grad`` (each ``dW`` straight into its view)."""
        dz = buf.dlogits
        for i in range(self.n_layers - 1, -1, -1):      # layer i maps h_i to z_i
            h = X if i == 0 else buf.z[i - 1]           # the activation of layer i - 1
            np.matmul(h.T, dz, out=self._dW[i])
            # the sum over the batch as a product with ones: BLAS does it in about half
            # the time of np.sum(dz, axis=0) on these (64, H) arrays
            np.matmul(buf.ones, dz, out=self._db[i])
            if i > 0:                        # the input layer needs no dL/dX
                da = buf.dz[i - 1]
                np.matmul(dz, self._W[i].T, out=da)
                self._activation_backward(da, h, buf.tmp[i - 1], buf.mask[i - 1])
                dz = da
        if self.weight_decay:
            # dL/dW += wd * W for all layers at once (the weights lead the flat vector).
            np.multiply(self.theta[:self.n_weights], self.weight_decay, out=self._wd_scratch)
            self.grad[:self.n_weights] += self._wd_scratch

    def _loss_and_grad(self, X, y, buf):
        """:meth:`loss` without the argument checks: the loss, the gradient in ``self.grad``."""
        loss = self._forward_loss(X, y, buf)
        self._backward(X, buf)
        return loss

    # ------------------------------------------------------------------------- public API
    def loss(self, X, y=None):
        """Scores without labels; ``(loss, grads)`` with them.

        X : (N, D); y : int labels (N,) or None.
        Returns ``scores`` (N, K) (a new array) when ``y`` is None; else the mean loss
        (plus ``wd/2 * sum ||W||^2``) and ``grads``, a dict keyed like ``params`` whose
        arrays are views into ``self.grad``: they are overwritten by the next call.
        """
        X = self._as_input(X)
        buf = self._buf(X.shape[0])
        if y is None:
            return self._forward(X, buf).copy()
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        return self._loss_and_grad(X, y, buf), self.grads

    def scores(self, X, batch_size=EVAL_BATCH):
        """Logits (N, K) for any number of rows, computed ``batch_size`` rows at a time."""
        X = self._as_input(X)
        out = np.empty((X.shape[0], self.sizes[-1]), self.dtype)
        for start in range(0, X.shape[0], batch_size):
            chunk = X[start:start + batch_size]
            out[start:start + len(chunk)] = self._forward(chunk, self._buf(len(chunk)))
        return out

    def predict(self, X, batch_size=EVAL_BATCH):
        """Predicted labels (N,) int64."""
        return self.scores(X, batch_size).argmax(axis=1)

    def evaluate(self, X, y, batch_size=EVAL_BATCH):
        """``(mean data loss, accuracy)`` on (X, y); the weight-decay term is not included."""
        X = self._as_input(X)
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if X.shape[0] == 0:
            raise ValueError("evaluate needs at least one row in X")
        total, correct = 0.0, 0
        for start in range(0, X.shape[0], batch_size):
            chunk, labels = X[start:start + batch_size], y[start:start + batch_size]
            buf = self._buf(len(chunk))
            logits = self._forward(chunk, buf)
            total += self._data_loss(logits, labels, buf, need_grad=False) * len(chunk)
            correct += int(np.count_nonzero(logits.argmax(axis=1) == labels))
        return total / X.shape[0], correct / X.shape[0]

    def free_buffers(self):
        """Drop the work arrays (tens of MB for evaluation chunks); they are rebuilt on demand."""
        self._buffers.clear()

    def copy_params(self):
        """A copy of the flat parameter vector (restore with ``model.theta[...] = saved``)."""
        return self.theta.copy()


def flush_subnormals(arrays, work, keep):
    """Set the subnormal entries (0 < |x| < smallest normal float) of each array to 0.

    arrays: float arrays shaped like ``work`` (changed in place); work (float) and keep
    (bool) are scratch buffers of that shape. Arithmetic on subnormal floats is about 30
    times slower on x86, and NumPy cannot switch on the CPU's flush-to-zero mode: a
    network that weight decay drives to zero (wd = 0.5) would otherwise crawl. Values
    below 1.2e-38 (float32) change no result that matters.
    """
    tiny = np.finfo(work.dtype).tiny
    for a in arrays:
        np.abs(a, out=work)
        np.greater_equal(work, tiny, out=keep)
        np.multiply(a, keep, out=a)


def optimizer_step_fn(name):
    """The in-place rule ``helpers.optim.<name>_inplace(w, dw, config)`` for ``name``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    fn = getattr(optim, f"{name}_inplace", None)
    if fn is None:
        raise ImportError(f"helpers.optim has no {name}_inplace; the MLP needs the in-place rules")
    return fn


# The state arrays each in-place rule keeps in its config, shaped like theta (see
# helpers.optim); flushed of subnormals with the parameters.
OPTIMIZER_STATE = {"sgd": (), "momentum": ("velocity",), "rmsprop": ("cache",),
                   "adam": ("m", "v")}


# ------------------------------------------------------------------- the training loop

def train(model, X_train, y_train, *, X_hold=None, y_hold=None, X_test=None, y_test=None,
          optimizer="sgd", learning_rate=0.01, optim_config=None, epochs=15, batch_size=64,
          eval_every=200, n_eval_train=10000, schedule=None, seed=0, progress=True, desc=None):
    """Train ``model`` with minibatches; no early stopping: all ``epochs`` are run.

    X_* : (N, D) already standardised; y_* : int labels (N,). Hold-out and test sets are
    optional. Every ``eval_every`` iterations (never if None, e.g. when timing) the data
    loss is measured on the first ``n_eval_train`` training rows, the hold-out and the
    test set; after each epoch the hold-out loss and accuracy. ``optim_config`` holds the
    rule's other keys (e.g. ``{"momentum": 0.9}``; it is copied, not changed); the rule
    updates ``model.theta`` in place. Every ``FLUSH_EVERY`` steps, subnormal entries of
    the parameters and of the optimizer's state arrays are set to 0
    (:func:`flush_subnormals`). ``schedule``, if given, maps the epoch index (0, 1, ...) to
    the learning rate used in that epoch. The minibatches of an epoch follow
    ``np.random.default_rng(seed).permutation(N)``, a new permutation per epoch. A
    non-finite minibatch loss raises ``FloatingPointError``.

    Returns a history dict: ``iteration``, ``train_loss``, ``hold_loss``, ``test_loss``
    (lists, one entry per evaluation, starting at iteration 0), ``batch_loss`` (the
    minibatch loss of every iteration, weight-decay term included), ``epoch_hold_loss``,
    ``epoch_hold_acc`` (one per epoch), ``config`` (the optimizer state after training)
    and ``settings``.
    """
    step = optimizer_step_fn(optimizer)
    X_train, y_train = _training_data(model, X_train, y_train, batch_size, epochs, eval_every)
    config = dict(optim_config or {})
    config["learning_rate"] = learning_rate
    log = _TrainingLog(model, X_train, y_train, X_hold, y_hold, X_test, y_test,
                       eval_every, n_eval_train, config,
                       settings={"optimizer": optimizer, "learning_rate": learning_rate,
                                 "epochs": epochs, "batch_size": batch_size,
                                 "activation": model.activation, "loss": model.loss_name,
                                 "weight_decay": model.weight_decay, "seed": seed},
                       flush_state=OPTIMIZER_STATE[optimizer])
    rng = np.random.default_rng(seed)
    bar = tqdm(total=epochs * math.ceil(len(X_train) / batch_size), disable=not progress,
               desc=desc or f"{model.activation}/{optimizer}", leave=False, mininterval=0.5)
    with bar:
        log.evaluate(0)
        iteration = 0
        for epoch in range(epochs):
            if schedule is not None:
                config["learning_rate"] = float(schedule(epoch))
            for x, y, buf in _shuffled_minibatches(model, X_train, y_train, batch_size, rng):
                loss = model._forward_loss(x, y, buf)      # forward
                log.check_finite(loss, iteration)          # a diverged run stops here
                model._backward(x, buf)                    # backward: dL/dtheta in model.grad
                step(model.theta, model.grad, config)      # update: model.theta in place
                iteration += 1
                log.step(iteration, loss)
                bar.update(1)
            hold_acc = log.end_epoch()
            if progress:
                bar.set_postfix(hold_acc=f"{hold_acc:.4f}")
        log.evaluate(iteration, final=True)
    return log.history


def _training_data(model, X, y, batch_size, epochs, eval_every):
    """The training arrays as the loop needs them (X contiguous of the model's dtype),
    after checking them and the loop's sizes once (the steps check nothing)."""
    X = model._as_input(X)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y_train must have shape ({X.shape[0]},), got {y.shape}")
    if batch_size < 1 or epochs < 0 or (eval_every is not None and eval_every < 1):
        raise ValueError("batch_size and eval_every must be >= 1 and epochs >= 0")
    return X, y


def _shuffled_minibatches(model, X, y, batch_size, rng):
    """One epoch of ``(x, y, buf)``: the rows of a fresh permutation, ``batch_size`` at a
    time, gathered into the reused ``buf.x`` of the model's buffers for that size."""
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        buf = model._buf(len(idx))
        # mode="clip" (the indices are a permutation, always in range): with out= and the
        # default mode="raise", np.take copies through a temporary, 40 % slower.
        np.take(X, idx, axis=0, out=buf.x, mode="clip")
        yield buf.x, y[idx], buf


class _TrainingLog:
    """Everything of :func:`train` that is not forward, backward, update: the history, the
    evaluation on the training rows, hold-out and test sets, the divergence check and the
    periodic flush of subnormal numbers."""

    def __init__(self, model, X_train, y_train, X_hold, y_hold, X_test, y_test, eval_every,
                 n_eval_train, config, settings, flush_state):
        self.model, self.eval_every, self.config = model, eval_every, config
        self.sets = {}
        if n_eval_train > 0:
            self.sets["train"] = (X_train[:n_eval_train], y_train[:n_eval_train])
        if X_hold is not None and len(X_hold):
            self.sets["hold"] = (model._as_input(X_hold), np.asarray(y_hold))
        if X_test is not None and len(X_test):
            self.sets["test"] = (model._as_input(X_test), np.asarray(y_test))
        self.history = {"iteration": [], "train_loss": [], "hold_loss": [], "test_loss": [],
                        "batch_loss": [], "epoch_hold_loss": [], "epoch_hold_acc": [],
                        "config": config, "settings": settings}
        self.flush_state = flush_state
        self.flush_work = np.empty_like(model.theta)
        self.flush_keep = np.empty(model.theta.shape, bool)

    def evaluate(self, iteration, final=False):
        """Data losses on the three sets at ``iteration`` (if evaluation is on; once only
        at the end when the last step was just evaluated)."""
        if self.eval_every is None or (final and self.history["iteration"][-1] == iteration):
            return
        self.history["iteration"].append(iteration)
        for name in ("train", "hold", "test"):
            loss = self.model.evaluate(*self.sets[name])[0] if name in self.sets else math.nan
            self.history[f"{name}_loss"].append(loss)

    def check_finite(self, loss, iteration):
        """Raise FloatingPointError if the minibatch loss of ``iteration`` is not finite."""
        if not math.isfinite(loss):
            lr = self.history["settings"]["learning_rate"]
            raise FloatingPointError(f"training diverged at iteration {iteration} "
                                     f"(loss {loss}); lower learning_rate={lr}")

    def step(self, iteration, loss):
        """After update number ``iteration`` (1, 2, ...), whose minibatch loss was ``loss``."""
        self.history["batch_loss"].append(loss)
        if iteration % FLUSH_EVERY == 0:
            state = [self.config[key] for key in self.flush_state if key in self.config]
            flush_subnormals([self.model.theta] + state, self.flush_work, self.flush_keep)
        if self.eval_every is not None and iteration % self.eval_every == 0:
            self.evaluate(iteration)

    def end_epoch(self):
        """Hold-out loss and accuracy after an epoch (NaN without a hold-out set);
        returns the accuracy."""
        if "hold" in self.sets:
            loss, acc = self.model.evaluate(*self.sets["hold"])
        else:
            loss, acc = math.nan, math.nan
        self.history["epoch_hold_loss"].append(loss)
        self.history["epoch_hold_acc"].append(acc)
        return acc
