"""``python -m harness.batch.task SUBMISSION OUT PARENT WORKDIR`` with the batch options as JSON
on stdin: one supervised grade, as a cluster worker runs it (a fresh process, so the worker's
own process model never limits the grading child). ``PARENT`` is the worker's process id and
``WORKDIR`` the directory it made for the task: should the worker die mid-task (the task is
then retried elsewhere), this process stops its grade and removes ``WORKDIR`` itself."""

from __future__ import annotations

import json
import os
import signal
import sys
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


def main() -> int:
    sub, out = Path(sys.argv[1]), Path(sys.argv[2])
    parent, workdir = int(sys.argv[3]), Path(sys.argv[4])
    try:
        stop_with(parent)
        raw = json.loads(sys.stdin.read())
        opts = BatchOptions(**{**raw, "limits": Limits(**raw["limits"]),
                               "extra_checks": tuple(raw["extra_checks"]),
                               "disabled_checks": tuple(raw["disabled_checks"])})
        gradescope = out / "gradescope" / "results.json" if opts.gradescope else None
        grade_supervised(sub, out, opts, gradescope, unattended=True)
    except SystemExit:
        remove_tree(workdir)  # stopped: whoever made it may be gone
        raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
