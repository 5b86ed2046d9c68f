import json
import sys
from pathlib import Path

import pytest

from harness.checks import load_checks
from harness.cli import main
from harness.grading.rubric import RubricError, load_rubric

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")


@pytest.fixture(scope="session")
def data(grading_data):
    return str(grading_data)


def test_grade_reference_quick_json(data, tmp_path, capsys):
    code = main(["grade", "reference", "--quick", "--json", "--data-dir", data,
                 "--out", str(tmp_path / "r"), "--rubric", RUBRIC])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["score"] == res["max_score"] == 70
    assert (tmp_path / "r" / "results.json").is_file() and (tmp_path / "r" / "report.html").is_file()


def test_grade_prints_a_readable_summary_and_exits_1_on_failures(data, tmp_path, capsys):
    code = main(["grade", str(FIXTURES / "submissions" / "raises"), "--quick", "--data-dir",
                 data, "--out", str(tmp_path / "r"), "--rubric", RUBRIC, "--no-report"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL loss" in out and "IndexError" in out and "compute_loss" in out
    assert not (tmp_path / "r" / "report.html").exists()


def test_gradescope_results_schema(data, tmp_path):
    gs = tmp_path / "gs" / "results.json"
    main(["grade", str(FIXTURES / "submissions" / "wrong_test"), "--data-dir", data,
          "--out", str(tmp_path / "r"), "--rubric", RUBRIC, "--gradescope", str(gs),
          "--no-report"])
    doc = json.loads(gs.read_text())
    assert doc["score"] == 95
    assert {"name", "score", "max_score", "output", "visibility"} <= set(doc["tests"][0])
    failing = [t for t in doc["tests"] if t["status"] == "failed"]
    assert len(failing) == 1 and "harness_test reports 0.9900" in failing[0]["output"]


def test_init_writes_a_template_that_grades_as_missing_hooks(data, tmp_path, capsys):
    sub = tmp_path / "carol"
    assert main(["init", str(sub)]) == 0
    text = (sub / "harness_plugin.py").read_text()
    assert "harness_loss_and_grads" in text and 'return {"name": "carol"' in text
    assert main(["init", str(sub)]) == 2  # never overwrites a student's work unasked
    capsys.readouterr()
    assert main(["grade", str(sub), "--quick", "--json", "--data-dir", data, "--out",
                 str(tmp_path / "r"), "--rubric", RUBRIC, "--no-report"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert {m["hook"] for m in res["missing_hooks"]} >= {"harness_build_model", "harness_train"}
    assert "missing hook harness_build_model" in res["checks"][0]["message"]


def test_extra_check_plugins_add_and_replace(data, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES / "checks"))
    names = [c.name for c in load_checks(["extra_check"])]
    assert names[0] == "docstring" and names.count("policy") == 1
    main(["grade", str(FIXTURES / "submissions" / "torch_user"), "--quick", "--json",
          "--check", "extra_check", "--data-dir", data, "--out", str(tmp_path / "r"),
          "--rubric", RUBRIC, "--no-report"])
    res = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in res["checks"]}
    assert checks["policy"]["message"] == "policy waived for this exercise"
    assert checks["docstring"]["passed"]  # the reference plugin declares a name
    assert res["gated_by"] == []


def test_malformed_rubric_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "r.toml"
    bad.write_text("[checks\n")
    with pytest.raises(RubricError, match="cannot read rubric"):
        load_rubric(bad)
    assert main(["grade", "reference", "--rubric", str(bad)]) == 2
    assert "cannot read rubric" in capsys.readouterr().err


def test_rubric_points_are_used(data, tmp_path, capsys):
    rubric = tmp_path / "double.toml"
    rubric.write_text(Path(RUBRIC).read_text().replace("points = 20", "points = 40"))
    main(["grade", "reference", "--quick", "--json", "--data-dir", data, "--out",
          str(tmp_path / "r"), "--rubric", str(rubric), "--no-report"])
    res = json.loads(capsys.readouterr().out)
    assert res["max_score"] == 90 and res["score"] == 90


def test_a_check_left_out_of_the_rubric_is_said_to_be_ungraded(data, tmp_path, capsys):
    text = Path(RUBRIC).read_text()
    start = text.index("[checks.loss]")
    end = text.index("[checks.", start + 1)
    rubric = tmp_path / "no_loss.toml"
    rubric.write_text(text[:start] + text[end:])
    main(["grade", "reference", "--quick", "--data-dir", data, "--out", str(tmp_path / "r"),
          "--rubric", str(rubric), "--no-report"])
    out = capsys.readouterr().out
    assert "loss" in out and "0/0" not in out
    assert "run but not graded (no points in the rubric): loss" in out


def test_python_dash_m_harness_works(tmp_path):
    import subprocess
    proc = subprocess.run([sys.executable, "-m", "harness", "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "run-reference" in proc.stdout and "grade" in proc.stdout
