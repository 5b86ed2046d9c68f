"""The harness's own arithmetic for checking submissions: the canonical forward pass and loss.

Kept independent of ``reference/`` so that checks do not trust the code they are grading
against. Parameters use the canonical layout of :mod:`harness.hookspecs`.
"""

from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01
ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
}


def num_layers(params: dict[str, np.ndarray]) -> int:
    return sum(1 for k in params if k.startswith("W"))


def expected_shapes(sizes: list[int]) -> dict[str, tuple[int, ...]]:
    """Canonical shapes for layer sizes ``[D, H1, ..., C]``."""
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
    return shapes


def random_params(sizes: list[int], rng: np.random.Generator,
                  bias_scale: float = 0.1) -> dict[str, np.ndarray]:
    """Float64 parameters with nonzero biases, so bias terms are visible in every check."""
    params = {}
    for name, shape in expected_shapes(sizes).items():
        if name.startswith("W"):
            params[name] = rng.standard_normal(shape) / np.sqrt(shape[0])
        else:
            params[name] = rng.standard_normal(shape) * bias_scale
    return params


def preactivations(params: dict[str, np.ndarray], x: np.ndarray,
                   activation: str) -> list[np.ndarray]:
    """Every layer's ``z = a @ W + b``, the last being the logits."""
    zs, a = [], x.astype(np.float64)
    for i in range(1, num_layers(params) + 1):
        z = a @ params[f"W{i}"] + params[f"b{i}"]
        zs.append(z)
        a = ACTIVATIONS[activation](z)
    return zs


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
