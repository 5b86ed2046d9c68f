"""CIFAR-10 from the official ``cifar-10-batches-py`` directory or ``cifar-10-python.tar.gz``.

The batches are pickles. They are read with an unpickler that resolves only the globals a pickled
uint8 numpy array needs, so a hostile file cannot run code; anything else is a :class:`DataError`.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .errors import DataError

NAME = "cifar10"
TITLE = "CIFAR-10"
CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
DIRNAME = "cifar-10-batches-py"
TARBALL = "cifar-10-python.tar.gz"
TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
IMAGE_SHAPE = (3, 32, 32)
HOW_TO_GET = (
    f"Download {TARBALL} from https://www.cs.toronto.edu/~kriz/cifar.html (or run "
    "`harness data get cifar10`), then pass --data-dir DIR where DIR holds the tarball or its "
    f"unpacked {DIRNAME}/ directory (or set $HARNESS_DATA)."
)

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell byte strings
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of CIFAR-10")


def find_source(directory: Path) -> Path | None:
    """The tarball or batches directory inside (or equal to) ``directory``, if any."""
    for candidate in (directory / DIRNAME, directory):
        if all((candidate / b).is_file() for b in (*TRAIN_BATCHES, TEST_BATCH)):
            return candidate
    tarball = directory / TARBALL
    return tarball if tarball.is_file() else None


def missing_in(directory: Path) -> str:
    if not directory.is_dir():
        return "no such directory"
    return f"neither {DIRNAME}/ (with data_batch_1..5 and test_batch) nor {TARBALL}"


def source_files(source: Path) -> list[Path]:
    """The files whose change invalidates the cache for ``source``."""
    if source.is_dir():
        return [source / b for b in (*TRAIN_BATCHES, TEST_BATCH)]
    return [source]


def _unpickle_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means a damaged or foreign file
        raise DataError(f"{where}: not a readable CIFAR-10 batch ({exc})") from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{where}: not a CIFAR-10 batch (expected a dict with b'data', b'labels')")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        raise DataError(f"{where}: b'data' must be a uint8 array of shape (N, 3072)")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{where}: {len(data)} images but labels of shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DataError(f"{where}: labels outside 0-9")
    return data, labels.astype(np.int64)


def _read_members(source: Path) -> dict[str, bytes]:
    wanted = (*TRAIN_BATCHES, TEST_BATCH)
    if source.is_dir():
        return {b: (source / b).read_bytes() for b in wanted}
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                name = Path(member.name).name
                if member.isfile() and name in wanted and Path(member.name).parent.name == DIRNAME:
                    f = tar.extractfile(member)
                    if f is not None:
                        members[name] = f.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{source}: damaged or truncated tarball ({exc}). {HOW_TO_GET}") from exc
    absent = [b for b in wanted if b not in members]
    if absent:
        raise DataError(f"{source}: the tarball lacks {DIRNAME}/{', '.join(absent)}")
    return members


def parse(source: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read all six batches; check the tarball's MD5 when it holds the official sample counts."""
    members = _read_members(source)
    train = [_unpickle_batch(members[b], f"{source}:{b}") for b in TRAIN_BATCHES]
    x_test, y_test = _unpickle_batch(members[TEST_BATCH], f"{source}:{TEST_BATCH}")
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    official = len(x_train) == 50000 and len(x_test) == 10000
    if official and source.is_file():
        digest = hashlib.md5(source.read_bytes()).hexdigest()
        if digest != TARBALL_MD5:
            raise DataError(
                f"{source}: MD5 {digest} differs from the official {TARBALL_MD5}; the tarball "
                f"is corrupt or not the official one. {HOW_TO_GET}"
            )
        verified = "md5 of the official tarball"
    elif official:
        verified = "structure only: no checksum is published for the unpacked batches"
    else:
        verified = "structure only: not the official sample counts"
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return arrays, {"verified": verified}
