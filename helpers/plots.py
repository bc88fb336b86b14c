"""The course's figures: weight images, training curves, confusion matrices, sweeps.

Each drawing function returns the ``Figure`` and never calls ``plt.show()`` (Jupyter
shows a returned figure; scripts save it). Functions that draw one panel take
``ax=None`` and draw into ``ax`` when given. Shaping data for a picture (``*_images``,
``lambda_positions``, ``misclassified``...) is kept apart from drawing it, so the
shaping can be tested and reused.
"""
import io
import math
import weakref

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.ticker import NullLocator

DIVERGING = "RdBu_r"  # red positive, blue negative, white at 0


def _figure_and_ax(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


# --------------------------------------------------------------------------- shaping

def image_side(D):
    """Side of a square image with D pixels (784 -> 28, 64 -> 8); ValueError otherwise."""
    side = math.isqrt(D)
    if side * side != D:
        raise ValueError(f"cannot show {D} values as a square image (expected e.g. 784 "
                         "or 64; pass drop_bias=True if the first entry is a bias)")
    return side


def weights_to_images(W, drop_bias=False):
    """Weights as images: w (D,) -> (1, s, s); W (D, K) -> (K, s, s), one per class.

    ``drop_bias`` removes the first row (the bias weight w0 of x0 = 1) first.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 1:
        W = W[:, None]
    if W.ndim != 2:
        raise ValueError(f"W must be (D,) or (D, K), got shape {W.shape}")
    if drop_bias:
        W = W[1:]
    side = image_side(W.shape[0])
    return W.T.reshape(W.shape[1], side, side)


def symmetric_limit(values):
    """The colour limit v so that [-v, v] covers ``values`` and 0 sits in the middle."""
    v = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return v if v > 0 else 1.0


def grid_shape(n, ncols):
    """(rows, cols) for n panels with at most ``ncols`` columns."""
    if n < 1:
        raise ValueError(f"need at least one panel, got {n}")
    cols = min(n, ncols)
    return math.ceil(n / cols), cols


def lambda_positions(lambdas):
    """x positions for a log axis that also shows lambda = 0.

    Returns (x (L,), zero_x or None): positive lambdas map to themselves; 0 is put one
    decade left of the smallest positive value (or at 1 if all are 0) and gets its own
    tick labelled "0". Negative lambdas raise ValueError.
    """
    lambdas = np.asarray(lambdas, dtype=np.float64)
    if lambdas.ndim != 1 or lambdas.size == 0:
        raise ValueError(f"lambdas must be a non-empty 1-D sequence, got {lambdas.shape}")
    if np.any(lambdas < 0) or not np.all(np.isfinite(lambdas)):
        raise ValueError(f"lambdas must be finite and >= 0, got {lambdas}")
    positive = lambdas[lambdas > 0]
    if positive.size == len(lambdas):
        return lambdas.copy(), None
    zero_x = positive.min() / 10.0 if positive.size else 1.0
    return np.where(lambdas > 0, lambdas, zero_x), zero_x


def misclassified(y_true, y_pred, proba=None, k=16):
    """Indices of up to ``k`` wrong predictions and a caption for each.

    With ``proba`` (N, K) the most confident mistakes come first and captions show the
    predicted class's probability; otherwise they come in data order.
    Returns (indices (k',), captions list of str).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ")
    wrong = np.flatnonzero(y_true != y_pred)
    if proba is not None:
        proba = np.asarray(proba)
        if proba.ndim != 2 or len(proba) != len(y_true):
            raise ValueError(f"proba must be (N, K) with N={len(y_true)}, got {proba.shape}")
        confidence = proba[wrong, y_pred[wrong]]
        wrong = wrong[np.argsort(-confidence, kind="stable")]
    wrong = wrong[:k]
    captions = []
    for i in wrong:
        text = f"true {y_true[i]}, pred {y_pred[i]}"
        if proba is not None:
            text += f"\np={proba[i, y_pred[i]]:.2f}"
        captions.append(text)
    return wrong, captions


# --------------------------------------------------------------------------- drawing

def plot_weight_image(w, ax=None, drop_bias=False, title="Weights as an image",
                      colorbar=True):
    """One weight vector w (D,) (784 or 64, plus a leading bias if ``drop_bias``) as an
    image on a diverging colour map centred on 0, with a colour bar."""
    image = weights_to_images(w, drop_bias=drop_bias)
    if image.shape[0] != 1:
        raise ValueError(f"plot_weight_image takes one vector; got {image.shape[0]}, "
                         "use plot_weight_grid")
    fig, ax = _figure_and_ax(ax, (3.6, 3))
    v = symmetric_limit(image)
    shown = ax.imshow(image[0], cmap=DIVERGING, vmin=-v, vmax=v)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        fig.colorbar(shown, ax=ax, label="weight")
    return fig


def plot_weight_grid(W, drop_bias=False, class_names=None, ncols=5,
                     title="Weights per class", panel_size=1.8):
    """One image per class for W (D, K) on one shared diverging scale centred on 0,
    each titled by its class, with a single colour bar. Returns the Figure."""
    images = weights_to_images(W, drop_bias=drop_bias)
    K = len(images)
    names = [str(k) for k in range(K)] if class_names is None else list(class_names)
    if len(names) != K:
        raise ValueError(f"class_names has {len(names)} entries for {K} classes")
    rows, cols = grid_shape(K, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols + 1, panel_size * rows),
                             squeeze=False, layout="constrained")
    v = symmetric_limit(images)
    shown = None
    for i, ax in enumerate(axes.flat):
        if i >= K:
            ax.set_visible(False)
            continue
        shown = ax.imshow(images[i], cmap=DIVERGING, vmin=-v, vmax=v)
        ax.set_title(f"class {names[i]}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=axes.ravel().tolist(), label="weight", shrink=0.8)
    fig.suptitle(title)
    return fig


LINESTYLES = ("-", "--", ":", "-.")  # one per curve name within a run


def _is_runs(curves):
    """True for {run: {name: values}}, False for {name: values}."""
    nested = [isinstance(v, dict) for v in curves.values()]
    if any(nested) and not all(nested):
        raise ValueError("curves must be all sequences ({name: values}) or all dicts "
                         "({run: {name: values}}), not a mix")
    return all(nested)


def _positions(x, key, inner, n):
    """The x positions of one curve: ``x`` is None, a sequence, {key: sequence} or, for
    runs, {run: {name: sequence}}."""
    if x is None:
        return np.arange(n)
    if isinstance(x, dict):
        xs = x[key]
        if isinstance(xs, dict):
            xs = xs[inner]
        return np.asarray(xs)
    return np.asarray(x)


def plot_curves(curves, x=None, ax=None, xlabel="epoch", ylabel="loss",
                title="Training curves", logy=False, logx=False, best=None, styles=None,
                best_label="kept weights"):
    """Lines with a title, axis labels and a legend naming each line. Returns the Figure.

    curves: {name: values}, one line per name (e.g. {"train": [...], "hold-out": [...]});
        or {run: {name: values}} for several runs: a colour per run, a line style per name
        (the first solid, then dashed, dotted, dash-dot), each line labelled "run, name".
    x: None (0, 1, 2, ...), one sequence for every line, or a dict keyed like ``curves``
        (name -> sequence; for runs, run -> sequence or run -> {name: sequence}).
    best: None, an x position, or {run: x position}: a dashed vertical line at the kept
        weights (e.g. the best hold-out epoch), in the run's colour, named in the legend
        ("<best_label>" or "<run>: <best_label>").
    styles: {name: Line2D keyword arguments} overriding the defaults for the lines of
        that name (the inner name for runs), e.g. {"train": {"linestyle": "--"}}.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict of name -> sequence")
    fig, ax = _figure_and_ax(ax, (5.5, 3.5))
    styles = styles or {}
    runs = curves if _is_runs(curves) else {None: curves}
    colours = {}
    for r, (run, named) in enumerate(runs.items()):
        for i, (name, values) in enumerate(named.items()):
            values = np.asarray(values, dtype=np.float64)
            xs = _positions(x, name if run is None else run, name, len(values))
            if len(xs) != len(values):
                raise ValueError(f"curve {name!r} has {len(values)} values but {len(xs)} "
                                 "x positions")
            style = {"marker": "o" if len(values) <= 30 else None, "markersize": 3}
            if run is None:
                label = str(name)
            else:
                label = f"{run}, {name}" if len(named) > 1 else str(run)
                style.update(color=f"C{r}", linestyle=LINESTYLES[i % len(LINESTYLES)])
            style.update(styles.get(name, {}))
            (line,) = ax.plot(xs, values, label=label, **style)
            colours.setdefault(run, line.get_color())
    if best is not None:
        marks = best if isinstance(best, dict) else {None if len(runs) == 1 else run: best
                                                     for run in runs}
        for run, position in marks.items():
            colour = "black" if run is None or len(runs) == 1 else colours.get(run, "black")
            ax.axvline(position, color=colour, linestyle="--", linewidth=1,
                       label=best_label if run is None or len(runs) == 1
                       else f"{run}: {best_label}")
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    entries = len(ax.get_legend_handles_labels()[0])
    ax.legend(fontsize=7 if entries > 6 else None, ncol=2 if entries > 6 else 1)
    return fig


def plot_loss_curves(curves, x=None, ax=None, xlabel="epoch", ylabel="loss", title="Loss",
                     logy=False, **options):
    """``plot_curves`` for losses (train / hold-out -> values, or runs of them)."""
    return plot_curves(curves, x=x, ax=ax, xlabel=xlabel, ylabel=ylabel, title=title,
                       logy=logy, **options)


def plot_accuracy_curves(curves, x=None, ax=None, xlabel="epoch", ylabel="accuracy",
                         title="Accuracy", **options):
    """``plot_curves`` for accuracies as fractions in [0, 1]."""
    return plot_curves(curves, x=x, ax=ax, xlabel=xlabel, ylabel=ylabel, title=title,
                       **options)


def plot_confusion_matrix(confusion, ax=None, class_names=None,
                          title="Confusion matrix (test set)"):
    """Counts C (K, K), rows the true class and columns the predicted one, shaded and
    annotated with each count. Returns the Figure."""
    C = np.asarray(confusion)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"confusion must be square (K, K), got shape {C.shape}")
    K = C.shape[0]
    names = [str(k) for k in range(K)] if class_names is None else list(class_names)
    if len(names) != K:
        raise ValueError(f"class_names has {len(names)} entries for {K} classes")
    fig, ax = _figure_and_ax(ax, (0.45 * K + 2.5, 0.45 * K + 2))
    shown = ax.imshow(C, cmap="Blues")
    threshold = C.max() / 2 if C.size else 0
    for i in range(K):
        for j in range(K):
            ax.text(j, i, f"{C[i, j]:g}", ha="center", va="center", fontsize=8,
                    color="white" if C[i, j] > threshold else "black")
    ax.set_xticks(range(K), names)
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, label="count")
    return fig


def plot_metric_vs_lambda(lambdas, values, ax=None, ylabel="accuracy",
                          title="Accuracy against the regularization strength",
                          best=None, xlabel="lambda (log scale)"):
    """A metric against lambda on a log x-axis, lambda = 0 shown explicitly.

    ``values`` is one sequence (L,) or a dict name -> sequence (e.g. train / hold-out /
    test). Lambda 0 is drawn one decade left of the smallest positive lambda with an
    open marker, a tick labelled "0" and a dotted break. ``best`` marks a chosen
    lambda with a vertical line. Returns the Figure.
    """
    x, zero_x = lambda_positions(lambdas)
    lambdas = np.asarray(lambdas, dtype=np.float64)
    series = values if isinstance(values, dict) else {ylabel: values}
    fig, ax = _figure_and_ax(ax, (5.5, 3.5))
    is_zero = lambdas == 0
    for name, ys in series.items():
        ys = np.asarray(ys, dtype=np.float64)
        if ys.shape != lambdas.shape:
            raise ValueError(f"{name!r} has {ys.shape} values for {lambdas.shape} lambdas")
        order = np.argsort(x[~is_zero])
        (line,) = ax.plot(x[~is_zero][order], ys[~is_zero][order], marker="o",
                          label=str(name))
        if is_zero.any():
            ax.plot(x[is_zero], ys[is_zero], linestyle="none", marker="s",
                    markerfacecolor="none", color=line.get_color())
    ax.set_xscale("log")
    if zero_x is not None:
        ticks = sorted(set(lambdas[lambdas > 0].tolist()))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks([zero_x] + ticks, ["0"] + [f"{t:g}" for t in ticks])
        if ticks:
            ax.axvline(math.sqrt(zero_x * min(ticks)), color="grey", linestyle=":",
                       linewidth=1)
    if best is not None:
        best_x = zero_x if best == 0 else best
        ax.axvline(best_x, color="black", linestyle="--", linewidth=1,
                   label=f"chosen lambda = {best:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if len(series) > 1 or best is not None:
        ax.legend()
    return fig


def plot_digit_grid(images, captions=None, ncols=8, title="Digits", panel_size=1.3):
    """Images (N, 784), (N, 64) or (N, s, s) in a grid, grey, each with its caption
    (e.g. from ``misclassified``). Returns the Figure."""
    images = np.asarray(images)
    if images.ndim == 2:
        side = image_side(images.shape[1])
        images = images.reshape(len(images), side, side)
    if images.ndim != 3:
        raise ValueError(f"images must be (N, D) or (N, s, s), got shape {images.shape}")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions for {len(images)} images")
    rows, cols = grid_shape(len(images), ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols, panel_size * rows + 0.6),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(images):
            ax.set_visible(False)
            continue
        ax.imshow(images[i], cmap="gray_r")
        if captions is not None:
            ax.set_title(captions[i], fontsize=8)
    fig.suptitle(title)
    return fig


# figure -> (its last background, the artists drawn into it)
_BACKGROUNDS = weakref.WeakKeyDictionary()


def figure_png(fig, blit=False, freeze_layout=True):
    """The figure drawn as PNG bytes, fast enough to redraw a lecture demo in place.

    For a figure that a widget redraws after every move (``ipywidgets.Image(value=...)``):
    update its artists' data, then call this. It draws with Agg at the figure's dpi and
    compresses lightly (level 1: a few times faster than the default, files about 15 %
    larger), with no tight bounding box, so the figure is drawn once, not twice.

    Artists marked ``set_animated(True)`` are left out of the figure's own drawing and
    drawn on top of it, in zorder. ``blit=True`` reuses the rest from the previous call
    (matplotlib's blitting, here on the Agg buffer): pass it when only the animated
    artists changed since then (new animated artists may replace old ones). Everything is
    drawn anyway on the first call and when an artist drawn into the cached rest has been
    marked animated since. With
    ``freeze_layout`` the layout engine (e.g. constrained) runs on the first call only and
    the axes then keep their places (so that a cached rest stays valid).
    """
    from PIL import Image  # matplotlib's own dependency

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    animated = sorted(fig.findobj(lambda a: a is not fig and a.get_animated()
                                  and a.get_visible()), key=lambda a: a.get_zorder())
    background, drawn = _BACKGROUNDS.get(fig, (None, ()))
    if blit and background is not None and not any(a in drawn for a in animated):
        canvas.restore_region(background)
    else:
        canvas.draw()                          # everything that is not animated
        drawn = weakref.WeakSet(fig.findobj(lambda a: not a.get_animated()))
        _BACKGROUNDS[fig] = (canvas.copy_from_bbox(fig.bbox), drawn)
        if freeze_layout and fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")
    for artist in animated:
        fig.draw_artist(artist)
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="png", compress_level=1)
    return out.getvalue()


def small_multiples(n, ncols=3, sharex=True, sharey=True, panel_size=(3.2, 2.4),
                    title=None):
    """A grid of ``n`` axes sharing their x and y axes, for sweeps (one panel per
    setting). Returns (fig, axes) with axes a flat list of length n; unused cells are
    hidden. Give each panel a title and labels (e.g. with ``plot_curves(ax=...)``)."""
    rows, cols = grid_shape(n, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size[0] * cols, panel_size[1] * rows),
                             sharex=sharex, sharey=sharey, squeeze=False,
                             layout="constrained")
    flat = list(axes.flat)
    for i in range(n, rows * cols):
        flat[i].set_visible(False)
        if sharex and i - cols >= 0:  # the panel above is now the bottom of its column
            flat[i - cols].xaxis.set_tick_params(labelbottom=True)
    if title:
        fig.suptitle(title)
    return fig, flat[:n]
