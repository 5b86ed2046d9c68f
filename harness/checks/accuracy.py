"""Test accuracy: computed by the harness from the saved model's predictions on the test images,
scored against the rubric's tiers for the dataset. A test accuracy far above the same model's
validation accuracy is flagged for the instructor (it is how weights fitted to the public test
labels show), with the numbers; the score is the tiers' alone."""

from __future__ import annotations

import numpy as np

from . import Check, Outcome, checkimpl, numerics
from .artifacts import CheckpointVerdict, TrainedRun, TestPredictions
from .common import loadable_checkpoint, reload_model


class AccuracyCheck(Check):
    name = "accuracy"
    title = "Test accuracy of the saved model"
    part = "test"
    order = 85
    needs = (TrainedRun, CheckpointVerdict)
    produces = (TestPredictions,)
    quick = False
    requires = ("harness_load_checkpoint", "harness_predict", "harness_get_params")
    reloads = 1

    def run(self, ctx) -> Outcome:
        run, why_not = loadable_checkpoint(ctx)
        if run is None:
            return Outcome(False, why_not)
        model = reload_model(ctx, run)
        predictions = np.asarray(ctx.call("harness_predict", model=model, x=ctx.data.x_test))
        if predictions.shape != ctx.data.y_test.shape:
            return Outcome(False, f"predictions on the test images have shape "
                           f"{predictions.shape}, expected {ctx.data.y_test.shape}")
        acc = numerics.accuracy(predictions, ctx.data.y_test)
        try:
            first_layer = np.asarray(ctx.call("harness_get_params", model=model)["W1"])
        except Exception:  # the weight picture is a nicety; its absence costs nothing
            first_layer = None
        ctx.artifacts.put(TestPredictions(predictions, acc, first_layer))
        tiers = ctx.rubric.accuracy_tiers(ctx.data.name)
        fraction = max([f for threshold, f in tiers if acc >= threshold], default=0.0)
        next_tier = next((t for t, _ in sorted(tiers) if acc < t), None)
        message = f"test accuracy {acc:.4f}"
        if next_tier is not None:
            message += f" (next tier at {next_tier:.2f})"
        details = {"test_accuracy": acc, "tiers": tiers}
        val_predictions = np.asarray(ctx.call("harness_predict", model=model,
                                              x=ctx.data.x_val))
        if val_predictions.shape == ctx.data.y_val.shape:
            val_acc = numerics.accuracy(val_predictions, ctx.data.y_val)
            details["val_accuracy"] = val_acc
            gap = acc - val_acc
            if gap > _margin(val_acc, len(ctx.data.y_test), len(ctx.data.y_val)):
                details["suspicious"] = True
                message += (f"; for the instructor: {gap:.4f} above the same model's "
                            f"validation accuracy {val_acc:.4f}, far more than chance "
                            "explains (weights fitted to the test set?)")
        return Outcome(fraction >= 1.0, message, fraction=fraction, details=details)


def _margin(p: float, n_test: int, n_val: int) -> float:
    """How far a test accuracy may lie above a validation accuracy ``p`` by chance: four
    standard errors of the difference of two independent accuracies, and 0.02 besides."""
    p = min(max(p, 0.01), 0.99)
    return 0.02 + 4 * float(np.sqrt(p * (1 - p) * (1 / max(n_test, 1) + 1 / max(n_val, 1))))


@checkimpl
def harness_checks():
    return [AccuracyCheck()]
