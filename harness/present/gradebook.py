"""``grades.csv`` for a gradebook, always in the harness's own columns, and beside it, with
``--csv-format``, a learning platform's import file (``grades-canvas.csv``,
``grades-moodle.csv``), never in its place.

- ``harness``: submission, name, score, max_score, percentage (two decimals), one column per
  part ("model (40)"), failed_checks, status; parts in assignment order.
- ``canvas``: Canvas's gradebook import columns (Student, ID, SIS User ID, SIS Login ID,
  Section) and one assignment column. With a roster (the course's gradebook export from
  Canvas, :func:`read_canvas_roster`) each submission is matched to its student
  (:func:`match_roster`) and the row carries the roster's own Student, ID, SIS and Section
  values, which is what Canvas matches an import by; unmatched submissions are left out and
  named. Without one, the submission's directory name goes in SIS Login ID.
- ``moodle``: Username, Full name, the grade and the feedback (failed checks) for Moodle's
  "Import grades from CSV", mapping Username to username and the grade column to the grade
  item.
"""

from __future__ import annotations

import csv
import io
import re
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


ROSTER_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class RosterError(ValueError):
    """A roster file the harness cannot read, with what it expected."""


def read_canvas_roster(path: Path) -> list[dict]:
    """The students of a Canvas gradebook export (Gradebook → Export): one dict per student
    with :data:`ROSTER_COLUMNS`; the "Points Possible" row and rows without an ID skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot be read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("Student", "ID") if c not in (reader.fieldnames or [])]
    if missing:
        raise RosterError(f"{path}: not a Canvas gradebook export (no {', '.join(missing)} "
                          f"column; it has {', '.join(reader.fieldnames or []) or 'none'})")
    return [{c: (row.get(c) or "").strip() for c in ROSTER_COLUMNS} for row in reader
            if (row.get("ID") or "").strip().isdigit()]


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _student_keys(student: str) -> set[str]:
    """A roster name ("Last, First" or "First Last") as folder names spell it: lastfirst,
    firstlast."""
    if "," in student:
        last, first = student.split(",", 1)
    else:
        first, _, last = student.rpartition(" ")
    return {_letters(last + first), _letters(first + last)} - {""}


def match_roster(names: list[str], rows: list[dict], roster: list[dict]) -> dict[str, dict]:
    """Submission name → its student in ``roster``, where exactly one student fits: a token
    of the folder name that is the student's Canvas ID (Canvas names downloaded submissions
    ``lastfirst_ID_...``), the SIS login or user ID as the name or one of its tokens, or the
    folder's letters (or the declared name's) as the student's "lastfirst" or "firstlast"."""
    matched = {}
    for name, res in zip(names, rows):
        tokens = set(re.split(r"[_\-\s.]+", name.lower())) | {name.lower()}
        spelled = {_letters(name), _letters(student_name(res))} - {""}
        fits = [s for s in roster
                if s["ID"] in tokens
                or any(s[k] and s[k].lower() in tokens for k in ("SIS Login ID", "SIS User ID"))
                or _student_keys(s["Student"]) & spelled]
        if len({s["ID"] for s in fits}) == 1:
            matched[name] = fits[0]
    return matched


def write_gradebooks(rows: list[dict], names: list[str], directory: Path,
                     fmt: str = "harness", roster: list[dict] | None = None,
                     assignment: str = "harness") -> tuple[list[Path], list[str]]:
    """``grades.csv`` (harness columns) in ``directory``, and the platform file for ``fmt``
    beside it (matched against ``roster`` for Canvas); the paths written, and the submissions
    the roster did not match."""
    paths = [directory / "grades.csv"]
    write_grades_csv(rows, names, paths[0])
    unmatched: list[str] = []
    if fmt == "canvas":
        paths.append(directory / platform_file(fmt))
        matched = match_roster(names, rows, roster) if roster is not None else {
            name: {"Student": student_name(r) or name, "ID": "", "SIS User ID": "",
                   "SIS Login ID": name, "Section": ""} for name, r in zip(names, rows)}
        unmatched = [n for n in names if n not in matched]
        _write_canvas(rows, names, matched, paths[1], assignment)
    elif fmt != "harness":
        paths.append(directory / platform_file(fmt))
        write_grades_csv(rows, names, paths[1], fmt, assignment)
    return paths, unmatched


def _write_canvas(rows: list[dict], names: list[str], students: dict[str, dict],
                  path: Path, assignment: str) -> None:
    """Canvas's import file: :data:`ROSTER_COLUMNS` of each submission's student in
    ``students`` (submissions without one left out), then the grade under ``assignment``."""
    buf = io.StringIO()
    w = _InertWriter(csv.writer(buf))
    w.writerow([*ROSTER_COLUMNS, assignment])
    for name, r in zip(names, rows):
        if name in students:
            w.writerow([*(students[name][c] for c in ROSTER_COLUMNS), r.get("score", "")])
    write_atomic(path, buf.getvalue())


def platform_file(fmt: str) -> str:
    return f"grades-{fmt}.csv"


def write_grades_csv(rows: list[dict], names: list[str], path: Path,
                     fmt: str = "harness", assignment: str = "harness") -> None:
    """Write the gradebook for ``rows`` (results documents) named ``names`` in format
    ``fmt`` ("harness" or "moodle"; Canvas's file: :func:`write_gradebooks`)."""
    buf = io.StringIO()
    w = _InertWriter(csv.writer(buf))
    if fmt == "moodle":
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
