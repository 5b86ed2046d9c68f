"""What ``run_autograder`` runs for each submission, inside Gradescope's container.

Grades ``ROOT/submission`` (``ROOT``: ``$HARNESS_AUTOGRADER_ROOT``, else ``/autograder``) with the
rubric and dataset the zip was built with, and always writes ``ROOT/results/results.json``: when
anything fails, a zero with one failed "autograder" test saying why, and the traceback on stderr
(the instructor's log, which students do not see). The container is the sandbox Gradescope
gives; inside it the harness uses bubblewrap where it works, else a plain subprocess, and says
which in the results' output.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from harness.grading.record import write_json
from harness.present.gradescope import failure, to_gradescope
from harness.present.summary import summary_text

from .build import CONFIG


def find_submission(root: Path) -> Path:
    """The directory holding ``harness_plugin.py``: the upload itself, or the one folder a
    zipped upload unpacked into."""
    if (root / "harness_plugin.py").is_file():
        return root
    found = sorted(p.parent for p in root.rglob("harness_plugin.py")
                   if "__MACOSX" not in p.parts)
    if not found:
        raise FileNotFoundError("no harness_plugin.py in the submission: upload your project "
                                "folder with harness_plugin.py at its top")
    return min(found, key=lambda p: len(p.parts))


def main() -> int:
    from harness.batch.local import BatchOptions, grade_supervised
    from harness.grading.rubric import load_rubric

    root = Path(os.environ.get("HARNESS_AUTOGRADER_ROOT", "/autograder"))
    results = root / "results" / "results.json"
    try:
        config = json.loads((root / "source" / CONFIG).read_text())
        rubric_path = str(root / "source" / config["rubric"]) if config.get("rubric") else None
        rubric = load_rubric(rubric_path)
        sub = find_submission(root / "submission")
        opts = BatchOptions(dataset=config["dataset"], rubric_path=rubric_path,
                            quick=bool(config.get("quick")), report=True)
        res = grade_supervised(sub, root / "results" / "harness", opts)
        doc = to_gradescope(res, rubric.visibility, rubric.leaderboard)
        if res.get("status") == "error":
            print(res.get("traceback") or res.get("error"), file=sys.stderr)
        else:  # the instructor's log (students do not see it): the grade as the terminal shows
            print(summary_text(res))
    except Exception as exc:  # whatever happened, Gradescope gets a results file
        traceback.print_exc()
        doc = failure(f"{type(exc).__name__}: {exc}")
    write_json(results, doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
