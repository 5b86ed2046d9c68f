"""Alice's grid search."""

import itertools

from nn import Net
from trainer import fit


def grid_search(X, Y, Xv, Yv, lrs, hiddens, lams, epochs, act="relu", n_out=10):
    results = []
    for lr, hidden, lam in itertools.product(lrs, hiddens, lams):
        net = Net(X.shape[1], hidden, n_out, act)
        log = fit(net, X, Y, Xv, Yv, epochs=epochs, lr0=lr, lam=lam, save_to="/dev/null")
        results.append((lr, tuple(hidden), lam, max(log["val_acc"])))
    return results
