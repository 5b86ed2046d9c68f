"""Where datasets are looked for, in one documented order."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def cache_root() -> Path:
    """The user cache directory (``$HARNESS_CACHE`` overrides it, e.g. for tests)."""
    override = os.environ.get("HARNESS_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("harness"))


def candidate_dirs(dataset: str, data_dir: str | os.PathLike | None) -> list[tuple[str, Path]]:
    """Directories to search for ``dataset``, first match wins, each with where it came from.

    An explicit ``data_dir`` is the only candidate: a user who names a directory means it.
    Otherwise: ``$HARNESS_DATA``, the user cache dir (where ``harness data get`` puts files),
    then, for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package.
    Each directory is tried as is and with a ``<dataset>/`` subdirectory.
    """
    if data_dir is not None:
        roots = [("--data-dir", Path(data_dir))]
    else:
        roots = []
        env = os.environ.get("HARNESS_DATA")
        if env:
            roots.append(("$HARNESS_DATA", Path(env)))
        roots.append(("user cache", cache_root() / dataset))
        if dataset == "fashion-mnist":
            roots.append(("Debian package", DEBIAN_FASHION_MNIST))
    found: list[tuple[str, Path]] = []
    for origin, root in roots:
        found.append((origin, root))
        if root.name != dataset:
            found.append((origin, root / dataset))
    return found
