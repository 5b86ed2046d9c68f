"""Input standardization, fitted on the training split only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x - mean) / std`` with statistics fitted on training data.

    ``std`` is floored so that near-constant pixels (the borders of Fashion-MNIST) are not
    blown up. Calling it returns a new array of ``x``'s dtype; ``x`` is left as it was.
    """

    mean: np.ndarray  # (D,)
    std: np.ndarray   # (D,)

    STD_FLOOR = 1e-2

    @classmethod
    def fit(cls, x: np.ndarray) -> "Standardizer":
        """Statistics of ``x (N, D)``."""
        x64 = x.astype(np.float64)
        std = np.maximum(x64.std(axis=0), cls.STD_FLOOR)
        return cls(x64.mean(axis=0).astype(x.dtype), std.astype(x.dtype))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(x.dtype, copy=False)
