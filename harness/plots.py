"""Figures for results and reports, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

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
    """Loss (train and validation) and validation accuracy per epoch, reference dashed."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    epochs = _column(history, "epoch")
    ax_loss.plot(epochs, _column(history, "train_loss"), label="train loss", color="C0")
    ax_loss.plot(epochs, _column(history, "val_loss"), label="val loss", color="C1")
    ax_acc.plot(epochs, _column(history, "val_acc"), label="val accuracy", color="C2")
    if reference:
        ref_epochs = _column(reference, "epoch")
        ax_loss.plot(ref_epochs, _column(reference, "val_loss"), "--", color="grey",
                     label="reference val loss")
        ax_acc.plot(ref_epochs, _column(reference, "val_acc"), "--", color="grey",
                    label="reference val accuracy")
    best = int(np.argmax(_column(history, "val_acc"))) if history else None
    if best is not None:
        ax_acc.plot(epochs[best], history[best]["val_acc"], "o", color="C3",
                    label=f"best: epoch {epochs[best]}")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def save(fig: plt.Figure, path: str | os.PathLike) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)


def png_bytes(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
