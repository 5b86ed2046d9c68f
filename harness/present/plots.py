"""Figures for results and reports, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _column(history: Sequence[dict], key: str) -> list[float]:
    return [r[key] for r in history]


def curves(history: Sequence[dict], reference: Sequence[dict] | None = None,
           title: str = "") -> plt.Figure:
    """Loss and validation accuracy per epoch; the reference's, dashed in the same colour, is
    the same quantity under the same budget (train against train, validation against
    validation)."""
    # fixed margins: a constrained layout would draw the figure twice (the curves are in
    # every report, so their time counts)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.14, top=0.84 if title else 0.91,
                        wspace=0.2)
    lines = [(ax_loss, "train_loss", "train loss", "C0"), (ax_loss, "val_loss", "val loss", "C1"),
             (ax_acc, "val_acc", "val accuracy", "C2")]
    for ax, key, label, colour in lines:
        for rows, style, who in ((history, "-", ""), (reference or [], "--", "reference ")):
            if rows and all(isinstance(r.get(key), (int, float)) for r in rows):
                ax.plot(_column(rows, "epoch"), _column(rows, key), style, color=colour,
                        label=who + label, alpha=1.0 if style == "-" else 0.6)
    epochs = _column(history, "epoch")
    best = int(np.argmax(_column(history, "val_acc"))) if history else None
    if best is not None:
        ax_acc.plot(epochs[best], history[best]["val_acc"], "o", color="C3",
                    label=f"best: epoch {epochs[best]}")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    return fig


def warm_up() -> None:
    """Draw and encode a tiny figure once, so that the first real figure does not pay for
    setting up fonts and the renderer (most of a short grade's report time otherwise)."""
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1], label="x")
    ax.set(title="t", xlabel="x")
    ax.legend()
    data_uri(fig)


def save(fig: plt.Figure, path: str | os.PathLike) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)


def data_uri(fig: plt.Figure) -> str:
    """The figure as an SVG ``data:`` URI, for a page that stands alone; the figure is closed.
    SVG with its text left as text: sharp at any zoom, and drawn in about half the time of a
    PNG (images inside, such as the weight grid, are embedded as PNG by matplotlib). No date
    and no random ids inside: the same results give the same page."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "harness"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def score_histograms(rows: Sequence[dict]) -> plt.Figure:
    """Scores and test accuracies of a class, side by side."""
    scores = [r["score"] for r in rows if r.get("max_score")]
    top = max((r["max_score"] for r in rows if r.get("max_score")), default=1)
    accs = [r["test_accuracy"] for r in rows if r.get("test_accuracy") is not None]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3), layout="constrained")
    a.hist(scores, bins=20, range=(0, top), color="C0")
    a.set(title="Scores", xlabel="points", ylabel="submissions")
    if accs:
        b.hist(accs, bins=20, color="C2")
    b.set(title="Test accuracy", xlabel="accuracy", ylabel="submissions")
    b.locator_params(axis="x", nbins=5)
    for ax in (a, b):
        ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def weight_grid(w1: np.ndarray, image_shape: tuple[int, ...], max_units: int = 64) -> plt.Figure:
    """The first layer's incoming weights, one image per hidden unit, tiled into one picture.

    ``w1`` is ``(D, H)``; ``image_shape`` is ``(28, 28)`` (grey) or ``(3, 32, 32)`` (colour,
    channels first as in the CIFAR-10 files). A grey image is drawn on a symmetric diverging
    scale, red positive and blue negative, white at zero, each scaled by its own largest |w|
    (so the sign of a weight reads the same in every tile); a colour image is scaled to its own
    range. One image in one axes: a grid of 64 axes took a second to draw.
    """
    units = min(w1.shape[1], max_units)
    cols = int(np.ceil(np.sqrt(units)))
    rows = int(np.ceil(units / cols))
    tiles = w1[:, :units].T.reshape(units, *image_shape).astype(np.float64)
    if len(image_shape) == 3:
        tiles = tiles.transpose(0, 2, 3, 1)  # (units, H, W, channels)
    pixels = tuple(range(1, tiles.ndim))
    grey = len(image_shape) != 3
    if grey:  # in [-1, 1]: symmetric, 0 stays 0
        peak = np.abs(tiles).max(axis=pixels, keepdims=True)
        tiles = tiles / np.where(peak > 0, peak, 1.0)
    else:
        low = tiles.min(axis=pixels, keepdims=True)
        span = np.ptp(tiles, axis=pixels, keepdims=True)
        tiles = (tiles - low) / np.where(span > 0, span, 1.0)
    h, w = tiles.shape[1:3]
    gap = np.nan if grey else 1.0  # grey lines between diverging tiles, white between colour
    mosaic = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1, *tiles.shape[3:]), gap)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        mosaic[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = tile
    fig, ax = plt.subplots(figsize=(cols * 0.9, rows * 0.9))
    if grey:
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#8c959f")
        ax.imshow(mosaic, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(mosaic, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
    return fig


def confusion(matrix: np.ndarray, classes: Sequence[str]) -> plt.Figure:
    """Counts of true × predicted classes. Fixed margins, room for the ten class names: a
    constrained layout drew the figure twice."""
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > threshold else "black")
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.subplots_adjust(left=0.17, bottom=0.2, right=0.98, top=0.97)
    return fig


def search_heatmaps(trials: Sequence[dict]) -> plt.Figure:
    """Validation accuracy over learning rate × L2 strength, one panel per hidden size."""
    hiddens = sorted({tuple(t["hidden_sizes"]) for t in trials})
    lrs = sorted({t["lr"] for t in trials})
    regs = sorted({t["reg"] for t in trials})
    fig, axes = plt.subplots(1, len(hiddens), figsize=(3.6 * len(hiddens), 3.0),
                             layout="constrained", squeeze=False)
    accs = [t["val_acc"] for t in trials]
    lo, hi = min(accs), max(accs)
    for ax, hidden in zip(axes[0], hiddens):
        grid = np.full((len(regs), len(lrs)), np.nan)
        for t in trials:
            if tuple(t["hidden_sizes"]) == hidden:
                grid[regs.index(t["reg"]), lrs.index(t["lr"])] = t["val_acc"]
        im = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=lo, vmax=hi)
        ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
        ax.set_yticks(range(len(regs)), [f"{v:g}" for v in regs])
        ax.set(xlabel="learning rate", ylabel="L2 strength",
               title="hidden " + "-".join(map(str, hidden)))
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                bright = hi > lo and (v - lo) / (hi - lo) > 0.6
                ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8,
                        color="black" if bright else "white")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="val accuracy")
    return fig
