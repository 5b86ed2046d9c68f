"""Alice's adapter: translates the harness's contract to her layer objects, (out, in) weights
and pickle checkpoints. Translation only; her parameters, forward, predict and dict-of-lists
training log are read by convention."""

import os

import numpy as np

from harness.hookspecs import hookimpl
from nn import Net
from trainer import accuracy, fit, load, sgd_update
from tune import grid_search


@hookimpl
def harness_info():
    return {"name": "alice", "hidden_layers": 2, "momentum": False}


@hookimpl
def harness_build_model(input_dim, hidden_sizes, activation, num_classes, seed, dtype):
    return Net(input_dim, hidden_sizes, num_classes, activation, seed, np.dtype(dtype))


@hookimpl
def harness_loss_and_grads(model, x, y, reg):
    loss = model.loss(x, y, reg)
    model.backward(reg)
    grads = {}
    for i, d in enumerate(model.dense, start=1):
        grads[f"W{i}"], grads[f"b{i}"] = d.dweight.T, d.dbias
    return loss, grads


@hookimpl
def harness_optimizer_step(model, grads, lr):
    for i, d in enumerate(model.dense, start=1):
        d.dweight, d.dbias = np.asarray(grads[f"W{i}"]).T, np.asarray(grads[f"b{i}"])
    sgd_update(model, lr)


@hookimpl
def harness_train(x_train, y_train, x_val, y_val, config, budget, checkpoint_path):
    net = Net(x_train.shape[1], config["hidden_sizes"], config["num_classes"],
              config["activation"], config["seed"])
    return fit(net, x_train, y_train, x_val, y_val, epochs=budget["epochs"], lr0=config["lr"],
               schedule=config["lr_decay"], gamma=config["decay_rate"],
               every=config["step_every"], lam=config["reg"], batch=config["batch_size"],
               save_to=checkpoint_path, seed=config["seed"], time_limit=budget["max_seconds"])


@hookimpl
def harness_load_checkpoint(checkpoint_path):
    return load(checkpoint_path)


@hookimpl
def harness_search(x_train, y_train, x_val, y_val, grid, base_config, budget, out_dir):
    rows = grid_search(x_train, y_train, x_val, y_val, grid["lr"], grid["hidden_sizes"],
                       grid["reg"], budget["epochs"], base_config["activation"],
                       base_config["num_classes"])
    trials = [{"lr": lr, "hidden_sizes": list(h), "reg": lam, "val_acc": acc}
              for lr, h, lam, acc in rows]
    with open(os.path.join(out_dir, "alice_search.txt"), "w") as f:
        f.writelines(f"{t}\n" for t in trials)
    return {"trials": trials, "best": max(trials, key=lambda t: t["val_acc"])}


@hookimpl
def harness_test(checkpoint_path, x, y):
    return accuracy(load(checkpoint_path), x, y)
