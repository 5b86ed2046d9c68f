"""Containment under the default mode (bubblewrap, harness as root), one class per attack:
links in the work directory, a shared user id, totals per grade, forged replies, unbounded
decoding, strings that reach other programs. One batch grades them beside a correct submission:
the correct one scores exactly as alone, each hostile one is stopped with its own message, a
root-owned canary tree outside scratch is unchanged, and every results.json carries its
resource record."""

import os
import shutil
import stat
from pathlib import Path

import pytest

from compare import stable
from harness.batch.local import BatchOptions, run_batch
from harness.grading.pipeline import grade
from harness.present.summary import summary_text
from harness.sandbox.isolation import Limits, bwrap_works

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")
LIMITS = Limits(hook_seconds=6, train_seconds=25, memory_mb=1024, file_mb=16, disk_mb=100,
                files=2000, processes=128)
SECRET = b"CANARY-SECRET-7f3a"

# hostile fixture → (check that must fail, words its message must contain)
EXPECTED = {
    "thread_flood": ("training", "(--max-procs)"),
    "fork_hog": ("training", "1024 MB memory limit for a submission (--memory-mb)"),
    "disk_filler": ("training", "over the 100 MB limit for a submission (--max-disk-mb)"),
    "file_flood": ("training", "more than 2000 files and directories"),
    "header_bomb": ("contract", "lists and dicts in one message"),
    "terminal_forger": ("training", "PASS training"),
}

pytestmark = pytest.mark.skipif(
    not (bwrap_works() and os.geteuid() == 0),
    reason="needs bubblewrap (apt-get install bubblewrap) and root: the attacks are on a "
           "harness that runs as root")


def _canary(root: Path) -> Path:
    """A root-only tree: a secret, a directory, a file of labels."""
    root.mkdir(mode=0o700)
    (root / "secret").write_bytes(SECRET)
    (root / "secret").chmod(0o600)
    (root / "inner").mkdir(mode=0o700)
    (root / "inner" / "labels").write_bytes(bytes(range(10)))
    return root


def _state(root: Path) -> dict:
    """Every entry under ``root`` with its owner, mode and content, not following links."""
    out = {}
    for here, dirs, files in os.walk(root):
        for name in (".", *dirs, *files):
            p = Path(here) / name
            info = p.lstat()
            out[str(p.relative_to(root))] = (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode),
                                             p.read_bytes() if p.is_file() else None)
    return out


def test_a_class_of_attacks_is_contained_and_costs_the_neighbours_nothing(
        grading_data, tmp_path, monkeypatch, capsys):
    cls = tmp_path / "class"
    for name in [*EXPECTED, "link_planter", "forger"]:
        shutil.copytree(FIXTURES / "hostile" / name, cls / name)
    shutil.copytree(ROOT / "reference", cls / "good", ignore=shutil.ignore_patterns(
        "__pycache__"))
    canary = _canary(tmp_path / "canary")
    (cls / "link_planter" / "targets.txt").write_text(f"{canary}\n{canary / 'secret'}\n")
    before = _state(canary)
    monkeypatch.setenv("HARNESS_DATA", str(grading_data))

    out = tmp_path / "reports"
    opts = BatchOptions(rubric_path=RUBRIC, quick=True, limits=LIMITS, isolation="bwrap",
                        report=True)
    rows = {r["submission"]: r for r in run_batch([str(cls)], out, opts, jobs=2)}

    assert _state(canary) == before  # nothing followed a link into it, as root or otherwise
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_bytes(), path
    for name, (check_name, words) in EXPECTED.items():
        got = next(c for c in rows[name]["checks"] if c["name"] == check_name)
        assert not got["passed"] and words in got["message"], (name, got["message"])
    for name, res in rows.items():
        assert (out / name / "results.json").is_file()
        r = res["resources"]
        assert r["uid"] is not None and r["peak_memory_mb"] > 0, (name, r)
    uids = [r["resources"]["uid"] for r in rows.values()]
    assert len(set(uids)) == len(uids)  # a user of its own for every grade
    assert "(--memory-mb)" in rows["fork_hog"]["resources"]["limit_exceeded"]

    # Forged replies are named on the submission's own check, never taken for answers.
    forged = [c for c in rows["forger"]["checks"] if "forged reply" in c["message"]]
    assert forged and rows["forger"]["score"] < rows["good"]["score"]
    # The planted links made the planter's own runs fail, nothing else.
    assert rows["link_planter"]["status"] == "graded"

    # Strings reach the terminal and the gradebook inert.
    text = summary_text(rows["terminal_forger"])
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b[2K" in text
    grades = (out / "grades.csv").read_text()
    assert "'=HYPERLINK" in grades and ",=HYPERLINK" not in grades
    assert "\x1b" not in capsys.readouterr().err

    # The correct submission, graded beside all of them, scores exactly as alone.
    solo = grade(cls / "good", rubric_path=RUBRIC, quick=True, out=tmp_path / "solo",
                 limits=LIMITS, isolation="bwrap", report=False)
    assert stable(solo) == stable(rows["good"]) and solo["score"] == solo["max_score"]


def test_records_behind_a_link_or_a_fifo_are_refused_without_blocking(tmp_path):
    from harness.checks.search import RecordsError, read_records
    from harness.sandbox.workarea import WorkArea

    canary = _canary(tmp_path / "canary")
    with WorkArea(tmp_path / "work", uid=12345) as work:
        out = work.new_dir("search")
        os.symlink(canary / "secret", out / "records.csv")
        os.mkfifo(out / "trials.csv")
        os.symlink(canary, out / "sub")
        for name, words in (("records.csv", "a link"), ("trials.csv", "not a regular file"),
                            ("sub/secret", "not a directory")):
            with pytest.raises(RecordsError, match=words):
                read_records(name, out, work)
        # a directory the submission made in advance never stands in for the harness's own
        os.symlink(canary, Path(work.path) / "checkpoint")
        made = work.new_dir("checkpoint")
        assert made.name != "checkpoint" and made.stat().st_uid == 12345
        assert work.files() == []  # links are not followed, nor counted as files
    assert _state(canary) == _state(canary) and (canary / "secret").stat().st_uid == 0
