"""Class grading on a real Dask LocalCluster: the same results as a local batch, resumable,
files carried with the tasks."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the 'cluster' extra (dask[distributed]) is not installed")

from harness.batch.cluster import pack, run_on_cluster  # noqa: E402
from harness.batch.local import BatchOptions, run_batch  # noqa: E402
from harness.sandbox.isolation import Limits  # noqa: E402

from compare import stable  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUBRIC = str(FIXTURES / "rubric_synthetic.toml")


def test_pack_leaves_links_and_caches_behind(tmp_path):
    sub = tmp_path / "s"
    (sub / "__pycache__").mkdir(parents=True)
    (sub / "harness_plugin.py").write_text("x = 1\n")
    (sub / "__pycache__" / "a.pyc").write_bytes(b"\0")
    (sub / "secret").symlink_to("/etc/passwd")
    import io
    import zipfile
    assert zipfile.ZipFile(io.BytesIO(pack(sub))).namelist() == ["harness_plugin.py"]


def test_cluster_batch_matches_the_local_batch_and_resumes(data_dir, tmp_path, capsys):
    cls = tmp_path / "class"
    cls.mkdir()
    shutil.copytree(Path("reference").resolve(), cls / "ref")
    for name in ("raises", "wrong_test"):
        shutil.copytree(FIXTURES / "submissions" / name, cls / name)
    opts = dict(dataset="fashion-mnist", data_dir=str(data_dir), rubric_path=RUBRIC,
                quick=True, limits=Limits(), report=True)
    local = run_batch([str(cls)], tmp_path / "local", BatchOptions(**opts), jobs=2)
    remote = run_on_cluster([str(cls)], tmp_path / "remote", BatchOptions(**opts), "local:2")
    assert [stable(r) for r in remote] == [stable(r) for r in local]
    for name in ("ref", "raises", "wrong_test"):
        assert (tmp_path / "remote" / name / "report.html").is_file()
    assert (tmp_path / "remote" / "index.html").is_file()
    grades = (tmp_path / "remote" / "grades.csv").read_text()
    assert grades == (tmp_path / "local" / "grades.csv").read_text()
    capsys.readouterr()
    again = run_on_cluster([str(cls)], tmp_path / "remote", BatchOptions(**opts), "local:1")
    assert "3 unchanged since their last grade, 0 to grade" in capsys.readouterr().err
    assert [r["fingerprint"] for r in again] == [r["fingerprint"] for r in remote]
    assert json.loads((tmp_path / "remote" / "ref" / "results.json").read_text())["score"] \
        == 70


def test_a_worker_lost_mid_task_is_retried_elsewhere(data_dir, tmp_path):
    import os
    import signal
    import threading
    import time

    from dask.distributed import Client, LocalCluster

    cls = tmp_path / "class"
    for name in ("a", "b"):
        shutil.copytree(Path("reference").resolve(), cls / name)
    opts = BatchOptions(dataset="fashion-mnist", data_dir=str(data_dir), rubric_path=RUBRIC,
                        quick=True, limits=Limits(), report=False)
    temp = Path(tempfile.gettempdir())
    temp_before = set(temp.glob("harness-*"))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        rows = []
        batch = threading.Thread(target=lambda: rows.extend(run_on_cluster(
            [str(cls)], tmp_path / "out", opts, cluster.scheduler_address)))
        batch.start()
        killed = None
        deadline = time.time() + 120
        while killed is None and time.time() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                time.sleep(1.0)  # let the grade get under way
                os.kill(pid, signal.SIGKILL)
                killed = busy[0]
            time.sleep(0.1)
        batch.join(timeout=600)
    assert killed is not None and not batch.is_alive()
    assert [r["status"] for r in rows] == ["graded", "graded"]
    assert all(r["score"] == r["max_score"] for r in rows)
    # The task the dead worker started stopped with it and removed its files (no grade left
    # running in the background, no directory left behind).
    deadline = time.time() + 30
    while (tasks_running() or set(temp.glob("harness-*")) - temp_before) and \
            time.time() < deadline:
        time.sleep(0.2)
    assert tasks_running() == []
    assert set(temp.glob("harness-*")) - temp_before == set()


def tasks_running() -> list[int]:
    """Process ids of grading tasks (``python -m harness.batch.task``) on this machine."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"harness.batch.task" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids
