"""A score earned only by honest work: on the secret permuted view (harness.data.permute) the
data is the same problem to a fully connected network, and weights brought in from outside are
worth chance; the view is per grade, stable on a regrade, and never shown in the record."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.data import load_dataset, to_unit
from harness.data.permute import draw, for_grade
from harness.grading.pipeline import grade

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")


def _check(res: dict, name: str) -> dict:
    return next(c for c in res["checks"] if c["name"] == name)


def test_weights_brought_in_are_worth_chance_on_the_secret_view(grading_data, tmp_path):
    from reference.train import TrainConfig, train
    sub = tmp_path / "shipped_weights"
    shutil.copytree(FIXTURES / "hostile" / "shipped_weights", sub)
    d = load_dataset("fashion-mnist", str(grading_data))
    x = np.concatenate([to_unit(d.x_train), to_unit(d.x_test)])  # the public data, test
    y = np.concatenate([d.y_train, d.y_test])                   # labels included
    train(x, y, x[:300], y[:300], 10, TrainConfig(hidden_sizes=(64, 32), epochs=6, lr=0.1),
          sub / "weights.npz")
    public = grade(sub, data_dir=str(grading_data), rubric_path=RUBRIC, out=tmp_path / "p",
                   report=False, permute=False)
    secret = grade(sub, data_dir=str(grading_data), rubric_path=RUBRIC, out=tmp_path / "s",
                   report=False)
    assert public["permuted"] is False and secret["permuted"] is True
    assert public["test_accuracy"] > 0.8  # on the published view the trick pays...
    assert secret["test_accuracy"] < 0.3  # ...on the secret one it is chance (0.1)
    assert not _check(secret, "accuracy")["passed"]
    assert "learned nothing" in _check(secret, "training")["message"]
    assert _check(secret, "accuracy")["score"] == 0 < _check(public, "accuracy")["score"]


def test_honest_code_scores_the_same_on_either_view(grading_data, tmp_path):
    """The reference and a student-shaped submission, quick grades: every check passes on
    both views, and the confusion matrix comes back over the original classes."""
    for sub in (Path("reference").resolve(), FIXTURES / "student" / "softmax_decay"):
        for permute in (False, True):
            res = grade(sub, data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                        out=tmp_path / f"{sub.name}-{permute}", report=False, permute=permute)
            assert res["permuted"] is permute
            failed = [(c["name"], c["message"]) for c in res["checks"] if not c["passed"]]
            assert failed == [], (sub.name, permute, failed)


def test_the_view_is_a_permutation_stable_per_grade_and_different_between_grades(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "fresh"))  # a key made here, now
    a = for_grade((28, 28), 10, "alice", 0)
    assert np.array_equal(a.features, for_grade((28, 28), 10, "alice", 0).features)
    assert not np.array_equal(a.features, for_grade((28, 28), 10, "bob", 0).features)
    assert sorted(a.features) == list(range(784)) and sorted(a.classes) == list(range(10))
    assert (tmp_path / "fresh" / "grading.key").stat().st_mode & 0o077 == 0  # grader's alone
    colour = draw((3, 32, 32), 10, b"seed")
    planes = colour.features.reshape(3, 1024)
    assert np.array_equal(planes[1] - 1024, planes[0]) and np.array_equal(planes[2] - 2048,
                                                                           planes[0])
    x = np.arange(2 * 784).reshape(2, 784)
    w = a.inputs(x).T  # a first layer that copies its inputs, learned on the permuted view
    assert np.array_equal(a.restore_rows(w), x.T)
    confusion = np.diag(np.arange(10))
    permuted = confusion[np.ix_(np.argsort(a.classes), np.argsort(a.classes))]
    assert np.array_equal(a.restore_confusion(permuted), confusion)


@pytest.mark.parametrize("val, test, flagged", [(0.87, 0.999, True), (0.87, 0.88, False)])
def test_a_test_accuracy_far_above_validation_is_flagged(val, test, flagged):
    from harness.checks.accuracy import _margin
    assert (test - val > _margin(val, 10000, 10000)) is flagged


def _detector():
    import importlib.util
    path = FIXTURES / "hostile" / "probe_detector" / "harness_plugin.py"
    spec = importlib.util.spec_from_file_location("probe_detector_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_probe_detector_answers_a_small_fixed_probe_exactly():
    """What the graded probe is up against: at the old fixed signature (float64, batch 8,
    784-10-8-10) central differences are cheap and exact."""
    from harness.checks import numerics
    plugin = _detector()
    plugin.AFFORDABLE_SECONDS = 1e9  # its own timing of a pass decides nothing on a busy machine
    model = plugin.harness_build_model(input_dim=784, hidden_sizes=[10, 8], activation="relu",
                                       num_classes=10, seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    params = numerics.random_params([784, 10, 8, 10], rng)
    plugin.harness_set_params(model=model, params=params)
    x, y = rng.random((8, 784)), rng.integers(0, 10, 8)
    _, grads = plugin.harness_loss_and_grads(model=model, x=x, y=y, reg=0.0)
    _, exact = numerics.loss_and_grads(params, x, y, "relu", 0.0)
    for name, g in exact.items():
        assert np.linalg.norm(grads[name] - g) <= 1e-7 * np.linalg.norm(g), name


MODEL_CHECKS_ONLY = ("training", "checkpoint", "search", "test", "accuracy", "optimizer")


def test_the_gradient_check_probes_at_the_graded_shape_where_differences_cannot_answer(
        grading_data, tmp_path):
    res = grade(FIXTURES / "hostile" / "probe_detector", data_dir=str(grading_data),
                rubric_path=RUBRIC, out=tmp_path / "g", report=False,
                disabled_checks=MODEL_CHECKS_ONLY)
    check = _check(res, "gradient")
    assert not check["passed"]
    assert "b1, b2, b3: not averaged over the batch" in check["message"]
    probe = check["details"]["probe"]
    assert probe["batch"] == 128 and probe["hidden"] == [128, 64]  # the graded run's shape
    assert probe["dtype"] == "float32"  # the training split's dtype


def test_probes_are_secret_per_grade_and_stable_on_a_regrade(tmp_path, monkeypatch):
    from harness.data.permute import probe_seed
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "fresh"))
    assert probe_seed("alice", 0) == probe_seed("alice", 0)
    assert len({probe_seed("alice", 0), probe_seed("bob", 0), probe_seed("alice", 1)}) == 3
    mine = probe_seed("alice", 0)
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "another grader"))  # another key
    assert probe_seed("alice", 0) != mine


def test_a_training_step_that_does_not_follow_the_answered_gradient_is_caught(grading_data,
                                                                               tmp_path):
    res = grade(FIXTURES / "hostile" / "step_detector", data_dir=str(grading_data),
                rubric_path=RUBRIC, out=tmp_path / "g", report=False,
                disabled_checks=MODEL_CHECKS_ONLY)
    check = _check(res, "gradient")
    assert not check["passed"]
    assert "b1, b2, b3: the training step: not averaged over the batch" in check["message"]
    assert "(loss_and_grads right)" in check["message"]


def test_weights_fitted_to_the_public_test_set_are_flagged_for_the_instructor(grading_data,
                                                                               tmp_path):
    """On the published view (a debug grade), weights trained on the public test labels score
    far above their own validation accuracy: the accuracy check says so, with the numbers."""
    from reference.train import TrainConfig, train
    sub = tmp_path / "shipped_weights"
    shutil.copytree(FIXTURES / "hostile" / "shipped_weights", sub)
    d = load_dataset("fashion-mnist", str(grading_data))
    x, y = to_unit(d.x_test), d.y_test  # the public test set alone, memorized
    train(x, y, x, y, 10, TrainConfig(hidden_sizes=(64, 32), epochs=30, lr=0.1),
          sub / "weights.npz")
    res = grade(sub, data_dir=str(grading_data), rubric_path=RUBRIC, out=tmp_path / "p",
                report=False, permute=False)
    accuracy = _check(res, "accuracy")
    assert accuracy["details"]["suspicious"]
    assert "for the instructor:" in accuracy["message"] and "weights fitted to the test set" \
        in accuracy["message"]
    assert accuracy["details"]["test_accuracy"] - accuracy["details"]["val_accuracy"] > 0.1
