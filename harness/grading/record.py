"""The record of a grade on disk: ``results.json`` (the one document everything downstream
reads) and, beside it, ``arrays.npz`` for the arrays a report draws. Written and read only here.

``harness report DIR`` renders from these two files alone, so a report never needs a regrade.
The document's shape is ``harness/schema/results.schema.json`` (``schema_version`` in it).
"""

from __future__ import annotations

import io
import json
from importlib.resources import files
from pathlib import Path

import numpy as np

from harness.files import write_atomic

RESULTS = "results.json"
ARRAYS = "arrays.npz"


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def write_json(path: Path, doc: dict) -> None:
    """Write atomically: an interrupted batch never leaves a half-written results file."""
    write_atomic(Path(path), json.dumps(doc, indent=2, default=_json_default) + "\n")


def write(out: Path, res: dict, arrays: dict[str, np.ndarray]) -> None:
    """``out/results.json``, and ``out/arrays.npz`` when there are arrays (else none, so a
    stale one never outlives a regrade)."""
    buf = io.BytesIO()
    if arrays:
        np.savez_compressed(buf, **arrays)
        write_atomic(Path(out) / ARRAYS, buf.getvalue())
    else:
        (Path(out) / ARRAYS).unlink(missing_ok=True)
    write_json(Path(out) / RESULTS, res)


def read(out: Path) -> dict:
    """The results document in ``out``; {} when there is none or it does not parse."""
    try:
        doc = json.loads((Path(out) / RESULTS).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


GRADE_KEYS = ("submission", "checks", "score", "max_score")


def unreadable(out: Path) -> str | None:
    """Why the ``results.json`` in ``out`` is not a grade's record that can be rendered (cut
    short, not JSON, another command's results), or None when it is one or there is none."""
    path = Path(out) / RESULTS
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return (f"{path} is not complete JSON (cut short or corrupt): grade again to write it "
                "anew")
    if not isinstance(doc, dict) or not all(k in doc for k in GRADE_KEYS):
        return (f"{path} is not a grade's results (harness run-reference writes its own report "
                "beside them)")
    return None


def read_arrays(out: Path) -> dict[str, np.ndarray]:
    """The arrays beside the results in ``out`` (never pickled objects); {} when none."""
    try:
        with np.load(Path(out) / ARRAYS, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError):
        return {}


def schema() -> dict:
    """The JSON Schema of ``results.json``."""
    return json.loads(files("harness").joinpath("schema/results.schema.json").read_text())
