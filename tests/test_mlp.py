"""Tests for helpers.mlp: gradient checks of the whole network (float64), the fast
float32 path against a plain composition of the reference kernels, the training loop
against the pure optimizer rules, learning on a toy problem, and reproducibility."""
import numpy as np
import pytest

from helpers import activations, layers, losses, mlp, optim
from helpers.gradcheck import numerical_gradient, relative_error

SIZES = (7, 6, 5, 4)           # D, H1, H2, K: small enough for a full numerical gradient


def _data(n=9, sizes=SIZES, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return X, y


# ------------------------------------------------------------------ gradient checks

@pytest.mark.parametrize("loss", mlp.LOSSES)
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_full_gradient_check(activation, loss):
    X, y = _data()
    model = mlp.MLP(SIZES, activation=activation, loss=loss, seed=0, dtype=np.float64)
    # Non-zero biases so that every path (and ReLU's sign pattern) is exercised.
    model.theta[model.n_weights:] = np.random.default_rng(2).normal(0, 0.3, model.theta.size - model.n_weights)
    _, grads = model.loss(X, y)
    analytic = model.grad.copy()
    numeric = numerical_gradient(lambda _: model.loss(X, y)[0], model.theta)
    err = relative_error(analytic, numeric)
    assert err < 1e-7, f"{activation}/{loss}: relative error {err:.2e} (expect ~1e-9)"
    assert set(grads) == set(model.params)


def test_gradient_check_with_weight_decay():
    X, y = _data()
    model = mlp.MLP(SIZES, activation="tanh", weight_decay=0.3, seed=0, dtype=np.float64)
    loss, _ = model.loss(X, y)
    analytic = model.grad.copy()
    numeric = numerical_gradient(lambda _: model.loss(X, y)[0], model.theta)
    assert relative_error(analytic, numeric) < 1e-7
    # The penalty is wd/2 * sum of squared weights; the biases (zero here) are not in it.
    plain = mlp.MLP(SIZES, activation="tanh", seed=0, dtype=np.float64)
    penalty = 0.15 * sum(np.sum(model.params[k] ** 2) for k in model.params if k.startswith("W"))
    assert loss == pytest.approx(plain.loss(X, y)[0] + penalty, rel=1e-12)


# ---------------------------------------------------- fast path vs reference kernels

def _reference(params, X, y, activation, loss, wd):
    """Loss and grads from helpers.layers/activations/losses/optim, composed plainly."""
    fwd = getattr(activations, f"{activation}_forward")
    bwd = getattr(activations, f"{activation}_backward")
    n_layers = len(params) // 2
    h, caches = X, []
    for i in range(1, n_layers + 1):
        z, dense_cache = layers.dense_forward(h, params[f"W{i}"], params[f"b{i}"])
        if i < n_layers:
            h, act_cache = fwd(z)
        else:
            h, act_cache = z, None
        caches.append((dense_cache, act_cache))
    loss_fn = losses.softmax_cross_entropy if loss == "cross_entropy" else losses.mse_softmax
    value, dout = loss_fn(h, y)
    grads = {}
    for i in range(n_layers, 0, -1):
        dense_cache, act_cache = caches[i - 1]
        if act_cache is not None:
            dout = bwd(dout, act_cache)
        dout, grads[f"W{i}"], grads[f"b{i}"] = layers.dense_backward(dout, dense_cache)
    value += wd / 2 * sum(np.sum(params[k] ** 2) for k in params if k.startswith("W"))
    return value, optim.add_weight_decay(grads, params, wd)


@pytest.mark.parametrize("loss", mlp.LOSSES)
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_float32_path_matches_reference(activation, loss):
    rng = np.random.default_rng(0)
    sizes = (30, 20, 16, 10)
    X = rng.standard_normal((64, 30)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = mlp.MLP(sizes, activation=activation, loss=loss, weight_decay=0.01, seed=3)
    model.theta[model.n_weights:] = rng.normal(0, 0.2, model.theta.size - model.n_weights)
    assert model.theta.dtype == np.float32
    params64 = {k: v.astype(np.float64) for k, v in model.params.items()}
    ref_loss, ref_grads = _reference(params64, X.astype(np.float64), y, activation, loss, 0.01)
    value, grads = model.loss(X, y)
    assert value == pytest.approx(ref_loss, rel=1e-5)
    for key in model.params:
        assert grads[key].dtype == np.float32
        scale = np.max(np.abs(ref_grads[key])) + 1e-12
        np.testing.assert_allclose(grads[key], ref_grads[key], rtol=0, atol=2e-5 * scale,
                                   err_msg=f"{activation}/{loss}: {key}")
    scores = model.loss(X)
    assert scores.shape == (64, 10) and scores.dtype == np.float32
    np.testing.assert_array_equal(model.predict(X), scores.argmax(axis=1))


@pytest.mark.parametrize("loss", mlp.LOSSES)
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_float64_buffer_path_equals_reference_layers(activation, loss):
    """The buffer path in float64 (activation written over the product, the derivative
    read from the activation, db as ones @ dz, every dW written into the flat gradient)
    computes the reference layers' loss and gradients to float64 rounding, for a full
    batch and for a short one (a second set of buffers)."""
    rng = np.random.default_rng(7)
    sizes = (11, 9, 8, 6)
    model = mlp.MLP(sizes, activation=activation, loss=loss, weight_decay=0.02, seed=5,
                    dtype=np.float64)
    model.theta[model.n_weights:] = rng.normal(0, 0.3, model.theta.size - model.n_weights)
    for n in (16, 5):
        X = rng.standard_normal((n, 11))
        y = rng.integers(0, 6, n)
        ref_loss, ref_grads = _reference(dict(model.params), X, y, activation, loss, 0.02)
        value, grads = model.loss(X, y)
        assert value == pytest.approx(ref_loss, rel=1e-13, abs=1e-15)
        for key in model.params:
            scale = np.max(np.abs(ref_grads[key])) + 1e-300
            np.testing.assert_allclose(grads[key], ref_grads[key], rtol=0, atol=1e-13 * scale,
                                       err_msg=f"{activation}/{loss}/N={n}: {key}")
        assert np.shares_memory(grads["W1"], model.grad)


def test_minibatches_follow_the_seeded_permutation():
    """Epoch e of train visits X[perm_e[s:s + B]] in order, perm_e the e-th permutation of
    np.random.default_rng(seed): the rows and labels gathered into the reused buffer are
    exactly those, a short last batch included."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((21, 4)).astype(np.float32)
    y = rng.integers(0, 3, 21)
    model = mlp.MLP((4, 5, 3), seed=0)
    shuffle, expected = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(2):
        perm = expected.permutation(21)
        seen = []
        for x, labels, buf in mlp._shuffled_minibatches(model, X, y, 8, shuffle):
            assert x is buf.x and buf is model._buf(len(labels))
            start = 8 * len(seen)
            np.testing.assert_array_equal(x, X[perm[start:start + 8]])
            np.testing.assert_array_equal(labels, y[perm[start:start + 8]])
            seen.append(len(labels))
        assert seen == [8, 8, 5]


@pytest.mark.parametrize("name", mlp.OPTIMIZERS)
def test_train_is_bit_identical_to_stepping_the_public_api(name):
    """mlp.train's loop (buffers, no argument checks) gives exactly the parameters of the
    same epochs stepped by hand with model.loss and the in-place rule, in float32."""
    X, y = _blobs(n=150)
    lr = 0.05 if name in ("sgd", "momentum") else 0.005
    model = mlp.MLP((20, 16, 12, 5), activation="relu", weight_decay=0.001, seed=2)
    by_hand = mlp.MLP((20, 16, 12, 5), activation="relu", weight_decay=0.001, seed=2)
    hist = mlp.train(model, X, y, optimizer=name, learning_rate=lr, epochs=2, batch_size=32,
                     eval_every=None, n_eval_train=0, seed=9, progress=False)
    step, config = mlp.optimizer_step_fn(name), {"learning_rate": lr}
    rng, losses = np.random.default_rng(9), []
    for _ in range(2):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 32):
            idx = order[start:start + 32]
            loss, _ = by_hand.loss(X[idx], y[idx])
            step(by_hand.theta, by_hand.grad, config)
            losses.append(loss)
    np.testing.assert_array_equal(model.theta, by_hand.theta)
    assert hist["batch_loss"] == losses


def test_params_and_grads_are_views_of_the_flat_vectors():
    model = mlp.MLP((784, 500, 250, 100, 10))
    n = 784 * 500 + 500 * 250 + 250 * 100 + 100 * 10
    assert model.n_weights == n and model.theta.size == n + 500 + 250 + 100 + 10
    assert model.theta.dtype == np.float32 and model.grad.dtype == np.float32
    for key in model.params:
        assert np.shares_memory(model.params[key], model.theta)
        assert np.shares_memory(model.grads[key], model.grad)
    assert model.params["W1"].shape == (784, 500) and model.params["b4"].shape == (10,)
    # Xavier/Glorot uniform: inside the limit, biases zero, same draws as the kernel.
    limit = np.sqrt(6 / (784 + 500))
    assert np.abs(model.params["W1"]).max() <= limit
    assert not model.theta[model.n_weights:].any()
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(model.params["W1"], layers.xavier_init(784, 500, rng, np.float32))


def test_evaluate_matches_loss_and_buffers_are_reused():
    X, y = _data(n=50)
    model = mlp.MLP(SIZES, activation="relu", seed=0)
    loss, _ = model.loss(X.astype(np.float32), y)
    buf = model._buffers[50]
    ev_loss, acc = model.evaluate(X, y, batch_size=7)        # chunks of 7 and a remainder
    assert ev_loss == pytest.approx(loss, rel=1e-5)
    assert acc == pytest.approx(np.mean(model.predict(X) == y))
    model.loss(X.astype(np.float32), y)
    assert model._buffers[50] is buf


def test_relu_zeros_buffer_stays_zero_and_bias_gradient_is_the_batch_sum():
    """The fast path's ReLU is maximum(z, zeros) and db is ones @ dz: after training
    the zeros are still zeros, and db equals the plain sum of dL/dz over the batch."""
    X, y = _blobs(n=96)
    model = mlp.MLP((20, 16, 8, 5), activation="relu", seed=0)
    mlp.train(model, X, y, optimizer="sgd", learning_rate=0.1, epochs=2, batch_size=32,
              progress=False)
    buf = model._buffers[32]
    assert all(not z.any() for z in buf.zeros)
    model.loss(X[:32], y[:32])
    np.testing.assert_allclose(model.grads["b3"], buf.dlogits.sum(axis=0), rtol=1e-5, atol=1e-7)
    da = buf.dz[1]                                 # dL/dz of the second hidden layer
    np.testing.assert_allclose(model.grads["b2"], da.sum(axis=0), rtol=1e-5, atol=1e-7)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="activation"):
        mlp.MLP(SIZES, activation="softplus")
    with pytest.raises(ValueError, match="loss"):
        mlp.MLP(SIZES, loss="hinge")
    with pytest.raises(ValueError, match="weight_decay"):
        mlp.MLP(SIZES, weight_decay=-1)
    model = mlp.MLP(SIZES)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 7\)"):
        model.loss(np.zeros((3, 8)))
    with pytest.raises(ValueError, match="y must have shape"):
        model.loss(np.zeros((3, 7)), np.zeros(4, int))
    with pytest.raises(ValueError, match="optimizer"):
        mlp.train(model, np.zeros((3, 7)), np.zeros(3, int), optimizer="lbfgs", progress=False)


# ------------------------------------------------------------------- training loop

@pytest.mark.parametrize("name,config", [("sgd", {}), ("momentum", {"momentum": 0.9}),
                                         ("rmsprop", {}), ("adam", {})])
def test_train_loop_equals_pure_rules(name, config):
    """One epoch of mlp.train == the same minibatches stepped with the per-key pure rule."""
    X, y = _data(n=40)
    lr = 0.05 if name in ("sgd", "momentum") else 0.01
    model = mlp.MLP(SIZES, activation="leaky_relu", weight_decay=0.01, seed=4, dtype=np.float64)
    ref = mlp.MLP(SIZES, activation="leaky_relu", seed=4, dtype=np.float64)
    mlp.train(model, X, y, optimizer=name, learning_rate=lr, optim_config=config, epochs=2,
              batch_size=8, seed=5, progress=False)

    rule = getattr(optim, name)
    params = {k: v.copy() for k, v in ref.params.items()}
    configs = {k: {"learning_rate": lr, **config} for k in params}
    rng = np.random.default_rng(5)
    steps = 0
    for _ in range(2):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 8):
            idx = order[start:start + 8]
            for k in params:
                ref.params[k][...] = params[k]
            _, grads = ref.loss(X[idx], y[idx])
            grads = optim.add_weight_decay({k: g.copy() for k, g in grads.items()}, params, 0.01)
            for k in params:
                params[k], configs[k] = rule(params[k], grads[k], configs[k])
            steps += 1
    assert steps == 10
    for k in params:
        np.testing.assert_allclose(model.params[k], params[k], rtol=1e-12, atol=1e-14,
                                   err_msg=f"{name}: {k}")


def _blobs(n=600, d=20, k=5, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, d))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("adam", 1e-3)])
def test_tiny_training_run_learns(optimizer, lr):
    X, y = _blobs()
    model = mlp.MLP((20, 32, 16, 5), activation="relu", seed=0)
    start_loss, start_acc = model.evaluate(X, y)
    hist = mlp.train(model, X[:500], y[:500], X_hold=X[500:], y_hold=y[500:], X_test=X[500:],
                     y_test=y[500:], optimizer=optimizer, learning_rate=lr, epochs=3,
                     batch_size=32, eval_every=10, seed=0, progress=False)
    end_loss, end_acc = model.evaluate(X[500:], y[500:])
    assert end_loss < 0.25 * start_loss and end_acc > 0.9
    # 16 steps per epoch, evaluation at 0, 10, 20, 30, 40 and at the end (48).
    assert hist["iteration"] == [0, 10, 20, 30, 40, 48]
    assert len(hist["train_loss"]) == len(hist["test_loss"]) == len(hist["hold_loss"]) == 6
    assert hist["test_loss"][-1] < hist["test_loss"][0]
    assert len(hist["epoch_hold_acc"]) == 3 and hist["epoch_hold_acc"][-1] == pytest.approx(end_acc)


def test_training_is_reproducible_with_seeds():
    X, y = _blobs(n=200)

    def run(init_seed, shuffle_seed):
        model = mlp.MLP((20, 16, 5), activation="tanh", seed=init_seed)
        mlp.train(model, X, y, optimizer="momentum", learning_rate=0.05, epochs=2,
                  batch_size=16, seed=shuffle_seed, progress=False)
        return model.theta.copy()

    np.testing.assert_array_equal(run(0, 0), run(0, 0))
    assert not np.array_equal(run(0, 0), run(0, 1))
    assert not np.array_equal(run(0, 0), run(1, 0))


def test_divergence_is_reported():
    X, y = _blobs(n=64)
    model = mlp.MLP((20, 16, 5), activation="relu", seed=0)
    with pytest.raises(FloatingPointError, match="learning_rate"), np.errstate(all="ignore"):
        mlp.train(model, X * 1e3, y, optimizer="sgd", learning_rate=1e6, epochs=3,
                  batch_size=16, progress=False)


@pytest.mark.parametrize("name", mlp.OPTIMIZERS)
def test_optimizer_state_names_every_state_array_of_the_rule(name):
    """train flushes the arrays OPTIMIZER_STATE names: exactly those the in-place rule
    keeps in its config besides its scratch buffer."""
    w, config = np.ones(5, np.float32), {}
    mlp.optimizer_step_fn(name)(w, np.full(5, 0.5, np.float32), config)
    arrays = {k for k, v in config.items() if isinstance(v, np.ndarray)} - {"scratch"}
    assert arrays == set(mlp.OPTIMIZER_STATE[name])


def test_activation_overwrites_the_product_in_the_buffers():
    """A hidden layer's buffer holds its activation after the forward pass (the backward
    pass reads the derivative from it)."""
    X, _ = _data(n=6)
    for activation in mlp.ACTIVATIONS:
        model = mlp.MLP(SIZES, activation=activation, seed=0, dtype=np.float64)
        model.loss(X)
        z1 = X @ model.params["W1"] + model.params["b1"]
        a1 = getattr(activations, f"{activation}_forward")(z1)[0]
        np.testing.assert_allclose(model._buffers[6].z[0], a1, rtol=1e-12, atol=1e-14)


def test_flush_subnormals():
    a = np.array([1e-40, -1e-42, 0.0, 1e-30, -2.0, np.finfo(np.float32).tiny], np.float32)
    b = np.array([3e-39, 1.0, -1e-45, 0.5, 0.0, 2e-38], np.float32)
    mlp.flush_subnormals([a, b], np.empty_like(a), np.empty(a.shape, bool))
    np.testing.assert_array_equal(a, np.array([0, 0, 0, 1e-30, -2.0, np.finfo(np.float32).tiny],
                                              np.float32))
    np.testing.assert_array_equal(b, np.array([0, 1.0, 0, 0.5, 0, 2e-38], np.float32))


def test_train_flushes_subnormal_parameters_and_state():
    X, y = _blobs(n=64 * mlp.FLUSH_EVERY // 2)
    model = mlp.MLP((20, 16, 5), activation="relu", seed=0)
    model.theta[-1] = 1e-40                     # a subnormal bias of the output layer
    before = model.theta.copy()
    hist = mlp.train(model, X, y, optimizer="momentum", learning_rate=0.0, epochs=2,
                     batch_size=64, progress=False)
    assert model.theta[-1] == 0
    np.testing.assert_array_equal(model.theta[:-1], before[:-1])    # lr = 0: nothing else moves
    assert not np.any((hist["config"]["velocity"] != 0)
                      & (np.abs(hist["config"]["velocity"]) < np.finfo(np.float32).tiny))
