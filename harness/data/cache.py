"""A parsed-array cache: ``.npy`` files keyed by the source files' path, size and mtime.

Parsing (decompress, verify checksums) happens once per source; later loads read ``.npy`` files.
A changed source (size or modification time) invalidates its entry; a cache that cannot be written
(read-only home, full disk) only costs speed. Every array's SHA-256 is in the manifest and checked
on each read, so a damaged or tampered entry is rebuilt from the source, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .locate import cache_root

Arrays = dict[str, np.ndarray]


def fingerprint(files: list[Path]) -> list[list]:
    """What identifies a source: each file's resolved path, size and mtime in nanoseconds."""
    out = []
    for f in files:
        st = f.stat()
        out.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    return out


def _entry_dir(name: str, files: list[Path]) -> Path:
    where = "\n".join(str(f.resolve()) for f in files)
    return cache_root() / "parsed" / f"{name}-{hashlib.sha1(where.encode()).hexdigest()[:12]}"


def load_or_build(
    name: str, files: list[Path], build: Callable[[], tuple[Arrays, dict]]
) -> tuple[Arrays, dict]:
    """Arrays and metadata for ``files``: from the cache when it is current, else from ``build``."""
    entry = _entry_dir(name, files)
    key = fingerprint(files)
    manifest_path = entry / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest["fingerprint"] == key:
            arrays = {k: np.load(entry / f"{k}.npy", allow_pickle=False) for k in manifest["arrays"]}
            if {k: _digest(v) for k, v in arrays.items()} == manifest["sha256"]:
                return arrays, manifest["meta"]
            warnings.warn(f"the cached {name} in {entry} does not match its checksums; "
                          "rebuilding it from the source files", stacklevel=2)
    except (OSError, ValueError, KeyError):
        pass  # absent, stale or damaged: rebuild below
    arrays, meta = build()
    try:
        _write(entry, arrays, {"fingerprint": key, "arrays": sorted(arrays), "meta": meta,
                               "sha256": {k: _digest(v) for k, v in arrays.items()}})
    except OSError as exc:
        warnings.warn(f"could not cache parsed {name} in {entry}: {exc}", stacklevel=2)
    return arrays, meta


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def _write(entry: Path, arrays: Arrays, manifest: dict) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=entry.name + ".tmp"))
    try:
        for k, v in arrays.items():
            np.save(tmp / f"{k}.npy", v, allow_pickle=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
