"""``harness data get``: fetch the official files into the user cache and verify them."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from . import cifar10, fashion_mnist
from .errors import DataError
from .fashion_mnist import read_bytes
from .locate import cache_root

TIMEOUT_S = 15


def _fetch(url: str, dest: Path, how_to_get: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
        raise DataError(f"could not download {url}: {exc}\n{how_to_get}") from exc


def get_fashion_mnist(dest: Path | None = None, url: str | None = None,
                      sha256: dict[str, str] = fashion_mnist.SHA256) -> Path:
    """Download the four files into ``dest`` (default: the user cache), verified, and return it.

    ``url`` is the directory URL of a mirror (default: upstream's). Each file lands under its
    final name only once its decompressed bytes match ``sha256``.
    """
    base_url = url or fashion_mnist.URL
    dest = dest or cache_root() / fashion_mnist.NAME
    dest.mkdir(parents=True, exist_ok=True)
    for base in fashion_mnist.FILES.values():
        final = dest / f"{base}.gz"
        if final.is_file() and hashlib.sha256(read_bytes(final)).hexdigest() == sha256[base]:
            continue
        with tempfile.TemporaryDirectory(dir=dest) as tmp:
            part = Path(tmp) / f"{base}.gz"
            _fetch(base_url + f"{base}.gz", part, fashion_mnist.HOW_TO_GET)
            digest = hashlib.sha256(read_bytes(part)).hexdigest()
            if digest != sha256[base]:
                raise DataError(
                    f"downloaded {base}.gz does not match the official checksum "
                    f"({digest} != {sha256[base]}); nothing was saved. Try again."
                )
            os.replace(part, final)
    return dest


def get_cifar10(dest: Path | None = None, url: str | None = None,
                md5: str = cifar10.TARBALL_MD5) -> Path:
    """Download the official tarball (or ``url``, a mirror's) into ``dest``, verified."""
    url = url or cifar10.URL
    dest = dest or cache_root() / cifar10.NAME
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / cifar10.TARBALL
    if final.is_file() and hashlib.md5(final.read_bytes()).hexdigest() == md5:
        return dest
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        part = Path(tmp) / cifar10.TARBALL
        _fetch(url, part, cifar10.HOW_TO_GET)
        digest = hashlib.md5(part.read_bytes()).hexdigest()
        if digest != md5:
            raise DataError(f"downloaded {cifar10.TARBALL} has MD5 {digest}, expected {md5}")
        os.replace(part, final)
    return dest


GETTERS = {fashion_mnist.NAME: get_fashion_mnist, cifar10.NAME: get_cifar10}
