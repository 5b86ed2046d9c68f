"""The pieces checks are built from, on hand-made inputs."""

import json
from pathlib import Path

import numpy as np
import pytest

from harness.checks import numerics
from harness.checks.diagnoses import gradient as bugs
from harness.checks.diagnoses import loss as loss_bugs
from harness.checks.diagnoses import optimizer as step_bugs
from harness.checks.optimizer import describe_step, expected_lr
from harness.checks.policy import reachable_files, scan_source, scan_submission, verdict
from harness.checks.search import RecordsError, normalize, read_records
from harness.sandbox.workarea import WorkArea
from harness.grading.declarations import Declarations, parse

RNG = np.random.default_rng(0)
N = RNG.standard_normal(20)
THETA = RNG.standard_normal(20)


PARAMS = numerics.random_params([20, 12, 12, 5], np.random.default_rng(1))
X, Y = np.random.default_rng(2).random((16, 20)), np.random.default_rng(3).integers(0, 5, 16)


def _as_submitted(model, activation: str, reg: float, in_gradient: bool, coefficient=0.5):
    """The gradient a submission with ``model``'s bug returns, and its wrong tensors."""
    own = reg if in_gradient else 0.0
    added = {"reg": reg, "2reg": 2 * reg}.get(model.changes.get("l2_added"), 0.0)
    got = bugs.backprop(PARAMS, X, Y, activation, own, coefficient, False,
                        **{**model.changes, "l2_added": added})
    _, exact = numerics.loss_and_grads(PARAMS, X, Y, activation, own, coefficient)
    wrong = [k for k in exact if not np.allclose(got[k], exact[k], rtol=1e-9, atol=1e-12)]
    return got, wrong


def test_the_bug_engine_without_changes_is_the_exact_gradient():
    for activation in ("relu", "leaky_relu", "sigmoid", "tanh"):
        for reg, coefficient, biases in ((0.0, 0.5, False), (0.1, 0.5, True), (0.1, 1.0, False)):
            _, exact = numerics.loss_and_grads(PARAMS, X, Y, activation, reg, coefficient,
                                               biases)
            ours = bugs.backprop(PARAMS, X, Y, activation, reg, coefficient, biases)
            assert all(np.allclose(ours[k], exact[k], rtol=1e-12) for k in exact)


@pytest.mark.parametrize("model", bugs.MODELS, ids=lambda m: m.name)
def test_every_bug_model_is_recognised_as_itself_and_nothing_else(model):
    for activation in model.activations or ("relu", "leaky_relu", "sigmoid", "tanh"):
        in_gradient = "l2_added" not in model.changes
        got, wrong = _as_submitted(model, activation, 0.1, in_gradient)
        assert wrong, f"{model.name} changes nothing under {activation}"
        found = bugs.explain(got, wrong, PARAMS, X, Y, activation, 0.1, 0.5, False, in_gradient)
        assert all(found[k] == [model.name] for k in wrong), (activation, found)


@pytest.mark.parametrize("objective", sorted(bugs.OBJECTIVES))
def test_the_gradient_of_every_other_objective_is_its_exact_gradient(objective):
    """Central differences of each objective's value agree with the engine's gradient."""
    value = bugs.OBJECTIVES[objective][1]
    grads = bugs.backprop(PARAMS, X, Y, "tanh", 0.0, 0.5, False, objective=objective)
    for name, index in (("W1", (3, 4)), ("b2", (5,)), ("W3", (0, 1))):
        def at(delta):
            p = {k: v.copy() for k, v in PARAMS.items()}
            p[name][index] += delta
            return value(numerics.logits(p, X, "tanh"), Y)
        numeric = (at(1e-6) - at(-1e-6)) / 2e-6
        assert abs(numeric - grads[name][index]) <= 1e-6 * max(1.0, abs(numeric)), name


def test_two_bugs_at_once_are_named_together():
    got = bugs.backprop(PARAMS, X, Y, "tanh", 0.1, 0.5, False, ce_scale="batch", l2_scale=0.0)
    found = bugs.explain(got, ["W1", "W2", "W3"], PARAMS, X, Y, "tanh", 0.1, 0.5, False, True)
    assert found["W2"] == ["batch-sum+l2-missing"]
    said = bugs.message(found["W2"])
    assert "not averaged over the batch" in said and "L2 term is missing" in said


LOGITS = numerics.logits(PARAMS, X, "tanh")


@pytest.mark.parametrize("model", loss_bugs.DATA_MODELS, ids=lambda m: m.name)
def test_every_loss_model_is_recognised_as_itself(model):
    value = loss_bugs.data_term(LOGITS, Y, **model.changes)
    assert not np.isclose(value, numerics.cross_entropy(LOGITS, Y), rtol=1e-2)
    assert loss_bugs.explain_data(value, LOGITS, Y) is model
    assert loss_bugs.explain_data(value * 1.01, LOGITS, Y) is None  # numbers, not closeness


def test_mean_cross_entropy_and_its_float32_or_epsilon_forms_are_no_loss_bug():
    assert loss_bugs.data_term(LOGITS, Y) == pytest.approx(numerics.cross_entropy(LOGITS, Y))
    p = np.exp(LOGITS - LOGITS.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    with_eps = float(-np.mean(np.log(p[np.arange(len(Y)), Y] + 1e-7)))
    assert loss_bugs.explain_data(with_eps, LOGITS, Y) is None


@pytest.mark.parametrize("model", loss_bugs.PENALTY_MODELS, ids=lambda m: m.name)
@pytest.mark.parametrize("coefficient", (0.5, 1.0))
def test_every_penalty_model_is_recognised_under_either_coefficient(model, coefficient):
    grown = loss_bugs.penalty(PARAMS, 0.1, len(Y), coefficient, **model.changes)
    assert loss_bugs.explain_penalty(grown, PARAMS, 0.1, len(Y)) is model
    right = loss_bugs.penalty(PARAMS, 0.1, len(Y), coefficient)
    assert loss_bugs.explain_penalty(right, PARAMS, 0.1, len(Y)) is None


@pytest.mark.parametrize("model", step_bugs.STEP_MODELS, ids=lambda m: m.name)
def test_every_step_model_is_recognised_as_itself(model):
    theta1 = step_bugs.step(THETA, N, 0.1, **model.changes)
    assert describe_step(THETA, theta1, N, 0.1, {"rtol": 1e-7, "atol": 1e-10}) == model.message


@pytest.mark.parametrize("lrs, bug", [
    ([0.1] * 4, "lr-constant"), ([0.1, 0.2, 0.3], "lr-rises"),
    ([0.1, 0.05, 0.1], "lr-rises-after-falling"), ([0.1, 0.0, 0.05], "lr-not-positive"),
    ([0.1, 0.09, 0.081], None), ([0.05, 0.1, 0.09, 0.08], None),  # a decay, warm-up or not
])
def test_every_schedule_model_is_recognised_and_a_decay_is_none(lrs, bug):
    from harness.checks.schedules import recognise
    got = recognise(lrs)
    assert got.bug == bug and got.decays == (bug is None)


def test_an_unknown_bug_is_located_where_backprop_starts_to_go_wrong():
    assert "from layer 2 down" in bugs.where_it_starts(["W1", "b2", "W2"], 3)
    assert "output layer" in bugs.where_it_starts(["W3", "W1"], 3)
    noise = {k: v + np.random.default_rng(4).standard_normal(v.shape)
             for k, v in numerics.loss_and_grads(PARAMS, X, Y, "relu")[1].items()}
    assert bugs.explain(noise, ["W1"], PARAMS, X, Y, "relu", 0.0, 0.5, False, True) == \
        {"W1": []}


def test_optimizer_step_descriptions():
    t0, g = np.ones(10), RNG.standard_normal(10)
    tol = {"rtol": 1e-7, "atol": 1e-10}
    assert describe_step(t0, t0 - 0.1 * g, g, 0.1, tol) is None
    assert "sign error" in describe_step(t0, t0 + 0.1 * g, g, 0.1, tol)
    assert "did not change" in describe_step(t0, t0, g, 0.1, tol)
    assert "Adam" in describe_step(t0, t0 - 0.1 * np.sign(g), g, 0.1, tol)
    adam_eps_in_root = g / np.sqrt(g * g + 1e-8)  # not exactly the sign where g is tiny
    assert "Adam" in describe_step(t0, t0 - 0.1 * adam_eps_in_root, g, 0.1, tol)
    assert "θ − 0.05·g" in describe_step(t0, t0 - 0.05 * g, g, 0.1, tol)
    f32 = (t0 - 0.1 * g).astype(np.float32).astype(np.float64)  # a right step, stored float32
    assert describe_step(t0, f32, g, 0.1, {"rtol": 2e-5, "atol": 2e-6}) is None


def test_expected_lr_schedules():
    cfg = {"lr": 1.0, "lr_decay": "step", "decay_rate": 0.5, "step_every": 2}
    assert [expected_lr(cfg, e) for e in (1, 2, 3, 5)] == [1.0, 1.0, 0.5, 0.25]
    assert expected_lr({**cfg, "lr_decay": "exponential"}, 3) == 0.25


def test_policy_scan_finds_every_spelling():
    src = ("import numpy as np\nimport torch\nfrom tensorflow import keras\n"
           "import os, jax.numpy as jnp\nm = __import__('autograd')\n"
           "import importlib\nx = importlib.import_module('mxnet')\nimport torchvision_like\n")
    assert [hit[:2] for hit in scan_source(src)] == [
        (2, "torch"), (3, "tensorflow"), (4, "jax.numpy"), (5, "autograd"), (7, "mxnet")]
    guarded = scan_source("try:\n    import cupy as xp\nexcept ImportError:\n"
                          "    import numpy as xp\nimport torch\n")
    assert sorted(hit[:3] for hit in guarded) == [(2, "cupy", True), (5, "torch", False)]


def test_policy_scan_tells_a_data_loader_from_a_framework_in_use():
    src = ("import torch\nfrom torchvision import datasets, transforms\n"
           "from torch.utils.data import DataLoader\nimport tensorflow as tf\n"
           "import torchvision\nimport torch.nn as nn\nfrom torchvision import models\n"
           "(x, y), _ = tf.keras.datasets.fashion_mnist.load_data()\n"
           "d = torchvision.datasets.MNIST('.')\nw = torch.zeros(3)\n")
    assert [(line, data) for line, _, _, data in scan_source(src)] == [
        (1, False), (2, True), (3, True), (4, True), (5, True), (6, False), (7, False)]
    mixed = "import tensorflow as tf\ntf.keras.datasets.mnist.load_data()\ntf.GradientTape()\n"
    assert [hit[3] for hit in scan_source(mixed)] == [False]  # one use beyond data is enough


def test_policy_scan_survives_syntax_errors_and_reads_notebooks(tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n    pass\nimport torch\n")
    nb = {"cells": [{"cell_type": "markdown", "source": ["import torch"]},
                    {"cell_type": "code", "source": ["!pip install jax\n", "import numpy\n",
                                                     "import jax\n"]}]}
    (tmp_path / "work.ipynb").write_text(json.dumps(nb))
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("import torch\n")
    where = [f["where"] for f in scan_submission(tmp_path)]
    assert where == ["broken.py:3", "work.ipynb cell 1, line 3"]


def test_reachability_follows_the_plugins_own_imports(tmp_path):
    (tmp_path / "harness_plugin.py").write_text("import model\nfrom pkg.sub import f\n")
    (tmp_path / "model.py").write_text("from . import helpers\n")
    (tmp_path / "helpers.py").write_text("import torch\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub.py").write_text("import numpy\n")
    (tmp_path / "unused.py").write_text("import torch\n")
    reach = {p.name for p in reachable_files(tmp_path)}
    assert reach == {"harness_plugin.py", "model.py", "helpers.py", "__init__.py", "sub.py"}
    gating, noted = verdict(scan_submission(tmp_path), [])
    assert gating == ["torch imported at helpers.py:1"]
    assert noted == ["torch imported at unused.py:1, code the plugin never runs"]
    library = [{"module": "torch", "file": "", "line": 0}]
    assert verdict([], library)[0] == []  # a library probing for a backend is not the student


def test_declarations_are_validated_with_suggestions():
    d = parse({"forward_returns": "probs", "hiden_layers": 1, "activations": ["relu", "gelu"],
               "equal_hidden_sizes": True, "l2": "optimizer"})
    assert d.forward_returns == "logits" and d.l2 == "optimizer"
    assert d.activations == ("relu",)
    said = " ".join(d.problems)
    assert "did you mean 'hidden_layers'" in said and "'gelu'" in said
    assert "did you mean 'probabilities'" in said
    assert d.hidden([256, 128]) == [256, 256]
    assert Declarations(hidden_layers=1).hidden([256, 128]) == [256]
    assert parse("not a dict").problems


def test_search_records_in_the_shapes_scripts_write(tmp_path):
    with WorkArea(tmp_path / "work") as work:
        out = work.new_dir("search")
        (out / "r.csv").write_text("learning_rate,hidden_size,weight_decay,val_accuracy\n"
                                   "0.1,[64 32],0.001,83.5\n")
        (out / "r.json").write_text('{"a": {"lr": 0.1, "hidden": "64-32", "lambda": 0.001, '
                                    '"acc": 0.835}}')
        for name in ("r.csv", "r.json"):
            for path in (out / name, name):  # absolute, or relative to out_dir
                trial = normalize(read_records(path, out, work)[0])
                assert trial == {"lr": 0.1, "hidden_sizes": [64, 32], "reg": 0.001,
                                 "val_acc": pytest.approx(0.835)}
        (tmp_path / "work" / "elsewhere.csv").write_text("lr\n1\n")
        with pytest.raises(RecordsError, match="not inside out_dir"):
            read_records(tmp_path / "work" / "elsewhere.csv", out, work)
        with pytest.raises(RecordsError, match="climbs out of the work directory"):
            read_records("../elsewhere.csv", out, work)
        (out / "link.csv").symlink_to(out / "r.csv")  # even to a file of its own
        with pytest.raises(RecordsError, match="cannot be read"):
            read_records("link.csv", out, work)
    with pytest.raises(RecordsError, match="no reg"):
        normalize({"lr": 1, "hidden": 3, "val_acc": 0.5})


@pytest.mark.parametrize("row, hidden", [
    ({"Learning_Rate": "0.1", "hidden1": "128", "hidden2": "64", "wd": "1e-3",
      "best_val_accuracy": "0.85"}, [128, 64]),
    ({"alpha": 0.1, "hs": 128, "lambda_reg": 1e-3, "valid_accuracy": 85.0}, [128]),
    ({"lr": 0.1, "h1": 128, "h2": 64, "h3": 32, "reg": 1e-3, "val_acc": 0.85}, [128, 64, 32]),
])
def test_search_columns_in_the_spellings_students_use(row, hidden):
    assert normalize(row) == {"lr": 0.1, "hidden_sizes": hidden, "reg": 0.001,
                              "val_acc": pytest.approx(0.85)}


def test_the_template_lists_the_search_columns_the_harness_reads():
    from harness.checks.search import ALIASES
    template = (Path(__file__).resolve().parents[1] / "templates" /
                "harness_plugin.py.j2").read_text()
    for names in ALIASES.values():
        assert names[0] in template and names[1] in template


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_the_gradient_oracle_agrees_with_finite_differences(activation):
    rng = np.random.default_rng(1)
    params = numerics.random_params([12, 6, 5, 3], rng)
    x, y = rng.random((4, 12)), rng.integers(0, 3, 4)
    _, grads = numerics.loss_and_grads(params, x, y, activation, 0.3, 1.0, True)
    for name, p in params.items():
        for i in range(p.size):
            up = {k: v.copy() for k, v in params.items()}
            down = {k: v.copy() for k, v in params.items()}
            up[name].flat[i] += 1e-6
            down[name].flat[i] -= 1e-6
            numeric = (numerics.loss_and_grads(up, x, y, activation, 0.3, 1.0, True)[0]
                       - numerics.loss_and_grads(down, x, y, activation, 0.3, 1.0, True)[0]) / 2e-6
            assert grads[name].flat[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


COSINE = [0.001 + 0.5 * (0.1 - 0.001) * (1 + np.cos(np.pi * i / 10)) for i in range(10)]


@pytest.mark.parametrize("lrs, unit, decays, name", [
    ([0.1 * 0.9 ** i for i in range(10)], "epoch", True, "exponential, ×0.9 per epoch"),
    ([0.1] * 4 + [0.01] * 4 + [0.001] * 2, "epoch", True, "step, ×0.1 every 4 epochs"),
    ([0.1] * 3 + [0.05] * 7, "epoch", True, "step, ×0.5 at epoch 4"),
    ([0.1 - 0.01 * i for i in range(10)], "epoch", True, "linear, -0.01 per epoch"),
    ([0.1 / (1 + 0.5 * i) for i in range(10)], "epoch", True, "inverse-time"),
    (COSINE, "epoch", True, "cosine, 0.1 → 0.001 over 10 epochs"),
    ([0.05 * (1 + np.cos(np.pi * i / 30)) for i in range(10)], "epoch", True,
     "cosine, 0.1 → 0 over 30 epochs"),  # a cosine over a longer budget than the run
    ([0.1 * 0.999 ** i for i in range(500)], "step", True, "exponential, ×0.999 per step"),
    ([0.01, 0.05, 0.1, 0.09, 0.08], "epoch", True, "warm-up over 2 epochs, then linear"),
    ([0.1, 0.07, 0.065, 0.02], "epoch", True, "its own decay, 0.1 → 0.02"),
    ([0.1] * 10, "epoch", False, "constant at 0.1"),
    ([0.1, 0.05, 0.2], "epoch", False, "rises again at epoch 3 after falling"),
    ([0.1, 0.2, 0.4], "epoch", False, "never falls"),
])
def test_learning_rate_schedules_are_recognised_and_named(lrs, unit, decays, name):
    from harness.checks.schedules import recognise
    got = recognise(lrs, unit)
    assert got.decays == decays and name in got.name, got


def test_a_checkpoint_check_whose_probes_cannot_tell_last_from_best_does_not_claim_it():
    from harness.checks.checkpoint import _inconclusive
    assert _inconclusive({"last_vs_best": {"note": "the probe's last epoch was also its best"}})
    assert not _inconclusive({"last_vs_best": {"val_accs": [0.1, 0.05]}})
