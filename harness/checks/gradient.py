"""Gradient check: the submission's backprop against central differences of its own loss.

float64, a small network built by the submission, every parameter tensor (biases included)
sampled, every listed activation, L2 off and on. Error per tensor is normwise over the sampled
coordinates, ``‖a − n‖ / (‖a‖ + ‖n‖)``; it passes below :data:`THRESHOLD` (a correct network
gives about 1e-9, the usual bugs 1e-3 to 1). ReLU kinks are avoided by drawing parameters until
no pre-activation lies within :data:`KINK_MARGIN` of zero, far beyond the step ``h``.
"""

from __future__ import annotations

import numpy as np

from harness import numerics

from . import Check, Outcome, checkimpl
from .loss import model_with

H = 1e-5
THRESHOLD = 1e-6
KINK_MARGIN = 1e-3
SAMPLES_PER_TENSOR = 12
BATCH = 8
HIDDEN = (10, 8)
REG = 0.1


def _kink_free_params(sizes, x, activation, seed):
    for attempt in range(50):
        params = numerics.random_params(sizes, np.random.default_rng(seed + attempt))
        zs = numerics.preactivations(params, x, activation)[:-1]
        if activation not in ("relu", "leaky_relu") or min(np.abs(z).min() for z in zs) > \
                KINK_MARGIN:
            return params
    return params


def diagnose(name: str, a: np.ndarray, n: np.ndarray, theta: np.ndarray, reg: float,
             l2_factor: float, batch: int) -> str:
    """A likely cause when the analytic gradient ``a`` disagrees with the numerical ``n``."""
    def close(u, v):
        return np.linalg.norm(u - v) <= 1e-4 * (np.linalg.norm(u) + np.linalg.norm(v)) + 1e-12

    if reg and name.startswith("W") and close(a, n - l2_factor * reg * theta):
        return "the L2 term is missing from this gradient"
    if reg and name.startswith("b") and close(a, n + l2_factor * reg * theta):
        return "L2 is applied to the bias gradient although the loss does not regularize biases"
    other = 2.0 if l2_factor == 1.0 else 1.0
    if reg and name.startswith("W") and close(a, n + (other - l2_factor) * reg * theta):
        return "the L2 gradient uses the other convention than the loss (a factor of 2)"
    if np.linalg.norm(a) < 1e-12:
        return "the gradient is zero"
    scale = float(a @ n / (n @ n)) if n @ n else float("nan")
    if np.isfinite(scale) and close(a, scale * n):
        for value, why in ((batch, f"not averaged over the batch (× batch size {batch})"),
                           (1 / batch, "divided by the batch size twice"),
                           (2.0, "off by a factor of 2"), (0.5, "off by a factor of 1/2"),
                           (-1.0, "sign error")):
            if np.isclose(scale, value, rtol=1e-3):
                return why
        return f"off by a constant factor of {scale:.4g}"
    return "wrong values"


def summarize(rows: list[dict], activations: tuple[str, ...], layers: int) -> str:
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
        if diagnosis == "wrong values" and not {f"W{layers}", f"b{layers}"} & set(tensors):
            diagnosis = "wrong values below the output layer: check the activation's derivative"
        worst = max(r["error"] for r in bad)
        clauses.append(f"{', '.join(tensors)}: {diagnosis} ({'; '.join(when)}; error up to "
                       f"{worst:.1e})")
    return "; ".join(clauses)


class GradientCheck(Check):
    name = "gradient"
    title = "Backprop gradients match numerical gradients"
    part = "model"
    order = 30
    requires = ("harness_build_model", "harness_get_params", "harness_set_params",
                "harness_loss_and_grads")

    def run(self, ctx) -> Outcome:
        hidden = ctx.hidden(HIDDEN)
        sizes = [ctx.data.input_dim, *hidden, ctx.data.num_classes]
        x = ctx.data.x_val[:BATCH].astype(np.float64)
        y = ctx.data.y_val[:BATCH]
        l2_factor = ctx.artifacts.get("l2_factor", 1.0)
        rows, groups, groups_ok = [], 0, 0
        for ai, activation in enumerate(ctx.settings.activations):
            for reg in (0.0, REG):
                groups += 1
                params = _kink_free_params(sizes, x, activation, seed=100 * ai)
                group_rows = self._group(ctx, params, hidden, activation, reg, x, y, l2_factor)
                rows += group_rows
                groups_ok += all(r["ok"] for r in group_rows)
        ctx.artifacts["gradient_rows"] = rows
        details = {"rows": rows, "threshold": THRESHOLD, "h": H}
        if groups_ok == groups:
            return Outcome(True, f"all {len(rows)} tensors within {THRESHOLD:g} for "
                           f"{', '.join(ctx.settings.activations)}, with and without L2",
                           details=details)
        return Outcome(False, summarize(rows, ctx.settings.activations, len(hidden) + 1),
                       fraction=groups_ok / groups, details=details)

    def _group(self, ctx, params, hidden, activation, reg, x, y, l2_factor) -> list[dict]:
        model = model_with(ctx, params, hidden, activation)
        _, grads = ctx.call("harness_loss_and_grads", model=model, x=x, y=y, reg=reg)
        rng = np.random.default_rng(7)
        coords, owners = [], []
        for name, p in params.items():
            k = min(SAMPLES_PER_TENSOR, p.size)
            for index in rng.choice(p.size, size=k, replace=False):
                coords.append([name, int(index)])
                owners.append(name)
        losses = np.asarray(ctx.proc.perturbed_losses(
            timeout=ctx.settings.hook_timeout, model=model, x=x, y=y, reg=reg, coords=coords,
            h=H))
        numeric = (losses[:, 0] - losses[:, 1]) / (2 * H)
        rows = []
        for name, p in params.items():
            mask = [i for i, o in enumerate(owners) if o == name]
            idx = [coords[i][1] for i in mask]
            raw = np.asarray(grads.get(name) if isinstance(grads, dict) else None)
            g = raw.astype(np.float64) if raw.dtype != object else raw
            if g.shape != p.shape:
                rows.append({"activation": activation, "reg": reg, "tensor": name,
                             "error": float("inf"), "ok": False,
                             "diagnosis": f"gradient has shape {g.shape}, expected {p.shape}"})
                continue
            a, n = g.reshape(-1)[idx], numeric[mask]
            denom = np.linalg.norm(a) + np.linalg.norm(n)
            error = float(np.linalg.norm(a - n) / denom) if denom else 0.0
            ok = error < THRESHOLD
            if ok:
                why = ""
            elif raw.dtype == np.float32:
                why = ("computed in float32: build the model in the dtype the harness asks for "
                       "(float64 here), or finite differences drown in rounding")
            else:
                why = diagnose(name, a, n, p.reshape(-1)[idx], reg, l2_factor, len(x))
            rows.append({"activation": activation, "reg": reg, "tensor": name, "error": error,
                         "ok": ok, "diagnosis": why})
        return rows


@checkimpl
def harness_checks():
    return [GradientCheck()]
