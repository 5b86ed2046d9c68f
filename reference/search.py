"""Hyperparameter search over learning rate, hidden sizes and L2 strength.

Every trial is a full training run with its own budget (``base.epochs`` / ``base.max_seconds``)
and its own checkpoint; trials are compared by best validation accuracy only.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .train import TrainConfig, train

SEARCHED = ("lr", "hidden_sizes", "reg")


def grid_trials(lrs: Sequence[float], hidden: Sequence[Sequence[int]],
                regs: Sequence[float]) -> list[dict]:
    """Every combination, in a fixed order."""
    return [{"lr": lr, "hidden_sizes": tuple(h), "reg": reg}
            for lr, h, reg in itertools.product(lrs, hidden, regs)]


def random_trials(lrs: Sequence[float], hidden: Sequence[Sequence[int]], regs: Sequence[float],
                  n: int, seed: int = 0) -> list[dict]:
    """``n`` draws: lr and reg log-uniform between the smallest and largest value given."""
    rng = np.random.default_rng(seed)

    def log_uniform(values):
        lo, hi = np.log(min(values)), np.log(max(values))
        return float(np.exp(rng.uniform(lo, hi)))

    return [{"lr": log_uniform(lrs), "hidden_sizes": tuple(hidden[rng.integers(len(hidden))]),
             "reg": log_uniform(regs)} for _ in range(n)]


def search(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
           num_classes: int, base: TrainConfig, trials: list[dict],
           out_dir: str | os.PathLike,
           on_trial: Callable[[dict], None] | None = None) -> tuple[list[dict], dict]:
    """Run ``trials`` (dicts of :data:`SEARCHED` values over ``base``); return records and the best.

    Each record says how the trial ended (``status``): "ok", "diverged" (the loss stopped being
    finite) or "at chance" (validation accuracy never reached 1.5× chance, as after a learning
    rate too large to learn anything). The best is chosen among the "ok" trials when there are
    any. Writes ``search.csv`` and ``search.json`` in ``out_dir``, and each trial's best
    checkpoint in ``out_dir/trials/``.
    """
    out = Path(out_dir)
    (out / "trials").mkdir(parents=True, exist_ok=True)
    records = []
    for i, params in enumerate(trials, start=1):
        config = dataclasses.replace(base, **params)
        ckpt = out / "trials" / f"trial-{i:03d}.npz"
        result = train(x_train, y_train, x_val, y_val, num_classes, config, ckpt)
        record = {
            "trial": i,
            "lr": config.lr,
            "hidden_sizes": list(config.hidden_sizes),
            "reg": config.reg,
            "best_val_acc": result.best_val_acc,
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "status": "diverged" if result.stopped_by == "diverged" else
                      "at chance" if result.best_val_acc < 1.5 / num_classes else "ok",
            "seconds": round(sum(r["seconds"] for r in result.history), 3),
            "checkpoint": str(ckpt),
        }
        records.append(record)
        if on_trial is not None:
            on_trial(record)
    healthy = [r for r in records if r["status"] == "ok"] or records
    best = max(healthy, key=lambda r: r["best_val_acc"])
    write_records(records, best, out)
    return records, best


def write_records(records: list[dict], best: dict, out: Path) -> None:
    (out / "search.json").write_text(json.dumps({"trials": records, "best": best}, indent=2))
    with open(out / "search.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        for r in records:
            writer.writerow({**r, "hidden_sizes": "-".join(map(str, r["hidden_sizes"]))})
