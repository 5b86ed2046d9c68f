"""The in-memory form every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Raw images and labels of one dataset, exactly as the official files hold them.

    Images are uint8 and flattened, one row per image: ``x_train`` is ``(N, D)`` with
    ``D = prod(image_shape)``; labels are int64 in ``[0, len(classes))``.
    ``image_shape`` is ``(28, 28)`` for Fashion-MNIST and ``(3, 32, 32)`` (channels first, the
    order of the CIFAR-10 files) for CIFAR-10.
    ``verified`` says how integrity was established, in words, for results files and reports.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...]
    classes: tuple[str, ...]
    source: Path
    verified: str
    extra: dict = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)
