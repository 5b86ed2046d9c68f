"""Optimizer bugs: named models of one step ``θ₀ → θ₁`` taken with gradient ``g`` and rate ``lr``.

The optimizer check steps the submission's model with gradients it chooses and asks
:func:`explain_step` which model reproduces the new parameters, tensor by tensor; a step that no
model reproduces is described by what it measurably did (:func:`measured`).
"""

from __future__ import annotations

import numpy as np

from . import BugModel

STEP_MODELS = (
    BugModel("step-frozen", "the step did not change the parameters", {"rate": "zero"},
             fixture="corpus:step-frozen-biases"),
    BugModel("step-sign", "the step goes uphill (θ + lr·g): sign error", {"sign": -1.0},
             fixture="corpus:step-sign"),
    BugModel("step-lr-ignored", "the step ignores the lr it is given (θ − g)",
             {"rate": "one"}, fixture="corpus:step-lr-ignored"),
    BugModel("step-sign-of-gradient", "the step moves every parameter by lr whatever the "
             "gradient's size (θ − lr·sign(g)), like Adam or RMSProp: the assignment asks for "
             "SGD",
             {"rate": "sign"}, fixture="tests/fixtures/submissions/adam_no_decay"),
)

BY_NAME = {m.name: m for m in STEP_MODELS}


def step(theta: np.ndarray, g: np.ndarray, lr: float, sign: float = 1.0,
         rate: str = "lr") -> np.ndarray:
    """θ after one step with the given switches; with none, SGD: θ − lr·g."""
    if rate == "zero":
        return theta.copy()
    if rate == "sign":
        return theta - sign * lr * np.sign(g)
    return theta - sign * (1.0 if rate == "one" else lr) * g


def explain_step(theta0: np.ndarray, theta1: np.ndarray, g: np.ndarray, lr: float,
                 close) -> BugModel | None:
    """The model whose step from ``theta0`` with ``g`` gives ``theta1`` (``close`` compares
    parameters at their dtype's tolerance)."""
    for model in STEP_MODELS:
        if close(theta1, step(theta0, g, lr, **model.changes)):
            return model
    return None


def measured(theta0: np.ndarray, theta1: np.ndarray, g: np.ndarray, lr: float,
             close) -> str:
    """What a step no model explains did, from its numbers."""
    delta = theta1 - theta0
    if abs(float(np.median(np.abs(delta))) / lr - 1) < 0.05:
        return ("the step moves most parameters by ≈ lr whatever the gradient's size, like "
                "Adam or RMSProp: the assignment asks for SGD")
    scale = float(delta @ (-g) / (g @ g)) if g @ g else 0.0
    if close(theta1, theta0 - scale * g):
        return f"the step is θ − {scale:.4g}·g, not θ − lr·g with lr={lr}"
    return "the step is not θ − lr·g (another optimizer, or weight decay inside the step?)"
