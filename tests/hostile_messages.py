"""Channel messages a hostile worker could send, for the tests and the sandbox benchmark."""

from __future__ import annotations

import io
import zipfile

import numpy as np


def decompression_bomb(declared_elements: int = 400_000_000, real_bytes: int = 1 << 20) -> bytes:
    """A well-formed message of about a kilobyte whose one float64 array declares
    ``declared_elements`` elements (3.2 GB by default) over ``real_bytes`` of zeros."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (declared_elements,)})
    tree = io.BytesIO()
    np.save(tree, np.array('{"a": {"__array__": "a0"}}'))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a0.npy", header.getvalue() + b"\0" * real_bytes)
        z.writestr("__json__.npy", tree.getvalue())
    return buf.getvalue()
