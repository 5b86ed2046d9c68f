"""Loss: the submission's loss equals mean cross-entropy plus an L2 term, computed here.

Both common L2 conventions pass when the loss and the gradient agree on one:
``0.5·λ·Σ‖W‖²`` (gradient ``λW``) and ``λ·Σ‖W‖²`` (gradient ``2λW``). Regularized biases are
noted, not failed.
"""

from __future__ import annotations

import numpy as np

from harness import numerics

from . import Check, Outcome, checkimpl

REG = 0.1  # large, so an L2 mistake is not lost among the cross-entropy terms
BATCH = 16
HIDDEN = (32, 16)
CONVENTIONS = {"0.5·λ·Σ‖W‖²": 0.5, "λ·Σ‖W‖²": 1.0}


def model_with(ctx, params: dict, hidden: list[int], activation: str = "relu"):
    model = ctx.call("harness_build_model", input_dim=ctx.data.input_dim, hidden_sizes=hidden,
                     activation=activation, num_classes=ctx.data.num_classes, seed=0,
                     dtype="float64")
    ctx.call("harness_set_params", model=model, params=params)
    return model


class LossCheck(Check):
    name = "loss"
    title = "Loss is cross-entropy plus L2"
    part = "model"
    order = 20
    requires = ("harness_build_model", "harness_set_params", "harness_loss_and_grads")

    def run(self, ctx) -> Outcome:
        hidden = ctx.hidden(HIDDEN)
        sizes = [ctx.data.input_dim, *hidden, ctx.data.num_classes]
        params = numerics.random_params(sizes, np.random.default_rng(2))
        x = ctx.data.x_val[:BATCH].astype(np.float64)
        y = ctx.data.y_val[:BATCH]
        model = model_with(ctx, params, hidden)
        loss0, grads0 = ctx.call("harness_loss_and_grads", model=model, x=x, y=y, reg=0.0)
        loss1, grads1 = ctx.call("harness_loss_and_grads", model=model, x=x, y=y, reg=REG)
        ce = numerics.cross_entropy(numerics.preactivations(params, x, "relu")[-1], y)
        details = {"cross_entropy_expected": ce, "loss_at_reg_0": float(loss0)}
        if not np.isclose(float(loss0), ce, rtol=1e-6):
            ratio = float(loss0) / ce if ce else float("nan")
            hint = " (summed over the batch instead of averaged?)" \
                if np.isclose(ratio, BATCH, rtol=1e-3) else ""
            return Outcome(False, f"with reg=0 the loss is {float(loss0):.6g}, but the mean "
                           f"cross-entropy of these logits is {ce:.6g}{hint}", details=details)

        penalty = float(loss1) - float(loss0)
        w2, b2 = numerics.sum_sq(params, "W"), numerics.sum_sq(params, "b")
        found = None
        for label, c in CONVENTIONS.items():
            for with_bias in (False, True):
                if np.isclose(penalty, c * REG * (w2 + (b2 if with_bias else 0)), rtol=1e-6):
                    found = (label, c, with_bias)
        details.update(l2_in_loss=penalty, l2_half_weights=0.5 * REG * w2)
        if found is None:
            return Outcome(False, f"with reg={REG} the loss grows by {penalty:.6g}; expected "
                           f"0.5·λ·Σ‖W‖² = {0.5 * REG * w2:.6g} or λ·Σ‖W‖² = {REG * w2:.6g}",
                           fraction=0.5, details=details)
        label, c, with_bias = found
        ctx.artifacts["l2_factor"] = 2 * c  # gradient of the penalty is l2_factor·λ·W
        ctx.artifacts["l2_biases"] = with_bias
        details.update(l2_convention=label, biases_regularized=with_bias)

        disagree = []
        for name, p in params.items():
            diff = np.asarray(grads1[name], np.float64) - np.asarray(grads0[name], np.float64)
            regularized = name.startswith("W") or with_bias
            want = 2 * c * REG * p if regularized else np.zeros_like(p)
            if not np.allclose(diff, want, rtol=1e-5, atol=1e-8):
                disagree.append(name)
        note = f"L2 convention {label}" + ("; biases are regularized too (usually they are "
                                           "not)" if with_bias else "")
        if disagree:
            return Outcome(False, f"cross-entropy right, {note} in the loss, but the gradient "
                           f"of {', '.join(disagree)} does not change by the matching "
                           f"{2 * c:g}·λ·θ when reg is turned on", fraction=0.5, details=details)
        return Outcome(True, f"cross-entropy right; {note}, loss and gradient agree",
                       details=details)


@checkimpl
def harness_checks():
    return [LossCheck()]
