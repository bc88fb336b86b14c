"""The exercises of lesson 1 (``01_derivations``): sigmoid and its derivative, a gradient
checker, the logistic loss, softmax and its Jacobian, the softmax loss, L2/L1 penalties
and the chain rule through two layers."""
import numpy as np

from checker.cases import (FD_STEP, away_from_zero, case, dims, fd, labels, params_fd,
                           with_bias_column)
from checker.diagnose import epsilon_in_log
from checker.exercise import (Exercise, KernelExercise, Promise, batch_of, largest_at_least,
                              watches)
from checker.runner import call, call_in_place, unpack
from helpers import activations, gradcheck, layers, losses, regularization

#: The mistake of pushing dL/dp through only the diagonal of the softmax Jacobian; named
#: by every exercise with a softmax inside (here and in lesson 5).
DIAGONAL_ONLY = ("only the diagonal of the softmax Jacobian (the -p_i p_j terms for "
                 "i != j are missing)")


def far_below(rng, K, label):
    """Offsets (K,) of 0 or -1000 per class: class ``label`` (a true class) at -1000 and
    at least one other class at 0, so that some example's true class is 1000 below."""
    offsets = rng.choice([-1000.0, 0.0], size=K)
    offsets[label] = -1000.0
    offsets[(label + 1 + int(rng.integers(0, K - 1))) % K] = 0.0
    return offsets


def softmax_log_q(logits, y):
    """log P[n, y_n] of softmax(logits): the log-probabilities a cross-entropy averages."""
    return activations.log_softmax(logits)[np.arange(len(y)), y]


def bce_log_q(z, t):
    """log of the probability sigmoid(z) gives each target t (0/1): t z - log(1 + e^z)."""
    return t * z - np.logaddexp(0.0, z)


def with_loss(outputs, losses_by_name, key="loss"):
    """{name: outputs with outputs[key] replaced}: the outputs a mistake in the loss alone
    gives (e.g. checker.diagnose.epsilon_in_log's losses), the rest left right."""
    return {name: {**outputs, key: value} for name, value in losses_by_name.items()}


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

    def hidden_cases(self, rng):
        return [case("large random z (scale 400) of shape (2, 3, 4)",
                     z=rng.normal(0, 400, size=(2, 3, 4))),
                case("a single extreme number z = -1000 (shape ())",
                     z=np.array(-1000.0 if rng.random() < 0.5 else 1000.0)),
                case("z of shape (1,)", N=1, z=rng.normal(0, 3, size=1))]

    promises = (
        Promise("random", "values against the reference on random arrays of several shapes",
                lambda c: np.ndim(c["z"]) >= 1 and np.max(np.abs(c["z"])) < 100),
        Promise("scalar", "a single number (shape ())", lambda c: np.ndim(c["z"]) == 0),
        Promise("extreme", "finite, no nan, at z = +-1000, +-745, +-710, +-40",
                largest_at_least("z", 1000)),
    )

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

    def hidden_cases(self, rng):
        # with a few moderate z: the differences are judged against the size of the
        # largest derivative (the reference's s (1 - s) is only accurate to ~1e-16 there)
        return [case("z = +-745, +-710, a few moderate z and large random z, shape (3, 4)",
                     z=rng.permutation(np.concatenate([[-745.0, 745.0, -710.0, 710.0],
                                                       rng.normal(0, 2, size=3),
                                                       rng.normal(0, 300, size=5)])
                                       ).reshape(3, 4), saturated=True),
                case("z of shape (1,)", N=1, z=rng.normal(0, 2, size=1))]

    promises = (
        Promise("values", "against the reference and finite differences of the sigmoid",
                lambda c: np.max(np.abs(c["z"])) < 100),
        Promise("extreme", "finite at z = +-1000 (no overflow in exp)", largest_at_least("z", 1000)),
    )

    def run(self, functions, case):
        (sigmoid_grad,) = functions
        return {"ds": call(sigmoid_grad, case["z"])}

    def expected(self, case):
        z = case["z"]
        _, cache = activations.sigmoid_forward(z)
        return {"ds": activations.sigmoid_backward(np.ones_like(z), cache)}

    def gradients(self, case):
        if case.get("saturated"):
            # saturated: every derivative is below the rounding noise of the differences
            # (about 1e-16 |f| / h); the values are checked against the reference instead
            return {}
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

    def hidden_cases(self, rng):
        names = list(self.test_functions)
        return [case(f"{names[i]} at x of shape {shape}", f=names[i],
                     x=rng.uniform(-0.3, 0.3, size=shape))
                for i, shape in [(2, (1,)), (0, (2, 2, 2)), (1, (1, 1))]]

    promises = (
        Promise("centred", "against the exact gradient of random smooth functions (relative "
                "error <= 1e-6: centred differences)", lambda c: True),
        Promise("restored", "x unchanged afterwards", lambda c: True),
        Promise("shapes", "x of any shape (np.ndindex visits every index)",
                lambda c: np.ndim(c["x"]) >= 2),
    )

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

    def hidden_cases(self, rng):
        N, D = dims(rng, 5, 10, 2)
        X = with_bias_column(rng, N, D)
        w = rng.normal(0, 1, size=D)
        w *= 800.0 / max(np.max(np.abs(X @ w)), 1e-3)          # |logits| up to 800
        extreme = case(f"extreme logits (|z| up to 800) N={N}, D={D}", N=N, w=w, X=X,
                       t=rng.integers(0, 2, size=N).astype(np.float64))
        single = case("a single example N=1 with target 0, D=1 (the bias alone)", N=1,
                      w=rng.normal(size=1), X=np.ones((1, 1)), t=np.array([0]))
        N, D = dims(rng, 4, 9, 2)
        watched = case(f"random N={N}, D={D}, inputs watched for in-place changes", N=N,
                       w=rng.normal(0, 0.5, size=D), X=with_bias_column(rng, N, D),
                       t=rng.integers(0, 2, size=N).astype(np.float64),
                       unchanged=("w", "X", "t"))
        return [extreme, single, watched]

    promises = (
        Promise("random", "loss and gradient against the reference, the gradient against "
                "finite differences, on random N, D", lambda c: c["N"] > 1),
        Promise("confident", "confident predictions (|z| up to about 20, where a naive "
                "ln(1 - p) loses its digits)",
                lambda c: np.max(np.abs(c["X"] @ c["w"])) >= 10),
        Promise("single", "a single example (N = 1)", batch_of(1)),
        Promise("stable", "the stable form of the loss (finite for any logit)",
                lambda c: np.max(np.abs(c["X"] @ c["w"])) >= 500),
        Promise("unchanged", "do not change the inputs", watches("X")),
    )

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
        loss, dw, _ = _logistic_parts(case["w"], X, case["t"])
        return {"dL/dp times dp/dz with the loss and the prediction mixed up "
                "(x * p * (1 - p))": {"loss": loss, "dw": X.T @ (p * (1 - p)) / X.shape[0]},
                **with_loss({"loss": loss, "dw": dw},
                            epsilon_in_log(bce_log_q(X @ case["w"], case["t"])))}


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

    def hidden_cases(self, rng):
        N = int(rng.integers(3, 7))
        K = int(rng.integers(3, 6))
        return [case(f"two classes, Z of shape ({N}, 2)", N=N, Z=rng.normal(0, 3, size=(N, 2))),
                case("one row of two scores, shape (1, 2)", N=1, Z=rng.normal(0, 2, size=(1, 2))),
                case(f"a single score vector shifted by -1000, shape ({K},)", N=None,
                     Z=rng.normal(0, 2, size=K) - 1000.0),
                case(f"rows far apart (-1000, 0 and +1000 in one row), shape ({N}, {K + 2})", N=N,
                     Z=np.concatenate([rng.normal(0, 2, size=(N, K)),
                                       np.full((N, 1), 1000.0), np.full((N, 1), -1000.0)],
                                      axis=1))]

    promises = (
        Promise("random", "against the reference on random matrices",
                lambda c: np.ndim(c["Z"]) == 2 and np.max(np.abs(c["Z"])) < 100),
        Promise("extreme", "rows with scores around +-1000 (no nan)", largest_at_least("Z", 999)),
        Promise("unchanged", "Z unchanged (no Z -= ...)", lambda c: True),
        Promise("vector", "a single score vector of shape (K,)", lambda c: np.ndim(c["Z"]) == 1),
    )

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

    def hidden_cases(self, rng):
        K = int(rng.integers(3, 6))
        return [case("two classes, z of shape (2,)", z=rng.normal(0, 1.5, size=2)),
                case(f"z shifted by -1000, shape ({K},)", z=rng.normal(size=K) - 1000.0)]

    promises = (
        Promise("random", "against the reference and finite differences of the softmax, "
                "for random K", lambda c: np.max(np.abs(c["z"])) < 100),
        Promise("extreme", "scores around 1000", largest_at_least("z", 999)),
    )

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

    def hidden_cases(self, rng):
        out = []
        N, D = dims(rng, 3, 8, 2)
        W = rng.normal(0, 0.5, size=(D, 2))
        out.append(case(f"two classes N={N}, D={D}, K=2", N=N, W=W,
                        X=with_bias_column(rng, N, D), y=labels(rng, N, 2)))
        D, K = dims(rng, 2, 6, 2)
        out.append(case(f"a single example N=1, D={D}, K={K}", N=1,
                        W=rng.normal(0, 0.5, size=(D, K)), X=with_bias_column(rng, 1, D),
                        y=labels(rng, 1, K)))
        N, D, K = dims(rng, 3, 8, 3)
        W = rng.normal(0, 0.5, size=(D, K))
        y = labels(rng, N, K)
        W[0, :] += far_below(rng, K, y[0])
        out.append(case(f"classes 1000 apart (the true class often far below) N={N}, D={D}, "
                        f"K={K}", N=N, W=W, X=with_bias_column(rng, N, D), y=y))
        N, D, K = dims(rng, 3, 8, 3)
        out.append(case(f"random N={N}, D={D}, K={K}, inputs watched for in-place changes",
                        N=N, W=rng.normal(0, 0.5, size=(D, K)), X=with_bias_column(rng, N, D),
                        y=labels(rng, N, K), unchanged=("W", "X", "y")))
        return out

    promises = (
        Promise("random", "loss and gradient against the reference, the gradient against "
                "finite differences, on random N, D, K",
                lambda c: np.max(np.abs(c["W"])) < 100),
        Promise("shifted", "every score shifted by +1000: the loss stays finite",
                lambda c: np.min(c["W"][0]) >= 900),
        Promise("unchanged", "do not change the inputs", watches("W")),
    )

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
        X, y = case["X"], case["y"]
        loss, dlogits = losses.softmax_cross_entropy(X @ case["W"], y)
        return {DIAGONAL_ONLY: {"loss": loss,
                                "dW": X.T @ diagonal_only_dlogits(X @ case["W"], y)},
                **with_loss({"loss": loss, "dW": X.T @ dlogits},
                            epsilon_in_log(softmax_log_q(X @ case["W"], y)))}


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

    def hidden_cases(self, rng):
        w = away_from_zero(rng, (2, 3, int(rng.integers(2, 4))))
        if self.zeros:
            w[rng.random(w.shape) < 0.4] = 0.0
            w.flat[0] = 0.0
        return [case(f"w of shape {w.shape}", w=w, lam=float(rng.uniform(0.05, 2.0))),
                case("w of shape (1,)", w=away_from_zero(rng, (1,)),
                     lam=float(rng.uniform(0.05, 2.0))),
                case("a large lam = 1000, w of shape (3,)", w=away_from_zero(rng, (3,)),
                     lam=1000.0)]


class L2Penalty(Penalty):
    """``l2_penalty(w, lam) -> (lam/2 * sum(w**2), lam * w)``."""
    name = "l2_penalty"
    functions = ("l2_penalty",)
    references = ("helpers.regularization.l2_penalty", "helpers.regularization.penalty")
    kernel = staticmethod(regularization.l2_penalty)
    promises = (
        Promise("values", "values and gradients against the reference on random arrays of "
                "random shapes", lambda c: np.ndim(c["w"]) >= 1 and np.any(c["w"])),
        Promise("shapes", "w of any shape (a vector or a matrix)",
                lambda c: np.ndim(c["w"]) >= 2),
    )

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
    promises = (
        Promise("values", "values and gradients against the reference on random arrays of "
                "random shapes", lambda c: np.ndim(c["w"]) >= 1 and np.any(c["w"])),
        Promise("zero", "the gradient 0 where w is exactly 0",
                lambda c: bool(np.any(c["w"] == 0))),
    )

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

    def hidden_cases(self, rng):
        def params(D, H, K):
            return {"W1": rng.normal(0, 0.7, size=(D, H)), "b1": rng.normal(0, 0.3, size=H),
                    "W2": rng.normal(0, 0.7, size=(H, K)), "b2": rng.normal(0, 0.3, size=K)}
        out = []
        D, H = dims(rng, 2, 6, 2)
        out.append(case(f"a single example N=1, D={D}, H={H}, K=2", N=1, params=params(D, H, 2),
                        X=rng.normal(size=(1, D)), y=labels(rng, 1, 2)))
        N, D, H, K = dims(rng, 2, 8, 4)
        far = params(D, H, K)
        y = labels(rng, N, K)
        far["b2"] = far["b2"] + far_below(rng, K, y[0])
        out.append(case(f"classes 1000 apart through b2 (the true class often far below) "
                        f"N={N}, D={D}, H={H}, K={K}", N=N, params=far,
                        X=rng.normal(size=(N, D)), y=y))
        N, D, H, K = dims(rng, 2, 8, 4)
        out.append(case(f"N={N}, D={D}, H={H}, K={K}, inputs watched for in-place changes",
                        N=N, params=params(D, H, K), X=rng.normal(size=(N, D)),
                        y=labels(rng, N, K), unchanged=("params", "X")))
        return out

    promises = (
        Promise("random", "loss and all four gradients against the reference and finite "
                "differences, for random N, D, H, K",
                lambda c: np.max(np.abs(c["params"]["b2"])) < 10),
        Promise("stable", "the loss computed stably",
                lambda c: np.max(np.abs(c["params"]["b2"])) >= 500),
        Promise("unchanged", "do not modify params or X", watches("params")),
    )

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
        params, X, y = case["params"], case["X"], case["y"]
        loss, grads = _two_layer(params, X, y, drop_sigmoid_derivative=True)
        right_loss, right_grads = _two_layer(params, X, y)
        h = activations.sigmoid(X @ params["W1"] + params["b1"])
        logits = h @ params["W2"] + params["b2"]
        return {"the sigmoid derivative h * (1 - h) missing in the backward pass":
                {"loss": loss, "grads": grads},
                **with_loss({"loss": right_loss, "grads": right_grads},
                            epsilon_in_log(softmax_log_q(logits, y)))}


EXERCISES = (Sigmoid(), SigmoidGrad(), NumericalGradient(), LogisticLossGrad(), Softmax(),
             SoftmaxJacobian(), SoftmaxLossGrad(),
             L2Penalty(), L1Penalty(), TwoLayerLossGrad())
