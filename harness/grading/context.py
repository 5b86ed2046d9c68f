"""What a check works with: the submission's process, the data, the settings, shared artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.sandbox import SubmissionProcess


@dataclass(frozen=True)
class GradeData:
    """Inputs scaled to [0, 1] (float32). ``y_test`` never leaves the harness process."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    image_shape: tuple[int, ...]
    verified: str

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class Settings:
    """Budgets and probes for one grading run (see :mod:`harness.grading.settings`)."""

    quick: bool
    train_config: dict
    train_budget: dict
    probe_size: tuple[int, int]
    probe_config: dict
    probe_budget: dict
    search_grid: dict
    search_budget: dict
    search_size: tuple[int, int]
    activations: tuple[str, ...]
    hidden_sizes: tuple[tuple[int, ...], ...]
    hook_timeout: float
    train_timeout: float
    search_timeout: float


@dataclass
class Context:
    proc: SubmissionProcess
    data: GradeData
    settings: Settings
    rubric: Any
    scratch: Path
    info: dict = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden_layers(self) -> int:
        """How many hidden layers the submission's network has (declared; default 2)."""
        layers = self.info.get("hidden_layers", 2)
        return layers if layers in (1, 2) else 2

    def hidden(self, sizes) -> list[int]:
        """``sizes`` cut to the submission's depth: (256, 128) → [256] for one hidden layer."""
        return [int(s) for s in sizes][: self.hidden_layers]

    def call(self, hook: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return self.proc.call(hook, timeout or self.settings.hook_timeout, **kwargs)
