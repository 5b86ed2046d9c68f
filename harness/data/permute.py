"""A secret view of the data: input features and class ids permuted the same way in every split.

A fully connected network learns a pixel-permuted, relabelled image set exactly as well as the
original (its first layer has no notion of neighbourhood, its last none of class order), so
honest training is unaffected. Anything brought in from outside the graded run is not: weights
trained on the public data, a lookup of the public test images, hard-coded labels are worth
chance on the permuted view. The permutation is drawn from a key the grader keeps (never in the
worker's reach: the cache directory is hidden from it) and the grade's seed and submission, so a
regrade sees the same view and two submissions see different ones.

For colour images (``(3, 32, 32)``, channel-major) the 1,024 positions are permuted the same way
in each channel, so per-channel preprocessing still works.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .locate import cache_root

KEY_FILE = "grading.key"


@dataclass(frozen=True)
class Permutation:
    """Permuted column ``i`` holds original feature ``features[i]``; original class ``c`` is
    called ``classes[c]``."""

    features: np.ndarray
    classes: np.ndarray

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, D)`` in the permuted feature order (a copy)."""
        return np.ascontiguousarray(x[:, self.features])

    def labels(self, y: np.ndarray) -> np.ndarray:
        return self.classes[np.asarray(y)].astype(np.asarray(y).dtype, copy=False)

    def restore_rows(self, w: np.ndarray) -> np.ndarray:
        """A first layer's weights ``(D, H)`` learned on the permuted view, in the original
        feature order (for drawing them as images)."""
        out = np.empty_like(w)
        out[self.features] = w
        return out

    def restore_confusion(self, confusion: np.ndarray) -> np.ndarray:
        """A confusion matrix over permuted class ids, over the original ones."""
        return confusion[np.ix_(self.classes, self.classes)]


def draw(image_shape: tuple[int, ...], num_classes: int, seed: bytes) -> Permutation:
    """The permutation for ``seed``: features per :data:`image_shape` (positions shared by the
    channels of a colour image), and classes."""
    rng = np.random.default_rng(np.frombuffer(hashlib.sha256(seed).digest(), np.uint32))
    if len(image_shape) == 3:  # channel-major colour: the same positions in every channel
        channels, plane = image_shape[0], int(np.prod(image_shape[1:]))
        positions = rng.permutation(plane)
        features = np.concatenate([c * plane + positions for c in range(channels)])
    else:
        features = rng.permutation(int(np.prod(image_shape)))
    return Permutation(features, rng.permutation(num_classes))


def grading_key(root: Path | None = None) -> bytes:
    """The grader's key, made once (32 random bytes, readable by the grader alone) in the
    cache directory, which no submission can read."""
    path = Path(root or cache_root()) / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    try:
        os.link(tmp, path)  # atomic, and the first writer wins when two grades race
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


def _secret(message: str) -> bytes:
    return hmac.new(grading_key(), message.encode(), "sha256").digest()


def for_grade(image_shape: tuple[int, ...], num_classes: int, submission: str,
              seed: int) -> Permutation:
    """The view one grade uses: from the grader's key, the submission's name and the seed."""
    return draw(image_shape, num_classes, _secret(f"{submission}\0{seed}"))


def probe_seed(submission: str, seed: int) -> int:
    """A seed for the checks' probes (:mod:`harness.checks.probes`), secret like the view: from
    the grader's key, the submission's name and the seed, so it differs between grades and
    repeats on a regrade."""
    return int.from_bytes(_secret(f"probe\0{submission}\0{seed}")[:8], "little")
