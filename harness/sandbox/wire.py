"""The narrow channel between the harness and a submission's worker process.

A message is a JSON header (the message's structure, each numpy array in it replaced by its
index, and each array's dtype and shape) followed by the arrays' raw bytes, C order, one after
another; a frame on the pipe is that message prefixed by its 8-byte length. Nothing is ever
unpickled or decompressed, and every declared size is checked against the bytes actually
present, so whatever a hostile worker sends can at worst be a malformed message, which
:class:`ChannelError` reports. Objects that are neither JSON nor arrays (a student's model,
say) stay in the worker and travel as handles: ``{"__handle__": n}``.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np

# The largest legitimate message is a CIFAR-10 model's float64 parameters or gradients (about
# 30 MB at the grading sizes); the training set travels as a shared file, not on the pipe.
# The limit stands well above that and far below what would hurt the harness.
MAX_FRAME = 256 << 20  # bytes on the wire: larger frames are refused, not allocated
# The JSON header holds structure and small values only (arrays travel as raw bytes): its size
# and its count of lists and dicts are bounded before it is parsed, so that parsing it costs
# bounded time and memory (48 MB of nested empty lists once took the harness to 3.3 GB).
MAX_HEADER = 8 << 20
MAX_CONTAINERS = 100_000
_HEADER = struct.Struct(">Q")
_JSON_LENGTH = struct.Struct(">I")
# numbers, booleans and fixed-width strings: never objects, never structured records
_DTYPES = re.compile(r"[<>|=]?(b1|[iu][1248]|f(2|4|8|16)|c(8|16|32)|[US][1-9]\d{0,5})")
_MAX_DIMS = 32


class ChannelError(Exception):
    """The other side sent something that is not a well-formed message, or went away."""


class Timeout(ChannelError):
    """No complete message arrived before the deadline."""


def encode(obj: Any, to_handle=None) -> bytes:
    """Bytes of a message. ``to_handle(obj) -> int`` names objects JSON cannot carry."""
    arrays: list[np.ndarray] = []

    def walk(o):
        if isinstance(o, np.ndarray):
            if o.dtype.hasobject:
                raise TypeError("arrays of Python objects cannot be sent; use numeric arrays")
            if not _DTYPES.fullmatch(o.dtype.str):
                raise TypeError(f"arrays of dtype {o.dtype} cannot be sent; use numeric arrays")
            arrays.append(np.ascontiguousarray(o))
            return {"__array__": len(arrays) - 1}
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
    header = json.dumps({"tree": tree, "arrays": [[a.dtype.str, list(a.shape)] for a in arrays]},
                        allow_nan=True).encode()
    return b"".join([_JSON_LENGTH.pack(len(header)), header, *(a.data for a in arrays)])


def decode(data: bytes, from_handle=None) -> Any:
    """The message in ``data``; ``from_handle(n)`` resolves handles (left as dicts if None).
    Arrays are copies the caller owns."""
    try:
        (length,) = _JSON_LENGTH.unpack_from(data)
        end = _JSON_LENGTH.size + length
        if end > len(data):
            raise ValueError("the header runs past the end of the message")
        if length > MAX_HEADER:
            raise ValueError(f"a header of {length} bytes, over the {MAX_HEADER}-byte limit")
        raw = bytes(data[_JSON_LENGTH.size:end])
        if raw.count(b"[") + raw.count(b"{") > MAX_CONTAINERS:
            raise ValueError(f"over {MAX_CONTAINERS} lists and dicts in one message")
        header = json.loads(raw)
        tree, specs = header["tree"], header["arrays"]
        arrays = _arrays(data, end, specs)
    except ChannelError:
        raise
    except Exception as exc:  # anything unreadable is the sender's fault, reported as such
        raise ChannelError(f"malformed message ({type(exc).__name__}: {exc})") from exc

    def walk(o):
        if isinstance(o, dict):
            if set(o) == {"__array__"}:
                index = o["__array__"]
                if not isinstance(index, int) or not 0 <= index < len(arrays):
                    raise ChannelError("message refers to a missing array")
                return arrays[index]
            if set(o) == {"__handle__"} and from_handle is not None:
                return from_handle(o["__handle__"])
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    return walk(tree)


def _arrays(data: bytes, offset: int, specs: list) -> list[np.ndarray]:
    """The arrays ``specs`` (``[dtype, shape]`` each) declares, read from ``data`` at ``offset``;
    every size is checked against the bytes present before anything is allocated."""
    checked = []
    for dtype, shape in specs:
        if not isinstance(dtype, str) or not _DTYPES.fullmatch(dtype):
            raise ValueError(f"arrays of dtype {dtype!r} are not accepted")
        if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise ValueError(f"bad array shape {shape!r}")
        dt = np.dtype(dtype)
        checked.append((dt, tuple(shape), dt.itemsize * int(np.prod(shape, dtype=np.float64))))
    declared = sum(size for *_, size in checked)
    if declared != len(data) - offset:
        raise ValueError(f"its arrays declare {declared} bytes but it holds {len(data) - offset}")
    arrays = []
    for dt, shape, size in checked:
        arrays.append(np.frombuffer(data, dt, size // dt.itemsize, offset).reshape(shape).copy())
        offset += size
    return arrays


def send(fd: int, payload: bytes) -> None:
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def receive(fd: int, deadline: float | None = None, also: dict | None = None,
            every: tuple[float, Callable[[], None]] | None = None) -> bytes:
    """One frame from ``fd``; :class:`Timeout` past ``deadline`` (a ``time.monotonic`` value).
    While waiting, ``also`` (``{fd: handler}``, a handler returning False once its fd is done)
    is served as its fds become readable, and ``every = (seconds, tick)`` calls ``tick`` at
    least that often (a tick may raise to abandon the wait)."""
    header = _read_exactly(fd, _HEADER.size, deadline, also or {}, every)
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ChannelError(f"message of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    return _read_exactly(fd, size, deadline, also or {}, every)


def _read_exactly(fd: int, n: int, deadline: float | None, also: dict,
                  every: tuple[float, Callable[[], None]] | None) -> bytes:
    chunks, got = [], 0
    next_tick = time.monotonic() + every[0] if every else None
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        for side in also:
            sel.register(side, selectors.EVENT_READ)
        while got < n:
            now = time.monotonic()
            if deadline is not None and now >= deadline:  # checked first: output may flood
                raise Timeout("no answer before the time limit")
            if next_tick is not None and now >= next_tick:
                every[1]()
                next_tick = now + every[0]
            waits = [t - now for t in (deadline, next_tick) if t is not None]
            ready = sel.select(max(min(waits), 0) if waits else None)
            if not any(key.fd == fd for key, _ in ready):
                for key, _ in ready:
                    if not also[key.fd]():
                        sel.unregister(key.fd)
                continue
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise ChannelError("the process closed the channel")
            chunks.append(chunk)
            got += len(chunk)
    return b"".join(chunks)
