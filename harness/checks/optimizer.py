"""Optimizer: one step is SGD (θ − lr·g, with momentum when declared), and the learning rate
decays over the training history as configured."""

from __future__ import annotations

import numpy as np

from . import Check, Outcome, checkimpl

LR = 0.1
MOMENTUM = 0.9
HIDDEN = (16, 8)


def expected_lr(config: dict, epoch: int) -> float:
    """The configured learning rate at 1-based ``epoch``."""
    e = epoch - 1
    if config["lr_decay"] == "exponential":
        return config["lr"] * config["decay_rate"] ** e
    if config["lr_decay"] == "step":
        return config["lr"] * config["decay_rate"] ** (e // config["step_every"])
    return config["lr"]


def _flat(params: dict) -> np.ndarray:
    return np.concatenate([np.asarray(params[k], np.float64).ravel() for k in sorted(params)])


class OptimizerCheck(Check):
    name = "optimizer"
    title = "SGD step and learning-rate decay"
    part = "train"
    order = 55
    requires = ("harness_build_model", "harness_get_params", "harness_optimizer_step")

    def run(self, ctx) -> Outcome:
        step_problem = self._step(ctx, momentum=0.0)
        details = {"step": step_problem or "θ − lr·g exactly"}
        if step_problem is None and ctx.info.get("momentum"):
            momentum_problem = self._step(ctx, momentum=MOMENTUM)
            details["momentum"] = momentum_problem or "v ← μv − lr·g; θ ← θ + v exactly"
            step_problem = momentum_problem and f"with momentum {MOMENTUM}: {momentum_problem}"
        decay_problem = self._decay(ctx)
        details["decay"] = decay_problem or "as configured"
        score = (0.0 if step_problem else 0.6) + (0.0 if decay_problem else 0.4)
        if not step_problem and not decay_problem:
            return Outcome(True, "one step is SGD; the learning rate decays as configured",
                           details=details)
        problems = [p for p in (step_problem, decay_problem) if p]
        return Outcome(False, "; ".join(problems), fraction=score, details=details)

    def _step(self, ctx, momentum: float) -> str | None:
        hidden = ctx.hidden(HIDDEN)
        model = ctx.call("harness_build_model", input_dim=ctx.data.input_dim,
                         hidden_sizes=hidden, activation="relu",
                         num_classes=ctx.data.num_classes, seed=0, dtype="float64")
        before = ctx.call("harness_get_params", model=model)
        theta0 = _flat(before)
        rng = np.random.default_rng(3)
        g1 = {k: rng.standard_normal(np.shape(v)) for k, v in before.items()}
        g2 = {k: rng.standard_normal(np.shape(v)) for k, v in before.items()}
        ctx.call("harness_optimizer_step", model=model, grads=g1, lr=LR, momentum=momentum)
        theta1 = _flat(ctx.call("harness_get_params", model=model))
        f1 = _flat(g1)
        if momentum == 0.0:
            return _describe(theta0, theta1, f1, LR)
        if not np.allclose(theta1, theta0 - LR * f1, rtol=1e-6, atol=1e-9):
            return "the first step is not θ − lr·g"
        ctx.call("harness_optimizer_step", model=model, grads=g2, lr=LR, momentum=momentum)
        theta2 = _flat(ctx.call("harness_get_params", model=model))
        want = theta1 - LR * _flat(g2) + momentum * (theta1 - theta0)
        if np.allclose(theta2, want, rtol=1e-6, atol=1e-9):
            return None
        if np.allclose(theta2, theta1 - LR * _flat(g2), rtol=1e-6, atol=1e-9):
            return "the second step ignores the velocity: momentum is declared but not used"
        return "the second step does not follow v ← μv − lr·g; θ ← θ + v"

    def _decay(self, ctx) -> str | None:
        history, config = ctx.artifacts.get("history"), ctx.artifacts.get("train_config")
        if not history:
            return "no training history to check the learning-rate decay against"
        lrs = np.array([r["lr"] for r in history], np.float64)
        want = np.array([expected_lr(config, r["epoch"]) for r in history])
        if np.allclose(lrs, want, rtol=1e-4):
            return None
        if len(lrs) > 1 and np.allclose(lrs, lrs[0]):
            return f"the learning rate never decays (stays {lrs[0]:g})"
        return (f"the learning rate does not follow the configured {config['lr_decay']} decay: "
                f"epochs 1-{min(3, len(lrs))} reported {lrs[:3].round(6).tolist()}, expected "
                f"{want[:3].round(6).tolist()}")


def _describe(theta0, theta1, g, lr) -> str | None:
    delta = theta1 - theta0
    if np.allclose(delta, -lr * g, rtol=1e-6, atol=1e-9):
        return None
    if np.allclose(delta, 0):
        return "the step did not change the parameters"
    if np.allclose(delta, lr * g, rtol=1e-6, atol=1e-9):
        return "the step goes uphill (θ + lr·g): sign error"
    if np.allclose(np.abs(delta), lr, rtol=1e-2):
        return ("the step moves every parameter by ≈ lr regardless of the gradient's size, "
                "like Adam or RMSProp: the assignment asks for SGD")
    scale = float(delta @ (-g) / (g @ g))
    if np.allclose(delta, -scale * g, rtol=1e-6, atol=1e-9):
        return f"the step is θ − {scale:.4g}·g, not θ − lr·g with lr={lr}"
    return "the step is not θ − lr·g (another optimizer, or weight decay inside the step?)"


@checkimpl
def harness_checks():
    return [OptimizerCheck()]
