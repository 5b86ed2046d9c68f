"""Activation functions and their derivatives, written in terms of the activation's *output*.

Expressing each derivative through the output ``a = f(z)`` means backprop keeps one array per
layer instead of two. It works because each of these functions is monotonic: for ReLU and leaky
ReLU, ``a > 0`` exactly where ``z > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """``forward(z)`` may overwrite ``z``; ``backward(grad_a, a)`` may overwrite ``grad_a``.

    ``gain`` scales the initial weights: std = gain / sqrt(fan_in) (He for the ReLU family,
    Xavier/LeCun for the saturating ones).
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gain: float


def _relu(z):
    return np.maximum(z, 0, out=z)


def _relu_back(grad, a):
    return np.multiply(grad, a > 0, out=grad)


def _leaky(z):
    return np.maximum(z, LEAKY_SLOPE * z, out=z)


def _leaky_back(grad, a):
    return np.multiply(grad, np.where(a > 0, 1.0, LEAKY_SLOPE).astype(grad.dtype), out=grad)


def _sigmoid(z):
    # 0.5 * (1 + tanh(z / 2)) is the logistic function without overflow for large |z|
    np.multiply(z, 0.5, out=z)
    np.tanh(z, out=z)
    z += 1
    return np.multiply(z, 0.5, out=z)


def _sigmoid_back(grad, a):
    return np.multiply(grad, a * (1 - a), out=grad)


def _tanh(z):
    return np.tanh(z, out=z)


def _tanh_back(grad, a):
    return np.multiply(grad, 1 - a * a, out=grad)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", _relu, _relu_back, np.sqrt(2.0)),
    "leaky_relu": Activation("leaky_relu", _leaky, _leaky_back,
                             np.sqrt(2.0 / (1 + LEAKY_SLOPE**2))),
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_back, 1.0),
    "tanh": Activation("tanh", _tanh, _tanh_back, 1.0),
}
