"""Bob's adapter: a faithful translation of his API. It does not fix his bugs."""

import numpy as np

from harness.hookspecs import hookimpl
from mlp import MLP
from train import load_model, search, train


@hookimpl
def harness_info():
    return {"name": "bob", "hidden_layers": 2}


@hookimpl
def harness_build_model(input_dim, hidden_sizes, activation, num_classes, seed, dtype):
    h1, h2 = hidden_sizes
    return MLP(input_dim, h1, h2, num_classes, activation, seed, dtype)


@hookimpl
def harness_get_params(model):
    return dict(model.params)


@hookimpl
def harness_set_params(model, params):
    model.params = {k: np.array(v) for k, v in params.items()}


@hookimpl
def harness_forward(model, x):
    return model.forward(x)


@hookimpl
def harness_predict(model, x):
    return model.predict(x)


@hookimpl
def harness_loss_and_grads(model, x, y, reg):
    loss = model.compute_loss(x, y, reg)
    return loss, model.backward(y, reg)


@hookimpl
def harness_optimizer_step(model, grads, lr):
    for k in model.params:
        model.params[k] = model.params[k] - lr * grads[k]


@hookimpl
def harness_train(x_train, y_train, x_val, y_val, config, budget, checkpoint_path):
    np.random.seed(config["seed"])
    h1, h2 = config["hidden_sizes"]
    model = MLP(x_train.shape[1], h1, h2, config["num_classes"], config["activation"],
                config["seed"])
    return train(model, x_train, y_train, x_val, y_val, lr=config["lr"], reg=config["reg"],
                 epochs=budget["epochs"], batch_size=config["batch_size"],
                 decay=config["decay_rate"], save_path=checkpoint_path)


@hookimpl
def harness_load_checkpoint(checkpoint_path):
    return load_model(checkpoint_path)


@hookimpl
def harness_search(x_train, y_train, x_val, y_val, grid, base_config, budget, out_dir):
    rows = search(x_train, y_train, x_val, y_val, grid["lr"], grid["hidden_sizes"],
                  grid["reg"], budget["epochs"])
    trials = [{"lr": r["lr"], "hidden_sizes": list(r["hidden"]), "reg": r["reg"],
               "val_acc": r["acc"]} for r in rows]
    return {"trials": trials, "best": max(trials, key=lambda t: t["val_acc"])}


@hookimpl
def harness_test(checkpoint_path, x, y):
    model = load_model(checkpoint_path)
    return float(np.mean(model.predict(x) == y))
