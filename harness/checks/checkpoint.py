"""Best checkpoint: the saved model, reloaded through the submission's own loader in a fresh
process, scores the best validation accuracy of the history, not the last.

Normal training often peaks at its last epoch, where "best" and "last" look alike. So a second,
short probe run trains on a subset while validating against labels shifted by one class: the
better the model learns, the worse its probe validation accuracy, so the best epoch comes early
and a checkpoint of the last epoch gives itself away.
"""

from __future__ import annotations

import numpy as np

from harness import numerics

from . import Check, Outcome, checkimpl
from .training import history_problems


def trained_checkpoint(ctx):
    """The checkpoint the training check's run wrote, or None if there is none."""
    path = ctx.artifacts.get("checkpoint")
    return path if path is not None and path.exists() else None


def reload_model(ctx, path):
    """The submission's model loaded from ``path`` by its own loader, in a fresh process:
    nothing survives from training but the file."""
    ctx.proc.restart()
    return ctx.call("harness_load_checkpoint", checkpoint_path=str(path))


def reload_accuracy(ctx, path, x, y) -> float:
    model = reload_model(ctx, path)
    return numerics.accuracy(ctx.call("harness_predict", model=model, x=x), y)


class CheckpointCheck(Check):
    name = "checkpoint"
    title = "Best checkpoint saved and reloadable"
    part = "train"
    order = 60
    requires = ("harness_train", "harness_load_checkpoint", "harness_predict")

    def run(self, ctx) -> Outcome:
        details: dict = {}
        main = self._main(ctx, details)
        probe = self._probe(ctx, details)
        problems = [p for p in (main, probe) if p]
        if not problems:
            return Outcome(True, "the checkpoint holds the best epoch and reloads in a fresh "
                           "process", details=details)
        fraction = 0.5 if len(problems) == 1 and main is None else 0.0
        return Outcome(False, "; ".join(problems), fraction=fraction, details=details)

    def _main(self, ctx, details) -> str | None:
        history, path = ctx.artifacts.get("history"), ctx.artifacts.get("checkpoint")
        if not history:
            return "no successful training run to take a checkpoint from"
        if not path.exists():
            return f"no checkpoint was written at {path.name} (the path harness_train was given)"
        acc = reload_accuracy(ctx, path, ctx.data.x_val, ctx.data.y_val)
        best = max(r["val_acc"] for r in history)
        details.update(reloaded_val_acc=acc, history_best_val_acc=best)
        ctx.artifacts["reloaded_val_acc"] = acc
        if abs(acc - best) <= 1.0 / len(ctx.data.y_val):
            return None
        return (f"the reloaded checkpoint scores {acc:.4f} on the validation set, but the best "
                f"epoch in the history scored {best:.4f}")

    def _probe(self, ctx, details) -> str | None:
        s, data = ctx.settings, ctx.data
        n_train, n_val = s.probe_size
        shifted = (data.y_val[:n_val] + 1) % data.num_classes
        path = ctx.scratch / "probe" / "best.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        config = {**s.probe_config, "hidden_sizes": ctx.hidden(s.probe_config["hidden_sizes"]),
                  "num_classes": data.num_classes}
        history = ctx.call("harness_train", timeout=s.train_timeout,
                           x_train=data.x_train[:n_train], y_train=data.y_train[:n_train],
                           x_val=data.x_val[:n_val], y_val=shifted, config=config,
                           budget=s.probe_budget, checkpoint_path=str(path))
        problems = history_problems(history, s.probe_budget["epochs"])
        if problems:
            return "probe run: " + "; ".join(problems)
        if not path.exists():
            return "probe run: no checkpoint was written"
        accs = [r["val_acc"] for r in history]
        acc = reload_accuracy(ctx, path, data.x_val[:n_val], shifted)
        best, last = max(accs), accs[-1]
        details.update(probe_val_accs=accs, probe_reloaded=acc)
        tol = 0.5 / n_val
        if abs(acc - best) <= tol:
            if abs(best - last) <= tol:
                details["probe_note"] = "the probe's last epoch was also its best: inconclusive"
            return None
        if abs(acc - last) <= tol:
            return (f"saved the last model, not the best: in a run whose best epoch "
                    f"({int(np.argmax(accs)) + 1}, val acc {best:.4f}) was not its last "
                    f"({len(accs)}, {last:.4f}), the checkpoint scores {acc:.4f}")
        return (f"in the probe run the checkpoint scores {acc:.4f}, matching no epoch's "
                f"validation accuracy (best {best:.4f}, last {last:.4f})")


@checkimpl
def harness_checks():
    return [CheckpointCheck()]
