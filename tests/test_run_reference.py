import json

import numpy as np
import pytest

from conftest import real_fashion_mnist
from fakedata import write_cifar10
from harness.cli import main
from reference import evaluate


def test_run_reference_end_to_end(fmnist_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run-reference", "--data-dir", str(fmnist_dir), "--out", str(out),
                 "--epochs", "3", "--json"])
    assert code == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert "epoch   3/3" in captured.err and "ETA" in captured.err
    results = json.loads((out / "results.json").read_text())
    assert printed["test_accuracy"] == results["test_accuracy"]
    assert results["test_accuracy"] > 0.4 and results["epochs_run"] == 3
    assert len(results["history"]) == 3
    assert results["best_val_acc"] == max(r["val_acc"] for r in results["history"])
    assert results["checkpoint_epoch"] == results["best_epoch"]
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The reported test accuracy is what the saved checkpoint scores, recomputed here.
    from harness.data import load_dataset, to_unit
    d = load_dataset("fashion-mnist", fmnist_dir)
    acc = np.mean(evaluate.predict(out / "best.npz", to_unit(d.x_test)) == d.y_test)
    assert acc == pytest.approx(results["test_accuracy"])


def test_run_reference_with_search(fmnist_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run-reference", "--data-dir", str(fmnist_dir), "--out", str(out),
                 "--epochs", "2", "--search"]) == 0
    results = json.loads((out / "results.json").read_text())
    trials = results["search"]["trials"]
    assert len(trials) == 12 and (out / "search" / "search.csv").is_file()
    best = results["search"]["best"]
    assert results["train_config"]["lr"] == best["lr"] and results["train_config"]["reg"] == best["reg"]
    assert results["train_config"]["hidden_sizes"] == best["hidden_sizes"]


def test_run_reference_on_cifar10_layout(tmp_path):
    write_cifar10(tmp_path / "c", per_batch=60, tarball=True)
    out = tmp_path / "out"
    assert main(["run-reference", "--dataset", "cifar10", "--data-dir", str(tmp_path / "c"),
                 "--out", str(out), "--epochs", "2"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["dataset"] == "cifar10" and results["train_config"]["hidden_sizes"] == [1024, 512]


def test_missing_dataset_exits_2_with_the_way_to_get_it(tmp_path, capsys):
    assert main(["run-reference", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Fashion-MNIST not found" in err and "harness data get fashion-mnist" in err


@pytest.mark.realdata
def test_real_fashion_mnist_short_run(tmp_path):
    data_dir = real_fashion_mnist()
    out = tmp_path / "out"
    assert main(["run-reference", "--data-dir", str(data_dir), "--out", str(out),
                 "--epochs", "1"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] > 0.8  # one epoch of the reference recipe
