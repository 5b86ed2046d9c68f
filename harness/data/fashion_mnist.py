"""Fashion-MNIST from its four official IDX files, gzipped or raw."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError
from .idx import parse_idx

NAME = "fashion-mnist"
TITLE = "Fashion-MNIST"
CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# SHA-256 of the *decompressed* official files. Debian re-gzipped them, so the .gz hashes differ
# from upstream's while the bytes inside are identical: always hash what is inside.
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
OFFICIAL_COUNT = {"x_train": 60000, "y_train": 60000, "x_test": 10000, "y_test": 10000}
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
HOW_TO_GET = (
    "Get it one of two ways:\n"
    "  - on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
    "    (installs the files in /usr/share/datasets/fashion-mnist, found automatically)\n"
    "  - anywhere with internet access: harness data get fashion-mnist\n"
    f"    (downloads the official files from {URL})\n"
    "Or pass --data-dir DIR (or set $HARNESS_DATA) where the four IDX files already are."
)


def find_files(directory: Path) -> dict[str, Path] | None:
    """The four files in ``directory`` (each ``.gz`` or raw), or None if any is missing."""
    found = {}
    for key, base in FILES.items():
        for candidate in (directory / f"{base}.gz", directory / base):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def missing_in(directory: Path) -> str:
    """What :func:`find_files` lacks in ``directory``, in words."""
    if not directory.is_dir():
        return "no such directory"
    missing = [b for b in FILES.values() if not (directory / b).is_file()
               and not (directory / f"{b}.gz").is_file()]
    return "missing " + ", ".join(f"{m}[.gz]" for m in missing)


def read_bytes(path: Path) -> bytes:
    """The decompressed content of ``path``; a damaged gzip stream is a :class:`DataError`."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            f"{path}: the gzip stream is damaged ({exc}). Delete the file and get it again.\n"
            + HOW_TO_GET
        ) from exc


def parse(files: dict[str, Path]) -> tuple[dict[str, np.ndarray], dict]:
    """Parse and verify the four files; return arrays and a note on how they were verified.

    Files with the official sample counts must match the official checksums (a silent bit flip
    is corruption). Smaller files, such as the generated ones the tests use, pass the structural
    checks only, and the note says so.
    """
    arrays: dict[str, np.ndarray] = {}
    official = True
    for key, path in files.items():
        raw = read_bytes(path)
        array = parse_idx(raw, str(path))
        if array.shape[0] == OFFICIAL_COUNT[key]:
            digest = hashlib.sha256(raw).hexdigest()
            if digest != SHA256[FILES[key]]:
                raise DataError(
                    f"{path}: checksum mismatch (sha256 of the decompressed bytes is {digest}, "
                    f"the official file's is {SHA256[FILES[key]]}). The file is corrupt or not "
                    "the official one; delete it and get it again.\n" + HOW_TO_GET
                )
        else:
            official = False
        arrays[key] = array
    _check_structure(arrays, files)
    arrays["y_train"] = arrays["y_train"].astype(np.int64)
    arrays["y_test"] = arrays["y_test"].astype(np.int64)
    arrays["x_train"] = arrays["x_train"].reshape(len(arrays["x_train"]), -1)
    arrays["x_test"] = arrays["x_test"].reshape(len(arrays["x_test"]), -1)
    verified = (
        "sha256 of the decompressed official files"
        if official
        else "structure only: not the official file sizes, so no published checksum applies"
    )
    return arrays, {"verified": verified}


def _check_structure(arrays: dict[str, np.ndarray], files: dict[str, Path]) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{files[f'x_{split}']}: images of shape {x.shape[1:]}, expected 28x28")
        if y.ndim != 1:
            raise DataError(f"{files[f'y_{split}']}: labels must be one-dimensional, got {y.shape}")
        if len(x) != len(y):
            raise DataError(
                f"{files[f'x_{split}']} holds {len(x)} images but {files[f'y_{split}']} "
                f"holds {len(y)} labels"
            )
        if len(y) and y.max() >= len(CLASSES):
            raise DataError(f"{files[f'y_{split}']}: label {int(y.max())} is out of range 0-9")
