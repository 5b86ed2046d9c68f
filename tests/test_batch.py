"""A class graded in one batch: hostile submissions are contained, each with its own clear
message; nothing outside the scratch directories changes; the batch finishes; and the correct
submission's result is identical to its solo run."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.batch.local import BatchOptions, discover, is_batch, run_batch
from harness.grading.pipeline import grade
from harness.sandbox.isolation import Limits, bwrap_works

ROOT = Path(__file__).resolve().parent.parent
from compare import stable  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")
LIMITS = Limits(hook_seconds=4, train_seconds=20, memory_mb=2048, file_mb=16)
# Batches refuse to run unsandboxed by accident: where bwrap is missing, the tests choose the
# plain subprocess explicitly, as an instructor would have to.
ISOLATION = "bwrap" if bwrap_works() else "subprocess"

# hostile fixture → (check that must fail, words its message must contain)
EXPECTED = {
    "infinite_loop": ("loss", "did not finish within its time limit"),
    "memory_bomb": ("training", "MemoryError"),
    "fork_bomb": ("training", "os.fork is not allowed"),
    "exits": ("contract", "exited with code 0"),
    "segfault": ("contract", "SIGSEGV (segmentation fault)"),
    "network": ("training", "is not allowed (no network while grading)"),
    "escape_writer": ("contract", "is not allowed; a submission writes only where"),
    "printer": ("training", "printing or writing far too much"),
    "bad_outputs": ("contract", "forward returns NaN, infinity or non-numbers"),
    "snoop": ("training", "found nothing to read"),
    "syntax_error": ("contract", "loading harness_plugin.py failed"),
    "hang_on_import": ("contract", "loading harness_plugin.py did not finish"),
    "exit_on_import": ("contract", "exited with code 7"),
    "fake_gradient": ("gradient", "b1, b2, b3: not averaged over the batch"),
}
# Cases the plain subprocess cannot hold: there the test asserts that the harness says so.
BY_MODE = {
    "parent_killer": {"bwrap": ("training", "survived"),
                      "subprocess": (None, "the grading process died")},
}


def expected_in_mode(isolation: str) -> dict:
    return {name: modes[isolation] for name, modes in BY_MODE.items()}


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_hostile_class_is_contained(isolation, grading_data, tmp_path, monkeypatch):
    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here "
                    "(apt-get install bubblewrap)")
    cls = tmp_path / "class"
    for name in [*EXPECTED, *BY_MODE]:
        src = FIXTURES / ("submissions" if name == "syntax_error" else "hostile") / name
        shutil.copytree(src, cls / name)
    shutil.copytree(ROOT / "reference", cls / "good", ignore=shutil.ignore_patterns(
        "__pycache__"))
    out = tmp_path / "reports"
    cache = Path(os.environ["HARNESS_CACHE"])
    (cls / "snoop" / "targets.txt").write_text(f"{grading_data}\n{cache}\n{out}\n")
    canary = tmp_path / "harness-escaped.txt"
    before = _snapshot(cls)
    scratch_before = set(Path(tempfile.gettempdir()).glob("harness-*/harness-*"))
    # The data directory through $HARNESS_DATA: it must not reach the submissions either.
    monkeypatch.setenv("HARNESS_DATA", str(grading_data))
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "do-not-leak")  # nor the grader's secrets

    opts = BatchOptions(rubric_path=RUBRIC, quick=True, limits=LIMITS, isolation=isolation,
                        trusted=True, report=False)  # trusted: so that subprocess mode runs
    rows = run_batch([str(cls)], out, opts, jobs=2)

    assert len(rows) == len(EXPECTED) + len(BY_MODE) + 1
    by_name = {r["submission"]: r for r in rows}
    for name, (check_name, words) in expected_in_mode(isolation).items():
        res = by_name[name]
        said = res["error"] if check_name is None else \
            next(c for c in res["checks"] if c["name"] == check_name)["message"]
        assert words in said, (name, said)
    for name, (check_name, words) in EXPECTED.items():
        res = by_name[name]
        assert res.get("isolation") == isolation, name
        got = next(c for c in res["checks"] if c["name"] == check_name)
        said = got["message"]
        if got["details"].get("not_loaded"):  # said once, in the load error
            said = res["load_error"]["message"]
        assert not got["passed"] and words in said, (name, said)
        assert (out / name / "results.json").is_file()
    good = by_name["good"]
    assert all(c["passed"] for c in good["checks"]), good["checks"]
    # The rest of a hostile grade is intact where the hostility allows it.
    assert next(c for c in by_name["fork_bomb"]["checks"] if c["name"] == "gradient")["passed"]
    assert next(c for c in by_name["printer"]["checks"] if c["name"] == "loss")["passed"]
    # Nothing outside the scratch directories changed.
    assert _snapshot(cls) == before
    assert not canary.exists() and not Path("/tmp/harness-escaped.txt").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*EXPECTED, *BY_MODE, "good", "index.html", "grades.csv"])
    assert set(Path(tempfile.gettempdir()).glob("harness-*/harness-*")) <= scratch_before  # gone
    # Graded alone, the correct submission gets exactly the same result.
    solo = grade(cls / "good", rubric_path=RUBRIC, quick=True,  # data via $HARNESS_DATA too
                 out=tmp_path / "solo", limits=LIMITS, isolation=isolation, report=False)
    assert stable(solo) == stable(good)
    t = solo["timings"]  # the quick grade reloads three times (checkpoint), and no more
    assert t["workers_spawned"] == t["worker_starts"] == 1 + 3


def test_batch_is_resumable_and_writes_the_overview(grading_data, tmp_path, capsys):
    cls = tmp_path / "class"
    shutil.copytree(ROOT / "submissions" / "alice", cls / "alice")
    shutil.copytree(ROOT / "submissions" / "alice", cls / "alice_copy")
    shutil.copytree(ROOT / "submissions" / "bob", cls / "bob")
    out = tmp_path / "reports"
    opts = BatchOptions(data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                        isolation=ISOLATION)
    assert is_batch([str(cls)]) and not is_batch([str(cls / "bob")])
    assert [p.name for p in discover([str(cls)])] == ["alice", "alice_copy", "bob"]
    run_batch([str(cls)], out, opts, jobs=2)
    first = json.loads((out / "bob" / "results.json").read_text())
    capsys.readouterr()

    (cls / "bob" / "train.py").write_text((cls / "bob" / "train.py").read_text() + "\n# v2\n")
    run_batch([str(cls)], out, opts, jobs=2)
    err = capsys.readouterr().err
    assert "2 unchanged since their last grade, 1 to grade" in err and "bob" in err
    assert json.loads((out / "alice" / "results.json").read_text())["fingerprint"]
    assert json.loads((out / "bob" / "results.json").read_text())["fingerprint"] != \
        first["fingerprint"]
    run_batch([str(cls)], out, opts, jobs=1, force=True)
    assert "0 unchanged since their last grade, 3 to grade" in capsys.readouterr().err

    csv_lines = (out / "grades.csv").read_text().splitlines()
    assert csv_lines[0].startswith("submission,name,score,max_score,percentage")
    assert [ln.split(",")[0] for ln in csv_lines[1:]] == ["alice", "alice_copy", "bob"]
    html = (out / "index.html").read_text()
    assert "alice/report.html" in html and "data:image/svg+xml;base64," in html
    # Identical code is listed as similar; unrelated code is not.
    similar = html.split("Similar code")[1]
    assert "alice_copy" in similar and "bob" not in similar


def test_an_interrupted_batch_keeps_what_it_finished(grading_data, tmp_path):
    cls = tmp_path / "class"
    shutil.copytree(ROOT / "submissions" / "alice", cls / "alice")
    shutil.copytree(ROOT / "submissions" / "bob", cls / "bob")
    out = tmp_path / "reports"
    opts = BatchOptions(data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                        report=False, isolation=ISOLATION)
    run_batch([str(cls)], out, opts, jobs=1)
    (out / "bob" / "results.json").unlink()  # as if the batch had stopped before bob
    alice_before = (out / "alice" / "results.json").read_bytes()
    rows = run_batch([str(cls)], out, opts, jobs=1)
    assert (out / "alice" / "results.json").read_bytes() == alice_before
    assert [r["submission"] for r in rows] == ["alice", "bob"]


def test_ctrl_c_stops_a_batch_and_leaves_nothing_behind(grading_data, tmp_path):
    """Ctrl-C (SIGINT to the command's process group, as a terminal sends it) while two
    grades run: the command says so and exits 130, and no grading process, worker or scratch
    directory is left."""
    import signal
    import time

    cls = tmp_path / "class"
    shutil.copytree(FIXTURES / "hostile" / "infinite_loop", cls / "loops")  # still running
    shutil.copytree(ROOT / "submissions" / "alice", cls / "alice")
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "grade", str(cls), "--jobs", "2",
                             "--quick", "--no-report", "--data-dir", str(grading_data),
                             "--rubric", RUBRIC, "--out", str(tmp_path / "out"),
                             "--isolation", ISOLATION],
                            env={**os.environ, "TMPDIR": str(temp)}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # as in a terminal, even where this run ignores SIGINT (started in
                            # the background by a non-interactive shell, say)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while len(list(temp.glob("harness-*/harness-*"))) < 2 and time.time() < deadline:
        time.sleep(0.1)  # both grades under way, each in its scratch directory
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err, err
    time.sleep(0.5)
    assert list(temp.iterdir()) == []
    left = [p for p in Path("/proc").glob("[0-9]*")
            if str(cls).encode() in _cmdline(p)]
    assert left == []


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_sigterm_stops_a_grade_and_leaves_nothing_behind(isolation, grading_data, tmp_path):
    """SIGTERM to the command alone (``kill``, ``timeout``, a scheduler's time limit) while
    the submission's code runs: exit 143, said; the grading process, the submission's worker
    (without bubblewrap too: it dies with the process that started it), the report process
    and the overlay's trainer (a cold cache) are gone, and so is the scratch."""
    import signal
    import time

    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "grade",
                             str(FIXTURES / "hostile" / "infinite_loop"), "--quick",
                             "--data-dir", str(grading_data), "--rubric", RUBRIC,
                             "--out", str(tmp_path / "out"), "--isolation", isolation],
                            env={**os.environ, "TMPDIR": str(temp),
                                 "HARNESS_CACHE": str(tmp_path / "cache")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list(temp.glob("harness-*/harness-*/work")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # its worker is looping inside a hook by now
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "stopped (SIGTERM)" in err, err
    time.sleep(0.5)
    assert _started_with(temp) == []  # every process of the grade has TMPDIR in temp
    assert list(temp.iterdir()) == []
    assert _groups_of_dead_grades() == []  # nor its memory cgroup


def _groups_of_dead_grades() -> list[str]:
    """Memory cgroups left by grading processes that no longer run."""
    groups = [Path(p) for p in glob.glob("/sys/fs/cgroup/memory/**/harness-*-*", recursive=True)]
    return [str(g) for g in groups if not Path(f"/proc/{g.name.split('-')[1]}").exists()]


def _started_with(temp: Path) -> list[str]:
    """The processes whose environment has TMPDIR in ``temp``, with their command lines."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(e.startswith(b"TMPDIR=" + str(temp).encode()) for e in env):
            found.append(_cmdline(proc).replace(b"\0", b" ").decode(errors="replace"))
    return found


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_python_dash_m_batch_runs(grading_data, tmp_path):
    """A batch from ``python -m harness`` grades every child once (a spawned child re-imports
    the main module, which must not run the command again; the command line itself forks,
    see ``start_method``)."""
    cls = tmp_path / "class"
    shutil.copytree(ROOT / "submissions" / "bob", cls / "bob")
    (cls / "empty").mkdir()  # no plugin file: graded as such, not skipped
    proc = subprocess.run([sys.executable, "-m", "harness", "grade", str(cls), "--quick",
                           "--no-report", "--data-dir", str(grading_data), "--rubric", RUBRIC,
                           "--out", str(tmp_path / "out"), "--isolation", ISOLATION],
                          capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr  # graded, and bob's checks fail: exit code 1
    assert "2 submissions graded" in proc.stdout
    empty = json.loads((tmp_path / "out" / "empty" / "results.json").read_text())
    assert "no harness_plugin.py" in empty["load_error"]["message"]


def test_a_batch_never_runs_unsandboxed_by_accident(grading_data, tmp_path, monkeypatch,
                                                    capsys):
    from harness.cli import main
    monkeypatch.setattr("harness.sandbox.isolation.bwrap_works", lambda: False)
    cls = tmp_path / "class"
    shutil.copytree(ROOT / "submissions" / "bob", cls / "bob")
    shutil.copytree(ROOT / "submissions" / "alice", cls / "alice")
    code = main(["grade", str(cls), "--quick", "--data-dir", str(grading_data), "--rubric",
                 RUBRIC, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "would run untrusted code without a sandbox" in err
    assert "--isolation subprocess" in err and not (tmp_path / "out").exists()
    # Asking for subprocess isolation is not enough: the risk must be named.
    args = ["grade", str(cls), "--quick", "--data-dir", str(grading_data), "--rubric", RUBRIC,
            "--out", str(tmp_path / "out"), "--isolation", "subprocess"]
    assert main(args) == 2 and "--trust-submissions" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main([*args, "--trust-submissions"]) == 1  # graded: bob has bugs
    assert "graded without a sandbox" in capsys.readouterr().err
    assert (tmp_path / "out" / "bob" / "results.json").is_file()


def _around_python_class(tmp_path: Path, grading_data: Path) -> tuple[Path, Path]:
    """The two fixtures that go around Python, and the places the reader will try."""
    cls = tmp_path / "class"
    for name in ("libc_reader", "parent_killer"):
        shutil.copytree(FIXTURES / "hostile" / name, cls / name)
    (cls / "sibling").mkdir()
    (cls / "sibling" / "secret.py").write_text("ANSWER = 42\n")
    other_scratch = Path(tempfile.mkdtemp(prefix="harness-other-"))
    (other_scratch / "best.npz").write_bytes(b"another student's checkpoint")
    labels = next(grading_data.glob("t10k-labels*"))
    (cls / "libc_reader" / "targets.txt").write_text(
        f"{labels}\n{cls / 'sibling' / 'secret.py'}\n{other_scratch / 'best.npz'}\n")
    return cls, other_scratch


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_code_that_goes_around_python(isolation, grading_data, tmp_path):
    """Under bwrap, libc reads of the test labels, a sibling, another grade's scratch,
    /etc/shadow, and the grader's secrets in its parent's environment and memory or its working
    directory all fail, and killing the
    parent kills nothing; without a sandbox the harness cannot stop them, and says so: the
    caveat in results.json, and results.json written even when the grading process is
    killed."""
    from harness.batch.local import grade_supervised
    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    cls, other_scratch = _around_python_class(tmp_path, grading_data)
    try:
        # the reader graded as a grader runs the command: with a secret in its environment
        subprocess.run([sys.executable, "-m", "harness", "grade", str(cls / "libc_reader"),
                        "--out", str(tmp_path / "r"), "--data-dir", str(grading_data),
                        "--rubric", RUBRIC, "--quick", "--isolation", isolation,
                        "--no-report", "--hook-timeout", "4", "--train-timeout", "20",
                        "--memory-mb", "2048", "--max-file-mb", "16"],
                       env={**os.environ, "GRADER_SECRET_TOKEN": "do-not-leak"},
                       capture_output=True, check=False)
        reader = json.loads((tmp_path / "r" / "results.json").read_text())
        opts = BatchOptions(data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                            limits=LIMITS, isolation=isolation, trusted=True, report=False)
        killer = grade_supervised(cls / "parent_killer", tmp_path / "k", opts)
    finally:
        shutil.rmtree(other_scratch)
    said = next(c for c in reader["checks"] if c["name"] == "training")["message"]
    if isolation == "bwrap":
        assert "found nothing to read (7 places refused)" in said, said
        assert reader["isolation_caveat"] is None
        training = next(c for c in killer["checks"] if c["name"] == "training")
        assert "survived" in training["message"] and killer["score"] > 0
    else:
        assert reader["isolation_caveat"].startswith("graded without a sandbox")
        for leak in ("/environ", "/mem", "/cwd"):  # exactly what the caveat warns of
            assert leak in said, said
        assert killer["status"] == "error" and "may have killed it" in killer["error"]
    assert json.loads((tmp_path / "k" / "results.json").read_text())["submission"] == \
        "parent_killer"


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_a_poisoned_dataset_cache_never_reaches_a_grade(isolation, grading_data, tmp_path):
    """Under bwrap the cache is out of reach; without a sandbox a libc write reaches it, and the
    cache's checksums keep the poisoned labels out of every later load."""
    import numpy as np

    from harness.batch.local import grade_supervised
    from harness.data import load_dataset
    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    honest = load_dataset("fashion-mnist", grading_data).y_test  # builds the cache
    cached = next(Path(os.environ["HARNESS_CACHE"]).rglob("y_test.npy"))
    sub = tmp_path / "cache_poisoner"
    shutil.copytree(FIXTURES / "hostile" / "cache_poisoner", sub)
    (sub / "targets.txt").write_text(f"{cached} {len(honest)}\n")
    opts = BatchOptions(data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                        limits=LIMITS, isolation=isolation, trusted=True, report=False)
    res = grade_supervised(sub, tmp_path / "out", opts)
    said = next(c for c in res["checks"] if c["name"] == "training")["message"]
    if isolation == "bwrap":
        assert "could not write the cache" in said
        assert np.array_equal(np.load(cached), honest)
    else:
        assert "poisoned the cached test labels" in said and res["isolation_caveat"]
        assert not np.array_equal(np.load(cached), honest)
        with pytest.warns(UserWarning, match="does not match its checksums"):
            again = load_dataset("fashion-mnist", grading_data)
        assert np.array_equal(again.y_test, honest)


def test_neighbours_cannot_be_killed_under_bwrap(grading_data, tmp_path):
    """Graded side by side, a submission that kills every worker it can see finds none: each
    worker has its own PID namespace, and the correct submission's grade equals its solo run.
    (Without a sandbox it would succeed; that mode's caveat says so, see above.)"""
    if not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    cls = tmp_path / "class"
    shutil.copytree(FIXTURES / "hostile" / "neighbour_killer", cls / "neighbour_killer")
    shutil.copytree(ROOT / "reference", cls / "good", ignore=shutil.ignore_patterns(
        "__pycache__"))
    opts = BatchOptions(data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                        limits=LIMITS, isolation="bwrap", report=False)
    rows = {r["submission"]: r for r in run_batch([str(cls)], tmp_path / "out", opts, jobs=2)}
    killer = next(c for c in rows["neighbour_killer"]["checks"] if c["name"] == "training")
    assert "found no one to kill" in killer["message"], killer["message"]
    solo = grade(cls / "good", data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                 out=tmp_path / "solo", limits=LIMITS, isolation="bwrap", report=False)
    assert stable(solo) == stable(rows["good"])


def test_grading_processes_are_forked_only_from_a_process_without_threads(grading_data,
                                                                         tmp_path):
    """The command line forks its grading process (the harness already imported); where other
    threads run (a Dask worker, this pytest session) it is spawned, and grades the same."""
    import threading

    from harness.batch.local import grade_supervised, start_method
    script = ("import sys; from pathlib import Path\n"
              "from harness.batch.local import BatchOptions, grade_supervised, start_method\n"
              "print(start_method())  # still in the buffer when the child is forked\n"
              "opts = BatchOptions(data_dir=sys.argv[1], rubric_path=sys.argv[2], quick=True,\n"
              "                    isolation='subprocess', report=False)\n"
              "print(grade_supervised(Path(sys.argv[3]), Path(sys.argv[4]), opts)['score'])\n")
    alone = subprocess.run([sys.executable, "-c", script, str(grading_data), RUBRIC,
                            str(ROOT / "reference"), str(tmp_path / "forked")],
                           capture_output=True, text=True, check=True)
    assert alone.stdout.split() == ["fork", "70.0"]  # said once: the child did not repeat it
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method() == "spawn"
        opts = BatchOptions(data_dir=str(grading_data), rubric_path=RUBRIC, quick=True,
                            limits=LIMITS, isolation="subprocess", trusted=True, report=False)
        res = grade_supervised(ROOT / "reference", tmp_path / "out", opts)
    finally:
        stop.set()
        other.join()
    assert res["status"] == "graded" and res["score"] == res["max_score"]
