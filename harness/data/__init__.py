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
    "find_dataset", "load_dataset", "to_unit", "train_val_split",
]


def find_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where dataset ``name`` would be read from (Fashion-MNIST: the directory of its four files;
    CIFAR-10: its batches directory or tarball), without reading it; or raise
    :class:`DataError` saying where it looked and what to do."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    module = fashion_mnist if name == fashion_mnist.NAME else cifar10
    tried = []
    for origin, directory in candidate_dirs(name, data_dir):
        if name == fashion_mnist.NAME:
            source = directory if fashion_mnist.find_files(directory) is not None else None
        else:
            source = cifar10.find_source(directory)
        if source is not None:
            return source
        tried.append(f"  {directory} ({origin}): {module.missing_in(directory)}")
    raise DataError(f"{module.TITLE} not found. Looked in:\n" + "\n".join(tried) + "\n"
                    + module.HOW_TO_GET)


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load dataset ``name``, or raise :class:`DataError` saying where it looked and what to do."""
    source = find_dataset(name, data_dir)
    if name == fashion_mnist.NAME:
        files = fashion_mnist.find_files(source)
        arrays, meta = load_or_build(name, [files[k] for k in fashion_mnist.FILES],
                                     lambda: fashion_mnist.parse(files))
        shape, classes = (28, 28), fashion_mnist.CLASSES
    else:
        arrays, meta = load_or_build(name, cifar10.source_files(source),
                                     lambda: cifar10.parse(source))
        shape, classes = cifar10.IMAGE_SHAPE, cifar10.CLASSES
    return Dataset(name, arrays["x_train"], arrays["y_train"], arrays["x_test"],
                   arrays["y_test"], shape, classes, source, meta["verified"])
