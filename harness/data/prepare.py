"""From raw uint8 images to model inputs: the validation split and preprocessing.

The test set never takes part in any choice: the validation split is carved from the training set,
and standardization statistics come from the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Training and validation arrays carved from one training set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def train_val_split(x: np.ndarray, y: np.ndarray, val_size: int, seed: int = 0) -> Split:
    """A seeded random split: the same ``seed`` gives the same split on every machine."""
    if not 0 < val_size < len(x):
        raise ValueError(f"val_size must be between 1 and {len(x) - 1}, got {val_size}")
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = np.sort(order[:val_size]), np.sort(order[val_size:])
    return Split(x[train], y[train], x[val], y[val])


def to_unit(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """uint8 pixels to floats in [0, 1]."""
    return np.multiply(x, 1.0 / 255.0, dtype=dtype)


@dataclass(frozen=True)
class Standardizer:
    """Per-feature standardization ``(x - mean) / std`` with statistics fitted on training data.

    ``std`` is floored so that near-constant pixels (the borders of Fashion-MNIST) are not blown up.
    """

    mean: np.ndarray
    std: np.ndarray

    STD_FLOOR = 1e-2

    @classmethod
    def fit(cls, x: np.ndarray) -> "Standardizer":
        x64 = x.astype(np.float64)
        std = np.maximum(x64.std(axis=0), cls.STD_FLOOR)
        return cls(x64.mean(axis=0).astype(x.dtype), std.astype(x.dtype))

    @classmethod
    def identity(cls, dim: int, dtype: np.dtype | type = np.float32) -> "Standardizer":
        return cls(np.zeros(dim, dtype), np.ones(dim, dtype))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(x.dtype, copy=False)
