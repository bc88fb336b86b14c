"""helpers.plots: every drawing returns a Figure with a title, axis labels and a legend
where it has several lines; the shaping helpers give the right arrays."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def titled(fig):
    """The figure's title: a suptitle, or the single visible axes' title."""
    if fig.get_suptitle():
        return fig.get_suptitle()
    return " ".join(ax.get_title() for ax in fig.axes if ax.get_title())


def test_plt_show_is_never_called(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    rng = np.random.default_rng(0)
    plots.plot_weight_image(rng.standard_normal(785), drop_bias=True)
    plots.plot_weight_grid(rng.standard_normal((64, 10)))
    plots.plot_curves({"train": [1, 0.5]})
    plots.plot_confusion_matrix(np.eye(3))
    plots.plot_metric_vs_lambda([0, 0.1], [0.9, 0.8])
    plots.plot_digit_grid(rng.random((3, 64)))
    plots.small_multiples(2)


# --------------------------------------------------------------------------- shaping

def test_weights_to_images_shapes_and_bias():
    w = np.arange(785.0)
    images = plots.weights_to_images(w, drop_bias=True)
    assert images.shape == (1, 28, 28)
    assert images[0, 0, 0] == 1.0 and images[0, 0, 1] == 2.0  # w[0] (bias) dropped
    W = np.arange(64 * 3.0).reshape(64, 3)
    images = plots.weights_to_images(W)
    assert images.shape == (3, 8, 8)
    np.testing.assert_array_equal(images[2].ravel(), W[:, 2])  # column k is class k
    with pytest.raises(ValueError, match="785.*drop_bias"):
        plots.weights_to_images(w)


def test_lambda_positions_put_zero_a_decade_left():
    x, zero_x = plots.lambda_positions([0, 1e-4, 1e-2])
    assert zero_x == pytest.approx(1e-5)
    np.testing.assert_allclose(x, [1e-5, 1e-4, 1e-2])
    x, zero_x = plots.lambda_positions([1e-3, 1e-1])
    assert zero_x is None
    with pytest.raises(ValueError, match=">= 0"):
        plots.lambda_positions([-1, 1])


def test_misclassified_orders_by_confidence():
    y = np.array([0, 1, 2, 1])
    pred = np.array([0, 2, 0, 0])
    proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.95, 0, 0.05],
                      [0.5, 0.4, 0.1]])
    idx, captions = plots.misclassified(y, pred, proba)
    assert list(idx) == [2, 1, 3]
    assert captions[0] == "true 2, pred 0\np=0.95"
    idx, captions = plots.misclassified(y, pred, k=1)
    assert list(idx) == [1] and captions == ["true 1, pred 2"]


# --------------------------------------------------------------------------- drawing

def test_weight_image_is_diverging_and_centred():
    w = np.concatenate([[100.0], np.linspace(-1, 3, 784)])
    fig = plots.plot_weight_image(w, drop_bias=True, title="w for 2-vs-3")
    assert isinstance(fig, Figure)
    image = fig.axes[0].images[0]
    vmin, vmax = image.get_clim()
    assert vmin == -vmax == -3.0  # symmetric about 0, the bias (100) not shown
    assert image.get_cmap().name == plots.DIVERGING
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "weight"  # colour bar
    assert titled(fig) == "w for 2-vs-3"


def test_weight_image_into_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    returned = plots.plot_weight_image(np.ones(64), ax=b, colorbar=False)
    assert returned is fig and b.images and not a.images


def test_weight_grid_has_class_titles_and_one_scale():
    W = np.random.default_rng(0).standard_normal((785, 10))
    fig = plots.plot_weight_grid(W, drop_bias=True, title="Softmax weights")
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == [f"class {k}" for k in range(10)]
    assert len({ax.images[0].get_clim() for ax in shown}) == 1
    assert titled(fig) == "Softmax weights"
    assert any(ax.get_ylabel() == "weight" for ax in fig.axes)  # the colour bar
    with pytest.raises(ValueError, match="class_names"):
        plots.plot_weight_grid(W, drop_bias=True, class_names=["a"])


def test_curves_have_labels_and_legend():
    fig = plots.plot_loss_curves({"train": [1.0, 0.5, 0.3], "hold-out": [1.1, 0.7, 0.6],
                                  "test": [1.2, 0.8, 0.6]}, xlabel="epoch")
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "hold-out",
                                                                   "test"]
    fig = plots.plot_accuracy_curves({"train": [0.5, 0.9], "test": [0.4, 0.8]},
                                     x={"train": [0, 200], "test": [0, 200]},
                                     xlabel="iteration")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "accuracy" and ax.get_xlabel() == "iteration"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 200])
    with pytest.raises(ValueError, match="x positions"):
        plots.plot_curves({"train": [1, 2, 3]}, x=[0, 1])


def test_confusion_matrix_annotated_with_counts():
    C = np.array([[5, 1], [0, 7]])
    fig = plots.plot_confusion_matrix(C, class_names=["two", "three"])
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "5", "7"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["two", "three"]
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.ones((2, 3)))


def test_metric_vs_lambda_log_axis_with_zero_tick():
    lambdas = [0, 1e-4, 1e-3, 1e-2]
    fig = plots.plot_metric_vs_lambda(
        lambdas, {"hold-out": [0.97, 0.975, 0.98, 0.96], "test": [0.96, 0.97, 0.98, 0.95]},
        best=1e-3)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "0" and "0.001" in labels
    assert ax.get_xlabel() and ax.get_ylabel() == "accuracy" and ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "hold-out" in legend and "test" in legend and any("0.001" in t for t in legend)
    # every point is plotted, lambda = 0 at a finite position
    xs = np.concatenate([line.get_xdata() for line in ax.lines if line.get_marker() in "os"])
    assert np.all(np.isfinite(xs)) and np.all(xs > 0) and len(xs) == 8
    with pytest.raises(ValueError, match="values"):
        plots.plot_metric_vs_lambda([0, 1], [0.5])


def test_digit_grid_with_captions():
    images = np.random.default_rng(0).integers(0, 255, (5, 784))
    fig = plots.plot_digit_grid(images, captions=[f"c{i}" for i in range(5)], ncols=3,
                                title="Misclassified")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 5 and [ax.get_title() for ax in shown] == [f"c{i}" for i in range(5)]
    assert shown[0].images[0].get_array().shape == (28, 28)
    assert titled(fig) == "Misclassified"
    with pytest.raises(ValueError, match="captions"):
        plots.plot_digit_grid(images, captions=["x"])


def test_small_multiples_share_axes():
    fig, axes = plots.small_multiples(5, ncols=3, title="Learning-rate sweep")
    assert isinstance(fig, Figure) and len(axes) == 5
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[4])
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[4])
    assert sum(ax.get_visible() for ax in fig.axes) == 5
    assert titled(fig) == "Learning-rate sweep"
    for i, ax in enumerate(axes):
        plots.plot_curves({"train": [1, 0.5], "test": [1, 0.6]}, ax=ax, title=f"lr {i}")
        assert ax.get_legend() is not None


def test_curves_of_several_runs_colour_per_run_style_per_name():
    runs = {"batch": {"train": [1.0, 0.5, 0.4], "hold-out": [1.1, 0.7, 0.6]},
            "mini-batch": {"train": [1.0, 0.6], "hold-out": [1.2, 0.8]}}
    fig = plots.plot_loss_curves(runs, x={"batch": [0, 1, 2], "mini-batch": [0, 10]},
                                 xlabel="update", title="Two runs",
                                 best={"batch": 2, "mini-batch": 10})
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines)[:4] == ["batch, train", "batch, hold-out", "mini-batch, train",
                               "mini-batch, hold-out"]
    assert lines["batch, train"].get_color() == lines["batch, hold-out"].get_color()
    assert lines["batch, train"].get_color() != lines["mini-batch, train"].get_color()
    assert lines["batch, train"].get_linestyle() == "-"
    assert lines["batch, hold-out"].get_linestyle() == "--"
    np.testing.assert_array_equal(lines["mini-batch, train"].get_xdata(), [0, 10])
    # the kept weights: a vertical line per run in the run's colour, named in the legend
    assert lines["batch: kept weights"].get_color() == lines["batch, train"].get_color()
    np.testing.assert_array_equal(lines["mini-batch: kept weights"].get_xdata(), [10, 10])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == list(lines)
    assert ax.get_title() == "Two runs" and ax.get_xlabel() == "update"
    with pytest.raises(ValueError, match="not a mix"):
        plots.plot_curves({"a": [1, 2], "b": {"train": [1, 2]}})


def test_curves_styles_best_and_log_axes():
    fig = plots.plot_accuracy_curves({"sgd": [0.8, 0.9], "adam": [0.85, 0.95]},
                                     x={"sgd": [0.01, 0.1], "adam": [1e-4, 1e-3]},
                                     xlabel="learning rate", logx=True, best=0.1,
                                     best_label="chosen",
                                     styles={"adam": {"color": "k", "linestyle": ":"}})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "accuracy"
    adam = [line for line in ax.lines if line.get_label() == "adam"][0]
    assert adam.get_color() == "k" and adam.get_linestyle() == ":"
    assert "chosen" in [t.get_text() for t in ax.get_legend().get_texts()]
    fig = plots.plot_loss_curves({"train": [1, 0.1]}, logy=True)
    assert fig.axes[0].get_yscale() == "log"


def test_figure_png_draws_the_current_data_and_freezes_the_layout():
    from io import BytesIO

    from matplotlib.figure import Figure as BareFigure
    from PIL import Image

    fig = BareFigure(figsize=(4, 3), dpi=50, layout="constrained")
    ax = fig.subplots()
    plots.plot_loss_curves({"train": [1.0, 0.5, 0.2]}, ax=ax)
    first = plots.figure_png(fig)
    assert first.startswith(b"\x89PNG") and Image.open(BytesIO(first)).size == (200, 150)
    position = ax.get_position().bounds
    ax.lines[0].set_ydata([0.2, 0.5, 1.0])
    ax.set_title("a much longer title than before, to tempt a layout engine")
    second = plots.figure_png(fig)
    assert second != first
    assert ax.get_position().bounds == position      # the layout ran on the first call only


def test_figure_png_blit_draws_animated_artists_over_the_cached_rest():
    from io import BytesIO

    from matplotlib.figure import Figure as BareFigure
    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(BytesIO(png)).convert("RGB"))

    fig = BareFigure(figsize=(3, 3), dpi=40)
    ax = fig.subplots()
    ax.set(xlim=(0, 1), ylim=(0, 1), title="blit")
    (moving,) = ax.plot([0.2, 0.2], [0.1, 0.9], color="red", lw=4)   # clear of the spines
    full = pixels(plots.figure_png(fig))          # the line drawn into the cached rest
    moving.set_animated(True)                     # too late for that rest: drawn again
    moving.set_xdata([0.8, 0.8])
    redrawn = pixels(plots.figure_png(fig, blit=True))
    assert not np.array_equal(full, redrawn)
    reference = BareFigure(figsize=(3, 3), dpi=40)
    ref_ax = reference.subplots()
    ref_ax.set(xlim=(0, 1), ylim=(0, 1), title="blit")
    ref_ax.plot([0.8, 0.8], [0.1, 0.9], color="red", lw=4)
    np.testing.assert_array_equal(redrawn, pixels(plots.figure_png(reference)))
    # now the rest holds no line: blitting moves the animated one, leaving no trace
    moving.set_xdata([0.5, 0.5])
    blitted = pixels(plots.figure_png(fig, blit=True))
    ref_ax.lines[0].set_xdata([0.5, 0.5])
    np.testing.assert_array_equal(blitted, pixels(plots.figure_png(reference)))
    # a new animated artist may join (e.g. a legend made again on every move)
    ax.text(0.1, 0.1, "new", animated=True)
    assert not np.array_equal(pixels(plots.figure_png(fig, blit=True)), blitted)
