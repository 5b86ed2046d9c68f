"""Backprop bug models: the canonical gradient with one thing done the way students get wrong.

:func:`backprop` is the canonical float64 computation of :func:`harness.checks.numerics.
loss_and_grads` with switches (``changes``); each :class:`~harness.diagnoses.BugModel` in
:data:`MODELS` is a set of switches and the sentence that names it. :func:`explain` runs every
model that applies on the very inputs the submission was given and reports, per tensor, the
models that reproduce the submission's gradient; pairs of models are tried when no single one
does. What no model explains is located instead: the highest layer whose gradient is wrong, the
place backprop starts to go wrong.

Shapes: ``params`` canonical (``W_i`` ``(fan_in, fan_out)``, ``b_i`` ``(fan_out,)``), ``x``
``(N, D)``, ``y`` ``(N,)``. Inputs are never modified.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..numerics import (LEAKY_SLOPE, activate, activation_derivative, bias,
                                     log_softmax)

from . import BugModel

MATCH = 1e-3  # normwise distance under which a model reproduces a submission's tensor

MODELS: tuple[BugModel, ...] = (
    BugModel("batch-sum", "not averaged over the batch (× batch size)",
             {"ce_scale": "batch"}, fixture="corpus:batch-sum"),
    BugModel("batch-twice", "divided by the batch size twice", {"ce_scale": "1/batch"}),
    BugModel("factor-2", "off by a factor of 2", {"ce_scale": 2.0}),
    BugModel("factor-half", "off by a factor of 1/2", {"ce_scale": 0.5}),
    BugModel("sign", "sign error (the gradient of −loss)", {"sign": -1.0}),
    BugModel("no-onehot", "the output error is softmax(z) without subtracting one-hot(y)",
             {"no_onehot": True}, fixture="corpus:no-onehot"),
    BugModel("output-derivative", "an activation derivative is applied at the output layer "
             "(an activation on the logits?)", {"output_derivative": True}),
    BugModel("derivative-missing", "the activation's derivative is missing (the error passes "
             "back as if the activation were the identity)", {"derivative": "identity"},
             fixture="corpus:derivative-missing"),
    BugModel("derivative-from-z", "the derivative is computed from the pre-activation z "
             "instead of the activation a (1 − z² for tanh, z·(1 − z) for sigmoid)",
             {"derivative": "from_z"}, activations=("sigmoid", "tanh"),
             fixture="corpus:tanh-from-z"),
    BugModel("derivative-is-value", "the derivative is the activation's value instead of its "
             "derivative", {"derivative": "value"}, activations=("sigmoid", "tanh"),
             fixture="corpus:sigmoid-value"),
    BugModel("tanh-one-minus-a", "tanh's derivative is 1 − a instead of 1 − a²",
             {"derivative": "one_minus_a"}, activations=("tanh",),
             fixture="tests/fixtures/submissions/wrong_derivative"),
    BugModel("leaky-slope-missing", "leaky ReLU's derivative is 0 for negative inputs (the "
             "slope is missing)", {"derivative": "relu"}, activations=("leaky_relu",),
             fixture="corpus:leaky-slope-missing"),
    BugModel("biases-zero", "the bias gradient is zero (biases not trained?)",
             {"zero_biases": True}, fixture="corpus:biases-zero"),
    BugModel("transposed", "transposed (the gradient of Wᵀ)", {"transposed": True},
             fixture="tests/fixtures/submissions/transposed"),
    BugModel("l2-missing", "the L2 term is missing from this gradient", {"l2_scale": 0.0},
             fixture="corpus:l2-missing"),
    BugModel("l2-over-batch", "the L2 gradient is divided by the batch size (λ·θ/N)",
             {"l2_scale": "1/batch"}, fixture="corpus:l2-over-batch"),
    BugModel("l2-other-convention", "the L2 gradient uses the other convention than the loss "
             "(a factor of 2)", {"l2_scale": "other"}, fixture="corpus:l2-other-convention"),
    BugModel("l2-on-biases", "L2 is applied to the bias gradient although the loss does not "
             "regularize biases", {"l2_biases": True}, fixture="corpus:l2-on-biases"),
    BugModel("l2-in-optimizer-too", "the L2 term is in the gradient although L2 is declared "
             "to live in the optimizer (applied twice)", {"l2_added": "reg"}),
    BugModel("l2-in-optimizer-too-2x", "the L2 term is in the gradient although L2 is declared "
             "to live in the optimizer (applied twice)", {"l2_added": "2reg"}),
)
BY_NAME = {m.name: m for m in MODELS}


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


def _onehot(y: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[y]


def _mse(on_softmax: bool, per_class_mean: bool, half: bool):
    """Mean squared error between softmax(z) (or z) and one-hot labels: summed over classes
    (or averaged), averaged over the batch, halved or not."""
    def value(z: np.ndarray, y: np.ndarray) -> float:
        z = np.asarray(z, np.float64)
        d = (_softmax(z) if on_softmax else z) - _onehot(y, z.shape[1])
        per_row = (d ** 2).mean(axis=1) if per_class_mean else (d ** 2).sum(axis=1)
        return float((0.5 if half else 1.0) * per_row.mean())
    return value


# Losses that are not cross-entropy but that students write, each with its value from the
# logits: a submission computing one consistently has its backprop judged against it.
OBJECTIVES = {
    f"mse-{on}-{over}-{half}": (
        f"{'½·' if half == 'half' else ''}the squared error between "
        f"{'softmax(z)' if on == 'softmax' else 'the logits'} and one-hot labels, "
        f"{'averaged' if over == 'mean' else 'summed'} over classes",
        _mse(on == "softmax", over == "mean", half == "half"))
    for on in ("softmax", "logits") for over in ("sum", "mean") for half in ("full", "half")
}


def _output_error(z: np.ndarray, y: np.ndarray, objective: str, no_onehot: bool) -> np.ndarray:
    """dL/dz ·  N: the output layer's error for one sample's loss term, before the batch mean."""
    if objective == "ce":
        dz = _softmax(z)
        if not no_onehot:
            dz[np.arange(len(y)), y] -= 1
        return dz
    _, on, over, half = objective.split("-")
    target = np.zeros_like(z) if no_onehot else _onehot(y, z.shape[1])
    scale = (0.5 if half == "half" else 1.0) * (1.0 / z.shape[1] if over == "mean" else 1.0)
    if on == "logits":
        return 2 * scale * (z - target)
    p = _softmax(z)
    g = 2 * scale * (p - target)  # dL/dp
    return p * (g - (p * g).sum(axis=1, keepdims=True))


def _derivative(kind: str, z: np.ndarray, a: np.ndarray, activation: str,
                slope: float) -> np.ndarray:
    if kind == "right":
        return activation_derivative(z, a, activation, slope)
    if kind == "identity":
        return np.ones_like(z)
    if kind == "from_z":
        return z * (1 - z) if activation == "sigmoid" else 1 - z * z
    if kind == "value":
        return a
    if kind == "one_minus_a":
        return 1 - a
    if kind == "relu":
        return (z > 0).astype(z.dtype)
    raise ValueError(f"unknown derivative {kind!r}")


def backprop(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, activation: str,
             reg: float, coefficient: float, biases: bool, slope: float = LEAKY_SLOPE,
             ce_scale: float | str = 1.0, l2_scale: float | str = 1.0, l2_biases: bool = False,
             l2_added: float = 0.0, derivative: str = "right", output_derivative: bool = False,
             no_onehot: bool = False, sign: float = 1.0, zero_biases: bool = False,
             transposed: bool = False, objective: str = "ce") -> dict[str, np.ndarray]:
    """The gradient of mean cross-entropy (or another ``objective`` of :data:`OBJECTIVES`) +
    ``coefficient·reg·Σ‖W‖²`` (biases too if ``biases``), float64, with the given switches;
    with none, the exact gradient.
    ``l2_added``: an L2 strength whose term is added although ``reg`` (the gradient's own) is
    0 (L2 declared to live in the optimizer, put in the gradient as well)."""
    n, layers = len(x), sum(1 for k in params if k.startswith("W"))
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    acts, zs = [np.asarray(x, np.float64)], []
    for i in range(1, layers + 1):
        zs.append(acts[-1] @ p[f"W{i}"] + bias(p, i))
        acts.append(activate(zs[-1], activation, slope) if i < layers else zs[-1])
    dz = _output_error(zs[-1], y, objective, no_onehot)
    scale = {"batch": float(n), "1/batch": 1.0 / n}.get(ce_scale, ce_scale)
    dz *= scale / n
    if output_derivative:
        a_out = activate(zs[-1], activation, slope)
        dz = dz * _derivative(derivative, zs[-1], a_out, activation, slope)
    grads: dict[str, np.ndarray] = {}
    for i in range(layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ p[f"W{i}"].T) * _derivative(derivative, zs[i - 2], acts[i - 1],
                                                   activation, slope)
    l2 = {"1/batch": 1.0 / n, "other": (1.5 - coefficient) / coefficient}.get(l2_scale,
                                                                              l2_scale)
    for k in p:
        term = 2 * coefficient * p[k]  # the L2 gradient per unit of reg
        if k.startswith("W") or biases:
            grads[k] = grads[k] + (l2 * reg + l2_added) * term
        elif l2_biases:
            grads[k] = grads[k] + reg * term
    out = {}
    for k in p:
        g = sign * grads[k]
        if zero_biases and k.startswith("b"):
            g = np.zeros_like(g)
        if transposed and k.startswith("W") and g.shape[0] == g.shape[1]:
            g = g.T
        out[k] = g
    return out


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom else 0.0


def _relevant(model: BugModel, activation: str, reg: float, in_gradient: bool,
              biases: bool) -> bool:
    """Whether ``model`` can show on this probe at all: L2 models need L2 switched on (and,
    all but one, in the gradient); an activation's models need that activation."""
    if not model.applies_to(activation):
        return False
    if "l2_added" in model.changes:
        return bool(reg) and not in_gradient
    if "l2_biases" in model.changes:
        return bool(reg) and in_gradient and not biases
    if "l2_scale" in model.changes:
        return bool(reg) and in_gradient
    return True


def explain(got: dict[str, np.ndarray], wrong: list[str], params: dict[str, np.ndarray],
            x: np.ndarray, y: np.ndarray, activation: str, reg: float, coefficient: float,
            biases: bool, in_gradient: bool, slope: float = LEAKY_SLOPE,
            objective: str = "ce") -> dict[str, list[str]]:
    """For each tensor in ``wrong``: the names of the bug models (or ``"a+b"`` pairs) whose
    gradient reproduces ``got``'s; an empty list where none does. ``reg`` is the probe's L2
    strength; ``in_gradient``: whether the canonical gradient carries it."""
    canonical_reg = reg if in_gradient else 0.0
    candidates = [m for m in MODELS if _relevant(m, activation, reg, in_gradient, biases)]

    def predict(changes: dict) -> dict[str, np.ndarray]:
        added = {"reg": reg, "2reg": 2 * reg}.get(changes.get("l2_added"), 0.0)
        return backprop(params, x, y, activation, canonical_reg, coefficient, biases, slope,
                        **{**changes, "l2_added": added}, objective=objective)

    def matching(changes: dict) -> set[str]:
        pred = predict(changes)
        return {k for k in wrong if k in got and np.shape(got[k]) == pred[k].shape
                and _distance(np.asarray(got[k], np.float64), pred[k]) < MATCH}

    found: dict[str, list[str]] = {k: [] for k in wrong}
    for m in candidates:
        for k in matching(m.changes):
            found[k].append(m.name)
    unexplained = [k for k in wrong if not found[k]]
    if unexplained:
        for a, b in combinations(candidates, 2):
            if set(a.changes) & set(b.changes):
                continue
            for k in matching({**a.changes, **b.changes}) & set(unexplained):
                found[k].append(f"{a.name}+{b.name}")
    return found


def message(names: list[str]) -> str:
    """What to tell the student for the models that explain a tensor: one, several (any of
    them fits the numbers), or a pair that together does."""
    said = [" and ".join(BY_NAME[part].message for part in n.split("+")) for n in names]
    return said[0] if len(said) == 1 else " — or — ".join(said)


def where_it_starts(wrong: list[str], layers: int) -> str:
    """For gradients no model explains: the highest layer whose gradient is wrong, where
    backprop (which runs from the output down) starts to go wrong."""
    top = max(int(k[1:]) for k in wrong)
    if top == layers:
        return ("wrong values at the output layer: check softmax(z) − one-hot(y), divided by "
                "the batch size, and a_prevᵀ·δ")
    return (f"wrong values from layer {top} down (the layers above are right): check how the "
            f"error passes back through layer {top + 1} (W{top + 1}ᵀ, then the derivative of "
            f"layer {top}'s activation)")
