"""A multilayer perceptron for classification, with backprop written by hand.

Shapes, for a batch of N inputs of dimension D and C classes, with hidden sizes H1, H2, ...:
    X       (N, D)          inputs, float32 for training, float64 for gradient checks
    W_i     (fan_in, fan_out), e.g. W1 (D, H1), ..., W_L (H_{L-1}, C)
    b_i     (fan_out,)
    logits  (N, C)          the last layer has no activation
The loss is the mean softmax cross-entropy plus the L2 penalty ``0.5 * reg * sum_i ||W_i||^2``
over weights only (biases are not regularized); its gradient in ``W_i`` is ``reg * W_i``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .activations import ACTIVATIONS


def l2_penalty(params: dict[str, np.ndarray], reg: float) -> float:
    """``0.5 * reg * sum ||W||^2`` over the weight matrices: the one L2 convention used here."""
    return 0.5 * reg * sum(float(np.vdot(w, w)) for k, w in params.items() if k.startswith("W"))


class MLP:
    """``len(hidden_sizes) + 1`` affine layers with ``activation`` between them."""

    def __init__(self, input_dim: int, hidden_sizes: Sequence[int], num_classes: int,
                 activation: str = "relu", seed: int = 0, dtype: type = np.float32) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; one of {sorted(ACTIVATIONS)}")
        self.sizes = [int(input_dim), *map(int, hidden_sizes), int(num_classes)]
        self.hidden_sizes = self.sizes[1:-1]
        self.activation = activation
        self.act = ACTIVATIONS[activation]
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            self.params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out))
                                    * (self.act.gain / np.sqrt(fan_in))).astype(dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype)

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def dtype(self) -> np.dtype:
        return self.params["W1"].dtype

    def astype(self, dtype: type) -> "MLP":
        """The same model with parameters cast to ``dtype`` (float64 for gradient checks)."""
        other = object.__new__(MLP)
        other.__dict__.update(self.__dict__)
        other.params = {k: v.astype(dtype) for k, v in self.params.items()}
        return other

    def _forward(self, X: np.ndarray, dropout: float = 0.0,
                 rng: np.random.Generator | None = None) -> tuple[list, list]:
        """Every layer's output, input first and logits last, and the dropout masks (already
        scaled by 1 / (1 - dropout); None where there is none). With dropout, ``outs[i]`` is
        the masked output the next layer sees and the activation's own output is kept in
        ``acts[i]`` for its derivative."""
        outs, acts, masks = [X], [X], [None]
        for i in range(1, self.num_layers + 1):
            z = outs[-1] @ self.params[f"W{i}"]
            z += self.params[f"b{i}"]
            if i == self.num_layers:
                outs.append(z)
                acts.append(z)
                masks.append(None)
                continue
            a = self.act.forward(z)
            mask = None
            if dropout:
                mask = (rng.random(a.shape, dtype=np.float32) >= dropout) \
                    * a.dtype.type(1.0 / (1.0 - dropout))
            acts.append(a)
            outs.append(a * mask if mask is not None else a)
            masks.append(mask)
        return outs, (acts, masks)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Logits ``(N, C)``."""
        return self._forward(X.astype(self.dtype, copy=False))[0][-1]

    def predict(self, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Predicted labels ``(N,)``, computed in batches to bound memory."""
        if not len(X):
            return np.zeros(0, np.int64)
        return np.concatenate([self.forward(X[i:i + batch_size]).argmax(axis=1)
                               for i in range(0, len(X), batch_size)])

    def evaluate(self, X: np.ndarray, y: np.ndarray, reg: float = 0.0,
                 batch_size: int = 8192) -> tuple[float, float]:
        """``(loss, accuracy)`` on a labelled set, in one forward pass over it."""
        total, correct = 0.0, 0
        for i in range(0, len(X), batch_size):
            logits = self.forward(X[i:i + batch_size])
            correct += int(np.sum(logits.argmax(axis=1) == y[i:i + batch_size]))
            total += _cross_entropy(logits, y[i:i + batch_size])[0] * len(logits)
        return total / len(X) + l2_penalty(self.params, reg), correct / len(X)

    def loss(self, X: np.ndarray, y: np.ndarray, reg: float = 0.0) -> float:
        """Mean cross-entropy plus L2 penalty, without gradients."""
        return _cross_entropy(self.forward(X), y)[0] + l2_penalty(self.params, reg)

    def zeros_like_params(self) -> dict[str, np.ndarray]:
        """Arrays shaped like ``params``: a gradient buffer for ``loss_and_grads(out=...)``."""
        return {k: np.zeros_like(v) for k, v in self.params.items()}

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, reg: float = 0.0,
                       dropout: float = 0.0, rng: np.random.Generator | None = None,
                       out: dict[str, np.ndarray] | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient with respect to every parameter; parameters are unchanged.
        ``dropout``: the share of hidden units dropped at random (``rng``) in this pass, for
        training; inverted, so evaluation needs no rescaling. ``out``: arrays shaped like
        ``params`` to write the gradients into and return (a training loop passes the same
        buffer every step, so a step allocates no gradient arrays); new arrays by default."""
        outs, (acts, masks) = self._forward(X.astype(self.dtype, copy=False), dropout, rng)
        loss, grad = _cross_entropy(outs[-1], y, want_grad=True)
        grads = out if out is not None else self.zeros_like_params()
        for i in range(self.num_layers, 0, -1):
            W, gW = self.params[f"W{i}"], grads[f"W{i}"]
            np.matmul(outs[i - 1].T, grad, out=gW)
            if reg:
                gW += reg * W
            np.sum(grad, axis=0, out=grads[f"b{i}"])
            if i > 1:  # the input layer needs no gradient with respect to X
                grad = grad @ W.T
                if masks[i - 1] is not None:
                    grad *= masks[i - 1]
                grad = self.act.backward(grad, acts[i - 1])
        return loss + l2_penalty(self.params, reg), grads


def _cross_entropy(logits: np.ndarray, y: np.ndarray,
                   want_grad: bool = False) -> tuple[float, np.ndarray | None]:
    """Mean softmax cross-entropy of ``logits (N, C)`` against labels ``y (N,)``, computed stably.

    With ``want_grad``, also its gradient in the logits, ``(softmax - onehot) / N``, in a
    new array; ``logits`` is left as it was.
    """
    n, rows = len(y), np.arange(len(y))
    z = logits - logits.max(axis=1, keepdims=True)
    correct = z[rows, y].astype(np.float64)
    np.exp(z, out=z)
    sums = z.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(sums[:, 0], dtype=np.float64) - correct))
    if not want_grad:
        return loss, None
    z /= sums
    z[rows, y] -= 1
    z /= n
    return loss, z
