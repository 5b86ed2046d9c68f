"""The harness's own arithmetic for checking submissions: the canonical forward pass, loss and
gradient.

Kept independent of ``reference/`` so that checks do not trust the code they are grading
against, and run in the harness process so that nothing a submission does can change them: the
gradient check compares a submission's backprop with :func:`loss_and_grads` here, never with
numbers the submission's process computed. Parameters use the canonical layout of
:mod:`harness.hookspecs`: ``W_i`` ``(fan_in, fan_out)``, ``b_i`` ``(fan_out,)``.
"""

from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01


def activate(z: np.ndarray, activation: str, slope: float = LEAKY_SLOPE) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    raise ValueError(f"unknown activation {activation!r}")


def activation_derivative(z: np.ndarray, a: np.ndarray, activation: str,
                          slope: float = LEAKY_SLOPE) -> np.ndarray:
    """d activation / dz, given ``z`` and ``a = activate(z)``."""
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    if activation == "leaky_relu":
        return np.where(z > 0, 1.0, slope)
    if activation == "sigmoid":
        return a * (1 - a)
    return 1 - a * a


def num_layers(params: dict[str, np.ndarray]) -> int:
    return sum(1 for k in params if k.startswith("W"))


def expected_shapes(sizes: list[int], biases: bool = True) -> dict[str, tuple[int, ...]]:
    """Canonical shapes for layer sizes ``[D, H1, ..., C]`` (no ``b_i`` for a network without
    biases)."""
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{i}"] = (fan_in, fan_out)
        if biases:
            shapes[f"b{i}"] = (fan_out,)
    return shapes


def random_params(sizes: list[int], rng: np.random.Generator, bias_scale: float = 0.1,
                  biases: bool = True) -> dict[str, np.ndarray]:
    """Float64 parameters with nonzero biases, so bias terms are visible in every check."""
    params = {}
    for name, shape in expected_shapes(sizes, biases).items():
        if name.startswith("W"):
            params[name] = rng.standard_normal(shape) / np.sqrt(shape[0])
        else:
            params[name] = rng.standard_normal(shape) * bias_scale
    return params


def bias(params: dict[str, np.ndarray], i: int) -> np.ndarray | float:
    """Layer ``i``'s bias as float64, or 0 for a network without biases."""
    return np.asarray(params[f"b{i}"], np.float64) if f"b{i}" in params else 0.0


def preactivations(params: dict[str, np.ndarray], x: np.ndarray, activation: str,
                   slope: float = LEAKY_SLOPE) -> list[np.ndarray]:
    """Every layer's ``z = a @ W + b``, the last being the logits ``(N, C)``."""
    zs, a = [], x.astype(np.float64)
    for i in range(1, num_layers(params) + 1):
        z = a @ np.asarray(params[f"W{i}"], np.float64) + bias(params, i)
        zs.append(z)
        a = activate(z, activation, slope)
    return zs


def logits(params: dict[str, np.ndarray], x: np.ndarray, activation: str,
           slope: float = LEAKY_SLOPE) -> np.ndarray:
    return preactivations(params, x, activation, slope)[-1]


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def as_log_scores(output: np.ndarray, returns: str) -> np.ndarray:
    """A forward's output as scores comparable with logits up to a per-row constant: logits and
    log-probabilities as they are, probabilities through ``log`` (floored, so that an exact 0
    stays finite)."""
    out = np.asarray(output, np.float64)
    if returns == "probabilities":
        return np.log(np.maximum(out, 1e-300))
    return out


def row_centred(z: np.ndarray) -> np.ndarray:
    """``z`` minus each row's mean: softmax, log-softmax and logits agree after this."""
    return z - z.mean(axis=1, keepdims=True)


def loss_and_grads(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                   activation: str, reg: float = 0.0, l2_coefficient: float = 0.5,
                   regularize_biases: bool = False,
                   slope: float = LEAKY_SLOPE) -> tuple[float, dict[str, np.ndarray]]:
    """The canonical objective and its exact gradient, float64: mean softmax cross-entropy over
    the batch plus ``l2_coefficient · reg · Σ‖W‖²`` (biases too if ``regularize_biases``).

    ``x`` (N, D), ``y`` (N,) ints; returns ``(loss, grads)`` with ``grads`` in the layout of
    ``params``. Nothing passed in is modified.
    """
    n, layers = len(x), num_layers(params)
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    acts, zs = [x.astype(np.float64)], []
    for i in range(1, layers + 1):
        z = acts[-1] @ p[f"W{i}"] + bias(p, i)
        zs.append(z)
        if i < layers:
            acts.append(activate(z, activation, slope))
    logp = log_softmax(zs[-1])
    rows = np.arange(n)
    penalized = [k for k in p if k.startswith("W") or regularize_biases]
    loss = -logp[rows, y].mean() + l2_coefficient * reg * sum(np.sum(p[k] ** 2)
                                                              for k in penalized)
    dz = np.exp(logp)
    dz[rows, y] -= 1
    dz /= n
    grads: dict[str, np.ndarray] = {}
    for i in range(layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ p[f"W{i}"].T) * activation_derivative(zs[i - 2], acts[i - 1],
                                                             activation, slope)
    for k in penalized:
        grads[k] = grads[k] + 2 * l2_coefficient * reg * p[k]
    return float(loss), {k: grads[k] for k in p}


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy, computed stably in float64."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def sum_sq(params: dict[str, np.ndarray], prefix: str) -> float:
    return float(sum(np.sum(np.square(v, dtype=np.float64))
                     for k, v in params.items() if k.startswith(prefix)))


def accuracy(predictions: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.asarray(predictions).reshape(-1) == y))
