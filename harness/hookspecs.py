"""The contract: the hooks a submission implements, in its plugin file ``harness_plugin.py``.

A submission is a directory. Its ``harness_plugin.py`` holds functions decorated with
``harness.hookimpl`` (``hookimpl = pluggy.HookimplMarker("harness")``), named after the hooks below.
The plugin is a thin adapter: it translates between the student's own API and this contract, and
never fixes the student's code. An implementation may accept fewer arguments than the hook
offers (pluggy passes only those it names).

Conventions shared by every hook:

- Arrays are numpy. Inputs ``x`` are ``(N, D)`` floats scaled to [0, 1] (float32, or float64 in
  the gradient check); labels ``y`` are int64 ``(N,)`` in ``[0, num_classes)``.
- Parameters use one canonical layout whatever the student's own: a dict
  ``{"W1", "b1", "W2", "b2", ...}`` with ``W_i`` shaped ``(fan_in, fan_out)`` and ``b_i``
  shaped ``(fan_out,)``; layer 1 is the input layer, the last is the output layer. A model stored
  as ``(out, in)`` weights transposes in its adapter.
- ``model`` is whatever object the submission's ``harness_build_model`` or
  ``harness_load_checkpoint`` returned, a plain dict or list of arrays included; it stays in
  the submission's process and the harness hands the same object back, by reference, so
  changes made to it in place (by set_params, a step) are kept.
- The loss is the mean cross-entropy over the batch plus an L2 term on the weights. Both
  ``0.5 * reg * sum ||W||^2`` and ``reg * sum ||W||^2`` are accepted, as long as the loss and the
  gradient agree; the harness reports which one was used.
- Files: the harness names every place a submission writes. A checkpoint goes in
  ``checkpoint_dir``, a fresh directory the submission owns: write one file at
  ``checkpoint_path`` (a suggested name inside it), or a directory of files, ``.npz`` plus
  ``.json``, one file per layer, whatever the student's code does. Search records go under
  ``out_dir``. Nothing is written anywhere else.
- The harness never gives a submission the test labels.
- What a submission is like is declared in ``harness_info`` (see there and
  :mod:`harness.grading.declarations`): the adapter declares, it does not rewrite.

Hooks by convention (:mod:`harness.conventions`): a plugin may leave out get_params and
set_params when the model keeps its parameters where students usually do (``W1, b1, ...`` keys
or attributes, a list of arrays, a list of layers with weights and biases), and forward and
predict when the model has methods of those names; ``harness_train`` may return its log as a
dict of lists, in the usual spellings (``loss``, ``val_accuracy``, ``lrs``, ...).

Parts of the assignment and the hooks grading them: model = build_model, get_params, set_params,
forward, predict, loss_and_grads; train = optimizer_step, train; search = search;
test = load_checkpoint, test. Code whose backprop is fused with the update implements
``harness_train_step`` instead of (or beside) loss_and_grads and optimizer_step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pluggy

hookspec = pluggy.HookspecMarker("harness")
hookimpl = pluggy.HookimplMarker("harness")


@hookspec(firstresult=True)
def harness_info() -> dict:
    """Declarations about the submission; every key optional. Which fits which layout:

    - ``name``: the student's name or id.
    - ``hidden_layers``: 2 (default), 1, or up to 8: the two readings of "three-layer", and
      deeper networks; the configured sizes are cut, or their last repeated, to that depth.
    - ``equal_hidden_sizes``: True for a network built as ``Net(input, hidden, output)`` with
      one size for every hidden layer; the harness then asks only for equal sizes.
    - ``activations``: the activations the model supports, e.g. ``["relu", "sigmoid"]``
      (default: the rubric's list). Each is checked; the rubric sets how many are needed.
    - ``forward_returns``: "logits" (default), "probabilities" (forward ends in softmax) or
      "log_probabilities"; compared in log space up to a constant per row.
    - ``l2``: "loss" (default; L2 in the loss and its gradient) or "optimizer" (weight decay in
      the step: ``harness_optimizer_step`` gets ``reg``, and the gradient has no L2 term).
    - ``momentum``: True if the optimizer supports momentum (then it is checked).
    - ``leaky_relu_slope``: the negative slope of leaky_relu (default 0.01).
    - ``data``: "arrays" (default) or "files": training reads dataset files with the student's
      own loader; ``harness_train`` and ``harness_search`` then also get ``data_dir``, holding
      the harness's training split as the training files and its validation split in the place
      of the test files, in the official format.
    """


@hookspec(firstresult=True)
def harness_build_model(input_dim: int, hidden_sizes: list[int], activation: str,
                        num_classes: int, seed: int, dtype: str) -> Any:
    """A new, initialized model. ``activation`` is one of relu, leaky_relu, sigmoid, tanh;
    ``dtype`` is "float32" or "float64" (the gradient check asks for float64 and needs the model
    to compute in it)."""


@hookspec(firstresult=True)
def harness_get_params(model: Any) -> dict[str, np.ndarray]:
    """The model's parameters in the canonical layout (copies or views; the harness won't
    modify them)."""


@hookspec(firstresult=True)
def harness_set_params(model: Any, params: dict[str, np.ndarray]) -> None:
    """Replace the model's parameters with ``params`` (canonical layout, same shapes)."""


@hookspec(firstresult=True)
def harness_forward(model: Any, x: np.ndarray) -> np.ndarray:
    """The forward pass, ``(N, num_classes)``: logits (scores before softmax), or probabilities
    or log-probabilities as declared in ``forward_returns``."""


@hookspec(firstresult=True)
def harness_predict(model: Any, x: np.ndarray) -> np.ndarray:
    """Predicted labels, integers ``(N,)``."""


@hookspec(firstresult=True)
def harness_loss_and_grads(model: Any, x: np.ndarray, y: np.ndarray,
                           reg: float) -> tuple[float, dict[str, np.ndarray]]:
    """``(loss, grads)`` for one batch: the mean cross-entropy plus the L2 term with strength
    ``reg``, and its gradient for every parameter in the canonical layout. With
    ``l2="optimizer"`` declared the gradient has no L2 term (the loss may show the penalty or
    not). An epsilon inside the log is fine. Must not update the model."""


@hookspec(firstresult=True)
def harness_optimizer_step(model: Any, grads: dict[str, np.ndarray], lr: float,
                           momentum: float, reg: float) -> None:
    """Apply one step of the submission's optimizer to ``model`` in place, with gradients
    ``grads`` (canonical layout) and learning rate ``lr``. ``momentum`` is 0.0 unless
    ``harness_info`` declared momentum support, and must then give plain SGD:
    θ ← θ − lr·g. ``reg`` is the L2 strength, for ``l2="optimizer"`` (weight decay:
    θ ← θ − lr·(g + c·reg·θ), c = 1 or 2); otherwise it is 0.0."""


@hookspec(firstresult=True)
def harness_train_step(model: Any, x: np.ndarray, y: np.ndarray, lr: float,
                       reg: float) -> float | None:
    """One step of plain SGD on the batch ``(x, y)``, updating ``model`` in place:
    θ ← θ − lr·∇(mean cross-entropy + L2 with strength ``reg``), whatever momentum or schedule
    the training uses; return the batch's loss before the step (or None).

    For code whose backprop is fused with its update (a ``train_step`` or ``backward(lr)``
    method): the harness reads the gradient as the parameter change divided by ``lr``, so the
    adapter only calls the student's step. L2 may be in the gradient or weight decay in the
    update: the step is the same. It stands in for harness_loss_and_grads and
    harness_optimizer_step; a submission with both is checked for agreement: the step must move
    the parameters by ``lr`` times the gradient loss_and_grads returns.
    """


@hookspec(firstresult=True)
def harness_train(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                  y_val: np.ndarray, config: dict, budget: dict, checkpoint_path: str,
                  checkpoint_dir: str, data_dir: str) -> list[dict]:
    """Train a new model and save the best weights by validation accuracy in
    ``checkpoint_dir`` (at ``checkpoint_path``, or any files inside the directory).

    ``config``: hidden_sizes, activation, num_classes, lr, lr_decay ("exponential": lr·rate^e,
    "step": lr·rate^(e // step_every), 0-based epoch e), decay_rate, step_every, momentum,
    batch_size, reg, seed. ``budget``: epochs, the number to run (at most). max_seconds is
    advice for loops that watch the clock; the harness itself stops only runaway runs, at a
    generous wall-time limit. ``data_dir`` (only with ``data="files"`` declared): the same split
    as dataset files, for the student's own loader.

    Returns the history, one dict per epoch: epoch (1-based), train_loss, val_acc, and
    optionally lr (a number, or a list with one per step; without it the learning-rate schedule
    cannot be verified) and val_loss.
    """


@hookspec(firstresult=True)
def harness_load_checkpoint(checkpoint_path: str, checkpoint_dir: str) -> Any:
    """A model rebuilt from what ``harness_train`` saved, in a fresh process: the architecture
    (hidden sizes, activation) must come from the files, not from the code."""


@hookspec(firstresult=True)
def harness_search(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                   y_val: np.ndarray, grid: dict, base_config: dict, budget: dict,
                   out_dir: str, data_dir: str) -> dict | str:
    """Search ``grid`` (lists under "lr", "hidden_sizes", "reg") over ``base_config``, training
    every combination within ``budget`` (per trial), recording results under ``out_dir``.

    Returns ``{"trials": [{"lr", "hidden_sizes", "reg", "val_acc"}, ...], "best": <the trial
    with the highest val_acc>}``, or the path of the records file the search wrote under
    ``out_dir`` (CSV with a header, a JSON list, or a JSON dict of trials; the harness reads it
    and understands the common column names).
    """


@hookspec(firstresult=True)
def harness_test(checkpoint_path: str, checkpoint_dir: str, x: np.ndarray,
                 y: np.ndarray) -> float:
    """The test part: load the checkpoint and return its accuracy on ``(x, y)``, a fraction.

    The harness calls it with labelled data of its choosing (never the test labels) and checks
    the figure against accuracy it computes itself from ``harness_predict``.
    """


HOOKS_BY_PART: dict[str, tuple[str, ...]] = {
    "model": ("harness_build_model", "harness_get_params", "harness_set_params",
              "harness_forward", "harness_predict", "harness_loss_and_grads"),
    "train": ("harness_optimizer_step", "harness_train"),
    "search": ("harness_search",),
    "test": ("harness_load_checkpoint", "harness_test"),
}
REQUIRED_HOOKS = tuple(h for hooks in HOOKS_BY_PART.values() for h in hooks)
STANDS_IN_FOR: dict[str, tuple[str, ...]] = {
    "harness_train_step": ("harness_loss_and_grads", "harness_optimizer_step"),
}


def missing_hooks(implemented) -> list[str]:
    """The required hooks a plugin implementing ``implemented`` lacks, a hook that another
    implemented one stands in for (:data:`STANDS_IN_FOR`) not counted."""
    covered = {h for alt, hooks in STANDS_IN_FOR.items() if alt in implemented for h in hooks}
    return [h for h in REQUIRED_HOOKS if h not in implemented and h not in covered]
