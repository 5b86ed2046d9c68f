"""What makes a grade reusable: the submission's files, the rubric, the options, the harness.

A batch skips a submission whose fingerprint matches the one in its existing ``results.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness import __version__

_SKIP_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def submission_fingerprint(sub: Path, rubric_source: str, options: dict) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([__version__, options], sort_keys=True, default=str).encode())
    try:
        h.update(Path(rubric_source).read_bytes())
    except OSError:
        h.update(rubric_source.encode())
    if sub.is_dir():
        for path in sorted(p for p in sub.rglob("*") if p.is_file()):
            rel = path.relative_to(sub)
            if _SKIP_PARTS & set(rel.parts):
                continue
            h.update(str(rel).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
