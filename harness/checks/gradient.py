"""Gradient check: the submission's backprop against the exact gradient, computed by the harness.

The oracle is :func:`harness.checks.numerics.loss_and_grads`: float64, in the harness process, on the
parameters the harness itself set in the submission's model. The contract check has shown that
the submission's forward pass computes the canonical network for those parameters and the loss
check which L2 convention it uses, so the canonical gradient is the right answer; nothing the
submission's process computes takes part in it.

Probed at the graded training run's shape, with rows and parameters drawn from the grade's secret
seed (:mod:`harness.checks.probes`), so that no cheaper way to the answer (central differences)
fits in the hook's time. Every listed activation in a drawn order, L2 off and on, every
parameter tensor (biases included), compared whole.
Error per tensor is normwise, ``‖a − o‖ / (‖a‖ + ‖o‖)``; a correct float64 backprop gives about
1e-15, the usual bugs 1e-3 to 1. A submission that computes in float32 (its arrays are float32, or
its float64 forward deviates from the float64 one by float32 rounding) is held to a float32
tolerance and told so, since precision is not a backprop bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.sandbox.process import SubmissionFailure

from . import Check, Outcome, backprop, checkimpl, numerics
from .artifacts import L2Convention, Objective
from .common import REG, model_with
from .diagnoses import gradient as bugs
from .probes import Probe, probe

THRESHOLD = {"float64": 1e-5, "float32": 1e-4}
KINK_MARGIN = 1e-5  # float32 rounding moves a pre-activation by about 1e-6 at the probe's sizes


def _kink_free_params(p: Probe, activation: str) -> dict[str, np.ndarray]:
    """Parameters whose pre-activations stay away from ReLU's kink, where float32 rounding could
    flip a mask and make a right gradient look wrong."""
    for _ in range(50):
        params = p.params()
        zs = numerics.preactivations(params, p.x, activation)[:-1]
        if activation not in ("relu", "leaky_relu") or min(np.abs(z).min() for z in zs) > \
                KINK_MARGIN:
            return params
    return params


def _constant_factor(a: np.ndarray, o: np.ndarray) -> str | None:
    """For a gradient no bug model explains: zero, or the exact one times a constant."""
    if np.linalg.norm(a) < 1e-12:
        return "the gradient is zero"
    scale = float(a @ o / (o @ o)) if o @ o else float("nan")
    if np.isfinite(scale) and np.linalg.norm(a - scale * o) <= 1e-3 * (np.linalg.norm(a) +
                                                                        np.linalg.norm(o)):
        return f"off by a constant factor of {scale:.4g}"
    return None


@dataclass
class _Seen:
    """What one run of the check found that judging each group depends on: a training step
    that ignores its lr (its gradient is then judged up to a scale), and activations the model
    ignores, ``(asked for, computed)`` (the contract check's bug)."""

    step_scaled: bool = False
    ignored: set[tuple[str, str]] = field(default_factory=set)


def summarize(rows: list[dict], activations: tuple[str, ...]) -> str:
    """One clause per diagnosis: which tensors, under which activations and L2 settings."""
    by_diagnosis: dict[str, list[dict]] = {}
    for r in rows:
        if not r["ok"]:
            by_diagnosis.setdefault(r["diagnosis"], []).append(r)
    clauses = []
    for diagnosis, bad in by_diagnosis.items():
        tensors = sorted({r["tensor"] for r in bad}, key=lambda t: (t[0], int(t[1:])))
        acts = sorted({r["activation"] for r in bad})
        regs = {r["reg"] > 0 for r in bad}
        when = ["all activations" if len(acts) == len(activations) else ", ".join(acts)]
        if regs == {True}:
            when.append("with L2 on")
        elif regs == {False}:
            when.append("with L2 off")
        worst = max(r["error"] for r in bad)
        clauses.append(f"{', '.join(tensors)}: {diagnosis} ({'; '.join(when)}; error up to "
                       f"{worst:.1e})")
    return "; ".join(clauses)


def computed_activation(ctx, model, params: dict, x: np.ndarray, activation: str) -> str:
    """The activation the model's forward computes when built with ``activation``: that one,
    unless the forward matches the canonical network with another one instead (an activation
    argument the model ignores: the contract check's bug, not the backprop's)."""
    if "harness_forward" not in ctx.proc.implemented:
        return activation
    out = numerics.row_centred(numerics.as_log_scores(
        ctx.call("harness_forward", model=model, x=x), ctx.decl.forward_returns))

    def matches(act: str) -> bool:
        ours = numerics.row_centred(numerics.logits(params, x, act, ctx.decl.leaky_relu_slope))
        return bool(np.allclose(out, ours, rtol=1e-3, atol=1e-4))

    if matches(activation):
        return activation
    return next((a for a in ("relu", "leaky_relu", "sigmoid", "tanh")
                 if a != activation and matches(a)), activation)


def precision(ctx, model, params: dict, x: np.ndarray, activation: str,
              grads: dict) -> tuple[str, str]:
    """("float64" | "float32", why): the precision the submission actually computed in."""
    if any(np.asarray(g).dtype == np.float32 for g in grads.values()):
        return "float32", "its gradients are float32"
    if "harness_forward" in ctx.proc.implemented:
        out = numerics.as_log_scores(ctx.call("harness_forward", model=model, x=x),
                                     ctx.decl.forward_returns)
        ours = numerics.logits(params, x, activation, ctx.decl.leaky_relu_slope)
        dev = np.abs(numerics.row_centred(out) - numerics.row_centred(ours)).max() / \
            max(np.abs(ours).max(), 1e-12)
        if 1e-10 < dev < 1e-4:
            return "float32", f"its forward pass deviates from float64 by {dev:.1e}"
    return "float64", ""


class GradientCheck(Check):
    name = "gradient"
    title = "Backprop gradients match the exact gradient"
    part = "model"
    order = 30
    needs = (L2Convention, Objective)
    requires = ("harness_build_model", "harness_get_params", "harness_set_params")
    requires_one_of = backprop.SOURCES

    def run(self, ctx) -> Outcome:
        p = probe(ctx, self.name)
        hidden, x, y = p.hidden, p.x, p.y
        l2 = ctx.artifacts.get(L2Convention) or L2Convention()
        seen = _Seen()
        if backprop.TRAIN_STEP in ctx.proc.implemented:
            params = p.params()
            seen.step_scaled = not backprop.follows_lr(
                ctx, lambda: model_with(ctx, params, hidden, str(ctx.activations[0])), x, y)
        rows, groups, groups_ok, precisions = [], 0, 0, set()
        for activation in p.rng.permutation(list(ctx.activations)):
            activation = str(activation)
            for reg in (0.0, REG):
                groups += 1
                params = _kink_free_params(p, activation)
                try:
                    group_rows, prec = self._group(ctx, seen, params, hidden, activation, reg,
                                                   x, y, l2)
                    precisions.add(prec)
                except SubmissionFailure as failure:
                    group_rows = [{"activation": activation, "reg": reg, "tensor": name,
                                   "error": float("inf"), "ok": False,
                                   "diagnosis": failure.message} for name in params]
                    if failure.kind == "crashed":
                        ctx.proc.restart()
                rows += group_rows
                groups_ok += all(r["ok"] for r in group_rows)
        rows.sort(key=lambda r: ctx.activations.index(r["activation"]))  # reported in order
        details = {"rows": rows, "threshold": THRESHOLD, "oracle": "harness float64",
                   "l2_in": ctx.decl.l2, "probe": {"batch": len(x), "hidden": hidden,
                                                   "dtype": str(x.dtype)}}
        note = ("; the training step does not use the lr it is given (the optimizer check "
                "charges it), so its gradient is judged up to a scale") if seen.step_scaled else ""
        objective = ctx.artifacts.get(Objective)
        if objective is not None:
            note += (f"; judged against the gradient of the loss it computes, {objective.label} "
                     "(the loss check charges the loss)")
        for asked, computed in sorted(seen.ignored):
            note += (f"; with activation={asked!r} the model computes {computed} (the contract "
                     f"check charges it), so its gradient is judged as {computed}'s")
        if "float32" in precisions:
            why = next(r["precision_note"] for r in rows if r.get("precision_note"))
            note += (f"; computed in float32 ({why}), so checked at float32 tolerance "
                    f"{THRESHOLD['float32']:g}")
        if groups_ok == groups:
            return Outcome(True, f"all {len(rows)} tensors match for "
                           f"{', '.join(ctx.activations)}, with and without L2{note}",
                           details=details)
        return Outcome(False, summarize(rows, ctx.activations) + note,
                       fraction=groups_ok / groups, details=details)

    def _group(self, ctx, seen, params, hidden, activation, reg, x, y,
               l2) -> tuple[list[dict], str]:
        """One row per tensor: every hook the submission computes its gradient in
        (:mod:`harness.checks.backprop`) held to the exact gradient; a tensor is right when
        each of them is."""
        model = model_with(ctx, params, hidden, activation)
        computed = computed_activation(ctx, model, params, x, activation)
        if computed != activation:
            seen.ignored.add((activation, computed))
        verdicts: dict[str, dict[str, tuple[float, bool, str]]] = {}
        precisions: dict[str, tuple[str, str]] = {}
        for source in backprop.sources(ctx):
            _, grads = backprop.loss_and_gradient(ctx, source, model, x, y, reg)
            arrays = {k: v for k, v in grads.items() if isinstance(v, np.ndarray)}
            precisions[source] = precision(ctx, model, params, x, computed, arrays)
            verdicts[source] = self._judge(ctx, seen, source, params, grads, computed, reg, x,
                                           y, l2, precisions[source][0])
        prec, why = next((p for p in precisions.values() if p[0] == "float32"),
                         next(iter(precisions.values())))
        rows = []
        for name in params:
            by_source = {s: v[name] for s, v in verdicts.items()}
            wrong = {s: v[2] for s, v in by_source.items() if not v[1]}
            if len(by_source) == 1 or len(set(wrong.values())) <= 1 and len(wrong) == len(
                    by_source):
                diagnosis = next(iter(wrong.values()), "")
            else:
                right = [backprop.SHORT[s] for s in by_source if s not in wrong]
                diagnosis = "; ".join(f"{backprop.SHORT[s]}: {d}" for s, d in wrong.items()) + (
                    f" ({', '.join(right)} right)" if right else "")
            error = _shown(max(v[0] for v in by_source.values()))
            rows.append({"activation": activation, "reg": reg, "tensor": name, "error": error,
                         "ok": not wrong, "diagnosis": diagnosis, "precision": prec,
                         "precision_note": why})
        return rows, prec

    def _judge(self, ctx, seen, source, params, grads, activation, reg, x, y, l2,
               prec) -> dict[str, tuple[float, bool, str]]:
        """``{tensor: (error, ok, diagnosis)}`` for the gradient ``source`` computed; a wrong
        tensor's diagnosis names the bug models (:mod:`harness.diagnoses.gradient`) that
        reproduce it, else where the error starts.

        L2's convention is the loss's; where the loss does not show one (its own bug, charged
        there) or a training step carries it as weight decay, whichever of λ·θ and 2·λ·θ fits."""
        step = source == backprop.TRAIN_STEP
        in_gradient = reg if ctx.decl.l2 == "loss" or step else 0.0
        conventions = [l2]
        if in_gradient and (step and ctx.decl.l2 == "optimizer" or
                            ctx.artifacts.get(L2Convention) is None):
            conventions.append(L2Convention(1.5 - l2.coefficient, l2.biases, ""))

        objective = ctx.artifacts.get(Objective)

        def exact_for(convention):
            if objective is not None:  # a loss the loss check charged: judged by its own
                return bugs.backprop(params, x, y, activation, in_gradient,
                                     convention.coefficient, convention.biases,
                                     ctx.decl.leaky_relu_slope, objective=objective.name)
            return numerics.loss_and_grads(params, x, y, activation, in_gradient,
                                           convention.coefficient, convention.biases,
                                           ctx.decl.leaky_relu_slope)[1]

        candidates = [(c, exact_for(c)) for c in conventions]
        l2, exact = min(candidates, key=lambda ce: _total_error(grads, ce[1]))
        if step and seen.step_scaled:
            grads = _rescaled(grads, exact)
        out, wrong = {}, []
        for name, p in params.items():
            raw = grads.get(name)
            g = np.asarray(raw) if raw is not None else np.zeros(0)
            if g.shape != p.shape or not np.issubdtype(g.dtype, np.number):
                got = "missing" if raw is None else f"shape {g.shape}"
                out[name] = (float("inf"), False, f"gradient {got}, expected shape {p.shape}")
                continue
            error = _error(g.astype(np.float64).ravel(), exact[name].ravel())
            out[name] = (error, bool(error < THRESHOLD[prec]), "")
            if not out[name][1]:
                wrong.append(name)
        if not wrong:
            return out
        models = bugs.explain({k: np.asarray(grads[k]) for k in wrong}, wrong, params, x, y,
                              activation, reg, l2.coefficient, l2.biases, bool(in_gradient),
                              ctx.decl.leaky_relu_slope,
                              objective.name if objective is not None else "ce")
        unexplained = []
        for name in wrong:
            said = bugs.message(models[name]) if models[name] else _constant_factor(
                np.asarray(grads[name], np.float64).ravel(), exact[name].ravel())
            if said is None:
                unexplained.append(name)
            out[name] = (out[name][0], False, said or "")
        if unexplained:
            located = bugs.where_it_starts(unexplained, len(params) // 2)
            for name in unexplained:
                out[name] = (out[name][0], False, located)
        return out


def _shown(error: float) -> float:
    """An error as recorded: three significant digits, so that a regrade on another thread
    count (BLAS sums in another order, moving the last bits) writes the same record."""
    return float(f"{error:.3g}")


def _error(a: np.ndarray, o: np.ndarray) -> float:
    """Normwise ``‖a − o‖ / (‖a‖ + ‖o‖)``, 0 for two zero vectors."""
    denom = np.linalg.norm(a) + np.linalg.norm(o)
    return float(np.linalg.norm(a - o) / denom) if denom else 0.0


def _rescaled(grads: dict, exact: dict) -> dict:
    """``grads`` divided by the one scale that fits them to ``exact`` best (a step whose
    length is its own shows its gradient's direction, not its size)."""
    pairs = [(np.asarray(grads[k], np.float64).ravel(), v.ravel()) for k, v in exact.items()
             if k in grads and np.shape(grads[k]) == v.shape]
    den = sum(float(o @ o) for _, o in pairs)
    scale = sum(float(a @ o) for a, o in pairs) / den if den else 0.0
    if scale <= 0:
        return grads
    return {k: np.asarray(g, np.float64) / scale for k, g in grads.items()}


def _total_error(grads: dict, exact: dict) -> float:
    return sum(_error(np.asarray(grads[k], np.float64).ravel(), v.ravel())
               for k, v in exact.items() if k in grads and np.shape(grads[k]) == v.shape)


@checkimpl
def harness_checks():
    return [GradientCheck()]
