"""Optimizer: two steps are SGD (θ − lr·g, with momentum only when declared, and weight decay
θ − lr·(g + c·λ·θ) when L2 is declared to live in the optimizer), and the learning rate decays
over the training history: as configured, or by any schedule :mod:`harness.checks.schedules`
recognises (exponential, step, linear, inverse-time, cosine; per epoch or per step).

A submission whose backprop is fused with its update (``harness_train_step`` alone) cannot be
given chosen gradients; its step is checked for what SGD means beyond the gradient: no state kept
between steps, and the lr it is given (the gradient it follows is the gradient check's).

Two steps, not one, so that momentum applied without being asked for shows in the second.
Tolerances follow the dtype the submission stores its parameters in, so a correct step on
float32 parameters passes.
"""

from __future__ import annotations

import numpy as np

from . import Check, Outcome, backprop, checkimpl
from .artifacts import TrainedRun
from .common import model_with
from .diagnoses import optimizer as step_bugs
from .probes import probe
from .runs import lr_values
from .schedules import recognise

LR = 0.1
MOMENTUM = 0.9
REG = 0.05


def expected_lr(config: dict, epoch: int) -> float:
    """The configured learning rate at 1-based ``epoch``."""
    e = epoch - 1
    if config["lr_decay"] == "exponential":
        return config["lr"] * config["decay_rate"] ** e
    if config["lr_decay"] == "step":
        return config["lr"] * config["decay_rate"] ** (e // config["step_every"])
    return config["lr"]


def _flat(params: dict, names: list[str]) -> np.ndarray:
    return np.concatenate([np.asarray(params[k], np.float64).ravel() for k in names])


class Stepper:
    """A model built by the submission, stepped with known gradients; parameters flattened in
    one fixed order."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        p = probe(ctx, "optimizer")  # the graded run's shape, secret draws
        self.model = ctx.call("harness_build_model", input_dim=ctx.data.input_dim,
                              hidden_sizes=p.hidden, activation=ctx.activations[0],
                              num_classes=ctx.data.num_classes, seed=0, dtype="float64")
        params = ctx.call("harness_get_params", model=self.model)
        if "harness_set_params" in ctx.proc.implemented:
            # non-zero everywhere first: a fresh model's zero biases hide a decay or a freeze
            ctx.call("harness_set_params", model=self.model, params={
                k: (0.1 * p.rng.standard_normal(np.shape(v))).astype(np.asarray(v).dtype)
                for k, v in params.items()})
            params = ctx.call("harness_get_params", model=self.model)
        self.names = sorted(params)
        self.shapes = {k: np.shape(params[k]) for k in self.names}
        low = any(np.asarray(v).dtype in (np.float32, np.float16) for v in params.values())
        self.tol = {"rtol": 2e-5, "atol": 2e-6} if low else {"rtol": 1e-7, "atol": 1e-10}
        self.dtype = "float32" if low else "float64"
        self.is_weight = np.concatenate([np.full(int(np.prod(self.shapes[k])), k[0] == "W")
                                         for k in self.names])
        self.theta = [_flat(params, self.names)]
        self.grads: list[np.ndarray] = []
        self.rng = p.rng

    def step(self, lr: float, momentum: float, reg: float) -> np.ndarray:
        g = {k: self.rng.standard_normal(s) for k, s in self.shapes.items()}
        self.ctx.call("harness_optimizer_step", model=self.model, grads=g, lr=lr,
                      momentum=momentum, reg=reg)
        self.grads.append(_flat(g, self.names))
        self.theta.append(_flat(self.ctx.call("harness_get_params", model=self.model),
                                self.names))
        return self.theta[-1]

    def close(self, a, b) -> bool:
        return bool(np.allclose(a, b, **self.tol))

    def describe(self, theta0, theta1, g, lr) -> str | None:
        """:func:`describe_step`, tensor by tensor where only some tensors are wrong ("b1,
        b2, b3: the step did not change them"), so one frozen or mistreated group is named
        instead of a verdict on every parameter at once."""
        whole = describe_step(theta0, theta1, g, lr, self.tol)
        if whole is None:
            return None
        bounds = np.cumsum([0] + [int(np.prod(self.shapes[k])) for k in self.names])
        verdicts = {k: describe_step(theta0[a:b], theta1[a:b], g[a:b], lr, self.tol)
                    for k, a, b in zip(self.names, bounds[:-1], bounds[1:])}
        good = [k for k, v in verdicts.items() if v is None]
        if not good:
            return whole
        by_problem: dict[str, list[str]] = {}
        for k, v in verdicts.items():
            if v is not None:
                by_problem.setdefault(v, []).append(k)
        said = "; ".join(f"{', '.join(_ordered(ks))}: {v}" for v, ks in by_problem.items())
        return f"{said} (the step is θ − lr·g for {', '.join(_ordered(good))})"


class OptimizerCheck(Check):
    name = "optimizer"
    title = "SGD step and learning-rate decay"
    part = "train"
    order = 55
    needs = (TrainedRun,)
    requires = ("harness_build_model", "harness_get_params")
    requires_one_of = ("harness_optimizer_step", backprop.TRAIN_STEP)

    def run(self, ctx) -> Outcome:
        fused = "harness_optimizer_step" not in ctx.proc.implemented
        step_problem, details = self._fused(ctx) if fused else self._separate(ctx)
        schedule_problem, schedule_note = self._decay(ctx)
        details["decay"] = schedule_problem or schedule_note
        score = (0.0 if step_problem else 0.6) + (0.0 if schedule_problem else 0.4)
        if not step_problem and not schedule_problem:
            extra = f"; {details['weight_decay']}" if "weight_decay" in details else ""
            steps = ("the training step is plain SGD with the lr it is given (the gradient it "
                     "follows is the gradient check's)") if fused else "two steps are SGD"
            return Outcome(True, steps + extra + f"; {schedule_note}",
                           details=details)
        problems = [p for p in (step_problem, schedule_problem) if p]
        if step_problem and not schedule_problem:
            problems.append(schedule_note)
        return Outcome(False, "; ".join(problems), fraction=score, details=details)

    def _separate(self, ctx) -> tuple[str | None, dict]:
        """harness_optimizer_step with gradients the harness chooses: plain SGD twice, then
        momentum and weight decay where declared."""
        stepper = Stepper(ctx)
        step_problem = self._plain(stepper)
        details = {"step": step_problem or "θ − lr·g exactly, twice", "dtype": stepper.dtype}
        if step_problem is None and ctx.decl.momentum:
            momentum_problem = self._momentum(Stepper(ctx))
            details["momentum"] = momentum_problem or "v ← μv − lr·g; θ ← θ + v exactly"
            step_problem = momentum_problem and f"with momentum {MOMENTUM}: {momentum_problem}"
        if step_problem is None and ctx.decl.l2 == "optimizer":
            decay_problem, note = self._weight_decay(Stepper(ctx), ctx)
            details["weight_decay"] = decay_problem or note
            step_problem = decay_problem
        return step_problem, details

    def _fused(self, ctx) -> tuple[str | None, dict]:
        """harness_train_step alone: see :func:`fused_step_problem`; momentum and weight decay
        are inside the step, where the gradient check sees them."""
        problem = fused_step_problem(ctx)
        return problem, {"step": problem or "a training step: plain SGD, no state kept between "
                         "steps, the lr it is given"}

    def _plain(self, s: Stepper) -> str | None:
        for n in (1, 2):
            s.step(LR, 0.0, 0.0)
            problem = s.describe(s.theta[n - 1], s.theta[n], s.grads[n - 1], LR)
            if problem is None:
                continue
            if n == 2:
                velocity = s.theta[1] - s.theta[0]
                mu = float((s.theta[2] - s.theta[1] + LR * s.grads[1]) @ velocity /
                           (velocity @ velocity))
                if s.close(s.theta[2], s.theta[1] - LR * s.grads[1] + mu * velocity):
                    return (f"the second step carries momentum ≈ {mu:.3g} although the harness "
                            "asked for none (momentum=0): plain SGD must be possible")
                return f"the second step: {problem}"
            if problem == step_bugs.BY_NAME["step-frozen"].message:
                s.step(LR, 0.0, 0.0)  # an optimizer whose first step does nothing: the next?
                second = s.describe(s.theta[1], s.theta[2], s.grads[1], LR)
                if second != problem:
                    return f"the first step did not change the parameters; the second: " \
                           f"{second or 'θ − lr·g'}"
            return problem
        return None

    def _momentum(self, s: Stepper) -> str | None:
        t1 = s.step(LR, MOMENTUM, 0.0)
        if not s.close(t1, s.theta[0] - LR * s.grads[0]):
            return "the first step is not θ − lr·g"
        t2 = s.step(LR, MOMENTUM, 0.0)
        if s.close(t2, t1 - LR * s.grads[1] + MOMENTUM * (t1 - s.theta[0])):
            return None
        if s.close(t2, t1 - LR * s.grads[1]):
            return "the second step ignores the velocity: momentum is declared but not used"
        return "the second step does not follow v ← μv − lr·g; θ ← θ + v"

    def _weight_decay(self, s: Stepper, ctx) -> tuple[str | None, str]:
        """L2 declared in the optimizer: one step with ``reg`` must be θ − lr·(g + c·λ·θ)."""
        t0 = s.theta[0]
        t1 = s.step(LR, 0.0, REG)
        g = s.grads[0]
        for c in (1.0, 2.0):
            for biases in (False, True):
                decay = c * REG * t0 * (s.is_weight | biases)
                if s.close(t1, t0 - LR * (g + decay)):
                    label = "λ·θ" if c == 1.0 else "2·λ·θ"
                    return None, (f"weight decay {label} in the step, as declared"
                                  + ("; biases are decayed too (usually they are not)"
                                     if biases else ""))
        if s.close(t1, t0 - LR * g):
            return ("L2 is declared to live in the optimizer, but a step with reg="
                    f"{REG} applies no weight decay (is reg passed to the step?)"), ""
        return f"a step with reg={REG} is not θ − lr·(g + c·λ·θ) for c = 1 or 2", ""

    def _decay(self, ctx) -> tuple[str | None, str]:
        """(what is wrong with the run's learning-rate schedule, or None; what it is). Any
        recognised decay is decay (:mod:`harness.checks.schedules`): the configured schedule
        is what the harness asked for, not the only right answer. What the run cannot show
        (no rates recorded; a quick run too short for the first drop) is said, not charged."""
        run = ctx.artifacts.get(TrainedRun)
        if run is None:
            return "no training history to check the learning-rate decay against", ""
        per_epoch = [lr_values(r) for r in run.history]
        if any(v is None or not v for v in per_epoch):
            return None, ("the learning-rate schedule is not verified: the history does not "
                          "record the learning rate (add 'lr' to each epoch's record, a number "
                          "or a list with one per step, to have it checked)")
        per_step = any(not np.allclose(v, v[0], rtol=1e-6) for v in per_epoch)
        lrs = np.concatenate(per_epoch) if per_step else np.array([v[0] for v in per_epoch])
        want = np.array([expected_lr(run.config, r["epoch"]) for r in run.history])
        if not per_step and np.allclose(lrs, want, rtol=1e-4):
            return None, "the learning rate decays as configured"
        schedule = recognise(lrs, "step" if per_step else "epoch")
        configured = _configured(run.config)
        if schedule.decays:
            return None, (f"the learning rate decays by its own schedule ({schedule.name}; "
                          f"the configured one was {configured}: any decay will do)")
        if ctx.settings.quick and len(lrs) <= 3 and schedule.name.startswith("constant"):
            return None, (f"no decay shows in the quick grade's {len(lrs)} epochs (a step "
                          "schedule may drop later): the full grade checks it")
        return (f"the learning rate does not decay: {schedule.name} over {len(run.history)} "
                f"epochs (the configured schedule was {configured})"), ""


def fused_step_problem(ctx) -> str | None:
    """What is wrong with a fused training step (:func:`harness.hookspecs.harness_train_step`)
    as an SGD step, or None. Its gradient is the gradient check's; here: two steps in a row
    equal one step taken by a fresh model from the first step's result (no momentum or other
    state kept between calls), and half the lr moves the parameters half as far."""
    p = probe(ctx, "optimizer")
    params, activation = p.params(), ctx.train_config["activation"]
    lr = backprop.STEP_LR

    def steps(start: dict, *rates: float) -> list[dict]:
        model = model_with(ctx, start, p.hidden, activation)
        out = []
        for rate in rates:
            _, _, after = backprop.step(ctx, model, p.x, p.y, rate, 0.0)
            out.append({k: np.asarray(v, np.float64) for k, v in after.items()})
        return out

    names = sorted(params)
    theta1, theta2 = steps(params, lr, lr)
    fresh = steps(theta1, lr)[0]
    half = steps(params, lr / 2)[0]
    d1, d2, d_fresh, d_half = (_flat(b, names) - _flat(a, names) for a, b in (
        (params, theta1), (theta1, theta2), (theta1, fresh), (params, half)))
    if _apart(d2, d_fresh):
        return ("two training steps in a row differ from one step taken from the same "
                "parameters by a fresh model: the step keeps state between calls (momentum?), "
                "although harness_train_step asks for plain SGD")
    if _apart(2 * d_half, d1):
        if not _apart(d_half, d1):
            return "the training step ignores the lr it is given (it moves as far at lr/2)"
        return "half the lr does not move the parameters half as far: the step is not θ − lr·g"
    return None


def _apart(a: np.ndarray, b: np.ndarray) -> bool:
    """Normwise further apart than float32 rounding of the parameters explains."""
    return bool(np.linalg.norm(a - b) > 1e-3 * (np.linalg.norm(a) + np.linalg.norm(b)))


def _configured(config: dict) -> str:
    if config["lr_decay"] == "exponential":
        return f"exponential, ×{config['decay_rate']:g} per epoch from {config['lr']:g}"
    if config["lr_decay"] == "step":
        return (f"step, ×{config['decay_rate']:g} every {config['step_every']} epochs from "
                f"{config['lr']:g}")
    return f"constant {config['lr']:g}"


def _ordered(names: list[str]) -> list[str]:
    """``W1, W2, b1`` in layer order, weights before biases: ``W1, W2, W3``, ``b1, b2``."""
    return sorted(names, key=lambda k: (k[0] != "W", int(k[1:]) if k[1:].isdigit() else 0, k))


def _short(values) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def describe_step(theta0, theta1, g, lr, tol: dict) -> str | None:
    """What one step from ``theta0`` to ``theta1`` with gradient ``g`` did, if not SGD: the
    bug model that reproduces it (:mod:`harness.checks.diagnoses.optimizer`), or what it
    measurably did; ``tol`` is the ``np.allclose`` tolerance for the parameters' dtype."""
    def close(a, b):
        return bool(np.allclose(a, b, **tol))

    if close(theta1, theta0 - lr * g):
        return None
    model = step_bugs.explain_step(theta0, theta1, g, lr, close)
    return model.message if model else step_bugs.measured(theta0, theta1, g, lr, close)


@checkimpl
def harness_checks():
    return [OptimizerCheck()]
