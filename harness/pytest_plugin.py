"""The harness's checks as pytest items: ``pytest --harness DIR``.

Registered through the ``pytest11`` entry point, and inert unless ``--harness`` is given. The
submission is graded once, at collection (quick checks unless ``--harness-full``), exactly as
``harness grade`` grades it, in a supervised sandboxed process; each check is one test item that
passes or fails with the check's diagnosis and what to try as its message, so ``pytest`` in a
GitHub Classroom workflow shows them. Failing items come first, in fix-first order (the most
points lost first), and the report is left in the submission's own ``harness-report/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.files import REPORT_DIR
from harness.present.inert import for_terminal


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "grading a three-layer-MLP submission with harness")
    group.addoption("--harness", metavar="DIR", help="grade the submission in DIR, one test "
                    "item per check")
    group.addoption("--harness-data-dir", metavar="D", help="directory holding the dataset")
    group.addoption("--harness-rubric", metavar="R", help="rubric TOML")
    group.addoption("--harness-full", action="store_true",
                    help="every check (training, search, test accuracy), not only the quick ones")


class CheckFailed(Exception):
    """A check the submission failed; its text is what the student reads."""


class Grade:
    """The one grade of the session, made when the first item needs it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._res: dict | None = None
        self.out: Path | None = None

    def results(self) -> dict:
        if self._res is None:
            from harness.batch.local import BatchOptions, grade_supervised

            opt = self.config.getoption
            out = Path(opt("--harness")).resolve() / REPORT_DIR
            opts = BatchOptions(data_dir=opt("--harness-data-dir"),
                                rubric_path=opt("--harness-rubric"),
                                quick=not opt("--harness-full"), report=True)
            self._res = grade_supervised(Path(opt("--harness")).resolve(), out, opts)
            self.out = out
        return self._res


GRADE = pytest.StashKey[Grade]()


class CheckItem(pytest.Item):
    def __init__(self, *, check: str, grade: Grade, **kwargs) -> None:
        super().__init__(**kwargs)
        self.check, self.grade = check, grade

    def runtest(self) -> None:
        from harness.present.advice import advice_for

        res = self.grade.results()
        if res.get("status") == "error":
            raise CheckFailed(f"the submission could not be graded: {res.get('error')}")
        found = next((c for c in res["checks"] if c["name"] == self.check), None)
        if found is None:
            pytest.skip(f"{self.check} was not run")
        if res.get("load_error") and found["details"].get("not_loaded"):
            raise CheckFailed(f"harness_plugin.py did not load: {res['load_error']['message']}")
        if not found["passed"]:
            lines = [found["message"]]
            advice = advice_for(found["name"], found["message"])
            if advice:
                lines.append(f"try: {advice}")
            if found.get("gate"):
                lines.insert(0, "this check gates the grade: while it fails, the score is 0")
            raise CheckFailed("\n".join(lines))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return for_terminal(str(excinfo.value))  # it quotes the submission
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return Path(str(self.config.getoption("--harness"))), None, f"harness: {self.check}"


class HarnessChecks(pytest.Collector):
    def collect(self):
        from harness.checks import load_checks

        grade = self.config.stash.setdefault(GRADE, Grade(self.config))
        full = self.config.getoption("--harness-full")
        for check in load_checks():
            if full or check.quick:
                yield CheckItem.from_parent(self, name=check.name, check=check.name,
                                            grade=grade)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list) -> None:
    if not config.getoption("--harness"):
        return
    from harness.present.advice import fix_first

    collector = HarnessChecks.from_parent(session, name="harness", nodeid="harness",
                                          path=Path(config.getoption("--harness")).resolve())
    ours = list(collector.collect())
    res = config.stash[GRADE].results()  # graded now, so the items can come fix-first
    first = [i["check"] for i in fix_first(res)] if res.get("status") != "error" else []
    ours.sort(key=lambda item: first.index(item.check) if item.check in first else len(first))
    items.extend(ours)
    config.hook.pytest_collectreport(report=pytest.CollectReport(  # counted in the header
        "harness", "passed", None, ours))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    grade = config.stash.get(GRADE, None)
    res = grade.results() if grade is not None and grade.out is not None else None
    if res and res.get("status") != "error":
        terminalreporter.write_line(f"harness: {res['score']:g} / {res['max_score']:g} points "
                                    f"({res['mode']} grade); report: {grade.out}/report.html")
