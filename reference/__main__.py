"""``python -m reference DATA_DIR``: train the reference on a dataset directory and report its
test accuracy, with nothing but NumPy (the harness is not needed).

The last ``--val`` images of a seeded shuffle of the training set are the validation split; the
best epoch by validation accuracy is saved and reloaded for the test.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from . import datasets, evaluate
from .train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__)
    parser.add_argument("data_dir", help="Fashion-MNIST files, or cifar-10-batches-py")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--val", type=int, default=10000, help="validation images")
    parser.add_argument("--checkpoint", default="reference-best.npz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x, y, x_test, y_test = datasets.load(args.data_dir)
    x = x.astype(np.float32) / 255
    order = np.random.default_rng(args.seed).permutation(len(x))
    val, tr = order[:args.val], order[args.val:]
    config = dataclasses.replace(TrainConfig(), epochs=args.epochs, seed=args.seed)

    def progress(r, eta):
        print(f"epoch {r['epoch']:>3}  train loss {r['train_loss']:.4f}  val acc "
              f"{r['val_acc']:.4f}  ({r['seconds']:.1f} s, about {eta:.0f} s left)")

    result = train(x[tr], y[tr], x[val], y[val], int(y.max()) + 1, config, args.checkpoint,
                   progress)
    acc = evaluate.test_accuracy(args.checkpoint, x_test.astype(np.float32) / 255, y_test)
    print(f"best epoch {result.best_epoch} (val {result.best_val_acc:.4f}) saved to "
          f"{args.checkpoint}; test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
