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
