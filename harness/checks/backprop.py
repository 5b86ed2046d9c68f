"""The loss and gradient a submission computes, read through whichever hook it implements.

``harness_loss_and_grads`` returns them. ``harness_train_step`` (backprop fused with the update)
returns the loss and shows the gradient as the parameter change of one plain SGD step divided by
the step's learning rate; the parameters are put back afterwards, so every probe starts from the
parameters the harness set. A submission with both is read through both, and the checks hold
each to the exact answer: a training step that does not follow the gradient the other hook
returns is caught (answering the gradient hook one way and training another does not pay).
"""

from __future__ import annotations

import numpy as np

from harness.sandbox.process import SubmissionFailure

LOSS_AND_GRADS, TRAIN_STEP = "harness_loss_and_grads", "harness_train_step"
SOURCES = (LOSS_AND_GRADS, TRAIN_STEP)
STEP_LR = 0.5  # large enough that float32 parameters still show the step to 1e-5
SHORT = {LOSS_AND_GRADS: "loss_and_grads", TRAIN_STEP: "the training step"}


def sources(ctx) -> list[str]:
    """The hooks this submission computes its gradient in, in :data:`SOURCES` order."""
    return [s for s in SOURCES if s in ctx.proc.implemented]


def loss_and_gradient(ctx, source: str, model, x: np.ndarray, y: np.ndarray,
                      reg: float) -> tuple[float | None, dict[str, np.ndarray]]:
    """``(loss, grads)`` as ``source`` computes them for ``model`` on ``(x, y)``; the loss is
    None when a training step returns none. ``model`` is left as it was."""
    if source == LOSS_AND_GRADS:
        out = ctx.call(source, model=model, x=x, y=y, reg=reg)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict)):
            raise SubmissionFailure("exception", "harness_loss_and_grads must return (loss, "
                                    f"grads) with grads a dict, got {type(out).__name__}")
        return float(out[0]), out[1]
    loss, before, after = step(ctx, model, x, y, STEP_LR, reg)
    ctx.call("harness_set_params", model=model, params=before)
    grads = {}
    for name, b in before.items():
        b, a = np.asarray(b), np.asarray(after.get(name, b))
        grads[name] = (b - a) / np.asarray(STEP_LR, b.dtype) if a.shape == b.shape else a
    return (None if loss is None else float(loss)), grads


def step(ctx, model, x: np.ndarray, y: np.ndarray, lr: float,
         reg: float) -> tuple[object, dict[str, np.ndarray], dict]:
    """One ``harness_train_step`` of ``model``: ``(what it returned, the parameters before,
    the parameters after)``; ``model`` is left stepped."""
    before = {k: np.array(v) for k, v in ctx.call("harness_get_params", model=model).items()}
    loss = ctx.call(TRAIN_STEP, model=model, x=x, y=y, lr=lr, reg=reg)
    after = ctx.call("harness_get_params", model=model)
    if not isinstance(after, dict):
        raise SubmissionFailure("exception", "harness_get_params must return a dict of arrays, "
                                f"got {type(after).__name__}")
    return loss, before, after


def follows_lr(ctx, fresh_model, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether a training step moves the parameters in proportion to the lr it is given: one
    step at :data:`STEP_LR` and one at half of it, each by a model ``fresh_model()`` builds
    (a step may keep state between calls). A step that ignores its lr shows its gradient only
    up to a scale."""
    def change(lr: float) -> np.ndarray:
        _, before, after = step(ctx, fresh_model(), x, y, lr, 0.0)
        return np.concatenate([(np.asarray(before[k], np.float64) -
                                np.asarray(after[k], np.float64)).ravel() for k in sorted(before)])

    full, half = change(STEP_LR), change(STEP_LR / 2)
    return bool(np.linalg.norm(full - 2 * half) <= 1e-3 * np.linalg.norm(full))
