"""Parse the IDX format of MNIST and Fashion-MNIST (unsigned-byte tensors only).

Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then one
big-endian uint32 per dimension, then the data in C order. Every way the bytes can disagree with
that layout is a :class:`DataError` naming the file, never a numpy reshape error.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .errors import DataError

UBYTE = 0x08


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Return the uint8 array stored in ``raw`` (the decompressed bytes of file ``name``)."""
    if len(raw) < 4:
        raise DataError(f"{name}: only {len(raw)} bytes, too short to be an IDX file")
    if raw[0:2] != b"\x00\x00" or raw[2] != UBYTE:
        raise DataError(
            f"{name}: not an IDX file of unsigned bytes (magic number {raw[:4].hex()}, "
            f"expected 000008xx)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{name}: IDX header is cut short ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + math.prod(dims)
    if len(raw) < expected:
        raise DataError(
            f"{name}: truncated: its header promises {expected:,} bytes "
            f"(shape {dims}) but it holds {len(raw):,}"
        )
    if len(raw) > expected:
        raise DataError(
            f"{name}: {len(raw) - expected:,} unexpected bytes after the data "
            f"(shape {dims}); the file is corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array: the inverse of :func:`parse_idx` (used to make test data)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()
