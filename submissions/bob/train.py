"""Bob's training and search scripts."""

import itertools

import numpy as np

from mlp import MLP


def train(model, X_train, y_train, X_val, y_val, lr=0.1, reg=1e-4, epochs=10, batch_size=128,
          decay=0.95, save_path="model.npz"):
    history = []
    n = X_train.shape[0]
    for epoch in range(epochs):
        current_lr = lr * (decay ** epoch)
        idx = np.random.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            b = idx[start:start + batch_size]
            losses.append(model.compute_loss(X_train[b], y_train[b], reg))
            grads = model.backward(y_train[b], reg)
            for k in model.params:
                model.params[k] -= current_lr * grads[k]
        val_acc = np.mean(model.predict(X_val) == y_val)
        history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                        "val_acc": float(val_acc), "lr": current_lr})
        print("epoch", epoch + 1, "loss", np.mean(losses), "val_acc", val_acc)
        save_model(model, save_path)
    return history


def save_model(model, path):
    np.savez(path, sizes=np.array(model.sizes), activation=np.array(model.activation),
             **model.params)


def load_model(path):
    f = np.load(path)
    s = [int(v) for v in f["sizes"]]
    model = MLP(s[0], s[1], s[2], s[3], str(f["activation"]))
    for k in model.params:
        model.params[k] = f[k]
    return model


def search(X_train, y_train, X_val, y_val, lrs, hiddens, regs, epochs):
    results = []
    for lr, (h1, h2), reg in itertools.product(lrs, hiddens, regs):
        model = MLP(X_train.shape[1], h1, h2, 10)
        hist = train(model, X_train, y_train, X_val, y_val, lr=lr, reg=reg, epochs=epochs,
                     save_path="search_tmp.npz")
        results.append({"lr": lr, "hidden": (h1, h2), "reg": reg,
                        "acc": max(h["val_acc"] for h in hist)})
    return results
