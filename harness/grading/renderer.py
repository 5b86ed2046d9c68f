"""A grade's report rendered by a process of its own, started as the grade starts (the
rendering itself is :mod:`harness.present.report`'s; this module runs it beside the grade).

Importing matplotlib and Jinja and warming the renderer costs about half a second of CPU, as much
as a whole quick grade's checks; in a thread beside the checks it competed with them for the
GIL. In a process it runs on another core while the checks wait on the worker, and once the grade
has written ``results.json`` it renders ``report.html`` from the records on disk, as
``harness report`` does. Should that process fail, the report is rendered in the grading process
instead: a grade never ends without its report.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.present.progress import say

from .helper import Helper


def render_from_records(directory: Path, res: dict | None = None) -> Path:
    """``directory/report.html`` from the records in ``directory`` (``res``: its results,
    if already read); the one way a grade's page is drawn, here or by ``harness report``."""
    from harness.present.report import write_grade_report

    from . import record

    path = directory / "report.html"
    write_grade_report(res or record.read(directory), record.read_arrays(directory), path)
    return path


class Renderer(Helper):
    """Start it early, as a context manager; :meth:`render` once the results are written."""

    def __init__(self) -> None:
        super().__init__(__name__, env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
                         talk=True)

    def render(self, directory: Path, timeout: float = 120) -> None:
        """Write ``directory/report.html`` from the records in ``directory``."""
        try:
            self.process.stdin.write(f"{directory.resolve()}\n".encode())
            self.process.stdin.close()
        except (OSError, ValueError):
            pass  # it died (or was stopped): its exit code says so
        code = self.wait(timeout)
        if code != 0:
            say(f"harness: the report process failed (exit code {code}: {self.last_error()}); "
                "rendering the report here instead")
            render_from_records(directory)


def main() -> int:
    os.nice(10)  # the checks and the submission's worker come first; this takes what is idle
    from harness.present import plots, report  # noqa: F401  (imported ahead: the point)

    plots.warm_up()
    line = sys.stdin.readline().strip()
    if not line:
        return 0  # the grade ended without results to render
    render_from_records(Path(line))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # the page is written: skip tearing down matplotlib (≈ 0.1 s the grade waits)
