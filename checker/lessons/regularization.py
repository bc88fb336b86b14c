"""The exercise of lesson 3 (``03_regularization``): the L1/L2-regularised logistic loss."""
import numpy as np

from checker.cases import away_from_zero, case, dims, fd, with_bias_column
from checker.diagnose import epsilon_in_log
from checker.exercise import Exercise, Promise, watches
from checker.lessons.derivations import bce_log_q, with_loss
from checker.runner import call, unpack
from helpers import losses, regularization


def _regularized(w, X, t, lam, penalty, factor=1.0, include_bias=False):
    """(loss, dw) with the penalty times ``factor``; the mistakes change the two knobs."""
    loss, dz = losses.binary_cross_entropy(X @ w, t)
    dw = X.T @ dz
    start = 0 if include_bias else 1
    value, dpen = regularization.penalty(w[start:], lam, penalty)
    dw = dw.copy()
    dw[start:] += factor * dpen
    return loss + factor * value, dw


class RegularizedLogisticLossGrad(Exercise):
    """``regularized_logistic_loss_grad(w, X, t, lam, penalty) -> (loss, dw)``, penalty
    "l1"/"l2" on w[1:] only (w[0] is the bias)."""
    name = "regularized_logistic_loss_grad"
    functions = ("regularized_logistic_loss_grad",)
    references = ("helpers.losses.binary_cross_entropy", "helpers.regularization.penalty",
                  "helpers.regularization.l2_penalty", "helpers.regularization.l1_penalty",
                  "helpers.linear.logistic_loss_grad")

    def cases(self, rng):
        cases = []
        for penalty in ["l2", "l1", "l2", "l1"]:
            N, D = dims(rng, 5, 12, 2)
            X = with_bias_column(rng, N, D)
            w = away_from_zero(rng, D, scale=0.7)
            if penalty == "l1":
                w[1 + rng.choice(D - 1, size=1)] = 0.0  # the subgradient 0 at 0
            lam = float(rng.uniform(0.05, 1.0))
            t = rng.integers(0, 2, size=N).astype(np.float64)
            cases.append(case(f"penalty={penalty!r}, lam={lam:.3g}, N={N}, D={D}", N=N,
                              w=w, X=X, t=t, lam=lam, penalty=penalty))
        return cases

    def hidden_cases(self, rng):
        out = []
        for penalty in ("l2", "l1"):
            N, D = dims(rng, 5, 10, 2)
            X = with_bias_column(rng, N, D)
            w = away_from_zero(rng, D, scale=0.7)
            w *= 800.0 / max(np.max(np.abs(X @ w)), 1e-3)      # |x^T w| up to 800
            lam = float(rng.uniform(0.001, 0.01))
            out.append(case(f"large |x^T w| (up to 800), penalty={penalty!r}, lam={lam:.3g}, "
                            f"N={N}, D={D}", N=N, w=w, X=X,
                            t=rng.integers(0, 2, size=N).astype(np.float64), lam=lam,
                            penalty=penalty))
        D = int(rng.integers(3, 6))
        out.append(case(f"a single example N=1, penalty='l1', lam=0.5, D={D}", N=1,
                        w=away_from_zero(rng, D, scale=0.7), X=with_bias_column(rng, 1, D),
                        t=np.array([1.0]), lam=0.5, penalty="l1"))
        N, D = dims(rng, 5, 10, 2)
        out.append(case(f"penalty='l2', lam=0.3, N={N}, D={D}, inputs watched for in-place "
                        "changes", N=N, w=away_from_zero(rng, D, scale=0.7),
                        X=with_bias_column(rng, N, D),
                        t=rng.integers(0, 2, size=N).astype(np.float64), lam=0.3,
                        penalty="l2", unchanged=("w", "X", "t")))
        return out

    promises = (
        Promise("both", "both penalties, random w, X, t, lam: loss and gradient against the "
                "reference and finite differences", lambda c: True),
        Promise("bias", "the penalty on w[1:] only (dw[0] carries no penalty term)",
                lambda c: c["lam"] > 0),
        Promise("stable", "finite for large |x^T w| (no log(0))",
                lambda c: np.max(np.abs(c["X"] @ c["w"])) >= 500),
        Promise("unchanged", "change nothing in place", watches("w")),
    )

    def run(self, functions, case):
        (f,) = functions
        result = call(f, case["w"], case["X"], case["t"], case["lam"], case["penalty"])
        loss, dw = unpack(result, ("loss", "dw"), "regularized_logistic_loss_grad")
        return {"loss": loss, "dw": dw}

    def expected(self, case):
        loss, dw = _regularized(case["w"], case["X"], case["t"], case["lam"], case["penalty"])
        return {"loss": loss, "dw": dw}

    def gradients(self, case):
        X, t, lam, pen = case["X"], case["t"], case["lam"], case["penalty"]
        return {("dw",): fd(lambda w: _regularized(w, X, t, lam, pen)[0], case["w"])}

    def mistakes(self, case):
        args = (case["w"], case["X"], case["t"], case["lam"], case["penalty"])
        out = {"a missing regularisation term (the data term alone)":
               _regularized(*args, factor=0.0),
               "the bias w[0] penalised too (only w[1:] is)":
               _regularized(*args, include_bias=True),
               "the penalty divided by N": _regularized(*args, factor=1 / case["N"])}
        if case["penalty"] == "l2":
            out["a factor 2 in the L2 term (2 * lam * w instead of lam * w)"] = \
                _regularized(*args, factor=2.0)
        out = {name: {"loss": v[0], "dw": v[1]} for name, v in out.items()}
        loss, dw = _regularized(*args)
        data_loss, _ = _regularized(*args, factor=0.0)
        out.update(with_loss({"loss": loss, "dw": dw},
                             epsilon_in_log(bce_log_q(case["X"] @ case["w"], case["t"]),
                                            extra=loss - data_loss)))
        return out


EXERCISES = (RegularizedLogisticLossGrad(),)
