"""The exercises of lesson 5 (``05_mlp``): the dense layer, the activation layers, the MSE
loss through the softmax, Xavier initialisation, weight decay, the optimizer rules, and
the student's own network (``mlp_loss_grad``) and training epoch (``train_epoch``).

Three families: ``ActivationLayer`` (a forward/backward pair from helpers.activations),
``LogitsLoss`` (from lesson 4) and ``OptimizerRule`` (a CS231n-style rule checked over
several steps). The network's reference, :func:`mlp_reference`, is composed from the
kernels exactly as the student composes their own functions; ``tests/test_exercises.py``
checks that it equals ``helpers.mlp.MLP`` in float64."""
import copy

import numpy as np

from checker.cases import away_from_zero, case, dims, fd, labels, params_fd
from checker.exercise import (Exercise, PropertyExercise, Promise, largest_at_least,
                              watches)
from checker.lessons.derivations import DIAGONAL_ONLY
from checker.lessons.softmax import LogitsLoss
from checker.runner import Malformed, call, call_in_place, unpack
from helpers import activations, layers, losses, optim, training


class Dense(Exercise):
    """``dense_forward(x, W, b) -> (out, cache)``, ``dense_backward(dout, cache) -> (dx,
    dW, db)``."""
    name = "dense"
    functions = ("dense_forward", "dense_backward")
    references = ("helpers.layers.dense_forward", "helpers.layers.dense_backward")

    def cases(self, rng):
        cases = []
        for _ in range(3):
            N, D, M = dims(rng, 2, 8, 3)
            cases.append(case(f"x ({N}, {D}), W ({D}, {M}), b ({M},)", N=N,
                              x=rng.normal(size=(N, D)), W=rng.normal(size=(D, M)),
                              b=rng.normal(size=M), dout=rng.normal(size=(N, M))))
        return cases

    def hidden_cases(self, rng):
        D, M = dims(rng, 2, 6, 2)
        N, D2, M2 = dims(rng, 2, 7, 3)
        return [case(f"a single example x (1, {D}), W ({D}, {M}), b ({M},)", N=1,
                     x=rng.normal(size=(1, D)), W=rng.normal(size=(D, M)),
                     b=rng.normal(size=M), dout=rng.normal(size=(1, M))),
                case(f"x ({N}, {D2}), W ({D2}, {M2}), b ({M2},), inputs watched for in-place "
                     "changes", N=N, x=rng.normal(size=(N, D2)), W=rng.normal(size=(D2, M2)),
                     b=rng.normal(size=M2), dout=rng.normal(size=(N, M2)),
                     unchanged=("x", "W", "b", "dout"))]

    promises = (
        Promise("values", "out, dx, dW, db against the reference and finite differences",
                lambda c: True),
        Promise("unchanged", "the inputs not changed in place", watches("x")),
    )

    def run(self, functions, case):
        forward, backward = functions
        out, cache = unpack(call(forward, case["x"], case["W"], case["b"]), ("out", "cache"),
                            "dense_forward")
        out = copy.deepcopy(out)  # backward must not be able to change what we recorded
        dx, dW, db = unpack(call(backward, case["dout"], cache), ("dx", "dW", "db"),
                            "dense_backward")
        return {"out": out, "dx": dx, "dW": dW, "db": db}

    def expected(self, case):
        out, cache = layers.dense_forward(case["x"], case["W"], case["b"])
        dx, dW, db = layers.dense_backward(case["dout"], cache)
        return {"out": out, "dx": dx, "dW": dW, "db": db}

    def gradients(self, case):
        x, W, b, dout = case["x"], case["W"], case["b"], case["dout"]

        # sum(out * dout) has gradient dout pushed back through the layer
        def scalar(x_, W_, b_):
            return float(np.sum(layers.dense_forward(x_, W_, b_)[0] * dout))
        return {("dx",): fd(lambda v: scalar(v, W, b), x),
                ("dW",): fd(lambda v: scalar(x, v, b), W),
                ("db",): fd(lambda v: scalar(x, W, v), b)}

    def mistakes(self, case):
        expected = self.expected(case)
        return {"a missing bias term (out = x @ W without + b)":
                {**expected, "out": case["x"] @ case["W"]}}


class ActivationLayer(Exercise):
    """The family ``<kind>_forward(x) -> (out, cache)``, ``<kind>_backward(dout, cache)
    -> dx`` of helpers.activations: cases, run, expected result and gradient; each member
    names itself, its ``kind`` and its mistakes."""
    kind = ""        # the helpers.activations pair <kind>_forward, <kind>_backward
    kinked = False   # x kept away from 0, where the function has a kink

    @property
    def functions(self):
        return (f"{self.kind}_forward", f"{self.kind}_backward")

    @property
    def references(self):
        return tuple(f"helpers.activations.{name}" for name in self.functions)

    def forward(self, x):
        return getattr(activations, f"{self.kind}_forward")(x)

    def backward(self, dout, cache):
        return getattr(activations, f"{self.kind}_backward")(dout, cache)

    def cases(self, rng):
        cases = []
        for shape in [tuple(dims(rng, 2, 7, 2)), tuple(dims(rng, 2, 7, 2)),
                      (int(rng.integers(3, 9)),)]:
            x = away_from_zero(rng, shape, scale=2.0) if self.kinked \
                else rng.normal(0, 2, size=shape)
            cases.append(case(f"x of shape {shape}", N=shape[0], x=x,
                              dout=rng.normal(size=shape)))
        return cases

    def hidden_cases(self, rng):
        """Any shape: one entry and a 3-d array; plus each member's own edge cases."""
        cases = []
        for shape in [(1,), (2, 3, int(rng.integers(2, 4)))]:
            x = away_from_zero(rng, shape, scale=2.0) if self.kinked \
                else rng.normal(0, 2, size=shape)
            cases.append(case(f"x of shape {shape}", N=shape[0], x=x,
                              dout=rng.normal(size=shape)))
        return cases + self.edge_cases(rng)

    def edge_cases(self, rng):
        return []

    @property
    def promises(self):
        return (Promise("values", "out and dx against the reference and finite differences",
                        lambda c: True),
                Promise("shapes", "any shape", lambda c: np.ndim(c["x"]) != 2))

    def run(self, functions, case):
        forward, backward = functions
        out, cache = unpack(call(forward, case["x"]), ("out", "cache"), self.functions[0])
        out = copy.deepcopy(out)
        dx = call(backward, case["dout"], cache)
        return {"out": out, "dx": dx}

    def expected(self, case):
        out, cache = self.forward(case["x"])
        return {"out": out, "dx": self.backward(case["dout"], cache)}

    def gradients(self, case):
        if case.get("saturated"):
            return {}    # saturated: below the differences' rounding noise (values checked)
        dout = case["dout"]
        return {("dx",): fd(lambda v: float(np.sum(self.forward(v)[0] * dout)), case["x"])}


class SigmoidLayer(ActivationLayer):
    name, kind = "sigmoid_layer", "sigmoid"

    def edge_cases(self, rng):
        x = np.concatenate([[-1000.0, 1000.0, -745.0, 745.0], rng.normal(0, 2, size=2),
                            rng.normal(0, 300, size=2)])
        return [case("x = +-1000, +-745, two moderate and two large random x, shape (2, 4): "
                     "finite and without floating-point warnings", N=2, x=rng.permutation(x).reshape(2, 4),
                     dout=rng.normal(size=(2, 4)), strict=True, saturated=True)]

    @property
    def promises(self):
        return super().promises + (
            Promise("extreme", "finite and warning-free at z = +-1000",
                    lambda c: bool(c.get("strict")) and np.max(np.abs(c["x"])) >= 1000),)

    def mistakes(self, case):
        x, dout = case["x"], case["dout"]
        s = activations.sigmoid(x)
        return {"s * (1 - s) evaluated at x instead of at s = sigmoid(x)":
                {"out": s, "dx": dout * x * (1 - x)}}


class Tanh(ActivationLayer):
    name = kind = "tanh"

    def mistakes(self, case):
        x, dout = case["x"], case["dout"]
        return {"1 - x**2 instead of 1 - tanh(x)**2": {"out": np.tanh(x),
                                                       "dx": dout * (1 - x**2)}}


def _kink_case(rng):
    """x with exact zeros (the kink), away from 0 elsewhere."""
    x = away_from_zero(rng, (3, 4), scale=2.0)
    x[rng.random(x.shape) < 0.4] = 0.0
    x[0, 0] = 0.0
    return case("x of shape (3, 4) with exact zeros (the derivative at the kink)", N=3, x=x,
                dout=rng.normal(size=(3, 4)))


def _has_zero(c):
    return bool(np.any(c["x"] == 0))


class _Kinked(ActivationLayer):
    """An activation with a kink at 0: a case with exact zeros, where the derivative is
    the left branch's (``left_slope``), checked by value instead of finite differences."""
    kinked = True
    left_slope = None                      # the text's "0 for ReLU"

    def edge_cases(self, rng):
        return [_kink_case(rng)]

    def gradients(self, case):
        # no finite differences across the kink: the convention there is checked by value
        return {} if _has_zero(case) else super().gradients(case)

    @property
    def promises(self):
        return super().promises + (
            Promise("kink", f"at z = 0 the derivative of the left branch ({self.left_slope})",
                    _has_zero),)


class Relu(_Kinked):
    name = kind = "relu"
    left_slope = "0 for ReLU"

    def mistakes(self, case):
        x, dout = case["x"], case["dout"]
        out = {"the mask missing in the backward pass, or taken from the output with >= 0 "
               "(true for every x <= 0)": {"out": np.maximum(x, 0), "dx": dout},
               "dout multiplied by the output instead of by the mask (x > 0)":
               {"out": np.maximum(x, 0), "dx": dout * np.maximum(x, 0)}}
        if _has_zero(case):
            out["the derivative at x = 0 taken from the right branch (x >= 0); at the kink "
                "use the left branch's: 0"] = {"out": np.maximum(x, 0),
                                               "dx": np.where(x >= 0, dout, 0.0)}
        return out


class LeakyRelu(_Kinked):
    name = kind = "leaky_relu"
    left_slope = "0.01 for LeakyReLU"

    def mistakes(self, case):
        x, dout = case["x"], case["dout"]
        out = np.where(x > 0, x, 0.01 * x)
        found = {"the slope 0.01 missing in the backward pass (the ReLU mask)":
                 {"out": out, "dx": np.where(x > 0, dout, 0.0)}}
        if _has_zero(case):
            found["the derivative at x = 0 taken from the right branch (x >= 0); at the kink "
                  "use the left branch's: 0.01"] = {"out": out,
                                                   "dx": np.where(x >= 0, dout, 0.01 * dout)}
        return found


#: What Identity adds to the input and to dout after the calls, in its aliasing case.
ALIAS_SHIFT = 1.0


class Identity(ActivationLayer):
    """Also promised: ``identity_forward`` returns a copy (and ``identity_backward`` a copy
    of dout), so that a later in-place change of the input cannot alter the output. The
    aliasing case changes the input (and dout) in place after the calls and records the
    outputs afterwards: an alias shows the change."""
    name = kind = "identity"

    def edge_cases(self, rng):
        shape = tuple(dims(rng, 2, 5, 2))
        return [case(f"x of shape {shape}, changed in place after the calls (a copy must not "
                     "follow)", N=shape[0], x=rng.normal(0, 2, size=shape),
                     dout=rng.normal(size=shape), alias=True)]

    def run(self, functions, case):
        if not case.get("alias"):
            return super().run(functions, case)
        forward, backward = functions
        x, dout = np.array(case["x"]), np.array(case["dout"])
        out, cache = unpack(call_in_place(self.functions[0], forward, x), ("out", "cache"),
                            self.functions[0])
        dx = call_in_place(self.functions[1], backward, dout, cache)
        x += ALIAS_SHIFT                 # later in-place changes of the inputs ...
        dout += ALIAS_SHIFT
        return {"out": copy.deepcopy(out), "dx": copy.deepcopy(dx)}   # ... must not show

    def mistakes(self, case):
        if not case.get("alias"):
            return {}
        x, dout = case["x"], case["dout"]
        return {"identity_forward returned its input itself (an alias), not a copy: return "
                "x.copy()": {"out": x + ALIAS_SHIFT, "dx": dout},
                "identity_backward returned dout itself (an alias), not a copy: return "
                "dout.copy()": {"out": x, "dx": dout + ALIAS_SHIFT}}

    @property
    def promises(self):
        return super().promises + (
            Promise("copy", "identity_forward returns a copy (no alias of the input)",
                    lambda c: bool(c.get("alias"))),
            Promise("copy_dout", "identity_backward returns a copy of dout (no alias)",
                    lambda c: bool(c.get("alias"))),)


class MseSoftmax(LogitsLoss):
    """``mse_softmax(logits, y) -> (loss, dlogits)``: sum((P - onehot)**2) / (2N) through
    the full softmax Jacobian."""
    name = "mse_softmax"
    functions = ("mse_softmax",)
    references = ("helpers.losses.mse_softmax",)
    kernel = staticmethod(losses.mse_softmax)

    def cases(self, rng):
        cases = self.random_cases(rng)
        N, K = dims(rng, 3, 7, 2)
        cases.append(case(f"logits shifted by +1000 ({N}, {K})", N=N,
                          logits=rng.normal(0, 2, size=(N, K)) + 1000.0, y=labels(rng, N, K)))
        return cases

    promises = (
        Promise("random", "loss and gradient (through the full softmax Jacobian) against the "
                "reference and finite differences", lambda c: np.max(np.abs(c["logits"])) < 100),
        Promise("extreme", "finite for logits of +-1000", largest_at_least("logits", 900)),
        Promise("unchanged", "logits left unchanged", watches("logits")),
    )

    def mistakes(self, case):
        Z, y = case["logits"], case["y"]
        loss, _ = losses.mse_softmax(Z, y)
        P = activations.softmax(Z)
        R = (P - losses.one_hot(y, Z.shape[1])) / Z.shape[0]
        return {DIAGONAL_ONLY: {"loss": loss, "dlogits": R * P * (1 - P)},
                "the softmax Jacobian left out (dL/dP used as dL/dlogits)": {"loss": loss,
                                                                             "dlogits": R}}


class XavierInit(PropertyExercise):
    """``xavier_init(fan_in, fan_out, rng) -> W`` (fan_in, fan_out), Glorot uniform: within
    the limit sqrt(6 / (fan_in + fan_out)), drawn from ``rng``, with the right variance."""
    name = "xavier_init"
    functions = ("xavier_init",)
    references = ("helpers.layers.xavier_init",)

    def cases(self, rng):
        cases = []
        for _ in range(3):
            fan_in, fan_out = dims(rng, 2, 40, 2)
            cases.append(case(f"fan_in={fan_in}, fan_out={fan_out}", fan_in=fan_in,
                              fan_out=fan_out, seed=int(rng.integers(0, 2**31)),
                              statistics=False))
        fan_in, fan_out = int(rng.integers(180, 220)), int(rng.integers(130, 170))
        cases.append(case(f"a large matrix fan_in={fan_in}, fan_out={fan_out} (statistics)",
                          fan_in=fan_in, fan_out=fan_out, seed=int(rng.integers(0, 2**31)),
                          statistics=True))
        return cases

    def hidden_cases(self, rng):
        fan = int(rng.integers(2, 30))
        return [case(f"fan_in=1, fan_out={fan}", fan_in=1, fan_out=fan,
                     seed=int(rng.integers(0, 2**31)), statistics=False),
                case(f"fan_in={fan}, fan_out=1", fan_in=fan, fan_out=1,
                     seed=int(rng.integers(0, 2**31)), statistics=False)]

    promises = (
        Promise("range", "within the Glorot limit, shape (fan_in, fan_out)", lambda c: True),
        Promise("reproducible", "drawn from the rng given: the same seed gives the same matrix",
                lambda c: not c["statistics"]),
        Promise("variance", "the variance on a large matrix", lambda c: c["statistics"]),
    )

    def run(self, functions, case):
        (f,) = functions
        fi, fo, seed = case["fan_in"], case["fan_out"], case["seed"]
        out = {"W": call(f, fi, fo, np.random.default_rng(seed))}
        if not case["statistics"]:
            out["W_same_seed"] = call(f, fi, fo, np.random.default_rng(seed))
            out["W_other_seed"] = call(f, fi, fo, np.random.default_rng(seed + 1))
        return out

    def shapes(self, case):
        keys = ["W"] if case["statistics"] else ["W", "W_same_seed", "W_other_seed"]
        return {key: (case["fan_in"], case["fan_out"]) for key in keys}

    def properties(self, case, out):
        fi, fo = case["fan_in"], case["fan_out"]
        limit = np.sqrt(6.0 / (fi + fo))
        W = out["W"]
        for key in ("W", "W_same_seed", "W_other_seed"):
            if key in out and np.max(np.abs(out[key])) > limit * (1 + 1e-12):
                return (f"{key}: max |W| = {np.max(np.abs(out[key])):.4g} exceeds the Glorot "
                        f"limit sqrt(6 / (fan_in + fan_out)) = {limit:.4g}; draw "
                        "rng.uniform(-limit, limit, size=(fan_in, fan_out))")
        if not case["statistics"]:
            if not np.array_equal(W, out["W_same_seed"]):
                return ("two calls with np.random.default_rng(seed) for the same seed gave "
                        "different matrices: draw the numbers from the rng argument, not from "
                        "np.random's global state")
            if np.array_equal(W, out["W_other_seed"]):
                return ("different seeds gave the same matrix: the numbers must come from the "
                        "rng argument")
            return None
        n = W.size
        target = 2.0 / (fi + fo)
        var = float(np.mean(W**2))
        # for U(-a, a) the sample mean of W**2 has a relative standard deviation of
        # sqrt(4/5 - 4/9) / (1/3) / sqrt(n) ~ 1.8 / sqrt(n), under 1% here; 5% is far outside
        if abs(var / target - 1) > 0.05:
            return (f"the empirical variance mean(W**2) = {var:.4g} is not close to "
                    f"2 / (fan_in + fan_out) = {target:.4g} (ratio {var / target:.3f}); "
                    "Glorot uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))")
        mean = float(np.mean(W))
        if abs(mean) > 6 * np.sqrt(target / n):
            return (f"the mean of W is {mean:.4g}, more than 6 standard errors from 0: the "
                    "interval must be symmetric, (-a, a)")
        return None


class WeightDecay(Exercise):
    """``add_weight_decay(grads, params, wd) -> new grads`` with wd * W added to every key
    starting with "W"; its arguments left alone."""
    name = "weight_decay"
    functions = ("add_weight_decay",)
    references = ("helpers.optim.add_weight_decay",)

    def cases(self, rng):
        cases = []
        for _ in range(3):
            D, H, K = dims(rng, 2, 7, 3)
            params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
                      "W2": rng.normal(size=(H, K)), "b2": rng.normal(size=K)}
            grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
            wd = float(rng.uniform(0.001, 0.5))
            cases.append(case(f"wd={wd:.3g}, W1 ({D}, {H}), W2 ({H}, {K})", grads=grads,
                              params=params, wd=wd))
        return cases

    def hidden_cases(self, rng):
        D, H = dims(rng, 2, 6, 2)
        params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
                  "W2": rng.normal(size=(H, H)), "b2": rng.normal(size=H),
                  "W3": rng.normal(size=(H, 2)), "b3": rng.normal(size=2)}
        grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
        return [case(f"three layers, wd={0.1:.3g}", grads=grads, params=params, wd=0.1)]

    promises = (
        Promise("decay", "wd * params[k] added for every key starting with 'W' (the biases "
                "not decayed)", lambda c: True),
        Promise("new", "a new dict; neither argument changes", lambda c: True),
    )

    def run(self, functions, case):
        (f,) = functions
        grads, params = case["grads"], case["params"]
        new = call_in_place("add_weight_decay", f, grads, params, case["wd"])
        # what the call left in its arguments (it must leave them alone)
        return {"grads_after": grads, "params_after": params, "grads": new}

    def expected(self, case):
        return {"grads_after": case["grads"], "params_after": case["params"],
                "grads": optim.add_weight_decay(case["grads"], case["params"], case["wd"])}

    def pre_check(self, case, out):
        if not isinstance(out, dict):
            return None
        for key in ("grads", "params"):
            after = out.get(f"{key}_after")
            before = case[key]
            if isinstance(after, dict) and set(after) == set(before) and not all(
                    isinstance(after[k], np.ndarray) and after[k].shape == before[k].shape
                    and np.array_equal(after[k], before[k]) for k in before):
                return (f"add_weight_decay changed its argument {key} in place; build and "
                        "return a new dict (e.g. new = dict(grads); new[k] = grads[k] + wd * "
                        "params[k])")
        return None

    def mistakes(self, case):
        grads, params, wd = case["grads"], case["params"], case["wd"]
        base = {"grads_after": grads, "params_after": params}
        return {"the biases decayed too (only keys starting with 'W' are)":
                {**base, "grads": {k: grads[k] + wd * params[k] for k in grads}},
                "a factor 2 in the L2 term (2 * wd * W instead of wd * W)":
                {**base, "grads": {k: grads[k] + (2 * wd * params[k] if k.startswith("W")
                                                  else 0) for k in grads}}}


# ---- optimizer rules -------------------------------------------------------------------

STEPS = 6
#: optimizer state keys, dropped by the "state not kept between steps" mistake
STATE_KEYS = ("velocity", "cache", "m", "v", "t")


def _trajectory(rule_func, case, name, inputs_after=None):
    """The STEPS weights a rule walks through from case["w"] with the gradients dws; with
    a list ``inputs_after``, what each call left in the w it was given is appended."""
    w = np.array(case["w"])
    config = copy.deepcopy(case["config"])
    trajectory = []
    for step, dw in enumerate(case["dws"], start=1):
        given = np.array(w, copy=True) if isinstance(w, np.ndarray) else w
        result = rule_func(given, np.array(dw), config)
        if inputs_after is not None:
            inputs_after.append(np.array(given, copy=True))
        w, config = unpack(result, ("next_w", "config"), name)
        if not isinstance(config, dict):
            raise Malformed(f"{name} must return (next_w, config) with config a dict; "
                            f"step {step} returned a {type(config).__name__}")
        trajectory.append(np.array(w, copy=True) if isinstance(w, np.ndarray) else w)
    return trajectory


def _forgetful(rule_func):
    """The rule with its state dropped after every step (a new config each call)."""
    def step(w, dw, config):
        fresh = {k: v for k, v in config.items() if k not in STATE_KEYS}
        next_w, _ = rule_func(w, dw, fresh)
        return next_w, config
    return step


def _starting_states(rng, shape):
    """Optimizer state already in the config, per rule. All of it is drawn whichever the
    rule, so that every rule's cases come from the same random stream."""
    return {"momentum": {"velocity": rng.normal(0, 0.1, size=shape)},
            "rmsprop": {"cache": rng.uniform(0.1, 1.0, size=shape)},
            "adam": {"m": rng.normal(0, 0.1, size=shape),
                     "v": rng.uniform(0.1, 1.0, size=shape), "t": 3}}


class OptimizerRule(Exercise):
    """The family ``<rule>(w, dw, config) -> (next_w, config)`` of helpers.optim, checked
    over STEPS steps: once with only the learning rate, once with the member's ``custom``
    settings, once with state already in the config (sgd: a 3-d w instead)."""
    custom = {}      # the settings of the second case

    @property
    def functions(self):
        return (self.name,)

    @property
    def references(self):
        return (f"helpers.optim.{self.name}", f"helpers.optim.{self.name}_inplace")

    def cases(self, rng):
        cases = []
        shape = tuple(dims(rng, 2, 6, 2))
        cases.append(case(f"w {shape}, {STEPS} steps, only learning_rate given "
                          "(the other settings at their defaults)",
                          w=rng.normal(size=shape), dws=rng.normal(size=(STEPS,) + shape),
                          config={"learning_rate": float(rng.uniform(0.005, 0.05))}))
        shape = (int(rng.integers(3, 9)),)
        config = dict(self.custom)
        config["learning_rate"] *= float(rng.uniform(0.5, 2.0))
        cases.append(case(f"w {shape}, {STEPS} steps, custom settings {sorted(config)}",
                          w=rng.normal(size=shape), dws=rng.normal(size=(STEPS,) + shape),
                          config=config))
        cases.append(self.last_case(rng))
        return cases

    def hidden_cases(self, rng):
        shape = (1,)
        config = dict(self.custom)
        return [case(f"w of shape {shape} (one weight), {STEPS} steps, custom settings",
                     w=rng.normal(size=shape), dws=rng.normal(size=(STEPS,) + shape),
                     config=config),
                case(f"w (3, 2), {STEPS} steps, custom settings, the w given to each call "
                     "watched for in-place changes", w=rng.normal(size=(3, 2)),
                     dws=rng.normal(size=(STEPS, 3, 2)), config=dict(self.custom),
                     watch_w=True)]

    @property
    def promises(self):
        return (Promise("steps", "several steps in a row with the same config, from the "
                        "defaults and from custom settings", lambda c: True),
                Promise("unchanged", "never change w in place",
                        lambda c: bool(c.get("watch_w"))))

    def last_case(self, rng):
        shape = tuple(dims(rng, 2, 5, 2))
        config = dict(self.custom)
        state = _starting_states(rng, shape)[self.name]
        config.update(state)
        return case(f"w {shape}, {STEPS} steps, config already holding state "
                    f"{sorted(state)}", w=rng.normal(size=shape),
                    dws=rng.normal(size=(STEPS,) + shape), config=config)

    def run(self, functions, case):
        (f,) = functions
        given = [] if case.get("watch_w") else None
        out = {"w": _trajectory(lambda w, dw, config: call_in_place(self.name, f, w, dw, config),
                                case, self.name, given)}
        if given is not None:
            out["w_given_after"] = given
        return out

    def expected(self, case):
        out = {"w": _trajectory(getattr(optim, self.name), case, self.name)}
        if case.get("watch_w"):
            out["w_given_after"] = [np.array(case["w"])] + out["w"][:-1]
        return out

    def pre_check(self, case, out):
        after = out.get("w_given_after") if isinstance(out, dict) else None
        if not case.get("watch_w") or not isinstance(after, list):
            return None
        for step, (got, want) in enumerate(zip(after, self.expected(case)["w_given_after"]),
                                           start=1):
            if isinstance(got, np.ndarray) and got.shape == want.shape \
                    and not np.array_equal(got, want):
                return (f"{self.name} changed the w it was given in place at step {step} "
                        "(w -= ... or w[...] = ...); compute next_w as a new array "
                        "(next_w = w - ...)")
        return None

    def mistakes(self, case):
        return {f"the state ({self.name}'s moments) not kept between steps: store it in "
                "config and return that config":
                {"w": _trajectory(_forgetful(getattr(optim, self.name)), case, self.name)}}


class Sgd(OptimizerRule):
    name = "sgd"
    custom = {"learning_rate": 0.05}

    def last_case(self, rng):
        shape = (2, 3, int(rng.integers(2, 5)))
        return case(f"w {shape}, {STEPS} steps, learning_rate 0.5", w=rng.normal(size=shape),
                    dws=rng.normal(size=(STEPS,) + shape), config={"learning_rate": 0.5})

    def mistakes(self, case):
        return {}    # sgd keeps no state


class Momentum(OptimizerRule):
    name = "momentum"
    custom = {"learning_rate": 0.05, "momentum": 0.8}


def _rmsprop_without_sqrt(w, dw, config):
    c = dict(config)
    d = c.get("decay_rate", 0.99)
    cache = d * c.get("cache", np.zeros_like(w)) + (1 - d) * dw**2
    c["cache"] = cache
    return w - c["learning_rate"] * dw / (cache + c.get("epsilon", 1e-8)), c


class Rmsprop(OptimizerRule):
    name = "rmsprop"
    custom = {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6}

    def mistakes(self, case):
        return {**super().mistakes(case),
                "the square root missing: dw / (cache + eps) instead of dw / (sqrt(cache) + "
                "eps)": {"w": _trajectory(_rmsprop_without_sqrt, case, self.name)}}


def _adam_no_bias_correction(w, dw, config):
    c = dict(config)
    b1, b2 = c.get("beta1", 0.9), c.get("beta2", 0.999)
    m = b1 * c.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * c.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    c["m"], c["v"], c["t"] = m, v, c.get("t", 0) + 1
    return w - c["learning_rate"] * m / (np.sqrt(v) + c.get("epsilon", 1e-8)), c


class Adam(OptimizerRule):
    name = "adam"
    custom = {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}

    def mistakes(self, case):
        return {**super().mistakes(case),
                "Adam without the bias correction (m_hat = m / (1 - beta1**t), "
                "v_hat = v / (1 - beta2**t))": {"w": _trajectory(_adam_no_bias_correction,
                                                                 case, self.name)}}


# ---- the student's network and its training ------------------------------------------

#: The hidden activations of ``mlp_loss_grad`` (as in helpers.mlp.ACTIVATIONS) and losses.
MLP_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
MLP_LOSSES = {"cross_entropy": losses.softmax_cross_entropy, "mse": losses.mse_softmax}


def _layer_count(params):
    return sum(1 for key in params if key.startswith("W"))


def mlp_reference(params, X, y, activation="relu", loss="cross_entropy", weight_decay=0.0, *,
                  act_on_output=False, skip_act_backward=False, decay_biases=False,
                  decay_in_loss=True, decay_in_grad=True):
    """(loss, grads) of the network ``params`` = W1, b1, ..., WL, bL: dense layers with
    ``activation`` between them (not after the last), ``loss`` of the logits, plus
    weight_decay/2 * sum ||W||^2. The keyword-only knobs make the named mistakes."""
    n_layers = _layer_count(params)
    act_forward = getattr(activations, f"{activation}_forward")
    act_backward = getattr(activations, f"{activation}_backward")
    h, caches = X, []
    for i in range(1, n_layers + 1):
        z, dense_cache = layers.dense_forward(h, params[f"W{i}"], params[f"b{i}"])
        act_cache = None
        if i < n_layers or act_on_output:
            z, act_cache = act_forward(z)
        caches.append((dense_cache, act_cache))
        h = z
    value, dout = MLP_LOSSES[loss](h, y)
    grads = {}
    for i in range(n_layers, 0, -1):          # backward: the layers in reverse order
        dense_cache, act_cache = caches[i - 1]
        if act_cache is not None and not skip_act_backward:
            dout = act_backward(dout, act_cache)
        dout, grads[f"W{i}"], grads[f"b{i}"] = layers.dense_backward(dout, dense_cache)
    decayed = [k for k in params if k.startswith("W") or decay_biases]
    if decay_in_loss:
        value += 0.5 * weight_decay * sum(float(np.sum(params[k] ** 2)) for k in decayed)
    if decay_in_grad:
        for k in decayed:
            grads[k] = grads[k] + weight_decay * params[k]
    return value, {k: grads[k] for k in params}


def _network(rng, sizes, scale=0.8):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0, scale / np.sqrt(fan_in), size=(fan_in, fan_out))
        params[f"b{i}"] = rng.normal(0, 0.3, size=fan_out)
    return params


def _clear_of_kinks(params, X, gap=1e-3):
    """True when no hidden pre-activation of the network lies within ``gap`` of 0 (where
    ReLU/LeakyReLU have a kink that centred differences would straddle)."""
    n_layers = _layer_count(params)
    h = X
    for i in range(1, n_layers):
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        if np.min(np.abs(z)) < gap:
            return False
        h = np.maximum(z, 0.01 * z)
    return True


def _network_clear_of_kinks(rng, sizes, N):
    """(params, X (N, sizes[0])): a network and inputs none of whose ReLU inputs lies
    within the finite differences' step of 0."""
    for _ in range(100):
        params = _network(rng, sizes)
        X = rng.normal(size=(N, sizes[0]))
        if _clear_of_kinks(params, X):
            return params, X
    raise RuntimeError("could not draw a network clear of the ReLU kinks")  # pragma: no cover


class MlpLossGrad(Exercise):
    """``mlp_loss_grad(params, X, y, dense, activation, loss, weight_decay=0.0) -> (loss,
    grads)``: the whole network built from the layer functions it is given (``dense`` and
    ``activation`` forward/backward pairs, ``loss(logits, y) -> (loss, dlogits)``). The
    check gives it the pack's kernels, so its grade depends on the composition alone (a
    wrong dense layer loses the dense exercise only); the notebook gives it the student's.
    Judged against the reference and centred finite differences in every parameter; the
    hidden check adds a single example (N = 1), two classes, and params, X and y watched
    for in-place changes."""
    name = "mlp_loss_grad"
    functions = ("mlp_loss_grad",)
    references = ("helpers.mlp.MLP", "helpers.mlp.train",
                  "helpers.layers.dense_forward", "helpers.layers.dense_backward",
                  "helpers.optim.add_weight_decay")
    settings = [  # (hidden activation, loss, weight decay or None for the default, layers)
        ("relu", "cross_entropy", None, 2), ("tanh", "cross_entropy", "wd", 3),
        ("sigmoid", "mse", 0.0, 3), ("leaky_relu", "cross_entropy", "wd", 4),
        ("identity", "mse", "wd", 2), ("relu", "cross_entropy", 0.0, 1)]

    def cases(self, rng):
        cases = []
        for activation, loss, wd, n_layers in self.settings:
            sizes = dims(rng, 2, 6, n_layers + 1)
            N = int(rng.integers(3, 8))
            params, X = _network_clear_of_kinks(rng, sizes, N)
            if wd == "wd":
                wd = float(rng.uniform(0.05, 0.5))
            decay = "weight_decay left at its default" if wd is None else f"weight_decay={wd:.3g}"
            cases.append(case(f"{activation}, {loss}, {decay}, sizes {sizes}, N={N}", N=N,
                              params=params, X=X, y=labels(rng, N, sizes[-1]),
                              activation=activation, loss=loss, weight_decay=wd))
        return cases

    def hidden_cases(self, rng):
        """N = 1 and two classes (ReLU, cross-entropy, weight decay; params, X and y
        watched), and two classes with N > 1 (tanh, MSE, three layers, the default)."""
        cases = []
        for activation, loss, n_layers, N, wd, watched in [
                ("relu", "cross_entropy", 2, 1, float(rng.uniform(0.05, 0.5)),
                 ("params", "X", "y")),
                ("tanh", "mse", 3, int(rng.integers(3, 7)), None, ())]:
            sizes = dims(rng, 3, 6, n_layers) + [2]
            params, X = _network_clear_of_kinks(rng, sizes, N)
            decay = "weight_decay left at its default" if wd is None else f"weight_decay={wd:.3g}"
            label = f"{activation}, {loss}, {decay}, sizes {sizes}, N={N}" + \
                (", a single example" if N == 1 else "") + ", two classes" + \
                (", the inputs watched for in-place changes" if watched else "")
            cases.append(case(label, N=N, params=params, X=X, y=labels(rng, N, 2),
                              activation=activation, loss=loss, weight_decay=wd,
                              **({"unchanged": watched} if watched else {})))
        return cases

    promises = (
        Promise("values", "the loss and every gradient against the reference network and "
                "centred finite differences in every parameter", lambda c: True),
        Promise("layers", "any number of layers L >= 1 (one to four)",
                lambda c: _layer_count(c["params"]) != 2),
        Promise("linear_output", "the last layer linear: its logits go straight into the loss",
                lambda c: c["activation"] != "identity"),
        Promise("reverse", "the backward functions in reverse order, through each "
                "activation's backward", lambda c: _layer_count(c["params"]) >= 2
                and c["activation"] != "identity"),
        Promise("given", "built from the functions it is given (every activation)",
                lambda c: _layer_count(c["params"]) >= 2 and c["activation"] != "relu"),
        Promise("decay", "the weight decay on the weights only, in the loss and in the "
                "gradients", lambda c: bool(c["weight_decay"])),
        Promise("default", "weight_decay=0.0 by default", lambda c: c["weight_decay"] is None),
        Promise("keys", "grads with exactly the keys and shapes of params", lambda c: True),
        Promise("unchanged", "params, X and y left as they were", watches("params")),
    )

    @staticmethod
    def settings_of(case):
        settings = {"activation": case["activation"], "loss": case["loss"]}
        if case["weight_decay"] is not None:
            settings["weight_decay"] = case["weight_decay"]
        return settings

    def run(self, functions, case):
        (f,) = functions
        kind = case["activation"]
        pair = (getattr(activations, f"{kind}_forward"), getattr(activations, f"{kind}_backward"))
        parts = ((layers.dense_forward, layers.dense_backward), pair, MLP_LOSSES[case["loss"]])
        decay = {} if case["weight_decay"] is None else {"weight_decay": case["weight_decay"]}
        result = call(f, case["params"], case["X"], case["y"], *parts, **decay)
        loss, grads = unpack(result, ("loss", "grads"), "mlp_loss_grad")
        return {"loss": loss, "grads": grads}

    def expected(self, case):
        loss, grads = mlp_reference(case["params"], case["X"], case["y"], **self.settings_of(case))
        return {"loss": loss, "grads": grads}

    def gradients(self, case):
        X, y, settings = case["X"], case["y"], self.settings_of(case)
        return params_fd(lambda p: mlp_reference(p, X, y, **settings)[0], case["params"])

    def mistakes(self, case):
        args = (case["params"], case["X"], case["y"])
        settings = self.settings_of(case)
        knobs = {"the activation applied after the last layer too (the output layer is linear: "
                 "its logits go straight into the loss)": {"act_on_output": True},
                 "the activation's backward pass skipped (dout passed through unchanged)":
                 {"skip_act_backward": True},
                 "the biases decayed too (only the weights W1, W2, ... are)":
                 {"decay_biases": True},
                 "the weight-decay term missing from the loss (wd/2 * sum ||W||^2)":
                 {"decay_in_loss": False},
                 "the weight decay missing from the gradients (+ wd * W)":
                 {"decay_in_grad": False}}
        if settings["activation"] != "relu" and _layer_count(case["params"]) >= 2:
            knobs["ReLU written in place of the activation given: build the network from the "
                  "functions passed in (dense, activation, loss)"] = {"activation": "relu"}
        out = {}
        for name, knob in knobs.items():
            loss, grads = mlp_reference(*args, **{**settings, **knob})
            out[name] = {"loss": loss, "grads": grads}
        return out


def _epoch_reference(params, X, y, loss_grad, update, configs, batch_size, rng, *,
                     shuffle=True, drop_last=False, keep_state=True, weights_only=False):
    """One epoch as train_epoch's contract says; the knobs make the named mistakes."""
    params = dict(params)
    N = len(y)
    if shuffle:
        batches = training.minibatches(N, batch_size, rng)
    else:
        batches = (np.arange(N)[start:start + batch_size] for start in range(0, N, batch_size))
    losses_ = []
    for idx in batches:
        if drop_last and len(idx) < batch_size:
            continue
        loss, grads = loss_grad(params, X[idx], y[idx])
        losses_.append(loss)
        for key in params:
            if weights_only and not key.startswith("W"):
                continue
            config = configs[key] if keep_state else copy.deepcopy(configs[key])
            params[key], config = update(params[key], grads[key], config)
            if keep_state:
                configs[key] = config
    return params, losses_


class TrainEpoch(Exercise):
    """``train_epoch(params, X, y, loss_grad, update, configs, batch_size, rng) ->
    (params, losses)``: one epoch of shuffled minibatches, checked over two epochs in a
    row with the same ``configs`` and ``rng`` (the order, the rule's state, the history);
    the hidden check adds minibatches of one example and a last minibatch of one."""
    name = "train_epoch"
    functions = ("train_epoch",)
    references = ("helpers.mlp.train", "helpers.training.train",
                  "helpers.training.minibatches")
    rules = {"momentum": (optim.momentum, {"learning_rate": 0.1, "momentum": 0.9}),
             "sgd": (optim.sgd, {"learning_rate": 0.3}),
             "adam": (optim.adam, {"learning_rate": 0.02}),
             "rmsprop": (optim.rmsprop, {"learning_rate": 0.02})}

    def cases(self, rng):
        cases = []
        for rule, activation in [("momentum", "tanh"), ("sgd", "relu"), ("adam", "sigmoid")]:
            D, H, K = dims(rng, 2, 6, 3)
            batch_size = int(rng.integers(3, 6))
            N = batch_size * int(rng.integers(2, 4)) + int(rng.integers(1, batch_size))
            cases.append(case(f"{rule}, {activation} network ({D}, {H}, {K}), N={N}, "
                              f"batch_size={batch_size} (the last batch shorter), two epochs",
                              N=N, params=_network(rng, (D, H, K)), X=rng.normal(size=(N, D)),
                              y=labels(rng, N, K), rule=rule, activation=activation,
                              batch_size=batch_size, seed=int(rng.integers(0, 2**31))))
        return cases

    def hidden_cases(self, rng):
        """batch_size = 1 (RMSProp, ReLU), and a last minibatch of a single example (Adam,
        LeakyReLU)."""
        cases = []
        for rule, activation, batch_size in [("rmsprop", "relu", 1),
                                             ("adam", "leaky_relu", int(rng.integers(2, 5)))]:
            D, H, K = dims(rng, 2, 6, 3)
            N = int(rng.integers(4, 7)) if batch_size == 1 else \
                batch_size * int(rng.integers(2, 4)) + 1
            what = "minibatches of one example" if batch_size == 1 else \
                "the last minibatch a single example"
            cases.append(case(f"{rule}, {activation} network ({D}, {H}, {K}), N={N}, "
                              f"batch_size={batch_size} ({what}), two epochs",
                              N=N, params=_network(rng, (D, H, K)), X=rng.normal(size=(N, D)),
                              y=labels(rng, N, K), rule=rule, activation=activation,
                              batch_size=batch_size, seed=int(rng.integers(0, 2**31))))
        return cases

    promises = (
        Promise("shuffled", "a fresh order rng.permutation(N) each epoch, from the generator "
                "given", lambda c: c["batch_size"] < c["N"]),
        Promise("shorter", "the last minibatch shorter when batch_size does not divide N",
                lambda c: c["N"] % c["batch_size"] != 0),
        Promise("losses", "the minibatch losses in order, each that of the batch its "
                "gradient came from", lambda c: True),
        Promise("every", "every parameter updated", lambda c: True),
        Promise("state", "the config the rule returns kept for the next step and epoch",
                lambda c: c["rule"] != "sgd"),
    )

    def _loss_grad(self, case):
        activation = case["activation"]
        return lambda p, Xb, yb: mlp_reference(p, Xb, yb, activation=activation)

    def _two_epochs(self, epoch, case):
        """Outputs of two epochs of ``epoch`` (the student's function, or the reference
        with knobs) with one configs dict and one generator."""
        rule, settings = self.rules[case["rule"]]
        configs = {key: dict(settings) for key in case["params"]}
        rng = np.random.default_rng(case["seed"])
        out = {}
        params = case["params"]
        for suffix in ("", "_2"):
            result = epoch(copy.deepcopy(params), case["X"], case["y"], self._loss_grad(case),
                           rule, configs, case["batch_size"], rng)
            params, history = unpack(result, ("params", "losses"), "train_epoch")
            if not isinstance(params, dict):
                raise Malformed(f"train_epoch must return (params, losses) with params a dict "
                                f"keyed like the argument; got a {type(params).__name__}")
            try:
                history = np.asarray(history, dtype=np.float64)
            except (TypeError, ValueError):
                raise Malformed("train_epoch must return (params, losses) with losses a list "
                                f"of numbers; got {type(history).__name__}") from None
            out[f"params{suffix}"] = copy.deepcopy(params)
            out[f"losses{suffix}"] = history
        return out

    def run(self, functions, case):
        (f,) = functions
        return self._two_epochs(lambda *args: call_in_place("train_epoch", f, *args), case)

    def expected(self, case):
        return self._two_epochs(_epoch_reference, case)

    def mistakes(self, case):
        knobs = {"the minibatches not shuffled: take order = rng.permutation(N) at the start "
                 "of each epoch": {"shuffle": False},
                 "the last, shorter minibatch dropped (range(0, N - batch_size + 1, "
                 "batch_size)): every example is used once per epoch": {"drop_last": True},
                 "the optimizer state not kept between steps: store the config the rule "
                 "returns in configs[key]": {"keep_state": False},
                 "only the weights updated: every parameter (the biases too) takes a step":
                 {"weights_only": True}}
        out = {}
        for name, knob in knobs.items():
            def epoch(*args, knob=knob):
                return _epoch_reference(*args, **knob)
            out[name] = self._two_epochs(epoch, case)
        return out


EXERCISES = (Dense(), SigmoidLayer(), Tanh(), Relu(), LeakyRelu(), Identity(), MseSoftmax(),
             XavierInit(), WeightDecay(), Sgd(), Momentum(), Rmsprop(), Adam(), MlpLossGrad(),
             TrainEpoch())
