"""A 2-D lab: what logistic regression, softmax regression and small MLPs can draw on
scikit-learn's two interleaved moons (notebook 5, B6).

- :func:`moons`: seeded training and hold-out points from ``sklearn.datasets.make_moons``.
- :func:`fit_logistic`, :func:`fit_softmax`: batch gradient descent from zero with the
  reference losses of ``helpers.losses`` (a column of ones for the bias).
- :func:`fit_mlp`: a ``helpers.mlp.MLP`` of any widths (He or Xavier weights as in
  notebook 5), full-batch Adam.
- :func:`decision_grid` shapes the picture (the probability of class 1 on a grid over the
  points), :func:`draw_boundary` draws it; every model is a function
  ``X (N, 2) -> p(class 1) (N,)``.
"""
import contextlib

import numpy as np

from helpers import data, losses, mlp, probes
from helpers.activations import sigmoid, softmax


def moons(n_train=200, n_hold=1000, noise=0.3, seed=0):
    """Two moons with Gaussian noise: (X_train (n_train, 2), t_train, X_hold, t_hold),
    float64 points and int64 labels 0/1, from one ``make_moons`` draw (seeded)."""
    from sklearn.datasets import make_moons

    X, t = make_moons(n_samples=n_train + n_hold, noise=noise, random_state=seed)
    return X[:n_train], t[:n_train].astype(np.int64), X[n_train:], t[n_train:].astype(np.int64)


def fit_logistic(X, t, lr=1.0, steps=500):
    """Logistic regression by batch GD from w = 0. X (N, 2), t (N,) in {0, 1}.
    Returns (w (3,) with w[0] the bias, predict: X -> p(t = 1))."""
    Xb = data.add_bias(X)
    w = np.zeros(Xb.shape[1])
    for _ in range(steps):
        _, dz = losses.binary_cross_entropy(Xb @ w, t)
        w -= lr * (Xb.T @ dz)
    return w, lambda Z: sigmoid(data.add_bias(Z) @ w)


def fit_softmax(X, y, K=2, lr=1.0, steps=500):
    """Softmax regression by batch GD from W = 0. X (N, 2), y (N,) in 0..K-1.
    Returns (W (3, K), predict: X -> P[:, 1], the probability of class 1)."""
    Xb = data.add_bias(X)
    W = np.zeros((Xb.shape[1], K))
    for _ in range(steps):
        _, dZ = losses.softmax_cross_entropy(Xb @ W, y)
        W -= lr * (Xb.T @ dZ)
    return W, lambda Z: softmax(data.add_bias(Z) @ W)[:, 1]


def fit_mlp(X, y, hidden=(8,), activation="tanh", lr=0.05, epochs=400, seed=0):
    """An MLP 2 -> hidden... -> 2 (weights by ``probes.default_init``), full-batch Adam.
    Returns (model, predict: X -> p(class 1))."""
    model = mlp.MLP((2, *hidden, 2), activation=activation, seed=seed)
    probes.initialise(model, probes.default_init(activation), seed)
    with _one_thread():     # products this small only wait for a second BLAS thread
        mlp.train(model, X, y, optimizer="adam", learning_rate=lr, epochs=epochs,
                  batch_size=len(X), eval_every=None, n_eval_train=0, seed=seed, progress=False)
    return model, lambda Z: softmax(model.scores(Z).astype(np.float64))[:, 1]


def _one_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def accuracy(predict, X, t):
    """Share of points with (predict(X) >= 0.5) == t."""
    return float(np.mean((predict(X) >= 0.5) == t))


def decision_grid(predict, X, steps=90, margin=0.6):
    """(xx, yy, p): a steps x steps grid spanning X's range plus ``margin``, and the
    probability of class 1 there, shaped like xx."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    p = predict(np.column_stack([xx.ravel(), yy.ravel()]))
    return xx, yy, np.asarray(p, dtype=np.float64).reshape(xx.shape)


def draw_boundary(ax, grid, X, t, title):
    """Probability of class 1 as shading, the boundary p = 0.5 as a black line, the points
    coloured by class, a legend and axis labels. Returns ax."""
    xx, yy, p = grid
    shade = ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, p, levels=[0.5], colors="black", linewidths=1.5)
    for k, colour in ((0, "tab:blue"), (1, "tab:red")):
        ax.scatter(*X[t == k].T, s=12, color=colour, edgecolor="white", linewidth=0.4,
                   label=f"class {k}")
    ax.plot([], [], color="black", label="boundary p = 0.5")
    ax.set(xlabel="x1", ylabel="x2", title=title)
    ax.legend(fontsize=7, loc="lower left")
    return shade
