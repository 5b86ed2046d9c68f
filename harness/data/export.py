"""A training/validation split in a dataset's official on-disk format.

For submissions whose training loop reads the dataset files with its own loader and
preprocessing (declared ``data="files"``): the harness writes *its* training split as the
training files and *its* validation split in the place of the test files, so the student's code
runs unchanged, the checks stay exact, and the real test labels never reach the submission.
"""

from __future__ import annotations

import gzip
import pickle

import numpy as np

from . import cifar10, fashion_mnist
from .idx import encode_idx


def to_bytes(x: np.ndarray) -> np.ndarray:
    """Inputs scaled to [0, 1] back to the uint8 pixels they came from (exact: x = pixel/255)."""
    return np.rint(np.asarray(x, np.float64) * 255).clip(0, 255).astype(np.uint8)


def split_files(dataset: str, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                y_val: np.ndarray) -> dict[str, bytes]:
    """The split's files, by path inside the directory handed over: Fashion-MNIST as the four
    IDX files, both raw and ``.gz``; CIFAR-10 as ``cifar-10-batches-py/...``. Bytes, not a
    writer: where they go is the caller's to make safe."""
    files: dict[str, bytes] = {}
    if dataset == fashion_mnist.NAME:
        for prefix, x, y in (("train", x_train, y_train), ("t10k", x_val, y_val)):
            images = to_bytes(x).reshape(len(x), 28, 28)
            for kind, arr in (("images-idx3", images), ("labels-idx1", y.astype(np.uint8))):
                raw = encode_idx(arr)
                name = f"{prefix}-{kind}-ubyte"
                files[name] = raw
                files[f"{name}.gz"] = gzip.compress(raw, compresslevel=1)
        return files
    if dataset == cifar10.NAME:
        pixels = to_bytes(x_train).reshape(len(x_train), -1)
        for i, part in enumerate(np.array_split(np.arange(len(x_train)), 5), start=1):
            files[f"{cifar10.DIRNAME}/data_batch_{i}"] = _cifar_batch(
                pixels[part], y_train[part], f"training batch {i} of 5")
        files[f"{cifar10.DIRNAME}/{cifar10.TEST_BATCH}"] = _cifar_batch(
            to_bytes(x_val).reshape(len(x_val), -1), y_val, "testing batch 1 of 1")
        meta = {b"label_names": [c.encode() for c in cifar10.CLASSES],
                b"num_cases_per_batch": 10000, b"num_vis": 3072}
        files[f"{cifar10.DIRNAME}/batches.meta"] = pickle.dumps(meta, protocol=2)
        return files
    raise ValueError(f"unknown dataset {dataset!r}")


def _cifar_batch(pixels: np.ndarray, labels: np.ndarray, label: str) -> bytes:
    batch = {b"batch_label": label.encode(), b"labels": [int(v) for v in labels],
             b"data": pixels, b"filenames": [b"image.png"] * len(pixels)}
    return pickle.dumps(batch, protocol=2)
