"""What makes a grade reusable: the submission's files, the rubric, the options, the harness.

A batch skips a submission whose fingerprint matches the one in its existing ``results.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from harness import __version__
from harness.files import SKIP_DIRS

MAX_HASHED_BYTES = 64 << 20  # a larger file counts by its size and time, not its content


def submission_fingerprint(sub: Path, rubric_text: str, options: dict) -> str:
    """A digest of everything that decides a grade. The harness's work is bounded by what it
    chooses: files are read in chunks, files over :data:`MAX_HASHED_BYTES` (a 20 GB sparse
    file, say) count by size and modification time, and symbolic links by their target's name,
    never followed."""
    h = hashlib.sha256()
    h.update(json.dumps([__version__, options], sort_keys=True, default=str).encode())
    h.update(rubric_text.encode())
    if sub.is_dir():
        for root, dirs, files in os.walk(sub, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(files):
                path = Path(root) / name
                h.update(str(path.relative_to(sub)).encode() + b"\0")
                h.update(_file_digest(path))
    return h.hexdigest()


def _file_digest(path: Path) -> bytes:
    if path.is_symlink():
        return b"link:" + os.readlink(path).encode()
    stat = path.stat()
    if stat.st_size > MAX_HASHED_BYTES:
        return f"large:{stat.st_size}:{stat.st_mtime_ns}".encode()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()
