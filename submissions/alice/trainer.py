"""Alice's training loop: SGD with learning-rate decay, best model kept by validation accuracy."""

import pickle
import time

import numpy as np

from nn import Net


def sgd_update(net, lr):
    for d in net.dense:
        # mutate step-sign: d.weight += lr * d.dweight
        # mutate step-lr-ignored: d.weight -= d.dweight
        d.weight -= lr * d.dweight
        # mutate step-frozen-biases: pass
        # mutate step-sign: d.bias += lr * d.dbias
        # mutate step-lr-ignored: d.bias -= d.dbias
        d.bias -= lr * d.dbias


def learning_rate(lr0, epoch, schedule, gamma, every):
    if schedule == "exponential":
        # mutate no-decay: return lr0
        return lr0 * gamma ** epoch
    if schedule == "step":
        return lr0 * gamma ** (epoch // every)
    return lr0


def save(net, path):
    with open(path, "wb") as f:
        pickle.dump({"arch": net.arch,
                     "weights": [(d.weight.copy(), d.bias.copy()) for d in net.dense]}, f)


def load(path):
    with open(path, "rb") as f:
        blob = pickle.load(f)
    a = blob["arch"]
    net = Net(a["n_in"], a["hidden"], a["n_out"], a["act"])
    for d, (w, b) in zip(net.dense, blob["weights"]):
        d.weight, d.bias = w, b
    return net


def accuracy(net, x, y):
    return float(np.mean(net.predict(x) == y))


def fit(net, X, Y, Xv, Yv, epochs=10, lr0=0.1, schedule="exponential", gamma=0.95, every=5,
        lam=1e-4, batch=128, save_to="best.pkl", seed=0, time_limit=None):
    rng = np.random.default_rng(seed)
    log = {"loss": [], "val_acc": [], "lr": []}
    best = -1.0
    start = time.time()
    for epoch in range(epochs):
        if time_limit and epoch and (time.time() - start) * (epoch + 1) / epoch > time_limit:
            break
        lr = learning_rate(lr0, epoch, schedule, gamma, every)
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            total += net.loss(X[idx], Y[idx], lam) * len(idx)
            net.backward(lam)
            sgd_update(net, lr)
        acc = accuracy(net, Xv, Yv)
        log["loss"].append(total / len(X))
        log["val_acc"].append(acc)
        log["lr"].append(lr)
        print(f"[alice] epoch {epoch + 1}: loss {total / len(X):.4f} val {acc:.4f}")
        # mutate save-last: if True:
        if acc > best:
            best = acc
            save(net, save_to)
    return log
