"""The test part: load a checkpoint and measure accuracy on inputs scaled to [0, 1]."""

from __future__ import annotations

import os

import numpy as np

from . import checkpoint


def predict(checkpoint_path: str | os.PathLike, x: np.ndarray) -> np.ndarray:
    """Labels ``(N,)`` predicted by the saved model, with the preprocessing saved alongside it."""
    model, standardizer, _ = checkpoint.load(checkpoint_path)
    x = x.astype(model.dtype, copy=False)
    return model.predict(standardizer(x) if standardizer is not None else x)


def test_accuracy(checkpoint_path: str | os.PathLike, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(checkpoint_path, x) == y))
