"""What a student and an instructor see: the fix-first list, the policy gate as a gate, the
probe explained, diagnoses on the page, the output by hook, what the class got wrong, the
gradebook formats, the pytest items, and screenshots of it all."""

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.batch.local import BatchOptions, run_batch
from harness.batch.rerender import rerender
from harness.present.advice import fix_first
from harness.present.summary import summary_text
from harness.sandbox.isolation import Limits

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")


@pytest.fixture(scope="module")
def graded(data_dir, tmp_path_factory):
    """A quick batch: the reference, bob (three bugs), a copy of bob, a policy-gated one."""
    cls = tmp_path_factory.mktemp("class")
    for name, src in {"ref": ROOT / "reference", "bob": ROOT / "submissions" / "bob",
                      "bob_copy": ROOT / "submissions" / "bob",
                      "torch_user": FIXTURES / "submissions" / "torch_user"}.items():
        shutil.copytree(src, cls / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("out")
    opts = BatchOptions(data_dir=str(data_dir), rubric_path=RUBRIC, quick=True,
                        limits=Limits(), report=True)
    rows = run_batch([str(cls)], out, opts, jobs=2)
    return out, {r["submission"]: r for r in rows}


def test_the_report_process_renders_from_the_records_or_the_grade_renders_it_itself(
        graded, tmp_path):
    """The report comes from a process started ahead; if that process is gone, the grading
    process renders the same report itself."""
    from harness.grading.renderer import Renderer
    out, _ = graded
    pages = {}
    for how in ("process", "fallback"):
        one = tmp_path / how
        shutil.copytree(out / "ref", one)
        (one / "report.html").unlink()
        with Renderer() as renderer:
            if how == "fallback":
                renderer.stop()
            renderer.render(one)
        pages[how] = (one / "report.html").read_text()
    assert "Gradient check" in pages["process"]
    when = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d \w+</p>")  # the minute each was made
    assert when.sub("", pages["process"]) == when.sub("", pages["fallback"])
    assert when.search(pages["process"])


def test_fix_first_orders_by_points_lost_with_advice(graded):
    _, rows = graded
    items = fix_first(rows["bob"])
    assert [i["check"] for i in items][:2] == ["gradient", "checkpoint"]
    assert [i["lost"] for i in items] == sorted((i["lost"] for i in items), reverse=True)
    assert "divide the summed gradient by the batch size" in items[0]["try"]
    assert fix_first(rows["ref"]) == []
    gated = fix_first(rows["torch_user"])
    assert gated[0]["check"] == "policy" and gated[0]["gate"]
    text = summary_text(rows["bob"])
    assert text.index("fix first:") < text.index("1. gradient") < text.index("2. checkpoint") \
        < text.index("checks:")
    assert "gate" in summary_text(rows["ref"]) and "0/0" not in summary_text(rows["ref"])


def test_report_says_what_to_fix_and_shows_diagnoses_on_the_page(graded):
    out, _ = graded
    html = (out / "bob" / "report.html").read_text()
    fix = html[html.index('id="fix-first"'):html.index("<h2>Checks</h2>")]
    assert fix.index("<b>gradient</b>") < fix.index("<b>checkpoint</b>")
    table = html[html.index("<h2>Checks</h2>"):html.index("<h2>Gradient check</h2>")]
    assert table.index('id="check-gradient"') < table.index('id="check-contract"')  # failing first
    grad = html[html.index("<h2>Gradient check</h2>"):]
    assert "<small>not averaged over the batch" in grad and 'title="' not in grad.split("</table>")[0]
    assert "The probes are two short runs" in table and "by design" in table
    assert "<summary><code>harness_" in html  # output split by hook
    assert "Graded on a secret view of the data" in html  # why hard-coded class ids fail
    assert "A quick grade: accuracy, search, test were not checked" in html
    assert html.count('id="hook-harness_build_model"') == 1  # each hook's documentation once
    assert html.count('href="#hook-harness_build_model"') > 1  # linked from every check


def test_policy_gate_is_shown_as_a_failed_gate_with_what_it_found(graded):
    out, rows = graded
    html = (out / "torch_user" / "report.html").read_text()
    row = html[html.index('id="check-policy"'):].split("</tr>")[0]
    assert "gate" in row and "fail: grade set to 0" in row and "0.0 / 0.0" not in row
    policy = html[html.index("<h2>Policy</h2>"):]
    assert "Gated:" in policy and "torch" in policy
    assert "No deep-learning or autodiff framework" not in policy
    for name in ("ref", "torch_user"):  # a gate is pass or fail, never a score of zero
        assert "0.0 / 0.0" not in (out / name / "report.html").read_text()


def test_overview_says_what_the_class_got_wrong_and_who(graded):
    out, _ = graded
    html = (out / "index.html").read_text()
    wrong = html[html.index('id="wrong"'):html.index("<img")]
    gradient = wrong[wrong.index("<b>gradient</b>"):].split("</tr>")[0]
    assert "2 of 4" in gradient and "not averaged over the batch" in gradient
    assert 'href="#sub-bob"' in gradient and 'href="#sub-bob_copy"' in gradient
    assert wrong.index("<b>gradient</b>") < wrong.index("<b>policy</b>")  # most failed first
    checkpoint = wrong[wrong.index("<b>checkpoint</b>"):].split("</tr>")[0]
    assert checkpoint.count("<li>") == 1, checkpoint  # one bug, its evidence nested: one finding
    assert "the checkpoint holds the last epoch, not the best" in checkpoint
    assert 'id="filter"' in html and "th.dataset.asc" in html  # sortable, filterable
    assert ">model / 40</button>" in html  # part columns with their maxima
    table = html[html.index('id="subs"'):html.index("</table>", html.index('id="subs"'))]
    assert 'aria-sort="none"' in table and "<caption" in table and 'scope="row"' in table
    order = re.findall(r'<tr id="sub-(\w+)"', table)
    assert order[0] == "torch_user" and order[-1] == "ref"  # a gate first, full marks last
    bob = table[table.index('id="sub-bob"'):].split("</tr>")[0]
    assert "similar to bob_copy" in bob and "declares the same name as bob_copy" in bob
    assert "isolation <b>" in html and "harness <b>0." in html
    assert "bob ↔ bob_copy" in html and "bob/mlp.py:" in html  # fragments side by side


@pytest.mark.parametrize("fmt, header", [
    ("harness", ["submission", "name", "score", "max_score", "percentage", "model (40)",
                 "train (30)", "test_accuracy", "failed_checks", "status"]),
    ("canvas", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "harness"]),
    ("moodle", ["Username", "Full name", "harness", "Feedback"]),
])
def test_gradebook_formats(graded, fmt, header):
    """A platform's file goes beside grades.csv, never in its place."""
    out, _ = graded
    rerender(out, csv_format=fmt)
    name = "grades.csv" if fmt == "harness" else f"grades-{fmt}.csv"
    rows = list(csv.reader(io.StringIO((out / name).read_text())))
    assert rows[0] == header and len(rows) == 5
    bob = next(r for r in rows if "bob" in r)
    if fmt == "harness":
        assert bob[1] == "bob" and bob[4] == f"{100 * float(bob[2]) / float(bob[3]):.2f}"
        assert "gradient" in bob[8]
    own = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    assert own[0][0] == "submission"  # the harness's gradebook is still there
    assert (name in (out / "index.html").read_text())
    rerender(out)  # back to the default for the other tests


def test_a_canvas_roster_gives_each_submission_its_students_ids(graded, tmp_path, capsys):
    """``harness report --csv-format canvas --roster EXPORT``: each submission matched to its
    student by the Canvas ID in the folder name, the SIS login, or the name; the roster's own
    values written; who is not in the roster left out and named; grades.csv untouched."""
    from harness.cli import main
    out, rows = graded
    roster = tmp_path / "export.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,HW1 (991)\n"
        "    Points Possible,,,,,100.00\n"
        '"Bob, Builder",40001,S-1,bbuilder,Sec A,\n'
        '"Smith, Ann",40002,S-2,ref,Sec A,\n'
        '"User, Torch",40003,S-3,tuser,Sec B,\n')
    assert main(["report", str(out), "--csv-format", "canvas", "--roster", str(roster),
                 "--assignment", "HW1 (991)"]) == 0
    written = list(csv.reader(io.StringIO((out / "grades-canvas.csv").read_text())))
    assert written[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                          "HW1 (991)"]
    by_id = {r[1]: r for r in written[1:]}
    assert by_id["40002"][:5] == ["Smith, Ann", "40002", "S-2", "ref", "Sec A"]
    assert by_id["40002"][5] == str(rows["ref"]["score"])
    # ref by its SIS login, torch_user by name; bob and bob_copy spell no student: not guessed
    assert set(by_id) == {"40002", "40003"}
    said = capsys.readouterr().err
    assert "left out of grades-canvas.csv" in said and "bob_copy" in said
    assert list(csv.reader(io.StringIO((out / "grades.csv").read_text())))[0][0] == "submission"
    rerender(out)


def test_roster_matching_by_canvas_id_login_and_name():
    from harness.present.gradebook import match_roster
    roster = [{"Student": "Builder, Bob", "ID": "40001", "SIS User ID": "S-1",
               "SIS Login ID": "bbuilder", "Section": ""},
              {"Student": "Jane Doe", "ID": "40002", "SIS User ID": "", "SIS Login ID": "",
               "Section": ""}]
    # as Canvas names downloaded submissions (lastfirst_ID_submission), a login, names
    names = ["builderbob_40001_777_hw1", "bbuilder", "doejane", "doejane_late_40002_9",
             "someone"]
    rows = [{}, {}, {}, {}, {"info": {"name": "Jane Doe"}}]
    got = {n: s["ID"] for n, s in match_roster(names, rows, roster).items()}
    assert got == {"builderbob_40001_777_hw1": "40001", "bbuilder": "40001",
                   "doejane": "40002", "doejane_late_40002_9": "40002", "someone": "40002"}


def test_pytest_items_show_each_checks_diagnosis(data_dir, tmp_path):
    sub = tmp_path / "bob"
    shutil.copytree(ROOT / "submissions" / "bob", sub)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--harness", str(sub), "--harness-data-dir", str(data_dir),
                           "--harness-rubric", RUBRIC, "-v", "-rf"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TMPDIR": str(tmp_path)})  # the report stays
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "harness::gradient" in out and "not averaged over the batch" in out
    assert "try: divide the summed gradient by the batch size" in out
    # the loss is right, and training slowed by the gradient's bug is not charged in a quick
    # grade whose loss still falls: one bug, one charge
    assert "5 passed" in out and "2 failed" in out
    assert "harness: 45 / 70 points" in out
    report = Path(re.search(r"report: (\S+report\.html)", out)[1])
    assert report.is_file() and report == sub / "harness-report" / "report.html"
    assert "collected 7 items" in out  # the header counts the checks
    order = re.findall(r"harness::(\w+) (PASSED|FAILED)", out)
    assert [c for c, _ in order][:2] == ["gradient", "checkpoint"]  # fix-first
    assert [s for _, s in order] == ["FAILED"] * 2 + ["PASSED"] * 5


def test_without_the_option_the_plugin_adds_nothing(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert True\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "1 passed" in done.stdout


def test_screenshots_of_report_and_overview(data_dir, tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"),
                           str(tmp_path), "--data-dir", str(data_dir), "--rubric", RUBRIC,
                           "--quick"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    for png in ("report-bob.png", "report-gated.png", "report-load-failure.png", "overview.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000, png


def test_the_overview_shows_who_needs_attention(data_dir, tmp_path):
    """A load failure is its own line at the top and its own status, never counted among the
    findings; a gated grade's parts add up to its total of 0; every failing submission is
    reachable from its check's row."""
    import json as json_
    cls = tmp_path / "class"
    for name, src in {"bob": ROOT / "submissions" / "bob",
                      "broken": FIXTURES / "submissions" / "syntax_error",
                      "torch_user": FIXTURES / "submissions" / "torch_user"}.items():
        shutil.copytree(src, cls / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    rows = {r["submission"]: r for r in run_batch(
        [str(cls)], out, BatchOptions(data_dir=str(data_dir), rubric_path=RUBRIC, quick=True,
                                      limits=Limits(), report=False), jobs=2)}
    assert rows["broken"]["status"] == "did not load"
    assert rows["torch_user"]["status"] == "gated" and rows["bob"]["status"] == "graded"
    gated = json_.loads((out / "torch_user" / "results.json").read_text())
    assert sum(p["score"] for p in gated["parts"].values()) == gated["score"] == 0
    html = (out / "index.html").read_text()
    banner = html[html.index('class="banner bad"'):].split("</div>")[0]
    assert "1 submission did not load" in banner and "broken" in banner
    wrong = html[html.index('id="wrong"'):html.index("<img")]
    assert "broken" not in wrong and "#" not in wrong.replace('href="#sub-', "")
    for check in ("gradient", "checkpoint"):
        row = wrong[wrong.index(f"<b>{check}</b>"):].split("</tr>")[0]
        assert "bob" in row
    table = html[html.index('id="subs"'):]
    assert ">did not load<" in table and ">gated<" in table
    grades = (out / "grades.csv").read_text()
    assert "did not load" in grades and "gated" in grades


def test_advice_follows_from_a_finding_or_is_absent():
    from harness.checks.diagnoses.gradient import MODELS
    from harness.present.advice import advice_for
    for model in MODELS:  # every backprop bug the harness can name has something to try
        assert advice_for("gradient", f"W1: {model.message} (relu)"), model.name
    assert advice_for("accuracy", "test accuracy 0.6000; next tier at 0.85") == ""
    assert advice_for("accuracy", "the checkpoint could not be loaded (see the checkpoint "
                      "check)").startswith("fix what the checkpoint check reports first")
    assert advice_for("search", "something no rule knows") == ""
    both = advice_for("gradient", "b1: not averaged over the batch (relu); W1: the L2 term is "
                      "missing from this gradient (relu)")  # two bugs in one check: both
    assert both.index("divide the summed gradient") < both.index("add reg × W")


def test_a_run_on_finding_is_split_into_its_clauses_not_inside_parentheses():
    from harness.present.templates import clauses
    assert clauses("b1: not averaged (all activations; error 1e-1); W1: L2 missing; x") == [
        "b1: not averaged (all activations; error 1e-1)", "W1: L2 missing", "x"]
    assert clauses("one finding (a; b)") == ["one finding (a; b)"]


def test_a_failed_search_says_why_its_section_is_empty(data_dir, tmp_path):
    from harness.grading.pipeline import grade
    out = tmp_path / "out"
    grade(FIXTURES / "submissions" / "missing_search", data_dir=str(data_dir), rubric_path=RUBRIC,
          out=out)
    html = (out / "report.html").read_text()
    assert "No trials to show: missing hook harness_search" in html
