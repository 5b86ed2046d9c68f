"""File conventions shared by every layer: what a submission's walk skips, how its notebooks are
read, how results are written atomically, where each command writes by default.

Imports nothing from the rest of the harness, so any module may use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPORT_DIR = "harness-report"  # where `pytest --harness DIR` leaves its report, inside DIR
SKIP_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", REPORT_DIR})


def submission_files(root: Path, suffixes: tuple[str, ...] = ()) -> Iterator[Path]:
    """Regular files under ``root`` in a stable order, outside :data:`SKIP_DIRS`, never through
    a symbolic link; only those ending in ``suffixes`` when given."""
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                         and not (Path(here) / d).is_symlink())
        for name in sorted(files):
            path = Path(here) / name
            if path.is_symlink() or not path.is_file():
                continue
            if not suffixes or path.suffix in suffixes:
                yield path


def notebook_code_cells(path: Path) -> list[str]:
    """The code cells of a Jupyter notebook, IPython magics and shell escapes blanked (they are
    not Python) with line numbers kept; [] for a file that is not a readable notebook."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8", errors="replace")).get("cells", [])
    except (ValueError, AttributeError, OSError):
        return []
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        out.append("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln
                             for ln in src.splitlines()))
    return out


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that a reader never sees half a file, readable by the
    group and others (results are shared with students and teaching assistants)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_tree(path: Path, seconds: float = 2.0) -> None:
    """Remove ``path`` and everything in it, trying again for up to ``seconds`` while processes
    that are still dying (a killed grade's sandboxed workers) write into it."""
    deadline = time.monotonic() + seconds
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


class Busy(Exception):
    """Another process is writing to the same output directory."""


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[Path]:
    """``out`` (created), held for this process alone while the block runs: a second grade
    or batch writing to it at the same time is refused (:class:`Busy`) instead of overwriting
    the first one's results half-way. An advisory lock on the directory itself (nothing is
    written for it), released when the process ends, however it ends."""
    out = Path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"{out}: another harness is writing there now; wait for it to finish, "
                       "or choose another --out") from None
        yield out
    except BaseException:
        if created:  # refused before writing anything: leave no empty directory behind
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    finally:
        os.close(fd)


def default_out(command: str, name: str = "") -> Path:
    """Where a command writes when ``--out`` is not given; never the same for two commands:
    ``grade`` → ``reports/NAME``, a batch → ``reports``, ``run-reference`` → ``runs/NAME``
    (NAME: the dataset), ``gradescope`` → ``autograder.zip``."""
    if command == "grade":
        return Path("reports") / name
    if command == "batch":
        return Path("reports")
    if command == "run-reference":
        return Path("runs") / f"reference-{name}"
    if command == "gradescope":
        return Path("autograder.zip")
    raise ValueError(f"no default output for {command!r}")
