"""Training under a fixed budget: a well-formed, finite history with the loss going down."""

from __future__ import annotations

import math
import time

from . import Check, Outcome, checkimpl

REQUIRED_KEYS = ("epoch", "train_loss", "val_acc", "lr")


def history_problems(history, max_epochs: int) -> list[str]:
    """Everything wrong with a returned history, in words (empty when it is well-formed)."""
    if not isinstance(history, list) or not history:
        return [f"harness_train must return a non-empty list of per-epoch dicts, got "
                f"{type(history).__name__}"]
    problems = []
    if len(history) > max_epochs:
        problems.append(f"{len(history)} epochs run, over the budget of {max_epochs}")
    for i, record in enumerate(history, start=1):
        if not isinstance(record, dict):
            return [f"history entry {i} is a {type(record).__name__}, not a dict"]
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            return [f"history entry {i} lacks {', '.join(missing)}"]
        for key in ("train_loss", "val_acc", "lr", *(["val_loss"] if "val_loss" in record
                                                    else [])):
            value = record[key]
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.append(f"epoch {i}: {key} is {value!r}, not a finite number")
        if record["epoch"] != i:
            problems.append(f"entry {i} says epoch {record['epoch']} (epochs count from 1)")
        if isinstance(record["val_acc"], (int, float)) and not 0 <= record["val_acc"] <= 1:
            problems.append(f"epoch {i}: val_acc {record['val_acc']} is not in [0, 1]")
    return problems[:5]


class TrainingCheck(Check):
    name = "training"
    title = "Training under a fixed budget"
    part = "train"
    order = 50
    requires = ("harness_train",)

    def run(self, ctx) -> Outcome:
        s = ctx.settings
        config = {**s.train_config, "hidden_sizes": ctx.hidden(s.train_config["hidden_sizes"]),
                  "num_classes": ctx.data.num_classes}
        checkpoint = ctx.scratch / "train" / "best.npz"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        history = ctx.call("harness_train", timeout=s.train_timeout, x_train=ctx.data.x_train,
                           y_train=ctx.data.y_train, x_val=ctx.data.x_val, y_val=ctx.data.y_val,
                           config=config, budget=s.train_budget, checkpoint_path=str(checkpoint))
        seconds = time.perf_counter() - started
        problems = history_problems(history, s.train_budget["epochs"])
        details = {"config": config, "budget": s.train_budget, "seconds": round(seconds, 2)}
        if problems:
            return Outcome(False, "; ".join(problems), details=details)
        ctx.artifacts.update(history=history, checkpoint=checkpoint, train_config=config)
        first, last = history[0]["train_loss"], history[-1]["train_loss"]
        best = max(r["val_acc"] for r in history)
        details.update(epochs=len(history), best_val_acc=best)
        summary = (f"{len(history)} epochs, train loss {first:.4f} → {last:.4f}, best val "
                   f"accuracy {best:.4f}")
        if len(history) > 1 and not last < first:
            return Outcome(False, f"the training loss did not go down: {summary}",
                           fraction=0.5, details=details)
        return Outcome(True, summary, details=details)


@checkimpl
def harness_checks():
    return [TrainingCheck()]
