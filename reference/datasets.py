"""Reading the datasets from their official files, with NumPy and the standard library only.

Fashion-MNIST: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (IDX: a big-endian header
of dimensions, then uint8 pixels). CIFAR-10: ``cifar-10-batches-py/`` (pickled dicts of
``b"data"`` (10000, 3072) uint8 and ``b"labels"``), also the official Python 2 pickles.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


def _idx(path: Path) -> np.ndarray:
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{stem}[.gz] not found in {directory}")


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    return np.asarray(d[b"data"], np.uint8), np.asarray(d[b"labels"], np.int64)


def load(directory: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train (N, D) uint8, y_train (N,), x_test (M, D) uint8, y_test (M,))`` from a
    Fashion-MNIST directory or a CIFAR-10 one (``cifar-10-batches-py`` or its parent)."""
    d = Path(directory)
    if (d / "cifar-10-batches-py").is_dir():
        d = d / "cifar-10-batches-py"
    if (d / "test_batch").is_file():
        parts = [_cifar_batch(d / f"data_batch_{i}") for i in range(1, 6)]
        x_test, y_test = _cifar_batch(d / "test_batch")
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                x_test, y_test)
    x_train, x_test = (_idx(_find(d, f"{s}-images-idx3-ubyte")) for s in ("train", "t10k"))
    y_train, y_test = (_idx(_find(d, f"{s}-labels-idx1-ubyte")) for s in ("train", "t10k"))
    return (x_train.reshape(len(x_train), -1), y_train.astype(np.int64),
            x_test.reshape(len(x_test), -1), y_test.astype(np.int64))
