"""``grades.csv`` for a gradebook, always in the harness's own columns, and beside it, with
``--csv-format``, a learning platform's import file (``grades-canvas.csv``,
``grades-moodle.csv``), never in its place.

- ``harness``: submission, name, score, max_score, percentage (two decimals), one column per
  part ("model (40)"), failed_checks, status; parts in assignment order.
- ``canvas``: Canvas's gradebook import columns (Student, ID, SIS User ID, SIS Login ID,
  Section) and one assignment column; the submission's directory name goes in SIS Login ID,
  which Canvas matches students by when ID is empty.
- ``moodle``: Username, Full name, the grade and the feedback (failed checks) for Moodle's
  "Import grades from CSV", mapping Username to username and the grade column to the grade
  item.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from harness.files import write_atomic
from harness.hookspecs import HOOKS_BY_PART

from .inert import for_csv

FORMATS = ("harness", "canvas", "moodle")
PART_ORDER = [*HOOKS_BY_PART, "policy"]


def ordered_parts(rows: list[dict]) -> list[tuple[str, float]]:
    """(part, maximum) of every part that carries points, in assignment order."""
    maxima: dict[str, float] = {}
    for r in rows:
        for p, v in (r.get("parts") or {}).items():
            if v.get("max_score"):
                maxima[p] = max(maxima.get(p, 0.0), v["max_score"])
    return sorted(maxima.items(), key=lambda kv: (
        PART_ORDER.index(kv[0]) if kv[0] in PART_ORDER else len(PART_ORDER), kv[0]))


def student_name(res: dict) -> str:
    return str((res.get("info") or {}).get("name") or "")


def _failed(res: dict) -> str:
    return " ".join(c["name"] for c in res.get("checks", []) if not c["passed"])


def write_gradebooks(rows: list[dict], names: list[str], directory: Path,
                     fmt: str = "harness") -> list[Path]:
    """``grades.csv`` (harness columns) in ``directory``, and the platform file for ``fmt``
    beside it; the paths written."""
    paths = [directory / "grades.csv"]
    write_grades_csv(rows, names, paths[0])
    if fmt != "harness":
        paths.append(directory / platform_file(fmt))
        write_grades_csv(rows, names, paths[1], fmt)
    return paths


def platform_file(fmt: str) -> str:
    return f"grades-{fmt}.csv"


def write_grades_csv(rows: list[dict], names: list[str], path: Path,
                     fmt: str = "harness", assignment: str = "harness") -> None:
    """Write the gradebook for ``rows`` (results documents) named ``names`` in format
    ``fmt``."""
    buf = io.StringIO()
    w = _InertWriter(csv.writer(buf))
    if fmt == "canvas":
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        for name, r in zip(names, rows):
            w.writerow([student_name(r) or name, "", "", name, "", r.get("score", "")])
    elif fmt == "moodle":
        w.writerow(["Username", "Full name", assignment, "Feedback"])
        for name, r in zip(names, rows):
            w.writerow([name, student_name(r), r.get("score", ""), _failed(r)])
    else:
        parts = ordered_parts(rows)
        w.writerow(["submission", "name", "score", "max_score", "percentage",
                    *[f"{p} ({m:g})" for p, m in parts], "test_accuracy", "failed_checks",
                    "status"])
        for name, r in zip(names, rows):
            score, top = r.get("score"), r.get("max_score")
            w.writerow([name, student_name(r), score, top,
                        f"{100 * score / top:.2f}" if top else "",
                        *[(r.get("parts") or {}).get(p, {}).get("score", "") for p, _ in parts],
                        "" if r.get("test_accuracy") is None else f"{r['test_accuracy']:.4f}",
                        _failed(r), r.get("status", "graded")])
    write_atomic(path, buf.getvalue())


class _InertWriter:
    """A CSV writer whose every cell goes through :func:`~harness.present.inert.for_csv`."""

    def __init__(self, writer) -> None:
        self._writer = writer

    def writerow(self, row: list) -> None:
        self._writer.writerow([for_csv(cell) for cell in row])
