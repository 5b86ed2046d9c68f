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

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x_train, y_train, x_val, y_val)``, the order training functions take them in."""
        return self.x_train, self.y_train, self.x_val, self.y_val

    def scaled(self, dtype: np.dtype | type = np.float32) -> "Split":
        """The same split, inputs scaled to [0, 1] (:func:`to_unit`). Split uint8 pixels first
        and scale after: a quarter of the bytes to copy."""
        return Split(to_unit(self.x_train, dtype), self.y_train, to_unit(self.x_val, dtype),
                     self.y_val)


def train_val_split(x: np.ndarray, y: np.ndarray, val_size: int, seed: int = 0,
                    subset: tuple[int, int] | None = None) -> Split:
    """A seeded random split: the same ``seed`` gives the same split on every machine.
    ``subset``: keep only the first ``(n_train, n_val)`` images of each part (a quick grade's),
    chosen before anything is copied."""
    if not 0 < val_size < len(x):
        raise ValueError(f"val_size must be between 1 and {len(x) - 1}, got {val_size}")
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = np.sort(order[:val_size]), np.sort(order[val_size:])
    if subset is not None:
        train, val = train[:subset[0]], val[:subset[1]]
    return Split(x[train], y[train], x[val], y[val])


def to_unit(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """uint8 pixels to floats in [0, 1]."""
    return np.multiply(x, 1.0 / 255.0, dtype=dtype)
