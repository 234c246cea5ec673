"""Matplotlib helpers the playgrounds share.

Each returns a ``matplotlib.figure.Figure`` built without ``pyplot``: such a figure belongs to no global
figure manager, so it is freed like any object once the page has drawn it (``st.pyplot(fig)``) and
nothing piles up across Streamlit reruns. Pass ``ax=`` to draw into an existing axes instead.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (5.0, 4.0), **kwargs):
    """A figure with a grid of axes, ``size`` per axes in inches. Returns (fig, axes)."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def _fig_ax(ax, size=(5.0, 4.0)):
    if ax is not None:
        return ax.figure, ax
    return new_figure(size=size)


def decision_regions(predict, X: np.ndarray, y: np.ndarray | None = None, *, ax=None, resolution: int = 200,
                     padding: float = 0.5, title: str | None = None, levels=None, show_colorbar: bool = False):
    """Shade the plane by a model's output and scatter the data on top.

    ``predict(points: (M, 2)) -> (M,)`` scores (e.g. the probability of class 1) or ``(M, C)`` class
    scores (shaded by argmax). X: (N, 2); y: (N,) integer labels.
    """
    X = np.asarray(X, dtype=float)
    fig, ax = _fig_ax(ax)
    x0, x1 = X[:, 0].min() - padding, X[:, 0].max() + padding
    y0, y1 = X[:, 1].min() - padding, X[:, 1].max() + padding
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]
    z = np.asarray(predict(grid))
    if z.ndim == 2 and z.shape[1] > 1:
        z = z.argmax(axis=1)
        n_classes = int(max(z.max(), 0 if y is None else np.max(y))) + 1
        cmap = ListedColormap(CLASS_COLORS[:n_classes])
        ax.contourf(gx, gy, z.reshape(gx.shape), levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.3)
    else:
        z = z.reshape(gx.shape)
        cs = ax.contourf(gx, gy, z, levels=levels if levels is not None else 20, cmap="RdBu_r", alpha=0.35)
        if np.nanmin(z) < 0.5 < np.nanmax(z):
            ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1.5)
        if show_colorbar:
            fig.colorbar(cs, ax=ax, shrink=0.8)
    if y is not None:
        for c in np.unique(y):
            m = y == c
            ax.scatter(X[m, 0], X[m, 1], s=40, c=CLASS_COLORS[int(c) % 10], edgecolors="k", label=f"class {c}")
        ax.legend(loc="best", fontsize=8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return fig


def training_curves(histories: dict, *, metric: str = "loss", x: str = "epoch", ax=None, title=None,
                    log_y: bool = False):
    """Plot ``train_{metric}`` (solid) and ``val_{metric}`` (dashed) for several runs.

    ``histories``: name → ``training.History`` (or a dict with the same fields). ``x`` is "epoch" or
    "time" (cumulative wall-clock seconds).
    """
    fig, ax = _fig_ax(ax)
    for i, (name, h) in enumerate(histories.items()):
        h = h if isinstance(h, dict) else h.as_dict()
        color = CLASS_COLORS[i % len(CLASS_COLORS)]
        for split, style in (("train", "-"), ("val", "--")):
            values = h.get(f"{split}_{metric}", [])
            if not values:
                continue
            xs = np.asarray(h["wall_time"][:len(values)]) if x == "time" else np.arange(1, len(values) + 1)
            ax.plot(xs, values, style, color=color, label=f"{name} ({split})", marker="o" if len(values) < 30 else None,
                    markersize=3)
    ax.set_xlabel("wall time (s)" if x == "time" else "epoch")
    ax.set_ylabel(metric)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def image_grid(images: np.ndarray, labels=None, predictions=None, *, ncols: int = 8, cmap: str = "gray",
               size: float = 1.2, titles=None):
    """Images (N, H, W) or (N, H·W) with square H·W, in a grid. With ``predictions``, a wrong prediction's
    title is red: "7 (true 9)"."""
    images = np.asarray(images)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        images = images.reshape(len(images), side, side)
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(size * ncols, size * nrows * 1.15), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
        elif predictions is not None and labels is not None:
            ok = predictions[i] == labels[i]
            ax.set_title(f"{predictions[i]}" if ok else f"{predictions[i]} (true {labels[i]})",
                         fontsize=8, color="black" if ok else "red")
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=8)
    return fig


def heatmap(matrix: np.ndarray, *, xlabels=None, ylabels=None, ax=None, title=None, cmap="viridis",
            annotate: bool | None = None, fmt: str = ".2f", vmin=None, vmax=None, xlabel=None, ylabel=None,
            colorbar: bool = True):
    """A matrix as an image, optionally with each value written in its cell (default: when ≤ 12×12)."""
    matrix = np.asarray(matrix, dtype=float)
    fig, ax = _fig_ax(ax, size=(max(4.0, 0.5 * matrix.shape[1] + 2), max(3.0, 0.45 * matrix.shape[0] + 1.5)))
    im = ax.imshow(matrix, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    if annotate is None:
        annotate = matrix.shape[0] <= 12 and matrix.shape[1] <= 12
    if annotate:
        lo, hi = np.nanmin(matrix), np.nanmax(matrix)
        mid = (lo + hi) / 2
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=8,
                    color="white" if v < mid else "black")
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), [str(s) for s in xlabels], rotation=45 if len(xlabels) > 6 else 0)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), [str(s) for s in ylabels])
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    return fig
