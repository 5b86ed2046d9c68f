"""Loss: the submission's loss equals mean cross-entropy plus an L2 term, computed here.

Probed at the graded run's shape (:mod:`harness.checks.probes`). Both common L2 conventions
pass: ``0.5·λ·Σ‖W‖²`` (gradient ``λW``) and ``λ·Σ‖W‖²`` (gradient
``2λW``). A gradient that does not carry the convention the loss uses is a gradient bug: named
here, charged by the gradient check alone (one bug, one charge). Regularized biases are
noted, not failed. A small epsilon inside the log (``log(p + 1e-7)``) is recognised and noted.
A submission that declares ``l2="optimizer"`` keeps L2 out of its gradient (it is weight decay in
the step, checked by the optimizer check); its loss may show the penalty or not.
"""

from __future__ import annotations

import numpy as np

from . import Check, Outcome, backprop, checkimpl, numerics
from .artifacts import L2Convention, Objective
from .common import REG, model_with
from .diagnoses import gradient as bugs
from .diagnoses import loss as loss_bugs
from .probes import probe

CONVENTIONS = {"0.5·λ·Σ‖W‖²": 0.5, "λ·Σ‖W‖²": 1.0}
LOG_EPSILONS = (1e-15, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5)
CE_RIGHT = "cross-entropy right; "
LOSS_RTOL = 2e-5  # float32 arithmetic and tiny log epsilons stay well inside this


def log_epsilon(loss: float, logits: np.ndarray, y: np.ndarray) -> float | None:
    """The epsilon in ``-mean(log(p + eps))`` that reproduces ``loss`` clearly better than no
    epsilon does, if one does."""
    p = np.exp(numerics.log_softmax(logits))[np.arange(len(y)), y]
    exact = abs(loss + np.mean(np.log(p)))
    misses = {eps: abs(loss + np.mean(np.log(p + eps))) for eps in LOG_EPSILONS}
    eps = min(misses, key=misses.get)
    if misses[eps] < 0.1 * exact and misses[eps] <= LOSS_RTOL * abs(loss):
        return eps
    return None


class LossCheck(Check):
    name = "loss"
    title = "Loss is cross-entropy plus L2"
    part = "model"
    order = 20
    produces = (L2Convention, Objective)
    requires = ("harness_build_model", "harness_get_params", "harness_set_params")
    requires_one_of = backprop.SOURCES

    def run(self, ctx) -> Outcome:
        p = probe(ctx, self.name)  # shaped like the graded run (harness.checks.probes)
        hidden, x, y, params = p.hidden, p.x, p.y, p.params()
        activation = ctx.activations[0]
        source = backprop.sources(ctx)[0]  # loss_and_grads where there is one
        # a model each: a training step may keep state (momentum) from one call to the next
        loss0, grads0 = backprop.loss_and_gradient(
            ctx, source, model_with(ctx, params, hidden, activation), x, y, 0.0)
        loss1, grads1 = backprop.loss_and_gradient(
            ctx, source, model_with(ctx, params, hidden, activation), x, y, REG)
        if loss0 is None or loss1 is None:
            return Outcome(False, "harness_train_step returned no loss: return the batch's "
                           "loss before the step (mean cross-entropy plus L2) so that it can be "
                           "checked", details={"source": source})
        logits = numerics.logits(params, x, activation, ctx.decl.leaky_relu_slope)
        ce = numerics.cross_entropy(logits, y)
        details = {"cross_entropy_expected": ce, "loss_at_reg_0": loss0,
                   "activation": activation}
        notes = []
        eps = None if np.isclose(loss0, ce, rtol=1e-10) else log_epsilon(loss0, logits, y)
        if eps is not None:
            notes.append(f"an epsilon of {eps:g} inside the log (fine)")
            details["log_epsilon"] = eps
        elif not np.isclose(loss0, ce, rtol=LOSS_RTOL):
            instead = self._not_cross_entropy(ctx, loss0, ce, logits, y, details)
            outcome = self._l2(ctx, params, grads0, grads1, loss0, loss1, [], details, source,
                               len(y))
            said = outcome.message.removeprefix(CE_RIGHT)  # its L2 findings still stand
            return Outcome(False, f"{instead}; {said}", details=details)
        return self._l2(ctx, params, grads0, grads1, loss0, loss1, notes, details, source,
                        len(y))

    def _not_cross_entropy(self, ctx, loss0: float, ce: float, logits: np.ndarray,
                           y: np.ndarray, details: dict) -> str:
        """What the loss is instead of mean cross-entropy: the bug model that gives its value
        (:mod:`harness.checks.diagnoses.loss`; for another objective, the gradient check then
        judges the backprop of that loss), or just the numbers."""
        model = loss_bugs.explain_data(loss0, logits, y)
        if model is None:
            return (f"with reg=0 the loss is {loss0:.6g}, but the mean cross-entropy the harness "
                    f"computes for the parameters it set is {ce:.6g}")
        details.setdefault("diagnoses", []).append(model.name)
        if "objective" in model.changes:
            name = model.changes["objective"]
            ctx.artifacts.put(Objective(name, bugs.OBJECTIVES[name][0]))
        return (f"{model.message} (with reg=0 the loss is {loss0:.6g}; mean cross-entropy would "
                f"be {ce:.6g})")

    def _l2(self, ctx, params, grads0, grads1, loss0, loss1, notes, details, source,
            n: int) -> Outcome:
        """The L2 term: its convention in the loss (or the penalty bug that gives its value),
        and whether the gradient carries it; ``n`` the probe's batch size."""

        penalty = loss1 - loss0
        w2, b2 = numerics.sum_sq(params, "W"), numerics.sum_sq(params, "b")
        found = None
        for label, c in CONVENTIONS.items():
            for with_bias in (False, True) if ctx.decl.biases else (False,):
                if np.isclose(penalty, c * REG * (w2 + (b2 if with_bias else 0)), rtol=1e-5):
                    found = L2Convention(c, with_bias, label)
        details.update(l2_in_loss=penalty, l2_half_weights=0.5 * REG * w2,
                       l2_declared_in=ctx.decl.l2)
        if ctx.decl.l2 == "optimizer":
            return self._optimizer_l2(ctx, params, grads0, grads1, found, penalty, notes,
                                      details)
        if found is None:
            carried = _l2_in_gradient(params, grads0, grads1)
            model = loss_bugs.explain_penalty(penalty, params, REG, n)
            numbers = (f"with reg={REG} the loss grows by {penalty:.6g}; expected "
                       f"0.5·λ·Σ‖W‖² = {0.5 * REG * w2:.6g} or λ·Σ‖W‖² = {REG * w2:.6g}")
            if model is not None:
                details.setdefault("diagnoses", []).append(model.name)
                return Outcome(False, f"{model.message} ({numbers})", fraction=0.5,
                               details=details)
            hint = "" if penalty else (
                f" (its gradient carries {carried}: add the matching penalty to the loss)"
                if carried else " (L2 is weight decay in your optimizer? declare "
                "l2='optimizer' in harness_info)")
            return Outcome(False, numbers + hint, fraction=0.5, details=details)
        ctx.artifacts.put(found)
        details.update(l2_convention=found.label, biases_regularized=found.biases)

        disagree = []
        # a training step's gradient is judged whole, L2 on and off, by the gradient check
        for name, p in ({} if source == backprop.TRAIN_STEP else params).items():
            diff = np.asarray(grads1[name], np.float64) - np.asarray(grads0[name], np.float64)
            regularized = name.startswith("W") or found.biases
            want = 2 * found.coefficient * REG * p if regularized else np.zeros_like(p)
            if not np.allclose(diff, want, rtol=1e-4, atol=1e-7):
                disagree.append(name)
        note = f"L2 convention {found.label}" + ("; biases are regularized too (usually they "
                                                 "are not)" if found.biases else "")
        if disagree:  # a gradient bug: charged once, by the gradient check, and named here
            details["gradient_disagrees"] = disagree
            return Outcome(True, "; ".join([
                f"{CE_RIGHT}{note} in the loss (the gradient of "
                f"{', '.join(disagree)} does not change by the matching "
                f"{2 * found.coefficient:g}·λ·θ when reg is turned on: see the gradient check, "
                "which charges it)", *notes]), details=details)
        agree = "loss and gradient agree" if source != backprop.TRAIN_STEP else \
            "in the loss (the training step's gradient is judged by the gradient check)"
        return Outcome(True, "; ".join([f"{CE_RIGHT}{note}, {agree}", *notes]),
                       details=details)

    def _optimizer_l2(self, ctx, params, grads0, grads1, found, penalty, notes,
                      details) -> Outcome:
        """L2 declared to live in the optimizer: the gradient must not carry it."""
        ctx.artifacts.put(found or L2Convention())
        shown = "the loss shows the penalty " + found.label if found else \
            "the loss leaves the penalty out" if np.isclose(penalty, 0, atol=1e-12) else None
        if shown is None:
            return Outcome(False, f"with reg={REG} the loss grows by {penalty:.6g}, which is "
                           "neither 0 nor an L2 penalty", fraction=0.5, details=details)
        changed = [] if backprop.sources(ctx)[0] == backprop.TRAIN_STEP else [
            k for k in params if not np.allclose(np.asarray(grads1[k], np.float64),
                                                 np.asarray(grads0[k], np.float64),
                                                 rtol=1e-6, atol=1e-9)]
        if changed:
            return Outcome(False, f"L2 is declared to live in the optimizer (weight decay), "
                           f"but the gradient of {', '.join(changed)} changes with reg: it "
                           "would be applied twice", fraction=0.5, details=details)
        return Outcome(True, "; ".join([f"{CE_RIGHT}L2 lives in the optimizer (as "
                                        f"declared), {shown}", *notes]), details=details)


def _l2_in_gradient(params: dict, grads0: dict, grads1: dict) -> str | None:
    """The L2 gradient ("λ·W" or "2·λ·W") the gradient gains when reg is turned on, if it is
    one of the two conventions' on every weight."""
    for label, factor in (("λ·W", 1.0), ("2·λ·W", 2.0)):
        if all(np.allclose(np.asarray(grads1[k], np.float64) - np.asarray(grads0[k], np.float64),
                           factor * REG * p, rtol=1e-4, atol=1e-7)
               for k, p in params.items() if k.startswith("W") and k in grads0 and k in grads1):
            return label
    return None


@checkimpl
def harness_checks():
    return [LossCheck()]
