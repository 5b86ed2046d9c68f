"""``harness report DIR``: reports and the class overview rendered again from the records on
disk (``results.json`` and ``arrays.npz``), without regrading: after a template change, or on
another machine than the one that graded."""

from __future__ import annotations

from pathlib import Path

from harness.grading import record
from harness.grading.renderer import render_from_records
from harness.present.gradebook import platform_file
from harness.present.overview import write_overview


class NothingToRender(ValueError):
    """The directory holds no results."""


def rerender(directory: Path, templates: tuple[Path, ...] = (), csv_format: str = "harness",
             roster: list[dict] | None = None,
             assignment: str = "harness") -> tuple[list[Path], list[str]]:
    """Render ``directory``: one grade's (``report.html``) or a batch's (every report, then
    ``index.html`` and ``grades.csv``, and a platform's gradebook matched against ``roster``).
    Returns the files written, and the submissions the roster did not match."""
    problem = record.unreadable(directory)
    if problem:
        raise NothingToRender(problem)
    res = record.read(directory)
    if res:
        return [render_from_records(directory, res)], []
    graded = sorted(d for d in directory.iterdir()
                    if d.is_dir() and record.read(d) and not record.unreadable(d))
    if not graded:
        problems = [p for d in sorted(directory.iterdir()) if d.is_dir()
                    for p in [record.unreadable(d)] if p]
        raise NothingToRender(problems[0] if problems else
                              f"{directory}: no results.json here or in its subdirectories")
    rows = [record.read(d) for d in graded]
    written = [render_from_records(d, r) for d, r in zip(graded, rows)
               if r.get("status") != "error"]
    unmatched = write_overview(rows, [d.name for d in graded],
                               [Path(r.get("path", d)) for d, r in zip(graded, rows)],
                               directory, templates, csv_format, roster, assignment)
    extra = [directory / platform_file(csv_format)] if csv_format != "harness" else []
    return [*written, directory / "index.html", directory / "grades.csv", *extra], unmatched

