"""Checkpoints: one ``.npz`` with the parameters as named arrays and metadata as JSON text.

No pickle: the file loads with ``allow_pickle=False``, and everything needed to rebuild the model
(sizes, activation, preprocessing) is inside, so nothing about the architecture is hard-coded by
whoever loads it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .preprocess import Standardizer

from .model import MLP

META_KEY = "__meta__"
MEAN_KEY, STD_KEY = "__preprocess_mean__", "__preprocess_std__"


def save(path: str | os.PathLike, model: MLP, standardizer: Standardizer | None,
         extra: dict | None = None) -> None:
    """Write atomically, so a crash mid-save never leaves a half-written best checkpoint."""
    path = Path(path)
    meta = {
        "format": "harness-reference-mlp/1",
        "sizes": model.sizes,
        "activation": model.activation,
        "preprocessing": {"scale": "x / 255", "standardize": standardizer is not None},
        **(extra or {}),
    }
    arrays = dict(model.params)
    arrays[META_KEY] = np.array(json.dumps(meta))
    if standardizer is not None:
        arrays[MEAN_KEY], arrays[STD_KEY] = standardizer.mean, standardizer.std
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike) -> tuple[MLP, Standardizer | None, dict]:
    """The model, its input standardizer (None if it used none) and the metadata."""
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f[META_KEY]))
        sizes = meta["sizes"]
        model = MLP(sizes[0], sizes[1:-1], sizes[-1], meta["activation"])
        for name, expected in model.params.items():
            if name not in f.files or f[name].shape != expected.shape:
                raise ValueError(f"{path}: parameter {name} is missing or not {expected.shape}")
            model.params[name] = f[name]
        standardizer = Standardizer(f[MEAN_KEY], f[STD_KEY]) if MEAN_KEY in f.files else None
    return model, standardizer, meta
