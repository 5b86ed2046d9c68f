"""Channel messages a hostile worker could send, for the tests and the sandbox benchmark."""

from __future__ import annotations

import json
import struct


def message(header: dict, body: bytes = b"") -> bytes:
    """A message in the channel's layout with any header at all (see harness.sandbox.wire)."""
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + body


def oversized_declaration(declared_elements: int = 400_000_000, real_bytes: int = 1 << 20) -> bytes:
    """A message of about a megabyte whose one float64 array declares ``declared_elements``
    elements (3.2 GB by default) over ``real_bytes`` of zeros."""
    return message({"tree": {"a": {"__array__": 0}}, "arrays": [["<f8", [declared_elements]]]},
                   b"\0" * real_bytes)


def object_array() -> bytes:
    """A message declaring an array of Python objects (which only unpickling could build)."""
    return message({"tree": {"a": {"__array__": 0}}, "arrays": [["|O", [1]]]}, b"\0" * 8)
