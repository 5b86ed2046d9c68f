"""The reference connected to the harness's contract (see ``harness/hookspecs.py``).

It is registered exactly as a student's plugin is: ``harness grade reference``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pluggy

from reference import checkpoint, evaluate, search
from reference.model import MLP
from reference.optim import SGD
from reference.preprocess import Standardizer
from reference.train import TrainConfig, train

hookimpl = pluggy.HookimplMarker("harness")  # the contract's marker, without importing harness


@dataclass
class Classifier:
    """An MLP with the input standardization it was trained with (none for a new model)."""

    mlp: MLP
    standardizer: Standardizer | None = None
    optimizer: SGD | None = None

    def inputs(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(self.mlp.dtype, copy=False)
        return self.standardizer(x) if self.standardizer is not None else x


def _config(config: dict, budget: dict) -> TrainConfig:
    keys = {"hidden_sizes", "activation", "lr", "lr_decay", "decay_rate", "step_every",
            "momentum", "batch_size", "reg", "seed"}
    return TrainConfig(**{k: v for k, v in config.items() if k in keys},
                       epochs=int(budget["epochs"]), max_seconds=budget.get("max_seconds"))


@hookimpl
def harness_info():
    return {"name": "reference", "hidden_layers": 2, "momentum": True}


@hookimpl
def harness_build_model(input_dim, hidden_sizes, activation, num_classes, seed, dtype):
    return Classifier(MLP(input_dim, hidden_sizes, num_classes, activation, seed,
                          np.dtype(dtype).type))


@hookimpl
def harness_get_params(model):
    return dict(model.mlp.params)


@hookimpl
def harness_set_params(model, params):
    model.mlp.params = {k: np.array(v, dtype=model.mlp.dtype) for k, v in params.items()}


@hookimpl
def harness_forward(model, x):
    return model.mlp.forward(model.inputs(x))


@hookimpl
def harness_predict(model, x):
    return model.mlp.predict(model.inputs(x))


@hookimpl
def harness_loss_and_grads(model, x, y, reg):
    return model.mlp.loss_and_grads(model.inputs(x), y, reg)


@hookimpl
def harness_optimizer_step(model, grads, lr, momentum):
    if model.optimizer is None or model.optimizer.momentum != momentum:
        model.optimizer = SGD(momentum)
    model.optimizer.step(model.mlp.params, grads, lr)


@hookimpl
def harness_train(x_train, y_train, x_val, y_val, config, budget, checkpoint_path):
    result = train(x_train, y_train, x_val, y_val, int(config["num_classes"]),
                   _config(config, budget), checkpoint_path)
    return result.history


@hookimpl
def harness_load_checkpoint(checkpoint_path):
    mlp, standardizer, _ = checkpoint.load(checkpoint_path)
    return Classifier(mlp, standardizer)


@hookimpl
def harness_search(x_train, y_train, x_val, y_val, grid, base_config, budget, out_dir):
    trials = search.grid_trials(grid["lr"], grid["hidden_sizes"], grid["reg"])
    records, best = search.search(x_train, y_train, x_val, y_val,
                                  int(base_config["num_classes"]), _config(base_config, budget),
                                  trials, out_dir)

    def contract(r):
        return {"lr": r["lr"], "hidden_sizes": r["hidden_sizes"], "reg": r["reg"],
                "val_acc": r["best_val_acc"]}

    return {"trials": [contract(r) for r in records], "best": contract(best)}


@hookimpl
def harness_test(checkpoint_path, x, y):
    return evaluate.test_accuracy(checkpoint_path, x, y)
