"""One way to run a submission's training, shared by the training and checkpoint checks.

A run gets a fresh directory in the worker's work area: ``checkpoint/`` is the submission's to
fill (one file at ``checkpoint_path``, or any files it likes), and, for a submission that
declares ``data="files"``, ``data/`` holds the run's training and validation split in the
dataset's official format. The history comes back validated. Everything in the work area is
touched through :class:`harness.sandbox.workarea.WorkArea` only, never by path.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from harness.data.export import split_files

from .artifacts import TrainedRun

REQUIRED_KEYS = ("epoch", "train_loss", "val_acc")


# What an epoch record's fields are called in students' logs; a dict of lists uses the plurals.
HISTORY_NAMES = {
    "epoch": ("epoch", "ep"),
    "train_loss": ("train_loss", "loss", "training_loss", "avg_loss", "mean_loss", "epoch_loss",
                   "tr_loss"),
    "val_acc": ("val_acc", "val_accuracy", "valid_acc", "valid_accuracy", "validation_acc",
                "validation_accuracy", "dev_acc"),
    "val_loss": ("val_loss", "valid_loss", "validation_loss", "dev_loss"),
    "lr": ("lr", "learning_rate", "eta"),
}
_PLURAL = {"accuracy": "accuracies", "loss": "losses"}


def _spellings(name: str) -> tuple[str, ...]:
    last = name.rsplit("_", 1)[-1]
    return (name, name[: -len(last)] + _PLURAL.get(last, last + "s"))


_CANONICAL = {spelling: key for key, names in HISTORY_NAMES.items()
              for name in names for spelling in _spellings(name)}


def history_records(history):
    """A returned history as per-epoch dicts with the contract's field names: a list of dicts
    or a dict of lists (``{"loss": [...], "val_acc": [...]}``), fields in the spellings of
    :data:`HISTORY_NAMES` (and their plurals), ``epoch`` counted when left out or counted from
    0. Anything else is returned as it is, for :func:`history_problems` to describe."""
    if isinstance(history, dict):
        columns = {k: v for k, v in history.items() if isinstance(v, (list, tuple))}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            return history
        n = lengths.pop()
        history = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        return history
    out = []
    for i, record in enumerate(history, start=1):
        renamed = {}
        for key, value in record.items():
            canonical = _CANONICAL.get(str(key).lower().replace(" ", "_"))
            if canonical and (canonical not in renamed or key == canonical):
                renamed[canonical] = value
        out.append({"epoch": i, **renamed})
    if out and all(r["epoch"] == i for i, r in enumerate(out)):  # counted from 0
        out = [{**r, "epoch": i} for i, r in enumerate(out, start=1)]
    return out


def lr_values(record: dict) -> list[float] | None:
    """The learning rates an epoch record reports: one, a list per step, or None."""
    lr = record.get("lr")
    if lr is None:
        return None
    return [float(v) for v in lr] if isinstance(lr, (list, tuple)) else [float(lr)]


def history_problems(history, max_epochs: int) -> list[str]:
    """Everything wrong with a returned history, in words (empty when it is well-formed).
    Required per epoch: epoch (1-based), train_loss, val_acc; optional: lr (a number, or one per
    step), val_loss."""
    if not isinstance(history, list) or not history:
        return [f"harness_train must return per-epoch records (a list of dicts, or a dict of "
                f"lists) with train_loss and val_acc, got {type(history).__name__}"]
    problems = []
    if len(history) > max_epochs:
        problems.append(f"{len(history)} epochs run, over the budget of {max_epochs}")
    for i, record in enumerate(history, start=1):
        if not isinstance(record, dict):
            return [f"history entry {i} is a {type(record).__name__}, not a dict"]
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            return [f"history entry {i} lacks {', '.join(missing)}"]
        values = [(k, record[k]) for k in ("train_loss", "val_acc", "val_loss") if k in record]
        lr = record.get("lr")
        if isinstance(lr, (list, tuple)):
            values += [("lr", v) for v in lr] or [("lr", lr)]
        elif lr is not None:
            values.append(("lr", lr))
        for key, value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value):
                problems.append(f"epoch {i}: {key} is {value!r}, not a finite number")
                break
        if record["epoch"] != i:
            problems.append(f"entry {i} says epoch {record['epoch']} (epochs count from 1)")
        if isinstance(record["val_acc"], (int, float)) and not 0 <= record["val_acc"] <= 1:
            problems.append(f"epoch {i}: val_acc {record['val_acc']} is not in [0, 1]")
    return problems[:5]


def data_files(ctx, directory: Path, x_train: np.ndarray, y_train: np.ndarray,
               x_val: np.ndarray, y_val: np.ndarray) -> str | None:
    """The split written as dataset files in a new ``data`` directory in ``directory`` (of the
    work area) for a submission that declared ``data="files"`` (its ``data_dir``); None for
    one that takes arrays."""
    if ctx.decl.data != "files":
        return None
    data_dir = ctx.proc.work.new_dir("data", directory, unique=False)
    ctx.proc.work.write_files(data_dir, split_files(ctx.data.name, x_train, y_train, x_val,
                                                    y_val))
    return str(data_dir)


def _files(ctx, skip: Path) -> set[str]:
    """Files in the work area outside ``skip`` (a run's own directory)."""
    return set(ctx.proc.work.files(skip=(skip.name,)))


def train(ctx, name: str, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
          y_val: np.ndarray, config: dict, budget: dict) -> TrainedRun | str:
    """Run ``harness_train`` once; the run, or what is wrong with its history."""
    work = ctx.proc.work
    run_dir = work.new_dir(name)
    checkpoint_dir = work.new_dir("checkpoint", run_dir, unique=False)
    checkpoint_path = checkpoint_dir / "best.npz"
    data_dir = data_files(ctx, run_dir, x_train, y_train, x_val, y_val)
    before = _files(ctx, run_dir)
    started = time.perf_counter()
    history = ctx.call("harness_train", timeout=ctx.settings.train_timeout,
                       label=f"{name} run", x_train=x_train,
                       y_train=y_train, x_val=x_val, y_val=y_val, config=config, budget=budget,
                       checkpoint_path=str(checkpoint_path),
                       checkpoint_dir=str(checkpoint_dir), data_dir=data_dir)
    seconds = time.perf_counter() - started
    history = history_records(history)
    problems = history_problems(history, budget["epochs"])
    if problems:
        return "; ".join(problems)
    stray = sorted(_files(ctx, run_dir) - before)
    saved = [str(Path(f).relative_to(work.relative(checkpoint_dir)))
             for f in work.files(checkpoint_dir, limit=200)]
    return TrainedRun(config, budget, history, checkpoint_dir, checkpoint_path, seconds,
                      bool(saved), [s for s in stray if not s.startswith(("tmp", "."))], saved)
