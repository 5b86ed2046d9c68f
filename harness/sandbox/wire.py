"""The narrow channel between the harness and a submission's worker process.

A message is a JSON structure whose numpy arrays travel beside it in an ``.npz`` (read with
``allow_pickle=False``), framed by an 8-byte length. Nothing is ever unpickled, so whatever a
hostile worker sends can at worst be a malformed message, which :class:`ChannelError` reports.
Objects that are neither JSON nor arrays (a student's model, say) stay in the worker and travel
as handles: ``{"__handle__": n}``.
"""

from __future__ import annotations

import io
import json
import os
import selectors
import struct
import time
import zipfile
from typing import Any

import numpy as np

# The largest legitimate message is a CIFAR-10 model's float64 parameters or gradients (about
# 30 MB at the grading sizes) or the training set sent to the worker (≈ 160 MB float32); limits
# stand well above those and far below what would hurt the harness.
MAX_FRAME = 256 << 20  # bytes on the wire: larger frames are refused, not allocated
MAX_DECODED = 512 << 20  # bytes once decompressed: checked before anything is inflated
_HEADER = struct.Struct(">Q")
_JSON_KEY = "__json__"


class ChannelError(Exception):
    """The other side sent something that is not a well-formed message, or went away."""


class Timeout(ChannelError):
    """No complete message arrived before the deadline."""


def encode(obj: Any, to_handle=None) -> bytes:
    """Bytes of a message. ``to_handle(obj) -> int`` names objects JSON cannot carry."""
    arrays: dict[str, np.ndarray] = {}

    def walk(o):
        if isinstance(o, np.ndarray):
            if o.dtype.hasobject:
                raise TypeError("arrays of Python objects cannot be sent; use numeric arrays")
            key = f"a{len(arrays)}"
            arrays[key] = o
            return {"__array__": key}
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, dict):
            return {str(k): walk(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        if to_handle is None:
            raise TypeError(f"cannot send {type(o).__name__}")
        return {"__handle__": to_handle(o)}

    tree = walk(obj)
    buf = io.BytesIO()
    np.savez(buf, **arrays, **{_JSON_KEY: np.array(json.dumps(tree, allow_nan=True))})
    return buf.getvalue()


def decode(data: bytes, from_handle=None) -> Any:
    """The message in ``data``; ``from_handle(n)`` resolves handles (left as dicts if None)."""
    try:
        _check_sizes(data)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        tree = json.loads(str(arrays.pop(_JSON_KEY)))
    except ChannelError:
        raise
    except Exception as exc:  # anything unreadable is the sender's fault, reported as such
        raise ChannelError(f"malformed message ({type(exc).__name__}: {exc})") from exc

    def walk(o):
        if isinstance(o, dict):
            if set(o) == {"__array__"}:
                if o["__array__"] not in arrays:
                    raise ChannelError("message refers to a missing array")
                return arrays[o["__array__"]]
            if set(o) == {"__handle__"} and from_handle is not None:
                return from_handle(o["__handle__"])
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    return walk(tree)


def _check_sizes(data: bytes, limit: int = MAX_DECODED) -> None:
    """Refuse a message whose arrays would inflate past ``limit``: both the sizes the archive
    declares and the sizes the arrays' own headers declare, read without decompressing the
    data (a decompression bomb costs the harness nothing)."""
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            total += info.file_size
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                    else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(member)
            total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if total > limit:
                raise ChannelError(f"message too large: its arrays would take over "
                                   f"{limit >> 20} MB once unpacked; the reply was refused")


def send(fd: int, payload: bytes) -> None:
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def receive(fd: int, deadline: float | None = None) -> bytes:
    """One frame from ``fd``; :class:`Timeout` past ``deadline`` (a ``time.monotonic`` value)."""
    header = _read_exactly(fd, _HEADER.size, deadline)
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ChannelError(f"message of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    return _read_exactly(fd, size, deadline)


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while got < n:
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
            if not sel.select(timeout):
                raise Timeout("no answer before the time limit")
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise ChannelError("the process closed the channel")
            chunks.append(chunk)
            got += len(chunk)
    return b"".join(chunks)
