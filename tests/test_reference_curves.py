"""The report's reference curves: trained once per (data, configuration, budget) in a background
process beside the checks, cached only when the run finished."""

import json

import pytest

from harness.grading import reference_curves
from harness.grading.pipeline import grade_data
from harness.grading.settings import _TRAIN

CONFIG = {**_TRAIN["fashion-mnist"], "hidden_sizes": [16, 8]}


def _start(data_dir, epochs=2):
    how = {"dataset": "fashion-mnist", "data_dir": str(data_dir), "seed": 0, "quick": False}
    data = grade_data(**how)
    return data, reference_curves.start(data, CONFIG, epochs, how, threads=1)


def test_a_cold_cache_trains_in_the_background_and_caches_the_finished_run(data_dir):
    data, job = _start(data_dir)
    assert job.helper is not None and job.helper.process.poll() is None  # beside the caller
    history, info = job.history(timeout=120)
    assert [r["epoch"] for r in history] == [1, 2] and info.get("problem") is None
    assert info["timings"]["reference_curves_background"] > 0
    path = reference_curves.curve_path(data, CONFIG, 2)
    assert json.loads(path.read_text()) == history
    _, again = _start(data_dir)  # cached now: no second process
    assert again.helper is None and again.history(timeout=1)[0] == history
    # beside the curves, the reference's first layer, for the report to set beside the
    # student's: its saved best epoch, drawn by the report as a second tile grid
    w1 = again.first_layer()
    assert w1.shape == (data.input_dim, CONFIG["hidden_sizes"][0])
    from harness.present.report import _figures
    figs = _figures(None, None, w1 * 2, (28, 28), None, [], None, "t", w1)
    assert figs["weights"].startswith("data:image/") and "weights_reference" in figs


def test_a_run_cut_short_is_never_cached(data_dir):
    data, job = _start(data_dir, epochs=50)
    history, info = job.history(timeout=0.2)
    assert history is None and "was stopped" in info["problem"]
    assert job.helper.process.returncode is not None  # killed, not left running
    path = reference_curves.curve_path(data, CONFIG, 50)
    assert not path.exists() and not list(path.parent.glob(f".{path.name}.*"))


@pytest.mark.filterwarnings("ignore:could not cache parsed")
def test_a_failed_run_says_why(data_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("HARNESS_CACHE", str(blocker))  # nowhere to write the curves
    _, job = _start(data_dir)
    history, info = job.history(timeout=120)
    assert history is None
    assert "failed (exit code 4)" in info["problem"] and "could not write" in info["problem"]


def test_leaving_the_grade_leaves_no_process_behind(data_dir):
    _, job = _start(data_dir, epochs=50)
    with job:
        assert job.helper.process.poll() is None
    assert job.helper.process.poll() is not None


def test_a_grade_writes_its_record_before_waiting_on_the_curves(data_dir, tmp_path, monkeypatch):
    """Curves still training when the checks finish: results.json is already written (saying
    they are pending), and the wait for them is bounded by how long the checks took, not by
    the training time limit."""
    from pathlib import Path

    from harness.grading import pipeline

    out = tmp_path / "out"
    seen = {}

    class StillTraining:
        def ready(self):
            return False

        def history(self, timeout):
            record = json.loads((out / "results.json").read_text())
            seen.update(timeout=timeout, pending=record["reference_history_missing"])
            return None, {"problem": "training them took over 1 s and was stopped"}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(pipeline.reference_curves, "start", lambda *a, **k: StillTraining())
    rubric = str(Path(__file__).parent / "fixtures" / "rubric_synthetic.toml")
    res = pipeline.grade(Path("reference").resolve(), data_dir=str(data_dir), quick=True,
                         rubric_path=rubric, out=out, report=False)
    assert seen["pending"].startswith("pending")
    checks = res["timings"]["checks"]
    assert seen["timeout"] <= max(pipeline.CURVES_WAIT_MIN, checks) + 0.01
    assert "was stopped" in json.loads((out / "results.json").read_text())[
        "reference_history_missing"]
