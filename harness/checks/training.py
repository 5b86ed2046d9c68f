"""Training under a fixed budget of epochs: a well-formed, finite history, the loss going down,
and validation accuracy clearly above chance (a model that learned nothing does not pass because
its loss wobbled downward). A quick grade, a few epochs on a subset, does not call a model whose
loss is clearly falling one that learned nothing: it cannot see whether it would."""

from __future__ import annotations

from . import Check, Outcome, checkimpl, runs
from .artifacts import TrainedRun
from .common import beats_chance

QUICK_FALL = 0.95  # a quick run whose loss fell by 5 % is learning, however slowly


class TrainingCheck(Check):
    name = "training"
    title = "Training under a fixed budget"
    part = "train"
    order = 50
    produces = (TrainedRun,)
    requires = ("harness_train",)

    def run(self, ctx) -> Outcome:
        s, data = ctx.settings, ctx.data
        config = ctx.train_config
        run = runs.train(ctx, "train", data.x_train, data.y_train, data.x_val, data.y_val,
                         config, s.train_budget)
        details = {"config": config, "budget": s.train_budget, "data": ctx.decl.data}
        if isinstance(run, str):
            return Outcome(False, run, details=details)
        ctx.artifacts.put(run)
        history = run.history
        first, last = history[0]["train_loss"], history[-1]["train_loss"]
        best = run.best_val_acc
        details.update(epochs=len(history), best_val_acc=best, seconds=round(run.seconds, 2))
        summary = (f"{len(history)} epochs, train loss {first:.4f} → {last:.4f}, best val "
                   f"accuracy {best:.4f}")
        if not beats_chance(best, data.num_classes) and s.quick and last < QUICK_FALL * first:
            return Outcome(True, f"still close to chance after the quick grade's "
                           f"{len(history)} epochs, with the training loss falling: the full "
                           f"grade's longer run decides; {summary}", details=details)
        if not beats_chance(best, data.num_classes):
            return Outcome(False, f"the model learned nothing: validation accuracy never "
                           f"clearly beat chance ({best:.4f}; chance is "
                           f"{1 / data.num_classes:.2f}); {summary}", fraction=0.25,
                           details=details)
        if len(history) > 1 and not last < first:
            return Outcome(False, f"the training loss did not go down: {summary}",
                           fraction=0.5, details=details)
        return Outcome(True, summary, details=details)


@checkimpl
def harness_checks():
    return [TrainingCheck()]
