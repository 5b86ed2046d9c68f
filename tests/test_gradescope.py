"""The Gradescope autograder the harness builds, run against a simulated /autograder tree."""

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = FIXTURES / "rubric_synthetic.toml"
SCHEMA = json.loads((Path(__file__).parent / "schemas" /
                     "gradescope_results.schema.json").read_text())


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    rubric = tmp_path_factory.mktemp("rubric") / "rubric.toml"
    # The rubric can hide a check until grades are published, and ask for a leaderboard.
    rubric.write_text(RUBRIC.read_text().replace(
        "[checks.accuracy]\n", "[checks.accuracy]\nvisibility = \"after_published\"\n")
        + "\n[gradescope]\nleaderboard = true\n")
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    assert main(["gradescope", "build", "-o", str(out), "--rubric", str(rubric)]) == 0
    return out


def run_autograder(zip_path: Path, root: Path, submission: Path | None, data_dir) -> dict:
    """Lay out ROOT as Gradescope does, run ``run_autograder``, return results.json."""
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        os.chmod(root / "source" / name, 0o755)
    (root / "submission").mkdir()
    if submission is not None:
        shutil.copytree(submission, root / "submission" / "my-project")  # zipped folder
    (root / "results").mkdir()
    env = {**os.environ, "HARNESS_AUTOGRADER_ROOT": str(root), "HARNESS_DATA": str(data_dir)}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    if doc["tests"][0]["name"] != "autograder":  # graded: the instructor's log shows it
        assert "points" in done.stdout and "checks:" in done.stdout, done.stdout
    return doc


def test_zip_holds_setup_runner_config_rubric_and_the_harness(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("harness-autograder.json"))
        setup = zf.read("setup.sh").decode()
        mode = zf.getinfo("run_autograder").external_attr >> 16
    assert {"setup.sh", "run_autograder", "rubric.toml", "harness-src/pyproject.toml",
            "harness-src/harness/templates/report.html.j2",
            "harness-src/harness/default_rubric.toml",
            "harness-src/reference/model.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert config["rubric"] == "rubric.toml" and config["dataset"] == "fashion-mnist"
    assert "bubblewrap" in setup and 'bin/harness" data where' in setup and mode & 0o111


def test_a_correct_submission_scores_full_with_one_test_per_check(autograder_zip, tmp_path,
                                                                   data_dir):
    doc = run_autograder(autograder_zip, tmp_path / "ag", Path("reference").resolve(),
                         data_dir)
    tests = {t["name"].split(": ", 1)[1]: t for t in doc["tests"]}
    assert len(tests) == 10 and all(t["status"] == "passed" for t in tests.values())
    assert doc["score"] == sum(t.get("score", 0) for t in tests.values()) == 100
    assert tests["Test accuracy of the saved model"]["visibility"] == "after_published"
    assert doc["leaderboard"][0]["name"] == "Test accuracy"
    assert "isolation:" in doc["output"]


def test_the_policy_gate_is_a_failed_test_not_zero_of_zero(autograder_zip, tmp_path, data_dir):
    doc = run_autograder(autograder_zip, tmp_path / "ag", FIXTURES / "submissions" /
                         "torch_user", data_dir)
    gate = next(t for t in doc["tests"] if "NumPy only" in t["name"])
    assert gate["status"] == "failed" and "max_score" not in gate
    assert "gates the grade" in gate["output"] and "torch" in gate["output"]
    finding = next(line for line in gate["output"].splitlines() if "torch" in line)
    assert gate["output"].count(finding.lstrip("- ")) == 1  # said once
    assert doc["score"] == 0 and "Set to 0" in doc["output"]
    assert not any("Traceback" in t["output"] for t in doc["tests"])


def test_results_are_written_when_everything_fails(autograder_zip, tmp_path, data_dir):
    doc = run_autograder(autograder_zip, tmp_path / "ag", None, data_dir)  # empty upload
    assert doc["score"] == 0
    (test,) = doc["tests"]
    assert test["name"] == "autograder" and test["status"] == "failed"
    assert "no harness_plugin.py in the submission" in test["output"]


def test_a_syntax_error_shows_its_line_to_the_student(autograder_zip, tmp_path, data_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "harness_plugin.py").write_text("from harness.hookspecs import hookimpl\n\n"
                                              "def harness_info(:\n    return {}\n")
    doc = run_autograder(autograder_zip, tmp_path / "ag", broken, data_dir)
    load = doc["tests"][0]
    assert load["name"] == "loading harness_plugin.py" and load["status"] == "failed"
    assert "harness_plugin.py" in load["output"] and "line 3" in load["output"]
    assert "SyntaxError" in load["output"] and str(tmp_path) not in load["output"]


def test_the_build_refuses_a_rubric_that_grade_refuses(tmp_path, capsys):
    rubric = tmp_path / "typo.toml"
    rubric.write_text(RUBRIC.read_text() + "\n[checks.gradeint]\npoints = 5\n")
    assert main(["gradescope", "build", "-o", str(tmp_path / "ag.zip"), "--rubric",
                 str(rubric)]) == 2
    assert "gradeint" in capsys.readouterr().err and not (tmp_path / "ag.zip").exists()


def _oldest_python() -> str | None:
    """An interpreter of the oldest Python the package declares, if this machine has one."""
    from importlib.metadata import metadata
    oldest = metadata("harness")["Requires-Python"].removeprefix(">=")
    for candidate in (*sorted(Path("/root/.pyenv/versions").glob(f"{oldest}.*/bin/python")),
                      shutil.which(f"python{oldest}")):
        if candidate and subprocess.run([str(candidate), "-c", "pass"],
                                        capture_output=True).returncode == 0:
            return str(candidate)  # a working interpreter, not a shim that refuses
    return None


def test_setup_then_run_autograder_as_gradescope_does_on_the_oldest_python(
        autograder_zip, tmp_path, data_dir):
    """setup.sh in a fresh root (its own venv, the declared oldest Python, the harness
    installed from the zip's own copy), then run_autograder on a correct submission."""
    python = _oldest_python()
    if python is None:
        pytest.skip("no interpreter of the oldest declared Python here (pyenv or pythonX.Y)")
    root, venv = tmp_path / "ag", tmp_path / "venv"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    env = {**os.environ, "HARNESS_AUTOGRADER_ROOT": str(root), "HARNESS_VENV": str(venv),
           "HARNESS_PYTHON": python, "HARNESS_DATA": str(data_dir)}
    env.pop("PYTHONPATH", None)
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                           capture_output=True, text=True, timeout=1200)
    assert setup.returncode == 0, setup.stderr[-3000:]
    version = subprocess.run([str(venv / "bin" / "python"), "--version"], capture_output=True,
                             text=True).stdout
    assert version.split()[1].startswith(_oldest_python_version())
    assert (venv / "bin" / "harness").exists()
    (root / "submission").mkdir()
    shutil.copytree(Path(__file__).resolve().parents[1] / "reference",
                    root / "submission" / "project",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "results").mkdir()
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["score"] > 0 and all(t["status"] == "passed" for t in doc["tests"]), doc


def _oldest_python_version() -> str:
    from importlib.metadata import metadata
    return metadata("harness")["Requires-Python"].removeprefix(">=")
