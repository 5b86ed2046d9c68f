"""Training: minibatch SGD, learning-rate decay, and the best weights saved as they appear."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from . import checkpoint
from .model import MLP
from .optim import SGD, Schedule
from .preprocess import Standardizer


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Defaults are plain SGD, as the assignment asks."""

    hidden_sizes: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    lr: float = 0.05
    lr_decay: str = "exponential"
    decay_rate: float = 0.97
    step_every: int = 10
    momentum: float = 0.0
    batch_size: int = 128
    reg: float = 1e-4
    epochs: int = 30
    max_seconds: float | None = None
    seed: int = 0
    standardize: bool = True
    dtype: str = "float32"
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes)}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return cls(**{**d, "hidden_sizes": tuple(d.get("hidden_sizes", cls.hidden_sizes))})


@dataclass
class TrainResult:
    """The per-epoch history and where the best epoch's weights were saved.

    Each history record: ``epoch`` (1-based), ``train_loss`` (mean minibatch objective, L2
    included), ``val_loss`` (same objective on the validation split), ``val_acc``, ``lr``,
    ``seconds`` (wall time of the epoch, evaluation included).
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_acc: float = -1.0
    checkpoint: str = ""
    model: MLP | None = None
    stopped_by: str = "epochs"


Progress = Callable[[dict, float], None]


def train(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
          num_classes: int, config: TrainConfig, checkpoint_path: str | os.PathLike,
          progress: Progress | None = None) -> TrainResult:
    """Train on ``x_train (N, D)``, ``y_train (N,)`` (inputs scaled to [0, 1], labels ints)
    and save the best model by accuracy on ``x_val (M, D)``, ``y_val (M,)``. The arrays are
    not modified.

    Stops after ``config.epochs`` epochs or before an epoch that would overrun
    ``config.max_seconds``. ``progress(record, eta_seconds)`` is called after every epoch.
    """
    dtype = np.dtype(config.dtype)
    x_train = x_train.astype(dtype, copy=False)
    x_val = x_val.astype(dtype, copy=False)
    standardizer = Standardizer.fit(x_train) if config.standardize else None
    if standardizer is not None:
        x_train, x_val = standardizer(x_train), standardizer(x_val)

    model = MLP(x_train.shape[1], config.hidden_sizes, num_classes, config.activation,
                seed=config.seed, dtype=dtype.type)
    optimizer = SGD(config.momentum)
    schedule = Schedule(config.lr, config.lr_decay, config.decay_rate, config.step_every,
                        config.epochs)
    rng = np.random.default_rng(config.seed + 1)
    result = TrainResult(checkpoint=str(checkpoint_path), model=model)
    n, bs = len(x_train), config.batch_size
    grads = model.zeros_like_params()
    started = time.perf_counter()

    for epoch in range(config.epochs):
        elapsed = time.perf_counter() - started
        if config.max_seconds is not None and epoch and \
                elapsed + elapsed / epoch > config.max_seconds:
            result.stopped_by = "max_seconds"
            break
        t0 = time.perf_counter()
        lr = schedule(epoch)
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, bs):
            batch = order[start:start + bs]  # gathered per batch: no shuffled copy of the set
            loss, grads = model.loss_and_grads(x_train[batch], y_train[batch], config.reg,
                                               config.dropout, rng, out=grads)
            optimizer.step(model.params, grads, lr)
            total += loss * len(batch)
        val_loss, val_acc = model.evaluate(x_val, y_val, config.reg)
        record = {
            "epoch": epoch + 1,
            "train_loss": total / n,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": lr,
            "seconds": time.perf_counter() - t0,
        }
        if not math.isfinite(record["train_loss"]):
            result.history.append(record)
            result.stopped_by = "diverged"
            break
        if val_acc > result.best_val_acc:
            result.best_val_acc, result.best_epoch = val_acc, epoch + 1
            checkpoint.save(checkpoint_path, model, standardizer,
                            {"epoch": epoch + 1, "val_acc": val_acc, "config": config.to_dict()})
        result.history.append(record)
        if progress is not None:
            done = time.perf_counter() - started
            remaining = (config.epochs - epoch - 1) * done / (epoch + 1)
            if config.max_seconds is not None:
                remaining = min(remaining, max(config.max_seconds - done, 0.0))
            progress(record, remaining)
    return result
