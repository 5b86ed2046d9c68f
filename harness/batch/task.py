"""``python -m harness.batch.task SUBMISSION OUT`` with the batch options as JSON on stdin:
one supervised grade, as a cluster worker runs it (a fresh process, so the worker's own
process model never limits the grading child)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.sandbox.isolation import Limits

from .local import BatchOptions, grade_supervised


def main() -> int:
    sub, out = Path(sys.argv[1]), Path(sys.argv[2])
    raw = json.loads(sys.stdin.read())
    opts = BatchOptions(**{**raw, "limits": Limits(**raw["limits"]),
                           "extra_checks": tuple(raw["extra_checks"]),
                           "disabled_checks": tuple(raw["disabled_checks"])})
    gradescope = out / "gradescope" / "results.json" if opts.gradescope else None
    grade_supervised(sub, out, opts, gradescope, unattended=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
