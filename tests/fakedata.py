"""Small datasets in the real on-disk formats, learnable so that training tests mean something.

Every class is a fixed random template; an image is its class template plus noise.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from harness.data.idx import encode_idx


def _images(n: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(1234).random((10, *shape)) * 100 + 60
    y = rng.integers(0, 10, n)
    x = templates[y] + rng.normal(0, 120, (n, *shape))
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.uint8)


def write_fashion_mnist(directory: Path, n_train: int = 600, n_test: int = 200,
                        gz: bool = True) -> Path:
    """The four IDX files, gzipped or raw, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = _images(n, (28, 28), seed)
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            raw = encode_idx(arr)
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (directory / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (directory / name).write_bytes(raw)
    return directory


def cifar_batch(n: int, seed: int) -> bytes:
    x, y = _images(n, (3072,), seed)
    return pickle.dumps({b"batch_label": b"fake", b"labels": [int(v) for v in y],
                         b"data": x, b"filenames": [b"x.png"] * n}, protocol=2)


def write_cifar10(directory: Path, per_batch: int = 100, tarball: bool = False) -> Path:
    """``cifar-10-batches-py/`` (or ``cifar-10-python.tar.gz``) inside ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    blobs = {name: cifar_batch(per_batch, seed) for seed, name in enumerate(names)}
    meta = pickle.dumps({b"label_names": [b"c%d" % i for i in range(10)]}, protocol=2)
    blobs["batches.meta"] = meta
    if tarball:
        with tarfile.open(directory / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, blob in blobs.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    else:
        sub = directory / "cifar-10-batches-py"
        sub.mkdir(exist_ok=True)
        for name, blob in blobs.items():
            (sub / name).write_bytes(blob)
    return directory
