"""Tests for helpers.optim: every rule recomputed from its formula over several steps,
the in-place rules equal to the reference rules, and no allocation per in-place step."""
import tracemalloc

import numpy as np
import pytest

from helpers import optim

STEPS = 6
RULES = ["sgd", "momentum", "rmsprop", "adam"]


def _grads(rng, shape, steps=STEPS, dtype=np.float64):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


def _adam_by_formula(w, grads, lr, b1, b2, eps):
    """Adam written out in float64 from the equations (t += 1, m, v, m_hat, v_hat) over
    ``grads``, from m = v = 0: returns the final (w, m, v)."""
    w, m, v = w.astype(np.float64), np.zeros(w.shape), np.zeros(w.shape)
    for t, dw in enumerate(grads, start=1):
        g = dw.astype(np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w, m, v


def test_sgd_matches_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4))
    w_ref = w.copy()
    config = {"learning_rate": 0.1}
    for dw in _grads(rng, w.shape):
        w, config = optim.sgd(w, dw, config)
        w_ref = w_ref - 0.1 * dw
    np.testing.assert_allclose(w, w_ref, rtol=1e-14, atol=0)


def test_sgd_default_learning_rate_and_new_config():
    w = np.ones(3)
    next_w, config = optim.sgd(w, np.ones(3))
    assert config["learning_rate"] == 1e-2
    np.testing.assert_allclose(next_w, 1 - 1e-2)


def test_momentum_matches_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(7)
    w_ref, v_ref = w.copy(), np.zeros(7)
    config = {"learning_rate": 0.05, "momentum": 0.8}
    for dw in _grads(rng, w.shape):
        w, config = optim.momentum(w, dw, config)
        v_ref = 0.8 * v_ref - 0.05 * dw
        w_ref = w_ref + v_ref
    np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(config["velocity"], v_ref, rtol=1e-13, atol=1e-15)


def test_momentum_defaults():
    _, config = optim.momentum(np.zeros(2), np.ones(2))
    assert config["momentum"] == 0.9 and config["learning_rate"] == 1e-2
    np.testing.assert_allclose(config["velocity"], -1e-2)


def test_rmsprop_matches_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 5))
    w_ref, cache_ref = w.copy(), np.zeros((2, 5))
    config = {"learning_rate": 0.01}
    for dw in _grads(rng, w.shape):
        w, config = optim.rmsprop(w, dw, config)
        cache_ref = 0.99 * cache_ref + 0.01 * dw * dw
        w_ref = w_ref - 0.01 * dw / (np.sqrt(cache_ref) + 1e-8)
    assert config["decay_rate"] == 0.99 and config["epsilon"] == 1e-8
    np.testing.assert_allclose(w, w_ref, rtol=1e-13)
    np.testing.assert_allclose(config["cache"], cache_ref, rtol=1e-13)


def test_adam_matches_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(9)
    grads = _grads(rng, w.shape)
    w_ref, m_ref, v_ref = _adam_by_formula(w, grads, 0.02, 0.9, 0.999, 1e-8)
    config = {"learning_rate": 0.02}
    for t, dw in enumerate(grads, start=1):
        w, config = optim.adam(w, dw, config)
        assert config["t"] == t
    assert (config["beta1"], config["beta2"], config["epsilon"]) == (0.9, 0.999, 1e-8)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13)
    np.testing.assert_allclose(config["m"], m_ref, rtol=1e-13)
    np.testing.assert_allclose(config["v"], v_ref, rtol=1e-13)


def test_adam_first_step_by_hand():
    # After one step the bias-corrected m_hat/sqrt(v_hat) is dw/|dw| = sign(dw), so every
    # coordinate moves by lr (up to epsilon) against its gradient's sign.
    w = np.array([1.0, -2.0, 0.5])
    next_w, _ = optim.adam(w, np.array([3.0, -0.001, 10.0]), {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, [0.9, -1.9, 0.4], rtol=1e-6)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("n", [1, 37, 50_001])
def test_adam_inplace_matches_formula(dtype, rtol, n):
    """adam_inplace folds the bias corrections into lr_t and eps_hat: still the formula
    with m_hat and v_hat, step after step, for sizes that are not round numbers."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(dtype)
    grads = _grads(rng, (n,), dtype=dtype)
    w_ref, m_ref, v_ref = _adam_by_formula(w, grads, 0.02, 0.8, 0.99, 1e-3)
    config = {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3}
    for t, dw in enumerate(grads, start=1):
        optim.adam_inplace(w, dw, config)
        assert config["t"] == t
    assert w.dtype == config["m"].dtype == config["v"].dtype == dtype
    # m is a sum of O(1) terms that can cancel: an absolute floor at the terms' rounding
    np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=rtol * 1e-1)
    np.testing.assert_allclose(config["m"], m_ref, rtol=rtol, atol=rtol * 1e-1)
    np.testing.assert_allclose(config["v"], v_ref, rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("rule", RULES)
def test_reference_rules_do_not_mutate_inputs(rule):
    rng = np.random.default_rng(0)
    w, dw = rng.standard_normal(5), rng.standard_normal(5)
    w0, dw0 = w.copy(), dw.copy()
    config = {}
    for _ in range(3):
        next_w, config = getattr(optim, rule)(w, dw, config)
        assert next_w is not w
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(dw, dw0)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_inplace_equals_reference(rule, dtype, rtol):
    rng = np.random.default_rng(0)
    w_ref = rng.standard_normal(50).astype(dtype)
    w = w_ref.copy()
    config_ref, config = {"learning_rate": 0.01}, {"learning_rate": 0.01}
    fast = getattr(optim, rule + "_inplace")
    for dw in _grads(rng, w.shape, dtype=dtype):
        w_ref, config_ref = getattr(optim, rule)(w_ref, dw, config_ref)
        assert fast(w, dw, config) is None
        assert w.dtype == dtype and w_ref.dtype == dtype
    np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=rtol * 1e-2)
    for key in ("velocity", "cache", "m", "v", "t"):
        if key in config_ref:
            np.testing.assert_allclose(config[key], config_ref[key], rtol=rtol)
            assert np.asarray(config[key]).dtype == np.asarray(config_ref[key]).dtype


@pytest.mark.parametrize("rule", RULES)
def test_inplace_updates_the_same_buffers(rule):
    rng = np.random.default_rng(0)
    w = rng.standard_normal(20).astype(np.float32)
    address = w.__array_interface__["data"][0]
    config = {}
    fast = getattr(optim, rule + "_inplace")
    fast(w, rng.standard_normal(20).astype(np.float32), config)
    buffers = {k: v for k, v in config.items() if isinstance(v, np.ndarray)}
    assert "scratch" in buffers
    for _ in range(4):
        fast(w, rng.standard_normal(20).astype(np.float32), config)
    assert w.__array_interface__["data"][0] == address
    for key, array in buffers.items():
        assert config[key] is array, f"{rule}_inplace replaced config[{key!r}]"


def test_inplace_updates_views_of_a_flat_vector():
    # The MLP keeps W1, b1, ... as views into one flat vector; an in-place step on the
    # flat vector must be visible through the views.
    flat = np.zeros(6, dtype=np.float32)
    W = flat[:4].reshape(2, 2)
    config = {"learning_rate": 0.5}
    optim.sgd_inplace(flat, np.ones(6, dtype=np.float32), config)
    np.testing.assert_array_equal(W, -0.5)


def _run_inplace(rule, w, grads, config=None):
    config = {"learning_rate": 0.01} if config is None else config
    for dw in grads:
        getattr(optim, rule + "_inplace")(w, dw, config)
    return config


@pytest.mark.parametrize("rule", RULES)
def test_inplace_blocks_give_the_whole_array_result_bit_for_bit(rule, monkeypatch):
    """Block by block (BLOCK elements, a short last block) the rules compute exactly what
    one pass over the whole arrays computes, and what the whole-array path for arrays
    that are not contiguous (a strided view, updated through the view) computes."""
    rng = np.random.default_rng(0)
    n = 2 * optim.BLOCK + 1234
    w0 = rng.standard_normal(n).astype(np.float32)
    grads = _grads(rng, (n,), steps=3, dtype=np.float32)
    blocked, config = w0.copy(), {"learning_rate": 0.01}
    _run_inplace(rule, blocked, grads, config)
    assert config["scratch"].shape == (optim.BLOCK,)
    base = np.zeros(2 * n, np.float32)
    strided = base[::2]
    strided[...] = w0
    config_strided = _run_inplace(rule, strided, grads)
    assert config_strided["scratch"].shape == (n,)          # whole arrays, one pass each
    np.testing.assert_array_equal(strided, blocked)
    assert not base[1::2].any()
    monkeypatch.setattr(optim, "BLOCK", 4 * n)               # one block: the whole vector
    whole = w0.copy()
    _run_inplace(rule, whole, grads)
    np.testing.assert_array_equal(whole, blocked)
    for key in ("velocity", "cache", "m", "v"):
        if key in config:
            np.testing.assert_array_equal(config[key], config_strided[key])


@pytest.mark.parametrize("rule", RULES)
def test_inplace_reads_a_gradient_that_is_not_contiguous(rule):
    rng = np.random.default_rng(1)
    w = rng.standard_normal(30).astype(np.float32)
    w_ref = w.copy()
    dw = rng.standard_normal((30, 2)).astype(np.float32)[:, 0]     # a strided column
    _run_inplace(rule, w, [dw])
    _run_inplace(rule, w_ref, [dw.copy()])
    np.testing.assert_array_equal(w, w_ref)
    matrix = rng.standard_normal((6, 5)).astype(np.float32)
    m_ref = matrix.copy()
    grad = rng.standard_normal((5, 6)).astype(np.float32).T       # F-ordered gradient
    _run_inplace(rule, matrix, [grad])
    _run_inplace(rule, m_ref, [np.ascontiguousarray(grad)])
    np.testing.assert_array_equal(matrix, m_ref)


@pytest.mark.parametrize("rule", RULES)
def test_inplace_allocates_nothing_per_step(rule):
    n = 200_000  # 800 kB per float32 vector; a temporary would show up in the trace
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(np.float32)
    dw = rng.standard_normal(n).astype(np.float32)
    config = {}
    fast = getattr(optim, rule + "_inplace")
    fast(w, dw, config)  # first call allocates state and scratch
    tracemalloc.start()
    try:
        for _ in range(3):
            fast(w, dw, config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < w.nbytes // 4, f"{rule}_inplace allocated {peak} bytes during a step"


def test_add_weight_decay():
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal(2),
              "W2": rng.standard_normal((2, 4)), "b2": rng.standard_normal(4)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    saved = {k: v.copy() for k, v in grads.items()}
    out = optim.add_weight_decay(grads, params, 0.3)
    assert out is not grads
    for key in params:
        expected = saved[key] + 0.3 * params[key] if key.startswith("W") else saved[key]
        np.testing.assert_allclose(out[key], expected, rtol=1e-15)
        np.testing.assert_array_equal(grads[key], saved[key])


def test_bad_arguments():
    w = np.zeros(3)
    with pytest.raises(ValueError, match="dw has shape"):
        optim.sgd(w, np.zeros(4))
    with pytest.raises(ValueError, match="learning_rate"):
        optim.adam(w, w, {"learning_rate": -1.0})
    with pytest.raises(ValueError, match="beta1"):
        optim.adam(w, w, {"beta1": 1.0})
    with pytest.raises(ValueError, match="decay_rate"):
        optim.rmsprop(w, w, {"decay_rate": 1.5})
    with pytest.raises(ValueError, match="epsilon"):
        optim.rmsprop_inplace(w, w, {"epsilon": 0.0})
    with pytest.raises(ValueError, match="velocity"):
        optim.momentum(w, w, {"velocity": np.zeros(5)})
    with pytest.raises(TypeError, match="w must be"):
        optim.sgd([1.0, 2.0], np.zeros(2))
    with pytest.raises(TypeError, match="config"):
        optim.sgd(w, w, [0.1])
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        optim.adam_inplace(frozen, np.zeros(3), {})
    config = {}
    optim.adam_inplace(np.zeros(3), np.zeros(3), config)
    with pytest.raises(ValueError, match="one config dict per parameter"):
        optim.adam_inplace(np.zeros(4), np.zeros(4), config)
    with pytest.raises(ValueError, match="wd"):
        optim.add_weight_decay({"W": w}, {"W": w}, -0.1)
    with pytest.raises(ValueError, match="same keys"):
        optim.add_weight_decay({"W": w}, {"W1": w}, 0.1)
