"""Minibatch SGD with optional momentum, and learning-rate schedules."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class SGD:
    """``θ ← θ − lr·g``, or with momentum μ: ``v ← μ·v − lr·g; θ ← θ + v``.

    ``step`` updates the parameters in place; ``grads`` are left as they were (the scaled
    gradient goes to a buffer kept per parameter, so a step allocates nothing).
    """

    def __init__(self, momentum: float = 0.0) -> None:
        self.momentum = momentum
        self.velocity: dict[str, np.ndarray] = {}
        self._scaled: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
        """``params[name] (shape of θ)`` updated in place from ``grads[name]`` (same shape)."""
        for name, g in grads.items():
            theta = params[name]
            scaled = self._scaled.get(name)
            if scaled is None or scaled.shape != theta.shape or scaled.dtype != theta.dtype:
                scaled = self._scaled[name] = np.empty_like(theta)
            np.multiply(g, lr, out=scaled, casting="unsafe")
            if not self.momentum:
                theta -= scaled
                continue
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(theta)
            v *= self.momentum
            v -= scaled
            theta += v


@dataclass(frozen=True)
class Schedule:
    """Learning rate per epoch (0-based).

    ``exponential``: ``lr · rate^epoch``; ``step``: ``lr · rate^(epoch // step_every)``;
    ``cosine``: ``lr · (1 + cos(π · epoch / epochs)) / 2``, from ``lr`` towards 0 over
    ``epochs``; ``constant``: ``lr``.
    """

    lr: float
    kind: str = "exponential"
    rate: float = 0.95
    step_every: int = 10
    epochs: int = 1

    KINDS = ("constant", "exponential", "step", "cosine")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown lr decay {self.kind!r}; one of {self.KINDS}")

    def __call__(self, epoch: int) -> float:
        if self.kind == "exponential":
            return self.lr * self.rate**epoch
        if self.kind == "step":
            return self.lr * self.rate ** (epoch // self.step_every)
        if self.kind == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(self.epochs, 1)))
        return self.lr
