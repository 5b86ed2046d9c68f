"""Hooks by convention: parameters found wherever students keep them, forward and predict
forwarded, histories read in students' spellings; the plugin's own hooks always win."""

import sys
import textwrap

import numpy as np
import pytest

from harness.checks.runs import history_problems, history_records
from harness.conventions import ConventionError, defaults, get_params, set_params
from harness.sandbox.worker import Worker

SIZES = [(6, 4), (4, 3), (3, 2)]  # (in, out) per layer


def canonical(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(SIZES, start=1):
        params[f"W{i}"] = rng.normal(size=(n_in, n_out)).astype(dtype)
        params[f"b{i}"] = rng.normal(size=n_out).astype(dtype)
    return params


def assert_round_trip(model, declared=None, dtype=np.float64, biases=True):
    """get_params gives the canonical layout; set_params writes new values back where they
    were, in the model's dtype, and get_params then reads them."""
    want = canonical(dtype)
    if not biases:
        want = {k: v for k, v in want.items() if k.startswith("W")}
    got = get_params(model, declared)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    new = canonical(np.float64, seed=1)
    set_params(model, {k: new[k] for k in want}, declared)
    again = get_params(model, declared)
    for k in want:
        assert again[k].dtype == dtype
        np.testing.assert_allclose(again[k], new[k].astype(dtype))


class Layer:
    def __init__(self, w, b):
        self.weight, self.bias = w, b


class ReLU:
    pass


def test_a_dict_of_arrays_and_a_dict_inside_a_dict():
    assert_round_trip(canonical())
    model = {"params": canonical(), "kind": "relu"}
    assert_round_trip(model)
    assert model["kind"] == "relu"


def test_attributes_on_an_object_keep_float32():
    model = type("Net", (), {})()
    for k, v in canonical(np.float32).items():
        setattr(model, k, v)
    model.dW1 = np.zeros((6, 4))  # gradients beside the weights are not parameters
    assert_round_trip(model, dtype=np.float32)


def test_lists_interleaved_grouped_and_with_row_biases():
    p = canonical()
    interleaved = [p["W1"], p["b1"], p["W2"], p["b2"], p["W3"], p["b3"]]
    assert_round_trip(interleaved)
    grouped = [p["W1"], p["W2"], p["W3"], p["b1"], p["b2"], p["b3"]]
    assert_round_trip(grouped)
    rows = [p["W1"], p["b1"][None], p["W2"], p["b2"][None], p["W3"], p["b3"][None]]
    assert_round_trip(rows)
    assert rows[1].shape == (1, 4)  # written back in the student's own shape
    script = [[p["W1"], p["b1"], p["W2"], p["b2"], p["W3"], p["b3"]], "relu"]
    assert_round_trip(script)


def test_layer_objects_stored_out_in_with_activations_between():
    p = canonical()
    net = type("Net", (), {})()
    net.layers = [Layer(p["W1"].T.copy(), p["b1"]), ReLU(), Layer(p["W2"].T.copy(), p["b2"]),
                  ReLU(), Layer(p["W3"].T.copy(), p["b3"])]
    assert_round_trip(net)
    assert net.layers[0].weight.shape == (4, 6)


def test_weights_only():
    net = type("Net", (), {})()
    net.weights = [v for k, v in canonical().items() if k.startswith("W")]
    assert_round_trip(net, biases=False)


def test_a_momentum_buffer_beside_the_parameters_is_told_apart_by_name():
    net = type("Net", (), {})()
    net.velocity = {k: np.zeros_like(v) for k, v in canonical().items()}
    net.params = canonical()
    assert_round_trip(net)


def test_two_unnamed_candidates_ask_for_the_declaration_and_it_settles_it():
    net = type("Net", (), {})()
    net.a = canonical()
    net.b2 = None
    net.c = {k: np.zeros_like(v) for k, v in canonical().items()}
    with pytest.raises(ConventionError, match=r"'a', 'c'.*\"params\": 'a'"):
        get_params(net)
    assert_round_trip(net, declared="a")


def test_a_model_without_parameters_says_which_hooks_to_write():
    with pytest.raises(ConventionError, match="write those two hooks"):
        get_params({"kind": "relu", "sizes": [6, 4, 2]})


class _Relay:
    """Stands in for the plugin manager's hook relay: forward through the default."""

    def __init__(self, plugin):
        self.plugin = plugin

    def harness_forward(self, model, x):
        return self.plugin.harness_forward(model, x)


def test_forward_and_predict_by_convention():
    class Net:
        def __init__(self):
            self.W1, self.W2 = np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32)

        def forward(self, x):
            assert x.dtype == np.float32  # inputs come in the model's dtype
            return x @ self.W1 @ self.W2, "cache"

    plugin = defaults(["harness_forward", "harness_predict"], lambda: None, None)
    plugin = defaults(["harness_forward", "harness_predict"], lambda: None, _Relay(plugin))
    x = np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    np.testing.assert_array_equal(plugin.harness_forward(Net(), x), x.astype(np.float32))
    np.testing.assert_array_equal(plugin.harness_predict(Net(), x), [1, 0])
    with pytest.raises(ConventionError, match="no forward"):
        plugin.harness_forward({"W1": np.eye(3), "W2": np.eye(3)}, x)


def test_histories_in_students_spellings():
    dict_of_lists = {"losses": [2.0, 1.5], "val_accuracies": [0.5, 0.6], "lrs": [0.1, 0.09],
                     "note": "run 3"}
    assert history_records(dict_of_lists) == [
        {"epoch": 1, "train_loss": 2.0, "val_acc": 0.5, "lr": 0.1},
        {"epoch": 2, "train_loss": 1.5, "val_acc": 0.6, "lr": 0.09}]
    from_zero = [{"epoch": 0, "loss": 2.0, "val_accuracy": 0.5},
                 {"epoch": 1, "loss": 1.5, "val_accuracy": 0.6}]
    assert [r["epoch"] for r in history_records(from_zero)] == [1, 2]
    both = [{"epoch": 1, "loss": 9.0, "train_loss": 2.0, "val_acc": 0.5}]
    assert history_records(both)[0]["train_loss"] == 2.0
    tuples = [(1, 2.0, 0.5)]
    assert "history entry 1 is a tuple" in history_problems(history_records(tuples), 5)[0]
    skipped = [{"epoch": 1, "train_loss": 2.0, "val_acc": 0.5},
               {"epoch": 3, "train_loss": 1.0, "val_acc": 0.6}]
    assert "entry 2 says epoch 3" in history_problems(history_records(skipped), 5)[0]


PLUGIN = '''
import numpy as np
from harness.hookspecs import hookimpl

class Net:
    def __init__(self):
        self.w = {"W1": np.ones((2, 3)), "b1": np.zeros(3), "W2": np.ones((3, 2)),
                  "b2": np.zeros(2)}

    def forward(self, x):
        return x @ self.w["W1"] @ self.w["W2"]

@hookimpl
def harness_build_model():
    return Net()

@hookimpl
def harness_predict(model, x):
    return np.full(len(x), 7)
'''


def test_the_worker_fills_in_only_what_the_plugin_leaves_out(tmp_path, monkeypatch):
    (tmp_path / "harness_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "harness_submission_plugin", None)
    worker = Worker(tmp_path)
    hello = worker.load()
    assert hello["ok"], hello
    assert hello["by_convention"] == ["harness_get_params", "harness_set_params",
                                      "harness_forward"]
    assert {"harness_get_params", "harness_predict"} <= set(hello["implemented"])
    model = worker.call("harness_build_model", {
        "input_dim": 2, "hidden_sizes": [3], "activation": "relu", "num_classes": 2, "seed": 0,
        "dtype": "float64"}).value
    x = np.ones((4, 2))
    assert worker.call("harness_predict", {"model": model, "x": x}).tolist() == [7] * 4
    worker.call("harness_set_params", {"model": model, "params": {
        "W1": np.zeros((2, 3)), "b1": np.ones(3), "W2": np.ones((3, 2)), "b2": np.ones(2)}})
    np.testing.assert_array_equal(model.w["b1"], np.ones(3))
    np.testing.assert_array_equal(worker.call("harness_forward", {"model": model, "x": x}),
                                  np.zeros((4, 2)))
