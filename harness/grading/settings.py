"""Grading budgets: the full grade and the quick self-check, per dataset.

Full: 12 epochs of plain SGD on the whole training split (the reference needs ≈ 10 s on
Fashion-MNIST). Quick: a small subset and a few epochs, so the whole self-check takes seconds.
"""

from __future__ import annotations

from harness.isolation import Limits

from .context import Settings
from .rubric import Rubric

_TRAIN = {
    "fashion-mnist": {"hidden_sizes": [256, 128], "activation": "relu", "lr": 0.1,
                      "lr_decay": "exponential", "decay_rate": 0.9, "step_every": 5,
                      "momentum": 0.0, "batch_size": 128, "reg": 1e-4, "seed": 0},
    "cifar10": {"hidden_sizes": [512, 256], "activation": "relu", "lr": 0.02,
                "lr_decay": "exponential", "decay_rate": 0.9, "step_every": 5,
                "momentum": 0.0, "batch_size": 128, "reg": 1e-3, "seed": 0},
}
QUICK_SUBSET = (4000, 1000)


def grading_settings(dataset: str, rubric: Rubric, quick: bool,
                     limits: Limits | None = None) -> Settings:
    limits = limits or Limits()
    train = _TRAIN[dataset]
    small = {**train, "hidden_sizes": [64, 32]}
    if quick:
        train_config, train_budget = small, {"epochs": 3, "max_seconds": 8}
    else:
        epochs = 12 if dataset == "fashion-mnist" else 15
        train_config, train_budget = train, {"epochs": epochs, "max_seconds": 150}
    search_budget = {"epochs": 2, "max_seconds": 10}
    return Settings(
        quick=quick,
        train_config=train_config,
        train_budget=train_budget,
        probe_size=(2000, 500),
        # The probe's learning rate *grows* tenfold per epoch: barely trained at epoch 1,
        # trained by epoch 3, so against shifted labels its best epoch is its first.
        probe_config={**small, "lr": 0.001, "lr_decay": "exponential", "decay_rate": 10.0},
        probe_budget={"epochs": 3, "max_seconds": 10},
        search_grid={"lr": [0.05, 0.1], "hidden_sizes": [[64, 32], [128, 64]],
                     "reg": [1e-4, 1e-3]},
        search_budget=search_budget,
        search_size=(5000, 1000),
        activations=rubric.activations,
        hidden_sizes=rubric.hidden_sizes,
        hook_timeout=limits.hook_seconds,
        train_timeout=limits.train_seconds or train_budget["max_seconds"] * 1.5 + 30,
        search_timeout=limits.search_seconds or 8 * search_budget["max_seconds"] * 1.5 + 60,
    )
