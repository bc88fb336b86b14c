"""The exercises of lesson 2 (``02_logistic``): two learning-rate schedules, the
logistic-regression prediction, and the training loop itself: mini-batch gradient
descent with early stopping that keeps the best hold-out weights (``early_stopping_gd``)."""
import numpy as np

from checker.cases import case, dims, with_bias_column
from checker.exercise import Exercise, Promise
from checker.runner import Malformed, call, unpack
from helpers import activations, linear, training


class LrAnnealing(Exercise):
    """``lr_annealing(eta0, t, T) -> eta0 / (1 + t/T)``."""
    name = "lr_annealing"
    functions = ("lr_annealing",)
    references = ("helpers.training.annealing",)

    def cases(self, rng):
        cases = []
        for t in [0, int(rng.integers(1, 5)), int(rng.integers(5, 40)),
                  int(rng.integers(40, 500))]:
            eta0 = float(rng.uniform(0.01, 1.0))
            T = float(rng.choice([1, 2, 3, 5, 10])) if rng.random() < 0.5 \
                else int(rng.integers(1, 11))
            cases.append(case(f"eta0={eta0:.4g}, t={t}, T={T}", eta0=eta0, t=t, T=T))
        return cases

    def hidden_cases(self, rng):
        eta0 = float(rng.uniform(0.01, 1.0))
        T = int(rng.integers(2, 20))
        return [case(f"eta0={eta0:.4g}, t=T={T} (half the step)", eta0=eta0, t=T, T=T),
                case(f"eta0={eta0:.4g}, t=10**6, T=1", eta0=eta0, t=10**6, T=1),
                case("eta0=1, t=3, T=0.5 (T a float below 1)", eta0=1.0, t=3, T=0.5)]

    promises = (
        Promise("formula", "against the formula for random eta0, t and T", lambda c: True),
        Promise("start", "t = 0", lambda c: c["t"] == 0),
    )

    def run(self, functions, case):
        (f,) = functions
        return {"eta": call(f, case["eta0"], case["t"], case["T"])}

    def expected(self, case):
        return {"eta": training.annealing(case["eta0"], case["t"], case["T"])}

    def mistakes(self, case):
        eta0, t, T = case["eta0"], case["t"], case["T"]
        return {"eta0 / (1 + t*T) instead of eta0 / (1 + t/T)": {"eta": eta0 / (1 + t * T)},
                "eta0 / (1 + t) / T instead of eta0 / (1 + t/T)": {"eta": eta0 / (1 + t) / T}}


class LrStepDecay(Exercise):
    """``lr_step_decay(eta0, t, k) -> eta0 * 0.1**(t // k)``."""
    name = "lr_step_decay"
    functions = ("lr_step_decay",)
    references = ("helpers.training.step_decay",)

    def cases(self, rng):
        cases = []
        k = int(rng.integers(2, 60))
        for t in [0, k - 1, k, 2 * k, 3 * k + int(rng.integers(1, k))]:
            eta0 = float(rng.uniform(0.01, 1.0))
            cases.append(case(f"eta0={eta0:.4g}, t={t}, k={k}", eta0=eta0, t=t, k=k))
        return cases

    def hidden_cases(self, rng):
        eta0 = float(rng.uniform(0.01, 1.0))
        k = int(rng.integers(2, 30))
        return [case(f"eta0={eta0:.4g}, t={t}, k=1 (a drop every update)", eta0=eta0, t=t, k=1)
                for t in (1, 3)] + [
                case(f"eta0={eta0:.4g}, t={10 * k}, k={k} (ten drops)", eta0=eta0, t=10 * k,
                     k=k)]

    promises = (
        Promise("formula", "against the formula for random eta0, t and k", lambda c: True),
        Promise("start", "t = 0", lambda c: c["t"] == 0),
        Promise("multiples", "t a multiple of k (the first update of a new stage)",
                lambda c: c["t"] > 0 and c["t"] % c["k"] == 0),
    )

    def run(self, functions, case):
        (f,) = functions
        return {"eta": call(f, case["eta0"], case["t"], case["k"])}

    def expected(self, case):
        return {"eta": training.step_decay(case["eta0"], case["t"], case["k"])}

    def mistakes(self, case):
        eta0, t, k = case["eta0"], case["t"], case["k"]
        return {"0.1**(t/k) (a true division) instead of 0.1**(t//k) (whole steps)":
                {"eta": eta0 * 0.1 ** (t / k)},
                "the first drop one step early ((t + 1) // k)":
                {"eta": eta0 * 0.1 ** ((t + 1) // k)}}


class LogisticPredict(Exercise):
    """``logistic_predict(w, X) -> labels``, int 0/1, 1 where sigmoid(X @ w) >= 0.5."""
    name = "logistic_predict"
    functions = ("logistic_predict",)
    references = ("helpers.activations.sigmoid", "helpers.linear.logistic_predict")

    def cases(self, rng):
        cases = []
        for _ in range(3):
            N, D = dims(rng, 4, 12, 2)
            X = with_bias_column(rng, N, D)
            w = rng.normal(size=D)
            z = X @ w
            # keep every logit clear of 0, where summation order could flip a label ...
            X[np.abs(z) < 1e-3, 0] += 0.01
            # ... except a few rows of zeros: logit exactly 0, sigmoid 0.5, label 1
            X[rng.choice(N, size=2, replace=False)] = 0.0
            cases.append(case(f"N={N}, D={D}, two rows with logit exactly 0", N=N, w=w, X=X))
        return cases

    def hidden_cases(self, rng):
        N, D = dims(rng, 4, 10, 2)
        X = with_bias_column(rng, N, D)
        w = rng.normal(size=D)
        w *= 1000.0 / max(np.max(np.abs(X @ w)), 1e-3)        # logits up to +-1000
        X[np.abs(X @ w) < 1e-3, 0] += 0.01
        D1 = int(rng.integers(2, 6))
        single = with_bias_column(rng, 1, D1)
        return [case(f"extreme logits (|z| up to 1000), N={N}, D={D}", N=N, w=w, X=X),
                case(f"a single example N=1, D={D1}", N=1, w=rng.normal(size=D1), X=single)]

    promises = (
        Promise("random", "random w, X of several shapes", lambda c: True),
        Promise("boundary", "scores exactly at z = 0 give 1",
                lambda c: bool(np.any(c["X"] @ c["w"] == 0))),
        Promise("integer", "an integer array (dtype)", lambda c: True),
    )

    def run(self, functions, case):
        (f,) = functions
        return {"labels": call(f, case["w"], case["X"])}

    def expected(self, case):
        return {"labels": (activations.sigmoid(case["X"] @ case["w"]) >= 0.5).astype(np.int64)}

    def mistakes(self, case):
        z = case["X"] @ case["w"]
        return {"> 0.5 instead of >= 0.5 (a logit of exactly 0 has sigmoid 0.5 and label 1)":
                {"labels": (activations.sigmoid(z) > 0.5).astype(np.int64)}}


def _early_stopping_run(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs, batch_size,
                        patience, rng, *, compare="best", keep="best"):
    """(kept weights, hold-out losses) of mini-batch GD with early stopping; ``compare``
    ("best" or "previous") and ``keep`` ("best", "last" or "start") make the mistakes."""
    w = np.array(w0, dtype=np.float64, copy=True)
    hold = [loss_grad(w, X_hold, t_hold)[0]]
    best, best_w, bad = hold[0], w.copy(), 0
    for _ in range(epochs):
        for idx in training.minibatches(len(t), batch_size, rng):
            w = w - eta * loss_grad(w, X[idx], t[idx])[1]
        hold.append(loss_grad(w, X_hold, t_hold)[0])
        reference = best if compare == "best" else hold[-2]
        if hold[-1] < reference:
            best, bad = hold[-1], 0
            best_w = w.copy()
        else:
            bad += 1
        if bad >= patience:
            break
    kept = {"best": best_w, "last": w, "start": np.array(w0, dtype=np.float64)}[keep]
    return kept, np.array(hold)


class EarlyStoppingGd(Exercise):
    """``early_stopping_gd(loss_grad, w0, X, t, X_hold, t_hold, eta, epochs, batch_size,
    patience, rng) -> (w_best, hold_losses)``: mini-batch GD with a constant step; the
    hold-out loss after every epoch (and of w0 first); stop after ``patience`` evaluations
    without a new best; return the BEST weights, not the last."""
    name = "early_stopping_gd"
    functions = ("early_stopping_gd",)
    references = ("helpers.training.train", "helpers.training.EarlyStopping")
    arguments = ("w0", "X", "t", "X_hold", "t_hold", "eta", "epochs", "batch_size",
                 "patience")
    #: the mistakes, as the knobs of _early_stopping_run
    knobs = {"compared with the previous evaluation only, not with the best so far (a slow "
             "rise with small dips never stops, and the weights kept are not the best)":
             {"compare": "previous"},
             "the starting weights w0 came back: the returned variable is never set inside "
             "the loop (the best weights saved under another name?)": {"keep": "start"},
             "the weights of the last epoch returned, not the best ones": {"keep": "last"}}

    def _problem(self, rng):
        """A small noisy logistic problem and settings on which early stopping stops
        before the last epoch and every mistake gives other weights than the answer."""
        for _ in range(500):
            D = int(rng.integers(3, 6))
            N, N_hold = int(rng.integers(14, 24)), int(rng.integers(10, 16))
            w_true = rng.normal(0, 1.5, size=D)
            X, X_hold = with_bias_column(rng, N, D), with_bias_column(rng, N_hold, D)
            flip = lambda Z: (rng.random(len(Z)) < 0.2)
            t = ((X @ w_true > 0) ^ flip(X)).astype(np.float64)
            t_hold = ((X_hold @ w_true > 0) ^ flip(X_hold)).astype(np.float64)
            c = case(f"N={N}, D={D}, hold-out {N_hold}", N=N, w0=rng.normal(0, 0.1, size=D),
                     X=X, t=t, X_hold=X_hold, t_hold=t_hold,
                     eta=float(rng.uniform(1.0, 4.0)), epochs=int(rng.integers(25, 40)),
                     batch_size=int(rng.integers(3, 7)), patience=int(rng.integers(2, 5)),
                     seed=int(rng.integers(0, 2**31)))
            w, hold = self._run(_early_stopping_run, c)
            stops_early = len(hold) < c["epochs"] + 1
            if stops_early and all(
                    not np.allclose(self._run(_early_stopping_run, c, **knob)[0], w, rtol=1e-3)
                    for knob in self.knobs.values()):
                c["label"] += (f", eta={c['eta']:.3g}, batch_size={c['batch_size']}, "
                               f"patience={c['patience']}, at most {c['epochs']} epochs")
                return c
        raise RuntimeError("could not draw an early-stopping problem")  # pragma: no cover

    def cases(self, rng):
        return [self._problem(rng) for _ in range(3)]

    def _run(self, function, case, **knobs):
        rng = np.random.default_rng(case["seed"])
        args = [case[key] for key in self.arguments]
        return function(linear.logistic_loss_grad, *args, rng, **knobs)

    def run(self, functions, case):
        (f,) = functions
        result = call(f, linear.logistic_loss_grad,
                      *(case[key] for key in self.arguments), np.random.default_rng(case["seed"]))
        w, hold = unpack(result, ("w_best", "hold_losses"), "early_stopping_gd")
        try:
            hold = np.asarray(hold, dtype=np.float64)
        except (TypeError, ValueError):
            raise Malformed("early_stopping_gd must return (w_best, hold_losses) with "
                            "hold_losses a list of numbers, one per evaluation") from None
        return {"w": w, "hold_losses": hold}

    def expected(self, case):
        w, hold = self._run(_early_stopping_run, case)
        return {"w": w, "hold_losses": hold}

    def mistakes(self, case):
        out = {}
        for name, knob in self.knobs.items():
            w, hold = self._run(_early_stopping_run, case, **knob)
            out[name] = {"w": w, "hold_losses": hold}
        return out


EXERCISES = (LrAnnealing(), LrStepDecay(), LogisticPredict(), EarlyStoppingGd())
