"""helpers.moons: the data, the three kinds of model, the grid and the drawing."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import moons  # noqa: E402


@pytest.fixture(scope="module")
def points():
    return moons.moons(n_train=120, n_hold=300, noise=0.25, seed=1)


def test_moons_shapes_and_seed(points):
    X, t, Xh, th = points
    assert X.shape == (120, 2) and Xh.shape == (300, 2) and t.dtype == np.int64
    assert set(np.unique(t)) == {0, 1}
    again = moons.moons(n_train=120, n_hold=300, noise=0.25, seed=1)
    np.testing.assert_array_equal(again[0], X)


def test_two_class_softmax_at_half_the_step_is_the_logistic_model(points):
    X, t, _, _ = points
    w, p_log = moons.fit_logistic(X, t, lr=1.0, steps=200)
    W, p_soft = moons.fit_softmax(X, t, lr=0.5, steps=200)
    np.testing.assert_allclose(W[:, 1] - W[:, 0], w, atol=1e-10)
    np.testing.assert_allclose(p_soft(X), p_log(X), atol=1e-10)


def test_an_mlp_bends_the_boundary(points):
    X, t, Xh, th = points
    _, p_log = moons.fit_logistic(X, t)
    _, p_mlp = moons.fit_mlp(X, t, hidden=(16,), activation="tanh", epochs=300, seed=0)
    assert moons.accuracy(p_mlp, X, t) > moons.accuracy(p_log, X, t)
    assert moons.accuracy(p_mlp, Xh, th) > 0.9


def test_decision_grid_and_drawing(points):
    X, t, _, _ = points
    _, predict = moons.fit_logistic(X, t, steps=50)
    xx, yy, p = moons.decision_grid(predict, X, steps=30)
    assert xx.shape == yy.shape == p.shape == (30, 30)
    assert xx.min() < X[:, 0].min() and xx.max() > X[:, 0].max()
    assert np.all((0 <= p) & (p <= 1))
    fig, ax = plt.subplots()
    moons.draw_boundary(ax, (xx, yy, p), X, t, "logistic")
    assert ax.get_title() == "logistic" and ax.get_xlabel() == "x1"
    assert {"class 0", "class 1", "boundary p = 0.5"} <= {h.get_label() for h in ax.get_legend().legend_handles}
    plt.close(fig)
