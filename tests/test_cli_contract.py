"""The command line as a user meets it: validation, exit codes, one JSON document, rubric
typos, the check set, re-rendering without regrading, results.json against its schema."""

import json
import sys
from pathlib import Path

import jsonschema
import pytest

from harness.checks import CheckSetError, load_checks
from harness.cli import main
from harness.files import default_out
from harness.grading import record
from harness.grading.rubric import RubricError, load_rubric

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")


def _grade(data, out, *extra):
    return main(["grade", *extra, "--data-dir", str(data), "--rubric", RUBRIC, "--out",
                 str(out)])


@pytest.mark.parametrize("argv, said", [
    (["grade", "reference", "--jobs", "0"], "must be at least 1"),
    (["grade", "reference", "--hook-timeout", "-1"], "must be positive"),
    (["grade", "reference", "--rubric", "/no/such.toml"], "no such file"),
    (["grade", "reference", "--data-dir", "/no/such/dir"], "no such directory"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and said in capsys.readouterr().err


def test_missing_submission_is_a_usage_error_not_a_traceback(capsys):
    assert main(["grade", "/no/such/submission"]) == 2
    err = capsys.readouterr().err
    assert "no such submission directory" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, said", [
    (["grade", "reference", "--check", "not_a_module"], "--check not_a_module: cannot import"),
    (["grade", "reference/harness_plugin.py"], "is a file: give the submission's directory"),
    (["grade", "/no/such/dir", "--json"], "no such submission directory"),
])
def test_misuse_is_one_line_exit_2_and_one_json_document_under_json(argv, said, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert said in captured.err and "Traceback" not in captured.err
    if "--json" in argv:
        doc = json.loads(captured.out)
        assert said in doc["error"] and doc["exit_code"] == 2


def test_an_argparse_error_under_json_is_one_json_document(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["grade", "reference", "--json", "--jobs", "0"])
    doc = json.loads(capsys.readouterr().out)
    assert exc.value.code == 2 == doc["exit_code"] and "must be at least 1" in doc["error"]


def test_report_says_what_is_wrong_with_a_results_file(tmp_path, capsys):
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "results.json").write_text('{"dataset": "fashion-mnist"}')
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "results.json").write_text('{"submission": "x", "sco')
    assert main(["report", str(tmp_path / "ref")]) == 2
    assert "is not a grade's results" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "cut")]) == 2
    assert "is not complete JSON (cut short or corrupt)" in capsys.readouterr().err


def test_a_second_grade_into_the_same_output_is_refused(data_dir, tmp_path, capsys):
    from harness.files import exclusive
    out = tmp_path / "out"
    with exclusive(out):  # a grade writing there now
        assert _grade(data_dir, out, "reference", "--quick") == 2
    assert "another harness is writing there now" in capsys.readouterr().err
    assert not (out / "results.json").exists()
    assert _grade(data_dir, out, "reference", "--quick", "--no-report") == 0  # free again


def test_version_is_the_package_version(capsys):
    from harness import __version__
    from importlib.metadata import version
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"harness {__version__}" == \
        f"harness {version('harness')}"


def test_rubric_typos_are_errors_that_suggest_the_fix(tmp_path):
    text = Path(RUBRIC).read_text()
    bad_check = tmp_path / "a.toml"
    bad_check.write_text(text + "\n[checks.gradeint]\npoints = 5\n")
    with pytest.raises(RubricError, match=r"\[checks.gradeint\].*did you mean \[checks.gradient\]"):
        from harness.grading.pipeline import load_grading_checks
        load_grading_checks(load_rubric(bad_check))
    bad_key = tmp_path / "b.toml"
    bad_key.write_text(text.replace("[checks.loss]\n", "[checks.loss]\npoitns = 3\n", 1))
    with pytest.raises(RubricError, match="unknown key 'poitns' in \\[checks.loss\\]; did you mean 'points'"):
        load_rubric(bad_key)
    bad_top = tmp_path / "c.toml"
    bad_top.write_text("activatons = ['relu']\n" + text)
    with pytest.raises(RubricError, match="did you mean 'activations'"):
        load_rubric(bad_top)


@pytest.mark.parametrize("change, words", [
    (("[checks.gradient]\npart = \"model\"\npoints = 20", "[checks.gradient]\npart = "
      "\"model\"\npoints = -20"), "[checks.gradient] points = -20: points must be"),
    (("[checks.loss]\npart = \"model\"\npoints = 10", "[checks.loss]\npart = \"model\"\n"
      "points = 1e309"), "[checks.loss] points = inf"),
    (("[[0.3, 0.25]", "[[30, 0.25]"), "write 0.85, not 85"),
    (("[[0.3, 0.25], [0.5, 0.5]", "[[0.5, 0.5], [0.3, 0.25]"), "from the lowest accuracy"),
    (("activations = [", "activations = [\"relu6\", "), "'relu6' is not an activation"),
    (("hidden_sizes = [", "hidden_sizes = [[0, 8], "), "positive whole numbers"),
    (("gate = true", "gate = \"false\""), "[policy] gate = 'false': must be true or false"),
])
def test_every_rubric_value_is_checked_and_named(tmp_path, change, words, capsys):
    text = Path(RUBRIC).read_text()
    old, new = change
    assert old in text, old
    bad = tmp_path / "r.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(RubricError) as caught:
        load_rubric(bad)
    message = str(caught.value)
    assert words in message and str(bad) in message and "\n" not in message, message
    assert main(["gradescope", "build", "-o", str(tmp_path / "ag.zip"), "--rubric",
                 str(bad)]) == 2
    assert words in capsys.readouterr().err


def test_grade_with_a_rubric_typo_exits_2_before_grading(data_dir, tmp_path, capsys):
    bad = tmp_path / "r.toml"
    bad.write_text(Path(RUBRIC).read_text() + "\n[checks.gradeint]\npoints = 5\n")
    assert main(["grade", "reference", "--quick", "--data-dir", str(data_dir), "--rubric",
                 str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "gradeint" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_replacement_that_drops_a_needed_artifact_fails_at_load_naming_both():
    sys.path.insert(0, str(FIXTURES / "checks"))
    try:
        with pytest.raises(CheckSetError) as exc:
            load_checks(["lazy_training"])
    finally:
        sys.path.remove(str(FIXTURES / "checks"))
    said = str(exc.value)
    assert "needs TrainedRun" in said and "'training'" in said
    assert "replaced by --check lazy_training" in said


def test_no_check_refuses_to_orphan_a_consumer_and_knows_the_names():
    with pytest.raises(CheckSetError, match="needs TrainedRun.*disabled with --no-check"):
        load_checks(disabled=["training"])
    with pytest.raises(CheckSetError, match="did you mean 'search'"):
        load_checks(disabled=["serch"])
    names = [c.name for c in load_checks(disabled=["search"])]
    assert "search" not in names
    assert names.index("loss") < names.index("gradient") < names.index("training") \
        < names.index("optimizer")


def test_checks_command_lists_needs_and_produces(capsys):
    assert main(["checks", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["gradient"]["needs"] == ["L2Convention", "Objective"]
    assert rows["training"]["produces"] == ["TrainedRun"] and rows["gradient"]["points"] == 20
    assert all(r["origin"] == "built in" for r in rows.values())


def test_default_outputs_never_collide():
    assert default_out("grade", "reference") != default_out("run-reference", "fashion-mnist")
    assert default_out("run-reference", "fashion-mnist").parts[0] != default_out("batch").name


def test_exit_codes_and_one_json_document_for_a_batch(data_dir, tmp_path, capsys):
    good, bad = str(Path("reference").resolve()), str(FIXTURES / "submissions" / "raises")
    code = _grade(data_dir, tmp_path / "b", good, bad, "--quick", "--json", "--no-report",
                  "--jobs", "2")
    doc = json.loads(capsys.readouterr().out)  # the whole of stdout is one document
    assert code == 1 and len(doc["submissions"]) == 2
    assert Path(doc["gradebook"]).is_file()
    schema = record.schema()
    for res in doc["submissions"]:
        jsonschema.validate(res, schema)


def test_reports_render_again_from_the_record_alone(data_dir, tmp_path, capsys):
    out = tmp_path / "one"
    assert _grade(data_dir, out, "reference", "--quick", "--no-report", "--no-check",
                  "search") == 0
    res = record.read(out)
    jsonschema.validate(res, record.schema())
    assert res["disabled_checks"] == ["search"] and not (out / "report.html").exists()
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "reference" in html and f"{res['score']:g}" in html
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_a_malformed_cluster_address_is_a_usage_error(data_dir, tmp_path, capsys):
    code = _grade(data_dir, tmp_path / "o", str(Path("reference").resolve()), "--quick",
                  "--cluster", "local:x")
    assert code == 2 and "write local or local:N" in capsys.readouterr().err
