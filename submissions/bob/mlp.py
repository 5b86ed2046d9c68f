"""Bob's three-layer MLP. (Contains three classic bugs, on purpose: this submission shows that
the harness catches them. See README.md.)"""

import numpy as np


def relu(z):
    return np.maximum(0, z)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class MLP:
    def __init__(self, input_size, hidden1, hidden2, output_size, activation="relu", seed=0,
                 dtype="float32"):
        np.random.seed(seed)
        self.activation = activation
        self.sizes = [input_size, hidden1, hidden2, output_size]
        self.params = {}
        for i in range(3):
            self.params["W%d" % (i + 1)] = (np.random.randn(self.sizes[i], self.sizes[i + 1])
                                           * np.sqrt(2.0 / self.sizes[i])).astype(dtype)
            self.params["b%d" % (i + 1)] = np.zeros(self.sizes[i + 1], dtype=dtype)

    def act(self, z):
        if self.activation == "relu":
            return relu(z)
        if self.activation == "sigmoid":
            return sigmoid(z)
        if self.activation == "tanh":
            return np.tanh(z)
        if self.activation == "leaky_relu":
            return np.where(z > 0, z, 0.01 * z)
        raise ValueError(self.activation)

    def act_grad(self, z, a):
        if self.activation == "relu":
            return (z > 0).astype(z.dtype)
        if self.activation == "sigmoid":
            return a * (1 - a)
        if self.activation == "tanh":
            return 1 - a ** 2
        return np.where(z > 0, 1.0, 0.01)

    def forward(self, X):
        p = self.params
        self.cache = {"X": X}
        self.cache["z1"] = X.dot(p["W1"]) + p["b1"]
        self.cache["a1"] = self.act(self.cache["z1"])
        self.cache["z2"] = self.cache["a1"].dot(p["W2"]) + p["b2"]
        self.cache["a2"] = self.act(self.cache["z2"])
        self.cache["z3"] = self.cache["a2"].dot(p["W3"]) + p["b3"]
        return self.cache["z3"]

    def compute_loss(self, X, y, reg):
        scores = self.forward(X)
        scores = scores - np.max(scores, axis=1, keepdims=True)
        probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
        self.cache["probs"] = probs
        m = X.shape[0]
        loss = -np.mean(np.log(probs[np.arange(m), y] + 1e-300))
        loss += 0.5 * reg * sum(np.sum(self.params[w] ** 2) for w in ("W1", "W2", "W3"))
        return loss

    def backward(self, y, reg):
        p, c = self.params, self.cache
        m = y.shape[0]
        dz3 = c["probs"].copy()
        dz3[np.arange(m), y] -= 1
        grads = {}
        grads["W3"] = c["a2"].T.dot(dz3) / m
        grads["b3"] = np.sum(dz3, axis=0)
        da2 = dz3.dot(p["W3"].T)
        dz2 = da2 * self.act_grad(c["z2"], c["a2"])
        grads["W2"] = c["a1"].T.dot(dz2) / m
        grads["b2"] = np.sum(dz2, axis=0)
        da1 = dz2.dot(p["W2"].T)
        dz1 = da1 * self.act_grad(c["z1"], c["a1"])
        grads["W1"] = c["X"].T.dot(dz1) / m
        grads["b1"] = np.sum(dz1, axis=0)
        return grads

    def predict(self, X):
        return np.argmax(self.forward(X), axis=1)
