"""The exercises of lesson 1 (``01_derivations``): sigmoid and its derivative, a gradient
checker, the logistic loss, softmax and its Jacobian, the softmax loss, L2/L1 penalties
and the chain rule through two layers."""
import numpy as np

from checker.cases import (FD_STEP, away_from_zero, case, dims, fd, labels, params_fd,
                           with_bias_column)
from checker.exercise import Exercise, KernelExercise
from checker.runner import call, call_in_place, unpack
from helpers import activations, gradcheck, layers, losses, regularization

#: The mistake of pushing dL/dp through only the diagonal of the softmax Jacobian; named
#: by every exercise with a softmax inside (here and in lesson 5).
DIAGONAL_ONLY = ("only the diagonal of the softmax Jacobian (the -p_i p_j terms for "
                 "i != j are missing)")


def diagonal_only_dlogits(logits, y):
    """dlogits when dL/dp = -onehot/(N p) is pushed through only diag(p (1 - p))."""
    P = activations.softmax(logits)
    Y = losses.one_hot(y, logits.shape[1])
    return -Y * (1 - P) / logits.shape[0]


class Sigmoid(Exercise):
    """``sigmoid(z) -> s``, any shape, stable at +-1000."""
    name = "sigmoid"
    functions = ("sigmoid",)
    references = ("helpers.activations.sigmoid", "helpers.activations.sigmoid_forward")

    def cases(self, rng):
        cases = []
        for shape in [(int(rng.integers(3, 9)),), tuple(dims(rng, 2, 6, 2)), (2, 3, 2)]:
            cases.append(case(f"random z of shape {shape}", z=rng.normal(0, 3, size=shape)))
        extreme = np.array([-1000.0, -745.0, -710.0, -40.0, 0.0, 40.0, 710.0, 745.0, 1000.0])
        cases.append(case("z = +-1000, +-745, +-710, +-40 and 0", z=rng.permutation(extreme)))
        cases.append(case("a single number z (shape ())", z=np.array(rng.normal())))
        cases.append(case("z of shape (1, 1)", z=rng.normal(0, 5, size=(1, 1))))
        return cases

    def run(self, functions, case):
        (sigmoid,) = functions
        return {"s": call(sigmoid, case["z"])}

    def expected(self, case):
        return {"s": activations.sigmoid(case["z"])}

    def mistakes(self, case):
        z = case["z"]
        return {"sigmoid(-z) = 1 - sigmoid(z) (the sign of z in exp(-z) is flipped)":
                {"s": activations.sigmoid(-z)}}


class SigmoidGrad(Exercise):
    """``sigmoid_grad(z) -> ds/dz``, elementwise."""
    name = "sigmoid_grad"
    functions = ("sigmoid_grad",)
    references = ("helpers.activations.sigmoid_backward",)

    def cases(self, rng):
        cases = [case(f"random z of shape {shape}", z=rng.normal(0, 2, size=shape))
                 for shape in [(int(rng.integers(3, 9)),), tuple(dims(rng, 2, 6, 2))]]
        cases.append(case("z = +-1000, +-30 and 0",
                          z=rng.permutation(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))))
        cases.append(case("a single number z (shape ())", z=np.array(rng.normal())))
        return cases

    def run(self, functions, case):
        (sigmoid_grad,) = functions
        return {"ds": call(sigmoid_grad, case["z"])}

    def expected(self, case):
        z = case["z"]
        _, cache = activations.sigmoid_forward(z)
        return {"ds": activations.sigmoid_backward(np.ones_like(z), cache)}

    def gradients(self, case):
        # the derivative of sum(sigmoid(z)) with respect to z_i is sigmoid'(z_i)
        return {("ds",): fd(lambda v: np.sum(activations.sigmoid(v)), case["z"])}

    def mistakes(self, case):
        z = case["z"]
        s = activations.sigmoid(z)
        return {"s * (1 - s) evaluated at z instead of at s = sigmoid(z)": {"ds": z * (1 - z)},
                "sigmoid(z) itself instead of its derivative": {"ds": s}}


# Fixed smooth scalar test functions f(x) with known gradients, for numerical_gradient.
# The first has a large second derivative, so a forward difference (error ~ h f''/2) is
# off by ~1e-4 while a centred one (error ~ h^2 f'''/6) agrees to ~1e-9.

_WEIGHTS = np.linspace(0.5, 2.0, 64)


def _exp20(x):
    """f(x) = sum(exp(20 x)); gradient 20 exp(20 x)."""
    return float(np.sum(np.exp(20 * x)))


def _exp20_grad(x):
    return 20 * np.exp(20 * x)


def _lse(x):
    """f(x) = log(sum(exp(3 x))) over all entries; gradient 3 softmax(3 x)."""
    return float(np.log(np.sum(np.exp(3 * x))))


def _lse_grad(x):
    e = np.exp(3 * x - np.max(3 * x))
    return 3 * e / e.sum()


def _coupled(x):
    """f(x) = (c . x)^2 + sum(sin(x) x^2), c fixed weights; not separable."""
    c = _WEIGHTS[:x.size].reshape(x.shape)
    return float(np.sum(c * x) ** 2 + np.sum(np.sin(x) * x**2))


def _coupled_grad(x):
    c = _WEIGHTS[:x.size].reshape(x.shape)
    return 2 * np.sum(c * x) * c + np.cos(x) * x**2 + 2 * np.sin(x) * x


class NumericalGradient(Exercise):
    """``numerical_gradient(f, x, h=1e-5) -> grad`` shaped like x, centred, x restored."""
    name = "numerical_gradient"
    functions = ("numerical_gradient",)
    references = ("helpers.gradcheck.numerical_gradient",)
    #: the test functions, by the name a case shows: (f, its analytic gradient)
    test_functions = {
        "f(x) = sum(exp(20 x))": (_exp20, _exp20_grad),
        "f(x) = log(sum(exp(3 x)))": (_lse, _lse_grad),
        "f(x) = (c . x)^2 + sum(sin(x) x^2)": (_coupled, _coupled_grad),
    }

    def cases(self, rng):
        cases = []
        names = list(self.test_functions)
        for i, shape in enumerate([(int(rng.integers(3, 8)),), tuple(dims(rng, 2, 4, 2)),
                                   (int(rng.integers(3, 8)),), tuple(dims(rng, 2, 4, 2)),
                                   (int(rng.integers(3, 8)),)]):
            fname = names[i % len(names)]
            x = rng.uniform(-0.3, 0.3, size=shape)
            cases.append(case(f"{fname} at x of shape {shape}", f=fname, x=x))
        return cases

    def run(self, functions, case):
        (numerical_gradient,) = functions
        f = self.test_functions[case["f"]][0]
        x = np.array(case["x"], dtype=np.float64)
        grad = call_in_place("numerical_gradient", numerical_gradient, f, x)
        return {"x_after": x, "grad": grad}

    def expected(self, case):
        f = self.test_functions[case["f"]][0]
        x = np.array(case["x"], dtype=np.float64)
        return {"x_after": case["x"].copy(),
                "grad": gradcheck.numerical_gradient(f, x, h=FD_STEP)}

    def gradients(self, case):
        # the analytic gradient: what the finite differences must approximate
        return {("grad",): self.test_functions[case["f"]][1](case["x"])}

    def mistakes(self, case):
        f = self.test_functions[case["f"]][0]
        x = np.array(case["x"], dtype=np.float64)
        fx = f(x)
        forward = np.zeros_like(x)
        for index in np.ndindex(*x.shape):
            old = x[index]
            x[index] = old + FD_STEP
            forward[index] = (f(x) - fx) / FD_STEP
            x[index] = old
        return {"a forward difference (f(x+h) - f(x)) / h instead of the centred "
                "(f(x+h) - f(x-h)) / 2h": {"grad": forward}}

    def pre_check(self, case, out):
        after = out.get("x_after") if isinstance(out, dict) else None
        if isinstance(after, np.ndarray) and after.shape == case["x"].shape \
                and after.dtype.kind == "f":
            change = np.abs(after - case["x"])
            if np.any(change > 1e-13 * np.maximum(np.abs(case["x"]), 1.0)):
                index = tuple(int(i) for i in np.unravel_index(int(np.argmax(change)),
                                                                change.shape))
                return (f"x was not restored: after the call x{list(index)} differs from its "
                        f"original value by {change[index]:.3g}. Save x[i] before perturbing "
                        "it and put the saved value back (x[i] = old).")
        return None


def _logistic_parts(w, X, t):
    loss, dz = losses.binary_cross_entropy(X @ w, t)
    return loss, X.T @ dz, dz


class LogisticLossGrad(Exercise):
    """``logistic_loss_grad(w, X, t) -> (loss, dw)``, mean binary cross-entropy."""
    name = "logistic_loss_grad"
    functions = ("logistic_loss_grad",)
    references = ("helpers.losses.binary_cross_entropy", "helpers.linear.logistic_loss_grad",
                  "helpers.linear.logistic_loss")

    def cases(self, rng):
        cases = []
        for label, scale in [("random", 0.5), ("random", 0.5),
                             ("confident (|logits| up to ~20)", 6.0)]:
            N, D = dims(rng, 5, 12, 2)
            X = with_bias_column(rng, N, D)
            w = rng.normal(0, scale, size=D)
            t = rng.integers(0, 2, size=N)
            t = t.astype(np.float64) if rng.random() < 0.5 else t.astype(np.int64)
            cases.append(case(f"{label} N={N}, D={D}", N=N, w=w, X=X, t=t))
        D = int(rng.integers(2, 5))
        cases.append(case(f"a single example N=1, D={D}", N=1, w=rng.normal(size=D),
                          X=with_bias_column(rng, 1, D), t=np.array([1.0])))
        return cases

    def run(self, functions, case):
        (f,) = functions
        loss, dw = unpack(call(f, case["w"], case["X"], case["t"]), ("loss", "dw"),
                          "logistic_loss_grad")
        return {"loss": loss, "dw": dw}

    def expected(self, case):
        loss, dw, _ = _logistic_parts(case["w"], case["X"], case["t"])
        return {"loss": loss, "dw": dw}

    def gradients(self, case):
        X, t = case["X"], case["t"]
        return {("dw",): fd(lambda w: losses.binary_cross_entropy(X @ w, t)[0], case["w"])}

    def mistakes(self, case):
        X = case["X"]
        p = activations.sigmoid(X @ case["w"])
        loss, _, _ = _logistic_parts(case["w"], X, case["t"])
        return {"dL/dp times dp/dz with the loss and the prediction mixed up "
                "(x * p * (1 - p))": {"loss": loss, "dw": X.T @ (p * (1 - p)) / X.shape[0]}}


class Softmax(Exercise):
    """``softmax(Z) -> P``, row-wise, stable, Z untouched."""
    name = "softmax"
    functions = ("softmax",)
    references = ("helpers.activations.softmax", "helpers.activations.log_softmax")

    def cases(self, rng):
        cases = []
        for _ in range(2):
            N, K = dims(rng, 2, 7, 2)
            cases.append(case(f"random Z of shape ({N}, {K})", N=N,
                              Z=rng.normal(0, 2, size=(N, K))))
        N, K = dims(rng, 3, 6, 2)
        offsets = rng.choice([-1000.0, 0.0, 1000.0], size=(N, 1))
        offsets[0, 0], offsets[1, 0] = 1000.0, -1000.0
        cases.append(case(f"rows shifted by +-1000, shape ({N}, {K})", N=N,
                          Z=rng.normal(0, 2, size=(N, K)) + offsets))
        K = int(rng.integers(3, 7))
        cases.append(case(f"one row of extreme scores, shape (1, {K})", N=1,
                          Z=np.concatenate([[1000.0, -1000.0], rng.normal(size=K - 2)])[None, :]))
        K = int(rng.integers(3, 7))
        cases.append(case(f"a single score vector z of shape ({K},)", N=None,
                          Z=rng.normal(0, 2, size=K)))
        return cases

    def run(self, functions, case):
        (softmax,) = functions
        Z = case["Z"].copy()
        P = call_in_place("softmax", softmax, Z)
        return {"Z_after": Z, "P": P}

    def expected(self, case):
        return {"Z_after": case["Z"].copy(), "P": activations.softmax(case["Z"])}

    def mistakes(self, case):
        Z = case["Z"]
        if Z.ndim != 2:
            return {}
        E = np.exp(Z - Z.max(axis=0, keepdims=True))
        return {"normalised over the columns (axis 0) instead of the rows":
                {"Z_after": Z, "P": E / E.sum(axis=0, keepdims=True)}}

    def pre_check(self, case, out):
        after = out.get("Z_after") if isinstance(out, dict) else None
        if isinstance(after, np.ndarray) and after.shape == np.shape(case["Z"]) \
                and not np.array_equal(after, case["Z"]):
            return ("softmax changed its argument Z in place (e.g. Z -= ... or Z[...] = ...); "
                    "compute on a new array, e.g. shifted = Z - max, and leave the input as "
                    "it was")
        return None


class SoftmaxJacobian(Exercise):
    """``softmax_jacobian(z) -> J`` (K, K), ``J[i, j] = dp_i/dz_j``."""
    name = "softmax_jacobian"
    functions = ("softmax_jacobian",)
    references = ("helpers.activations.softmax",)

    def cases(self, rng):
        cases = [case(f"random z of shape ({K},)", z=rng.normal(0, 1.5, size=K))
                 for K in (int(rng.integers(3, 7)), int(rng.integers(2, 5)),
                           int(rng.integers(4, 8)))]
        K = int(rng.integers(3, 6))
        cases.append(case(f"z shifted by +1000, shape ({K},)", z=rng.normal(size=K) + 1000.0))
        return cases

    def run(self, functions, case):
        (f,) = functions
        return {"J": call(f, case["z"])}

    def expected(self, case):
        p = activations.softmax(case["z"])
        return {"J": np.diag(p) - np.outer(p, p)}

    def gradients(self, case):
        z = case["z"]
        rows = [fd(lambda v, i=i: activations.softmax(v)[i], z) for i in range(z.size)]
        return {("J",): np.stack(rows)}

    def mistakes(self, case):
        p = activations.softmax(case["z"])
        return {DIAGONAL_ONLY: {"J": np.diag(p * (1 - p))},
                "the sign of the p p^T term flipped": {"J": np.diag(p) + np.outer(p, p)}}


class SoftmaxLossGrad(Exercise):
    """``softmax_loss_grad(W, X, y) -> (loss, dW)``, mean cross-entropy of softmax(X @ W)."""
    name = "softmax_loss_grad"
    functions = ("softmax_loss_grad",)
    references = ("helpers.losses.softmax_cross_entropy",)

    def cases(self, rng):
        cases = []
        for label, scale, shift in [("random", 0.5, 0.0), ("random", 1.0, 0.0),
                                    ("logits shifted by +1000", 0.5, 1000.0)]:
            N, D, K = dims(rng, 3, 9, 3)
            X = with_bias_column(rng, N, D)
            W = rng.normal(0, scale, size=(D, K))
            W[0, :] += shift  # through the bias column: every logit of every row moves by +shift
            cases.append(case(f"{label} N={N}, D={D}, K={K}", N=N, W=W, X=X,
                              y=labels(rng, N, K)))
        return cases

    def run(self, functions, case):
        (f,) = functions
        loss, dW = unpack(call(f, case["W"], case["X"], case["y"]), ("loss", "dW"),
                          "softmax_loss_grad")
        return {"loss": loss, "dW": dW}

    def expected(self, case):
        loss, dlogits = losses.softmax_cross_entropy(case["X"] @ case["W"], case["y"])
        return {"loss": loss, "dW": case["X"].T @ dlogits}

    def gradients(self, case):
        X, y = case["X"], case["y"]
        return {("dW",): fd(lambda W: losses.softmax_cross_entropy(X @ W, y)[0], case["W"])}

    def mistakes(self, case):
        X = case["X"]
        loss, _ = losses.softmax_cross_entropy(X @ case["W"], case["y"])
        return {DIAGONAL_ONLY: {"loss": loss,
                                "dW": X.T @ diagonal_only_dlogits(X @ case["W"], case["y"])}}


class Penalty(KernelExercise):
    """The penalty family ``<name>(w, lam) -> (penalty, dW)``, judged against its kernel;
    each member names itself, its kernel and its mistakes."""
    arguments = ("w", "lam")
    outputs = ("penalty", "dW")
    zeros = False    # some weights exactly 0 (where L1 takes its subgradient 0)

    def cases(self, rng):
        cases = []
        D, K = dims(rng, 2, 7, 2)
        for label, shape in [("w of shape", (D,)), ("W of shape", (D, K))]:
            w = away_from_zero(rng, shape)
            if self.zeros:
                w[rng.random(shape) < 0.3] = 0.0
            cases.append(case(f"{label} {shape}", w=w, lam=float(rng.uniform(0.05, 2.0))))
        w = np.zeros(int(rng.integers(2, 6)))
        cases.append(case(f"all-zero w of shape {w.shape}", w=w,
                          lam=float(rng.uniform(0.1, 1))))
        cases.append(case("lam = 0", w=away_from_zero(rng, (int(rng.integers(2, 6)),)), lam=0.0))
        return cases


class L2Penalty(Penalty):
    """``l2_penalty(w, lam) -> (lam/2 * sum(w**2), lam * w)``."""
    name = "l2_penalty"
    functions = ("l2_penalty",)
    references = ("helpers.regularization.l2_penalty", "helpers.regularization.penalty")
    kernel = staticmethod(regularization.l2_penalty)

    def mistakes(self, case):
        value, dW = regularization.l2_penalty(case["w"], case["lam"])
        return {"a factor 2 in the L2 term (lam * sum(w**2) with gradient 2 * lam * w; the "
                "contract is lam/2 * sum(w**2) with gradient lam * w)":
                {"penalty": 2 * value, "dW": 2 * dW}}


class L1Penalty(Penalty):
    """``l1_penalty(w, lam) -> (lam * sum|w|, lam * sign(w))``, subgradient 0 at 0."""
    name = "l1_penalty"
    functions = ("l1_penalty",)
    references = ("helpers.regularization.l1_penalty", "helpers.regularization.penalty")
    kernel = staticmethod(regularization.l1_penalty)
    zeros = True

    def mistakes(self, case):
        w, lam = case["w"], case["lam"]
        return {"the L2 gradient lam * w instead of lam * sign(w)":
                {"penalty": regularization.l1_penalty(w, lam)[0], "dW": lam * w},
                "the absolute value missing (lam * sum(w) instead of lam * sum(|w|))":
                {"penalty": float(lam * np.sum(w)), "dW": regularization.l1_penalty(w, lam)[1]}}


def _two_layer(params, X, y, drop_sigmoid_derivative=False):
    """(loss, grads) of the sigmoid two-layer network; the mistake drops h * (1 - h)."""
    a1, cache1 = layers.dense_forward(X, params["W1"], params["b1"])
    h, cache_h = activations.sigmoid_forward(a1)
    logits, cache2 = layers.dense_forward(h, params["W2"], params["b2"])
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    dh, dW2, db2 = layers.dense_backward(dlogits, cache2)
    da1 = dh if drop_sigmoid_derivative else activations.sigmoid_backward(dh, cache_h)
    _, dW1, db1 = layers.dense_backward(da1, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


class TwoLayerLossGrad(Exercise):
    """``two_layer_loss_grad(params, X, y) -> (loss, grads)``: h = sigmoid(X @ W1 + b1),
    mean softmax cross-entropy of h @ W2 + b2; grads keyed like params."""
    name = "two_layer_loss_grad"
    functions = ("two_layer_loss_grad",)
    references = ("helpers.layers.dense_forward", "helpers.layers.dense_backward",
                  "helpers.losses.softmax_cross_entropy", "helpers.activations.sigmoid_forward")

    def cases(self, rng):
        cases = []
        for _ in range(3):
            N, D, H, K = dims(rng, 2, 8, 4)
            params = {"W1": rng.normal(0, 0.7, size=(D, H)), "b1": rng.normal(0, 0.3, size=H),
                      "W2": rng.normal(0, 0.7, size=(H, K)), "b2": rng.normal(0, 0.3, size=K)}
            cases.append(case(f"N={N}, D={D}, H={H}, K={K}", N=N, params=params,
                              X=rng.normal(size=(N, D)), y=labels(rng, N, K)))
        return cases

    def run(self, functions, case):
        (f,) = functions
        loss, grads = unpack(call(f, case["params"], case["X"], case["y"]), ("loss", "grads"),
                             "two_layer_loss_grad")
        return {"loss": loss, "grads": grads}

    def expected(self, case):
        loss, grads = _two_layer(case["params"], case["X"], case["y"])
        return {"loss": loss, "grads": grads}

    def gradients(self, case):
        X, y = case["X"], case["y"]
        return params_fd(lambda p: _two_layer(p, X, y)[0], case["params"])

    def mistakes(self, case):
        loss, grads = _two_layer(case["params"], case["X"], case["y"],
                                 drop_sigmoid_derivative=True)
        return {"the sigmoid derivative h * (1 - h) missing in the backward pass":
                {"loss": loss, "grads": grads}}


EXERCISES = (Sigmoid(), SigmoidGrad(), NumericalGradient(), LogisticLossGrad(), Softmax(),
             SoftmaxJacobian(), SoftmaxLossGrad(),
             L2Penalty(), L1Penalty(), TwoLayerLossGrad())
