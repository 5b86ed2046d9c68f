"""``python -m harness.batch.task PARENT``, reading a JSON line (the submission's name and the
batch options) and then the submission as a zip on stdin: one supervised grade, as a cluster
worker runs it (a fresh process, so the worker's own process model never limits the grading
child). The record comes back as a zip on stdout (everything else the grade prints goes to
stderr). ``PARENT`` is the worker's process id: should the worker die mid-task (the task is then
retried elsewhere), this process stops its grade and removes its directory itself. The worker
makes no file of its own, so a worker killed before the task starts leaves nothing either."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import tempfile
import zipfile
from pathlib import Path

from harness.files import remove_tree
from harness.sandbox.isolation import Limits, on_parent_death

from .local import BatchOptions, grade_supervised


def _stop(*_) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: let the cleanup finish
    sys.exit(128 + signal.SIGTERM)


def stop_with(parent: int) -> None:
    """Exit (``SystemExit``, so cleanup runs) on SIGTERM, and have the kernel send SIGTERM when
    ``parent`` dies (Linux; elsewhere an orphaned task runs to its end)."""
    signal.signal(signal.SIGTERM, _stop)
    if on_parent_death(signal.SIGTERM) and os.getppid() != parent:
        sys.exit(128 + signal.SIGTERM)  # it died before the kernel was asked to say so


def _unpack(payload: bytes, sub: Path) -> None:
    sub.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        for member in zf.infolist():
            target = (sub / member.filename).resolve()
            if target.is_relative_to(sub.resolve()):  # no ../ from a crafted archive
                zf.extract(member, sub)


def _packed(out: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(out).as_posix())
    return buf.getvalue()


def main() -> int:
    parent = int(sys.argv[1])
    record = os.dup(1)  # the record's channel; whatever else is printed goes to stderr
    os.dup2(2, 1)
    stop_with(parent)
    workdir = Path(tempfile.mkdtemp(prefix="harness-task-"))
    try:
        header, _, payload = sys.stdin.buffer.read().partition(b"\n")
        request = json.loads(header)
        raw = request["opts"]
        opts = BatchOptions(**{**raw, "limits": Limits(**raw["limits"]),
                               "extra_checks": tuple(raw["extra_checks"]),
                               "disabled_checks": tuple(raw["disabled_checks"])})
        sub, out = workdir / "submission" / request["name"], workdir / "out"
        _unpack(payload, sub)
        gradescope = out / "gradescope" / "results.json" if opts.gradescope else None
        grade_supervised(sub, out, opts, gradescope, unattended=True)
        with os.fdopen(record, "wb") as f:
            f.write(_packed(out))
    finally:
        remove_tree(workdir)  # done, or stopped: whoever started this may be gone
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
