"""Alice's neural network library: layers as objects, PyTorch-style (out, in) weights."""

import numpy as np


class Dense:
    def __init__(self, n_in, n_out, rng, scale, dtype):
        self.weight = (rng.normal(0.0, scale, size=(n_out, n_in))).astype(dtype)
        self.bias = np.zeros(n_out, dtype=dtype)
        self.dweight = None
        self.dbias = None

    def forward(self, x):
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, grad):
        self.dweight = grad.T @ self.x
        # mutate biases-zero: self.dbias = np.zeros_like(self.bias)
        self.dbias = grad.sum(axis=0)
        return grad @ self.weight


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad):
        # mutate derivative-missing: return grad
        return grad * self.mask


class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, self.alpha * x)

    def backward(self, grad):
        return np.where(self.mask, grad, self.alpha * grad)


class Sigmoid:
    def forward(self, x):
        self.out = 1.0 / (1.0 + np.exp(-x))
        return self.out

    def backward(self, grad):
        # mutate sigmoid-value: return grad * self.out
        return grad * self.out * (1.0 - self.out)


class Tanh:
    def forward(self, x):
        # mutate tanh-from-z: self.z, self.out = x, np.tanh(x)
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        # mutate tanh-from-z: return grad * (1.0 - self.z ** 2)
        return grad * (1.0 - self.out ** 2)


ACTS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}


class Net:
    """Net(784, [256, 128], 10, act="relu"): Dense → act → Dense → act → Dense."""

    def __init__(self, n_in, hidden, n_out, act="relu", seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        sizes = [n_in] + list(hidden) + [n_out]
        self.arch = {"n_in": n_in, "hidden": list(hidden), "n_out": n_out, "act": act}
        self.layers = []
        for i in range(len(sizes) - 1):
            gain = 2.0 if act in ("relu", "leaky_relu") else 1.0
            self.layers.append(Dense(sizes[i], sizes[i + 1], rng, np.sqrt(gain / sizes[i]), dtype))
            if i < len(sizes) - 2:
                self.layers.append(ACTS[act]())

    @property
    def dense(self):
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, y, lam):
        """Cross-entropy + lam * ||W||^2 (Alice's convention: no 1/2)."""
        scores = self.forward(x)
        scores = scores - scores.max(axis=1, keepdims=True)
        logp = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        n = x.shape[0]
        # mutate loss-summed: data_loss = -logp[np.arange(n), y].sum()
        # mutate loss-mean-all: data_loss = -(np.eye(logp.shape[1])[y] * logp).mean()
        # mutate loss-sign: data_loss = logp[np.arange(n), y].mean()
        data_loss = -logp[np.arange(n), y].mean()
        # mutate loss-no-penalty: reg_loss = 0.0
        # mutate l2-penalty-over-batch: reg_loss = lam * sum((d.weight ** 2).sum() for d in self.dense) / n
        reg_loss = lam * sum((d.weight ** 2).sum() for d in self.dense)
        self._probs, self._y = np.exp(logp), y
        return float(data_loss + reg_loss)

    def backward(self, lam):
        n = self._y.shape[0]
        grad = self._probs.copy()
        # mutate no-onehot: pass
        grad[np.arange(n), self._y] -= 1
        # mutate batch-sum: pass
        grad /= n
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        for d in self.dense:
            # mutate l2-missing: pass
            # mutate l2-other-convention: d.dweight = d.dweight + lam * d.weight
            # mutate l2-over-batch: d.dweight = d.dweight + 2 * lam * d.weight / n
            # mutate l2-on-biases: d.dweight, d.dbias = d.dweight + 2 * lam * d.weight, d.dbias + 2 * lam * d.bias
            d.dweight = d.dweight + 2 * lam * d.weight

    def predict(self, x):
        return self.forward(x).argmax(axis=1)
