"""Test part: the submission's own test code loads its checkpoint and reports an accuracy that
agrees with the accuracy the harness computes from the submission's predictions.

It is given the validation split: the test labels never leave the harness (see ``accuracy``).
"""

from __future__ import annotations

import math

from . import Check, Outcome, checkimpl, numerics
from .artifacts import CheckpointVerdict, TrainedRun
from .common import loadable_checkpoint, reload_model


class TestPartCheck(Check):
    name = "test"
    title = "Test part loads the checkpoint and reports accuracy"
    part = "test"
    order = 80
    needs = (TrainedRun, CheckpointVerdict)
    quick = False
    requires = ("harness_test", "harness_load_checkpoint", "harness_predict")
    reloads = 1

    def run(self, ctx) -> Outcome:
        run, why_not = loadable_checkpoint(ctx)
        if run is None:
            return Outcome(False, why_not)
        model = reload_model(ctx, run)
        ours = numerics.accuracy(ctx.call("harness_predict", model=model, x=ctx.data.x_val),
                                 ctx.data.y_val)
        reported = ctx.call("harness_test", checkpoint_path=str(run.checkpoint_path),
                            checkpoint_dir=str(run.checkpoint_dir), x=ctx.data.x_val,
                            y=ctx.data.y_val)
        details = {"reported": reported, "computed": ours}
        if isinstance(reported, bool) or not isinstance(reported, (int, float)):
            return Outcome(False, f"harness_test returned {type(reported).__name__}, not a "
                           "number", details=details)
        if not math.isfinite(reported):
            return Outcome(False, f"harness_test returned {reported}, not an accuracy; the "
                           f"checkpoint's predictions score {ours:.4f}", details=details)
        if reported > 1.0 and abs(reported / 100 - ours) < 1e-6:
            return Outcome(False, f"harness_test reports {reported} (a percentage); return a "
                           "fraction in [0, 1]", fraction=0.5, details=details)
        if abs(reported - ours) > 1e-6:
            return Outcome(False, f"harness_test reports {reported:.4f}, but the checkpoint's "
                           f"predictions score {ours:.4f} on the same data", details=details)
        return Outcome(True, f"reports {reported:.4f}, agreeing with the harness", details=details)


@checkimpl
def harness_checks():
    return [TestPartCheck()]
