"""Datasets: the one place the harness reads data files.

``load_dataset("fashion-mnist" | "cifar10", data_dir=None)`` finds the files (see
:func:`harness.data.locate.candidate_dirs` for the search order), verifies and parses them once,
caches the parsed arrays, and returns a :class:`Dataset` of raw uint8 images.
:mod:`harness.data.prepare` turns those into a validation split and model inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import cifar10, fashion_mnist
from .cache import load_or_build
from .dataset import Dataset
from .errors import DataError
from .locate import candidate_dirs
from .prepare import Split, to_unit, train_val_split

DATASETS = (fashion_mnist.NAME, cifar10.NAME)
DEFAULT_VAL_SIZE = {fashion_mnist.NAME: 10000, cifar10.NAME: 5000}

__all__ = [
    "DATASETS", "DEFAULT_VAL_SIZE", "DataError", "Dataset", "Split",
    "load_dataset", "to_unit", "train_val_split",
]


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load dataset ``name``, or raise :class:`DataError` saying where it looked and what to do."""
    if name == fashion_mnist.NAME:
        return _load_fashion_mnist(data_dir)
    if name == cifar10.NAME:
        return _load_cifar10(data_dir)
    raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def _not_found(title: str, tried: list[str], how_to_get: str) -> DataError:
    return DataError(f"{title} not found. Looked in:\n" + "\n".join(tried) + "\n" + how_to_get)


def _load_fashion_mnist(data_dir) -> Dataset:
    tried = []
    for origin, directory in candidate_dirs(fashion_mnist.NAME, data_dir):
        files = fashion_mnist.find_files(directory)
        if files is None:
            tried.append(f"  {directory} ({origin}): {fashion_mnist.missing_in(directory)}")
            continue
        ordered = [files[k] for k in fashion_mnist.FILES]
        arrays, meta = load_or_build(fashion_mnist.NAME, ordered,
                                     lambda: fashion_mnist.parse(files))
        return Dataset(fashion_mnist.NAME, arrays["x_train"], arrays["y_train"],
                       arrays["x_test"], arrays["y_test"], (28, 28), fashion_mnist.CLASSES,
                       directory, meta["verified"])
    raise _not_found("Fashion-MNIST", tried, fashion_mnist.HOW_TO_GET)


def _load_cifar10(data_dir) -> Dataset:
    tried = []
    for origin, directory in candidate_dirs(cifar10.NAME, data_dir):
        source = cifar10.find_source(directory)
        if source is None:
            tried.append(f"  {directory} ({origin}): {cifar10.missing_in(directory)}")
            continue
        arrays, meta = load_or_build(cifar10.NAME, cifar10.source_files(source),
                                     lambda: cifar10.parse(source))
        return Dataset(cifar10.NAME, arrays["x_train"], arrays["y_train"], arrays["x_test"],
                       arrays["y_test"], cifar10.IMAGE_SHAPE, cifar10.CLASSES,
                       Path(source), meta["verified"])
    raise _not_found("CIFAR-10", tried, cifar10.HOW_TO_GET)
