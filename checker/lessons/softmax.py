"""The exercise of lesson 4 (``04_softmax``): the regularised softmax-regression loss.

The softmax and the cross-entropy of logits are graded once, in lesson 1 (``softmax``,
``softmax_loss_grad``); here the student may call the pack's
``helpers.losses.softmax_cross_entropy`` inside the model. ``LogitsLoss`` is the family of
losses of logits (lesson 5's ``mse_softmax``)."""
import numpy as np

from checker.cases import case, dims, labels, params_fd
from checker.diagnose import epsilon_in_log
from checker.exercise import Exercise, KernelExercise, Promise
from checker.lessons.derivations import far_below, softmax_log_q, with_loss
from checker.runner import call, unpack
from helpers import layers, losses, regularization


class LogitsLoss(KernelExercise):
    """The family ``<name>(logits, y) -> (loss, dlogits)``, judged against its kernel;
    each member draws its cases (starting with :meth:`random_cases`) and names its
    mistakes."""
    arguments = ("logits", "y")
    outputs = ("loss", "dlogits")

    def random_cases(self, rng):
        """Two cases of random logits (N, K), 2 <= N, K <= 8, and labels."""
        cases = []
        for _ in range(2):
            N, K = dims(rng, 2, 8, 2)
            cases.append(case(f"random logits ({N}, {K})", N=N,
                              logits=rng.normal(0, 2, size=(N, K)), y=labels(rng, N, K)))
        return cases

    def edge_cases(self, rng):
        """The hidden check's additions for every loss of logits: two classes, one
        example, rows 1000 apart with the true class far below (stability), and the
        logits watched for in-place changes."""
        N = int(rng.integers(3, 8))
        K = int(rng.integers(3, 6))
        far = rng.normal(0, 2, size=(N, K))
        far[:, 0] += 1000.0
        y = labels(rng, N, K)
        y[0] = 1                                   # at least one true class 1000 below
        N2, K2 = dims(rng, 2, 8, 2)
        return [case(f"two classes ({N}, 2)", N=N, logits=rng.normal(0, 2, size=(N, 2)),
                     y=labels(rng, N, 2)),
                case(f"a single example (1, {K})", N=1, logits=rng.normal(0, 2, size=(1, K)),
                     y=labels(rng, 1, K)),
                case(f"class 0 1000 above the others ({N}, {K})", N=N, logits=far, y=y),
                case(f"random logits ({N2}, {K2}), watched for in-place changes", N=N2,
                     logits=rng.normal(0, 2, size=(N2, K2)), y=labels(rng, N2, K2),
                     unchanged=("logits", "y"))]

    def hidden_cases(self, rng):
        return self.edge_cases(rng)


def _softmax_regression(params, X, y, lam, factor=1.0, penalise_bias=False):
    """(loss, grads) with the L2 term times ``factor``; the mistakes change the knobs."""
    lam = 0.0 if lam is None else lam
    logits, cache = layers.dense_forward(X, params["W"], params["b"])
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    _, dW, db = layers.dense_backward(dlogits, cache)
    value, dpen = regularization.l2_penalty(params["W"], lam)
    grads = {"W": dW + factor * dpen, "b": db}
    loss = loss + factor * value
    if penalise_bias:
        value_b, dpen_b = regularization.l2_penalty(params["b"], lam)
        loss, grads["b"] = loss + value_b, db + dpen_b
    return loss, grads


class SoftmaxRegressionLossGrad(Exercise):
    """``softmax_regression_loss_grad(params, X, y, lam=0.0) -> (loss, grads)``: params W
    (D, K), b (K,); + lam/2 * ||W||^2 (b not penalised)."""
    name = "softmax_regression_loss_grad"
    functions = ("softmax_regression_loss_grad",)
    references = ("helpers.layers.dense_forward",
                  "helpers.layers.dense_backward", "helpers.regularization.l2_penalty",
                  "helpers.linear.softmax_loss_grad", "helpers.linear.softmax_loss")

    def cases(self, rng):
        cases = []
        for lam in [None, 0.0, float(rng.uniform(0.05, 1.0)), float(rng.uniform(0.05, 1.0))]:
            N, D, K = dims(rng, 3, 9, 3)
            params = {"W": rng.normal(0, 0.5, size=(D, K)), "b": rng.normal(0, 0.5, size=K)}
            label = "lam left at its default" if lam is None else f"lam={lam:.3g}"
            cases.append(case(f"{label}, N={N}, D={D}, K={K}", N=N, params=params,
                              X=rng.normal(size=(N, D)), y=labels(rng, N, K), lam=lam))
        return cases

    def hidden_cases(self, rng):
        out = []
        N, D = dims(rng, 3, 8, 2)
        out.append(case(f"two classes, lam default, N={N}, D={D}, K=2", N=N,
                        params={"W": rng.normal(0, 0.5, size=(D, 2)),
                                "b": rng.normal(0, 0.5, size=2)},
                        X=rng.normal(size=(N, D)), y=labels(rng, N, 2), lam=None))
        D, K = dims(rng, 2, 6, 2)
        lam = float(rng.uniform(0.05, 1.0))
        out.append(case(f"a single example N=1, lam={lam:.3g}, D={D}, K={K}", N=1,
                        params={"W": rng.normal(0, 0.5, size=(D, K)),
                                "b": rng.normal(0, 0.5, size=K)},
                        X=rng.normal(size=(1, D)), y=labels(rng, 1, K), lam=lam))
        N, D, K = dims(rng, 3, 8, 3)
        y = labels(rng, N, K)
        out.append(case(f"classes 1000 apart through b, lam=0.1, N={N}, D={D}, K={K}", N=N,
                        params={"W": rng.normal(0, 0.5, size=(D, K)),
                                "b": far_below(rng, K, y[0])},
                        X=rng.normal(size=(N, D)), y=y, lam=0.1))
        N, K = dims(rng, 3, 8, 2)
        lam = float(rng.uniform(0.05, 1.0))
        out.append(case(f"lam={lam:.3g}, N={N}, one input (D=1), K={K}", N=N,
                        params={"W": rng.normal(0, 0.5, size=(1, K)),
                                "b": rng.normal(0, 0.5, size=K)},
                        X=rng.normal(size=(N, 1)), y=labels(rng, N, K), lam=lam))
        return out

    promises = (
        Promise("default", "lam left at its default", lambda c: c["lam"] is None),
        Promise("penalised", "lam > 0: loss and both gradients against the reference and "
                "finite differences", lambda c: bool(c["lam"])),
        Promise("stable", "the cross-entropy computed stably (classes 1000 apart)",
                lambda c: np.max(np.abs(c["params"]["b"])) >= 500),
    )

    def run(self, functions, case):
        (f,) = functions
        if case["lam"] is None:
            result = call(f, case["params"], case["X"], case["y"])
        else:
            result = call(f, case["params"], case["X"], case["y"], case["lam"])
        loss, grads = unpack(result, ("loss", "grads"), "softmax_regression_loss_grad")
        return {"loss": loss, "grads": grads}

    def expected(self, case):
        loss, grads = _softmax_regression(case["params"], case["X"], case["y"], case["lam"])
        return {"loss": loss, "grads": grads}

    def gradients(self, case):
        X, y, lam = case["X"], case["y"], case["lam"]
        return params_fd(lambda p: _softmax_regression(p, X, y, lam)[0], case["params"])

    def mistakes(self, case):
        args = (case["params"], case["X"], case["y"], case["lam"])
        out = {"a missing regularisation term (the data term alone)":
               _softmax_regression(*args, factor=0.0),
               "the bias b penalised too (only W is)":
               _softmax_regression(*args, penalise_bias=True),
               "a factor 2 in the L2 term (2 * lam * W instead of lam * W)":
               _softmax_regression(*args, factor=2.0),
               "the penalty divided by N": _softmax_regression(*args, factor=1 / case["N"])}
        out = {name: {"loss": v[0], "grads": v[1]} for name, v in out.items()}
        loss, grads = _softmax_regression(*args)
        penalty = loss - losses.softmax_cross_entropy(
            case["X"] @ case["params"]["W"] + case["params"]["b"], case["y"])[0]
        logits = case["X"] @ case["params"]["W"] + case["params"]["b"]
        out.update(with_loss({"loss": loss, "grads": grads},
                             epsilon_in_log(softmax_log_q(logits, case["y"]), extra=penalty)))
        return out


EXERCISES = (SoftmaxRegressionLossGrad(),)
