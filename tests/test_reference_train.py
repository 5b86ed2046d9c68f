import dataclasses

import numpy as np
import pytest

from harness.data import load_dataset, to_unit, train_val_split
from reference import checkpoint, evaluate, search
from reference.optim import SGD, Schedule
from reference.train import TrainConfig, train

SMALL = TrainConfig(hidden_sizes=(32, 16), lr=0.05, momentum=0.9, epochs=4, batch_size=32)


@pytest.fixture
def split(fmnist_dir):
    d = load_dataset("fashion-mnist", fmnist_dir)
    return train_val_split(to_unit(d.x_train), d.y_train, 150, seed=0), d


def test_training_learns_and_records_history(split, tmp_path):
    s, _ = split
    result = train(*s.arrays, 10, SMALL, tmp_path / "best.npz")
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]
    assert set(result.history[0]) == {"epoch", "train_loss", "val_loss", "val_acc", "lr",
                                      "seconds"}
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.best_val_acc > 0.4  # chance is 0.1
    assert [r["lr"] for r in result.history] == pytest.approx([0.05 * 0.97**e for e in range(4)])


def test_checkpoint_round_trip_predicts_identically(split, tmp_path):
    s, d = split
    result = train(*s.arrays, 10, dataclasses.replace(SMALL, epochs=2), tmp_path / "best.npz")
    _, standardizer, _ = checkpoint.load(tmp_path / "best.npz")
    checkpoint.save(tmp_path / "last.npz", result.model, standardizer, {"epoch": 2})
    model, loaded_standardizer, meta = checkpoint.load(tmp_path / "last.npz")
    assert meta["sizes"] == [784, 32, 16, 10] and meta["activation"] == "relu"
    assert meta["preprocessing"]["standardize"] is True and meta["epoch"] == 2
    assert all(np.array_equal(model.params[k], v) for k, v in result.model.params.items())
    assert np.array_equal(loaded_standardizer.mean, standardizer.mean)
    x = to_unit(d.x_test)
    assert np.array_equal(evaluate.predict(tmp_path / "last.npz", x),
                          result.model.predict(standardizer(x)))
    with np.load(tmp_path / "last.npz", allow_pickle=False) as f:  # no pickle needed to read it
        assert {"W1", "b1", "W3", "b3"} <= set(f.files)


def test_saved_checkpoint_is_the_best_not_the_last(split, tmp_path):
    s, _ = split
    # A step schedule that multiplies the lr by 40 after two epochs wrecks the late epochs.
    config = dataclasses.replace(SMALL, epochs=5, lr_decay="step", decay_rate=40.0, step_every=2,
                                 momentum=0.0, lr=0.05)
    result = train(*s.arrays, 10, config, tmp_path / "best.npz")
    accs = [r["val_acc"] for r in result.history]
    assert result.best_epoch < len(result.history) and accs[-1] < max(accs)
    _, _, meta = checkpoint.load(tmp_path / "best.npz")
    assert meta["epoch"] == result.best_epoch
    saved_acc = np.mean(evaluate.predict(tmp_path / "best.npz", s.x_val) == s.y_val)
    assert saved_acc == pytest.approx(max(accs))
    assert saved_acc != pytest.approx(accs[-1])


def test_wall_time_budget_stops_training(split, tmp_path):
    s, _ = split
    result = train(*s.arrays, 10, dataclasses.replace(SMALL, epochs=1000, max_seconds=0.5),
                   tmp_path / "best.npz")
    assert result.stopped_by == "max_seconds" and len(result.history) < 1000


def test_sgd_step_and_momentum():
    p = {"W": np.array([1.0, 2.0])}
    SGD().step(p, {"W": np.array([1.0, -1.0])}, lr=0.1)
    assert np.allclose(p["W"], [0.9, 2.1])
    opt, q = SGD(momentum=0.5), {"W": np.array([0.0])}
    opt.step(q, {"W": np.array([1.0])}, lr=1.0)
    opt.step(q, {"W": np.array([1.0])}, lr=1.0)
    assert np.allclose(q["W"], [-1.0 - 1.5])


def test_schedules():
    assert Schedule(1.0, "step", 0.5, 3)(5) == 0.5 and Schedule(1.0, "step", 0.5, 3)(6) == 0.25
    assert Schedule(1.0, "exponential", 0.9)(2) == pytest.approx(0.81)
    assert Schedule(0.3, "constant")(100) == 0.3
    assert Schedule(1.0, "cosine", epochs=4)(0) == 1.0
    assert Schedule(1.0, "cosine", epochs=4)(2) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        Schedule(1.0, "linear")


def test_search_records_every_trial_and_picks_the_best(split, tmp_path):
    s, _ = split
    trials = search.grid_trials([0.001, 0.05], [(16,), (32, 16)], [1e-4])
    base = dataclasses.replace(SMALL, epochs=2)
    records, best = search.search(*s.arrays, 10, base, trials, tmp_path)
    assert len(records) == 4
    assert best["best_val_acc"] == max(r["best_val_acc"] for r in records)
    assert {tuple(r["hidden_sizes"]) for r in records} == {(16,), (32, 16)}
    csv_lines = (tmp_path / "search.csv").read_text().splitlines()
    assert csv_lines[0].startswith("trial,lr,hidden_sizes,reg,best_val_acc")
    assert len(csv_lines) == 5
    assert (tmp_path / "search.json").is_file()
    assert all((tmp_path / "trials" / f"trial-{i:03d}.npz").is_file() for i in range(1, 5))


def test_random_search_draws_within_the_given_ranges():
    trials = search.random_trials([0.01, 0.1], [(8,), (16,)], [1e-5, 1e-3], n=20, seed=1)
    assert len(trials) == 20
    assert all(0.01 <= t["lr"] <= 0.1 and 1e-5 <= t["reg"] <= 1e-3 for t in trials)
    assert len({t["lr"] for t in trials}) == 20


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_search_marks_diverged_trials_and_never_picks_them(split, tmp_path):
    s, _ = split
    trials = search.grid_trials([0.05, 1e6], [(16,)], [1e-4])
    base = dataclasses.replace(SMALL, epochs=2)
    records, best = search.search(*s.arrays, 10, base, trials, tmp_path)
    assert [r["status"] for r in records] == ["ok", "diverged"]
    assert best["lr"] == 0.05
    assert "status" in (tmp_path / "search.csv").read_text().splitlines()[0]
