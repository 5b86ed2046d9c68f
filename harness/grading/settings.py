"""Grading budgets: the full grade and the quick self-check, per dataset.

Full: plain SGD on the whole training split; on CIFAR-10 15 epochs of 512-256, on Fashion-MNIST
10 epochs of 128-64: ≈ 6 s for the reference on one core (12 epochs of 256-128 took 14 s).
What correct submissions reach under it, measured 2026-11-30 (test accuracy): the reference
0.8776, the student-shaped fixtures 0.8640-0.8778 (alice 0.8666, softmax_decay 0.8640,
file_loader 0.8778); 8 epochs left alice at 0.8596 (still climbing), too close to a tier.
Quick: a small subset and a few epochs, so the whole self-check takes seconds.

Budgets are epochs, so a grade does not depend on the machine's load. Wall-time limits are only
a safety net against endless loops, and no noisier than the work they bound: never measured
(a timing taken while another grade runs once made the limit 30 hours), but the epochs' matrix
work at a fixed, slow rate (:data:`HONEST_SLOW_FLOPS`: an honest loop about 40 times slower
than a vectorized one on one core), between :data:`MIN_TRAIN_SECONDS` and
:data:`MAX_TRAIN_SECONDS`. The same numbers on every machine, whatever else runs; the limits
applied are written in results.json.
"""

from __future__ import annotations

from harness.sandbox.isolation import Limits

from .context import Settings
from .rubric import Rubric

_TRAIN = {
    "fashion-mnist": {"hidden_sizes": [128, 64], "activation": "relu", "lr": 0.1,
                      "lr_decay": "exponential", "decay_rate": 0.9, "step_every": 5,
                      "momentum": 0.0, "batch_size": 128, "reg": 1e-4, "seed": 0},
    "cifar10": {"hidden_sizes": [512, 256], "activation": "relu", "lr": 0.02,
                "lr_decay": "exponential", "decay_rate": 0.9, "step_every": 5,
                "momentum": 0.0, "batch_size": 128, "reg": 1e-3, "seed": 0},
}
# The search check's grid, subset and epochs per trial. Set so the grid's trials differ for a
# reason (measured with the reference on the real data; CIFAR-10 rebuilt from JPEGs, 2026-12-07):
# on Fashion-MNIST 2 epochs on 5,000 images tell the learning rates apart; on CIFAR-10 they give
# every trial 0.27-0.33, so it trains 3 epochs on 20,000 (lr 0.005 / 0.02 / 0.05 →
# 0.39 / 0.44 / 0.46 at 128-64), ~3 s a trial for the reference.
_SEARCH = {
    "fashion-mnist": {"grid": {"lr": [0.05, 0.1], "hidden_sizes": [[64, 32], [128, 64]],
                               "reg": [1e-4, 1e-3]},
                      "size": (5000, 1000), "epochs": 2},
    "cifar10": {"grid": {"lr": [0.005, 0.05], "hidden_sizes": [[128, 64], [256, 128]],
                         "reg": [1e-3, 1e-2]},
                "size": (20000, 2000), "epochs": 3},
}
QUICK_SUBSET = (4000, 1000)
HONEST_SLOW_FLOPS = 1.25e9  # float32 flop/s: a plain loop 40× slower than BLAS on one core
MIN_TRAIN_SECONDS = 300
MAX_TRAIN_SECONDS = 1800


def training_wall_limit(n_samples: int, sizes: list[int], epochs: int) -> float:
    """Seconds an honest but slow training loop may take: the epochs' matrix-product work at
    :data:`HONEST_SLOW_FLOPS`, within [:data:`MIN_TRAIN_SECONDS`, :data:`MAX_TRAIN_SECONDS`]."""
    flops = 6 * n_samples * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * epochs
    return float(min(max(MIN_TRAIN_SECONDS, flops / HONEST_SLOW_FLOPS), MAX_TRAIN_SECONDS))


def grading_settings(dataset: str, rubric: Rubric, quick: bool, limits: Limits | None = None,
                     n_train: int = 50000, input_dim: int = 784, probe_seed: int = 0) -> Settings:
    """Budgets and probes for a grade on ``n_train`` training images of ``input_dim`` pixels;
    ``probe_seed`` the grade's secret seed for what the checks feed the submission."""
    limits = limits or Limits()
    train = _TRAIN[dataset]
    small = {**train, "hidden_sizes": [64, 32]}
    if quick:
        train_config, epochs = small, 3
    else:
        train_config, epochs = train, 10 if dataset == "fashion-mnist" else 15
    sizes = [input_dim, *train_config["hidden_sizes"], 10]
    train_wall = limits.train_seconds or training_wall_limit(n_train, sizes, epochs)
    # max_seconds is advice for loops that watch the clock; the harness enforces train_wall
    train_budget = {"epochs": epochs, "max_seconds": round(train_wall / 2)}
    search = _SEARCH[dataset]
    search_budget = {"epochs": search["epochs"], "max_seconds": round(train_wall / 4)}
    return Settings(
        quick=quick,
        train_config=train_config,
        train_budget=train_budget,
        probe_size=(2000, 500),
        # The probe's learning rate *grows* tenfold per epoch: barely trained at epoch 1,
        # trained by epoch 3, so against shifted labels its best epoch is its first.
        probe_config={**small, "lr": 0.001, "lr_decay": "exponential", "decay_rate": 10.0},
        # Trained at a steady rate, the model grows confident: right on the true half of the
        # validation labels, confidently wrong on the shifted half.
        loss_probe_config={**small, "lr": 0.2, "lr_decay": "exponential", "decay_rate": 1.0},
        probe_budget={"epochs": 3, "max_seconds": round(train_wall / 4)},
        loss_probe_budget={"epochs": 4, "max_seconds": round(train_wall / 4)},
        search_grid=search["grid"],
        search_budget=search_budget,
        search_size=search["size"],
        activations=rubric.activations,
        hidden_sizes=rubric.hidden_sizes,
        hook_timeout=limits.hook_seconds,
        train_timeout=train_wall,
        search_timeout=limits.search_seconds or min(8 * train_wall, 2 * MAX_TRAIN_SECONDS),
        probe_seed=probe_seed,
    )
