"""helpers.probes (notebook 5) and helpers.layers.he_init: initialisation schemes, the
forward probes against a hand-written forward pass, gradient norms against the model's
own gradient, dead units, the uncorrected Adam rule recomputed from its formula."""
import numpy as np
import pytest

from helpers import layers, mlp, optim, probes


def test_he_init_limit_variance_reproducible():
    W = layers.he_init(400, 300, np.random.default_rng(0))
    limit = np.sqrt(6 / 400)
    assert W.shape == (400, 300) and np.abs(W).max() <= limit
    assert W.var() == pytest.approx(2 / 400, rel=0.02)
    np.testing.assert_array_equal(W, layers.he_init(400, 300, np.random.default_rng(0)))
    assert layers.he_init(3, 2, np.random.default_rng(0), dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="he_init: fan_in"):
        layers.he_init(0, 3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="he_init: rng"):
        layers.he_init(3, 3, 0)


def test_default_init():
    assert probes.default_init("relu") == probes.default_init("leaky_relu") == "he"
    assert probes.default_init("tanh") == probes.default_init("sigmoid") == "xavier"
    with pytest.raises(ValueError):
        probes.default_init("softplus")


def test_initialise_xavier_reproduces_the_model_and_he_is_wider():
    model = mlp.MLP((20, 16, 8, 4), seed=3)
    saved = model.copy_params()
    model.theta[...] = 0.5                            # scramble, biases included
    probes.initialise(model, "xavier", seed=3)
    np.testing.assert_array_equal(model.theta, saved)
    probes.initialise(model, "he", seed=3)
    assert np.all(model.params["b1"] == 0)
    assert np.abs(model.params["W1"]).max() <= np.sqrt(6 / 20)
    assert model.params["W1"].std() > saved[:20 * 16].std()
    with pytest.raises(ValueError):
        probes.initialise(model, "orthogonal", seed=0)


def forward_by_hand(model, X):
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[model.activation]
    h, zs = X, []
    for i in range(1, len(model.sizes) - 1):
        z = h @ model.params[f"W{i}"].astype(np.float64) + model.params[f"b{i}"]
        zs.append(z)
        h = act(z)
    return zs


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_hidden_activations_and_spread(activation):
    rng = np.random.default_rng(0)
    model = mlp.MLP((6, 5, 4, 3), activation=activation, seed=1)
    X = rng.standard_normal((7, 6))
    got = probes.hidden_activations(model, X)
    assert [a.shape for a in got] == [(7, 5), (7, 4)]
    # the logits of the model equal the last hidden layer times W3 + b3
    logits = got[-1] @ model.params["W3"].astype(np.float64) + model.params["b3"]
    np.testing.assert_allclose(logits, model.loss(X), rtol=1e-4, atol=1e-5)
    assert probes.activation_spread(model, X) == pytest.approx([a.std() for a in got])


def test_dead_fraction_counts_units_never_on():
    model = mlp.MLP((3, 4, 2), seed=0)
    model.params["W1"][...] = 0
    model.params["b1"][...] = [1.0, -1.0, 0.0, 2.0]      # units 1 and 2 never above 0
    per_layer, overall = probes.dead_fraction(model, np.ones((5, 3)))
    assert per_layer == [0.5] and overall == 0.5


def test_layer_gradient_norms_match_the_model_gradient():
    rng = np.random.default_rng(0)
    model = mlp.MLP((6, 5, 3), seed=2, dtype=np.float64)
    X, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    norms = probes.layer_gradient_norms(model, X, y)
    _, grads = model.loss(X, y)
    assert norms == pytest.approx([np.linalg.norm(grads["W1"]), np.linalg.norm(grads["W2"])])


def test_adam_uncorrected_recomputed_from_the_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(5)
    config = {"learning_rate": 0.01}
    m = v = np.zeros(5)
    want = w.copy()
    for _ in range(4):
        g = rng.standard_normal(5)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        want = want - 0.01 * m / (np.sqrt(v) + 1e-8)
        probes.adam_uncorrected_inplace(w, g, config)
    np.testing.assert_allclose(w, want, rtol=1e-12)
    assert config["t"] == 4


def test_adam_uncorrected_is_adam_inplace_without_the_correction_only():
    """The ablation is optim.adam_inplace's own passes (blocks and all) with the two
    scalars left uncorrected; the default keeps the correction."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(optim.BLOCK + 7).astype(np.float32)
    grads = [rng.standard_normal(w0.size).astype(np.float32) for _ in range(3)]
    runs = {}
    for name, rule, config in (("ablation", probes.adam_uncorrected_inplace, {}),
                               ("flag", optim.adam_inplace, {"bias_correction": False}),
                               ("adam", optim.adam_inplace, {})):
        w = w0.copy()
        for g in grads:
            rule(w, g, config)
        runs[name] = w
    assert np.array_equal(runs["ablation"], runs["flag"])
    assert not np.allclose(runs["ablation"], runs["adam"], rtol=1e-3)


def test_adam_step_ratio():
    assert probes.adam_step_ratio(1) == pytest.approx(0.1 / np.sqrt(0.001))
    t = np.arange(1, 5001)
    ratio = probes.adam_step_ratio(t)
    assert 5 <= t[ratio.argmax()] <= 15 and ratio.max() == pytest.approx(6.5, abs=0.1)
    assert probes.adam_step_ratio(1000) == pytest.approx(1.26, abs=0.01)


def test_train_steps_lowers_the_loss_with_either_adam():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    for rule in (optim.adam_inplace, probes.adam_uncorrected_inplace):
        model = mlp.MLP((10, 16, 2), seed=0)
        out = probes.train_steps(model, X, y, rule, {"learning_rate": 1e-2}, steps=60,
                                 batch_size=20, seed=0, hold=(X[:50], y[:50]), eval_every=25)
        losses = out["batch_loss"]
        assert losses.shape == (60,) and losses[-10:].mean() < losses[:10].mean()
        assert out["hold_step"] == [0, 25, 50, 60]
        assert out["hold_loss"][-1] < out["hold_loss"][0]
        assert out["hold_loss"][-1] == pytest.approx(model.evaluate(X[:50], y[:50])[0])
    assert probes.train_steps(mlp.MLP((10, 4, 2)), X, y, optim.sgd_inplace, {"learning_rate": 0.1},
                              steps=3, batch_size=20)["hold_step"] == []
