"""The worker process contains whatever the submission does inside a hook."""

import os
import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.sandbox import wire
from harness.sandbox.isolation import Limits
from harness.sandbox.process import SubmissionFailure, SubmissionProcess


def make(tmp_path, body: str, isolation: str = "subprocess"):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "harness_plugin.py").write_text(
        "import os, sys, time\nimport numpy as np\nfrom harness.hookspecs import hookimpl\n\n"
        + textwrap.dedent(body))
    return SubmissionProcess(sub, tmp_path / "scratch", Limits(hook_seconds=3), isolation)


def test_results_and_handles_round_trip(tmp_path):
    with make(tmp_path, """
        class M: pass
        @hookimpl
        def harness_build_model(input_dim): return M()
        @hookimpl
        def harness_predict(model, x):
            print("predicting", x.shape)
            return np.zeros(len(x), np.int64) + isinstance(model, M)
    """) as proc:
        model = proc.call("harness_build_model", input_dim=3)
        out = proc.call("harness_predict", model=model, x=np.ones((4, 3)))
        assert out.tolist() == [1, 1, 1, 1]
        assert "predicting (4, 3)" in proc.output_tail()


@pytest.mark.parametrize("body, kind, message", [
    ("while True: pass", "timeout", "did not finish within its time limit"),
    ("os._exit(3)", "crashed", "exited with code 3"),
    ("import ctypes; ctypes.string_at(0)", "crashed", "SIGSEGV (segmentation fault)"),
    ("raise RuntimeError('boom')", "exception", "RuntimeError: boom"),
    ("return np.array([object()])", "exception", "arrays of Python objects cannot be sent"),
])
def test_failures_become_submission_failures(tmp_path, body, kind, message):
    with make(tmp_path, f"""
        @hookimpl
        def harness_predict(x):
            {body}
    """) as proc:
        with pytest.raises(SubmissionFailure) as info:
            proc.call("harness_predict", x=np.zeros(2))
        assert info.value.kind == kind and message in info.value.message
        if kind != "exception":  # a fresh worker takes over for the next call
            with pytest.raises(SubmissionFailure):
                proc.call("harness_predict", x=np.zeros(2))
            assert proc.generation >= 2


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_a_restart_loads_the_plugin_in_a_spare_that_never_ran_it(isolation, tmp_path):
    """The spare started after a load waits without importing the submission; a restart
    hands it the plugin, so the reloaded process holds nothing from the one before; closing
    stops the spare too."""
    from harness.sandbox.isolation import bwrap_works
    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    proc = make(tmp_path, """
        with open("loads.txt", "a") as f:  # in the worker's work directory
            f.write("load\\n")
        STATE = []
        @hookimpl
        def harness_predict(x):
            STATE.append(1)
            return np.full(len(x), len(STATE))
    """, isolation)
    loads = tmp_path / "scratch" / "work" / "loads.txt"
    with proc:
        proc.start()
        assert proc.call("harness_predict", x=np.zeros(2)).tolist() == [1, 1]
        assert proc.call("harness_predict", x=np.zeros(2)).tolist() == [2, 2]
        spare = proc._spare.proc
        assert spare.poll() is None and loads.read_text() == "load\n"  # waiting, not loaded
        proc.restart()
        assert proc.proc is spare  # the spare became the worker...
        assert proc.call("harness_predict", x=np.zeros(2)).tolist() == [1, 1]  # ...fresh
        assert loads.read_text() == "load\nload\n"
        next_spare = proc._spare.proc
    assert spare.poll() is not None and next_spare.poll() is not None


def test_spares_follow_the_planned_restarts(tmp_path):
    """Told how many restarts are to come, the process keeps a spare ready only while one
    is: the last load starts nothing that would wait unused. A restart beyond the plan
    still works, in a worker started for it."""
    proc = make(tmp_path, """
        @hookimpl
        def harness_predict(x):
            return np.zeros(len(x), int)
    """)
    with proc:
        proc.expect_restarts(1)
        proc.start()
        assert proc._spare is not None  # one restart planned: a worker waits for it
        proc.restart()
        assert proc._spare is None  # none left: nothing started for nothing
        assert proc.timing["workers_spawned"] == proc.timing["worker_starts"] == 2
        proc.restart()  # unplanned (after a crash, say): a new worker, no spare after it
        assert proc.call("harness_predict", x=np.zeros(3)).tolist() == [0, 0, 0]
        assert proc._spare is None and proc.timing["workers_spawned"] == 3


def test_stale_handles_are_refused_after_a_crash(tmp_path):
    with make(tmp_path, """
        @hookimpl
        def harness_build_model(input_dim): return object()
        @hookimpl
        def harness_predict(model, x): os._exit(1)
    """) as proc:
        model = proc.call("harness_build_model", input_dim=1)
        with pytest.raises(SubmissionFailure):
            proc.call("harness_predict", model=model, x=np.zeros(1))
        with pytest.raises(SubmissionFailure, match="died"):
            proc.call("harness_predict", model=model, x=np.zeros(1))


def test_wire_refuses_malformed_and_never_unpickles():
    from hostile_messages import message, object_array
    with pytest.raises(wire.ChannelError, match="malformed"):
        wire.decode(b"not a message")
    with pytest.raises(wire.ChannelError, match="dtype '\\|O' are not accepted"):
        wire.decode(object_array())
    with pytest.raises(wire.ChannelError, match="missing array"):
        wire.decode(message({"tree": {"__array__": 3}, "arrays": []}))
    with pytest.raises(wire.ChannelError, match="bad array shape"):
        wire.decode(message({"tree": 1, "arrays": [["<f8", [-1]]]}))
    with pytest.raises(TypeError, match="cannot be sent"):
        wire.encode({"x": np.array([object()], dtype=object)})
    msg = {"x": np.arange(3), "nested": [{"y": np.float32(2.5)}], "s": "ok",
           "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "e": np.zeros((0, 4)),
           "names": np.array(["coat", "bag"])}
    back = wire.decode(wire.encode(msg))
    assert back["x"].tolist() == [0, 1, 2] and back["nested"][0]["y"] == 2.5
    assert back["f"].tolist() == msg["f"].tolist() and back["e"].shape == (0, 4)
    assert back["names"].tolist() == ["coat", "bag"] and back["x"].flags.writeable


def test_wire_refuses_sizes_it_does_not_hold_before_allocating():
    """A reply whose arrays declare more bytes than it carries is refused from its header
    alone: nothing is decompressed, nothing the size of the declaration is allocated."""
    import tracemalloc

    from hostile_messages import oversized_declaration
    tracemalloc.start()
    with pytest.raises(wire.ChannelError, match="declare 3200000000 bytes but it holds"):
        wire.decode(oversized_declaration())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 << 20  # the harness never allocated the 3.2 GB the header asked for


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_a_process_forked_around_the_guard_is_killed_when_the_hook_returns(isolation, tmp_path):
    """A grandchild forked through libc (the audit hook never sees it) and orphaned at once is
    killed as soon as the hook returns, in both modes; the worker itself carries on."""
    from harness.sandbox.isolation import bwrap_works
    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    proc = make(tmp_path, """
        import ctypes
        @hookimpl
        def harness_predict(x):
            if x[0] == 0:  # leave a process behind
                libc = ctypes.CDLL(None)
                if libc.fork() == 0:
                    if libc.fork() == 0:
                        open("orphan.pid", "w").write(str(os.getpid()))
                        while True:
                            time.sleep(0.05)
                    libc._exit(0)
                while not os.path.exists("orphan.pid"):
                    time.sleep(0.01)
                return x
            time.sleep(0.2)  # was it swept? (pids as this worker sees them)
            stat = f"/proc/{open('orphan.pid').read()}/stat"
            try:  # a process being reaped at this moment reads as gone, or as nothing
                fields = open(stat).read().rsplit(")", 1)
            except OSError:
                fields = []
            alive = len(fields) == 2 and fields[1].split()[0] not in "ZX"
            return np.array([int(alive)])
    """, isolation)
    with proc:
        proc.call("harness_predict", x=np.zeros(2))
        assert proc.call("harness_predict", x=np.ones(2)).tolist() == [0]
        # 1, or 2 when its parent was still dying as the hook returned: both are leftovers
        assert re.search(r"left [12] process\(es\) running; killed", proc.output_tail())


def test_symlinks_to_secrets_stay_behind_and_the_original_is_untouched(tmp_path):
    secret = tmp_path / "grader-secret.txt"
    secret.write_text("the answer key")
    proc = make(tmp_path, """
        @hookimpl
        def harness_predict(x):
            here = os.path.dirname(__file__)
            found = os.path.exists(os.path.join(here, "key.txt"))
            try:
                open(os.path.join(here, "harness_plugin.py"), "a").write("# changed")
                wrote = True
            except OSError:
                wrote = False
            return np.array([found, wrote], dtype=np.int64)
    """)
    (proc.submission / "key.txt").symlink_to(secret)
    original = (proc.submission / "harness_plugin.py").read_text()
    with proc:
        assert proc.call("harness_predict", x=np.zeros(1)).tolist() == [0, 0]
    assert proc.copy_left_out == ["key.txt (a symbolic link)"]
    assert (proc.submission / "harness_plugin.py").read_text() == original


def test_the_copy_of_a_submission_is_bounded_and_never_blocks(tmp_path):
    """A FIFO (a copy would wait on it for ever), a flood of files, files too large in all:
    left out, in words, and the copy stops."""
    from harness.sandbox.isolation import copy_submission
    src = tmp_path / "src"
    src.mkdir()
    os.mkfifo(src / "a_pipe")
    for i in range(30):
        (src / f"f{i:02d}.bin").write_bytes(b"x" * (300 << 10))  # 300 KB each, 9 MB in all
    left = copy_submission(src, tmp_path / "copy", max_mb=1, max_files=20, max_total_mb=3)
    assert "a_pipe (not a regular file)" in left
    assert any("over 3 MB in all" in w for w in left)
    assert left[-1].startswith("everything after 20 files")
    copied = list((tmp_path / "copy").iterdir())
    assert 0 < len(copied) <= 10 and sum(p.stat().st_size for p in copied) <= 3 << 20


def test_fingerprints_cost_nothing_for_a_huge_sparse_file(tmp_path):
    import time
    from harness.grading.fingerprint import submission_fingerprint
    (tmp_path / "harness_plugin.py").write_text("x = 1\n")
    with open(tmp_path / "weights.bin", "wb") as f:
        f.truncate(20 << 30)  # 20 GB, sparse
    (tmp_path / "link").symlink_to("/etc/shadow")
    t0 = time.perf_counter()
    before = submission_fingerprint(tmp_path, "rubric", {})
    assert time.perf_counter() - t0 < 5
    (tmp_path / "harness_plugin.py").write_text("x = 2\n")
    assert submission_fingerprint(tmp_path, "rubric", {}) != before


@pytest.mark.parametrize("isolation", ["subprocess", "bwrap"])
def test_large_inputs_are_shared_once_and_cannot_be_changed_on_disk(tmp_path, isolation):
    """Training inputs travel as a read-only file mapped copy-on-write, not through the pipe
    at every call: in-place changes by the submission stay in its own memory, and the file the
    harness shares cannot be rewritten (so a later call, or another run, sees the true data)."""
    from harness.sandbox.isolation import bwrap_works
    if isolation == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap is not available here")
    x = np.arange(400_000, dtype=np.float32).reshape(1000, 400)  # 1.6 MB: shared
    with make(tmp_path, """
        import glob
        @hookimpl
        def harness_predict(x):
            x /= 2.0  # a student's in-place preprocessing: allowed, in its own memory
            tampered = []
            for path in glob.glob(os.path.join(os.getcwd(), "shared", "*.npy")):
                try:
                    with open(path, "r+b") as f:
                        f.seek(200)
                        f.write(b"\\0" * 64)
                    tampered.append(path)
                except OSError:
                    pass
            return np.array([float(x[0, 1]), float(len(tampered))])
    """, isolation) as proc:
        first = proc.call("harness_predict", x=x)
        second = proc.call("harness_predict", x=x)
        files = list(proc.shared_dir.glob("*.npy"))
        assert first.tolist() == [0.5, 0.0] and second.tolist() == [0.5, 0.0]
        assert len(files) == 1 and np.array_equal(np.load(files[0]), x)
        assert proc.call("harness_predict", x=x[:10]).tolist() == [0.5, 0.0]  # small: inline


def test_under_bwrap_a_forbidden_framework_is_not_there_to_import(tmp_path, monkeypatch):
    """The import blocker lives in the submission's own process, so code can remove it; under
    bubblewrap the framework's files are not in the worker's view at all, while the rubric's
    allowed packages are."""
    from harness.sandbox import isolation
    if not isolation.bwrap_works():
        pytest.skip("bubblewrap is not installed or cannot create namespaces here")
    site_dir = tmp_path / "prefix" / "site-packages"
    for name in ("tinygrad", "okpkg"):  # an installed framework, an allowed package
        (site_dir / name).mkdir(parents=True)
        (site_dir / name / "__init__.py").write_text("VALUE = 1\n")
        info = site_dir / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-1.0.dist-info/METADATA,,\n")
    monkeypatch.syspath_prepend(str(site_dir))
    paths, sites = isolation._python_paths, isolation._site_dirs
    monkeypatch.setattr(isolation, "_python_paths", lambda: [*paths(), tmp_path / "prefix"])
    monkeypatch.setattr(isolation, "_site_dirs", lambda: [*sites(), site_dir])
    isolation.package_view.cache_clear()
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "harness_plugin.py").write_text(textwrap.dedent(f"""
        import importlib, sys
        from harness.hookspecs import hookimpl

        @hookimpl
        def harness_info():
            sys.meta_path[:] = [f for f in sys.meta_path
                                if type(f).__name__ != "ImportBlocker"]
            sys.path.append({str(site_dir)!r})
            found = {{}}
            for name in ("tiny" + "grad", "okpkg"):
                try:
                    found[name] = importlib.import_module(name).VALUE
                except ImportError:
                    found[name] = 0
            return found
    """))
    try:
        with SubmissionProcess(sub, tmp_path / "scratch", Limits(hook_seconds=10), "bwrap",
                               allowed=("okpkg",)) as proc:
            proc.start()
            assert proc.call("harness_info") == {"tinygrad": 0, "okpkg": 1}
    finally:
        isolation.package_view.cache_clear()


def test_wall_limits_are_a_fixed_rule_capped_and_recorded(grading_data, tmp_path):
    """The training limit is the budget's work at a fixed rate, the same on every machine and
    whatever else runs (never a timing), within its bounds; the whole grade has a wall limit
    of its own, named when it is reached, and results.json says which limits applied."""
    from harness.grading.pipeline import grade
    from harness.grading.settings import (MAX_TRAIN_SECONDS, MIN_TRAIN_SECONDS,
                                          training_wall_limit)
    cifar = training_wall_limit(45000, [3072, 512, 256, 10], 15)
    fashion = training_wall_limit(50000, [784, 128, 64, 10], 10)
    assert cifar == MAX_TRAIN_SECONDS and fashion == MIN_TRAIN_SECONDS
    middle = training_wall_limit(50000, [784, 256, 128, 10], 10)
    assert MIN_TRAIN_SECONDS < middle == training_wall_limit(50000, [784, 256, 128, 10], 10) \
        < MAX_TRAIN_SECONDS
    res = grade(Path(__file__).parent / "fixtures" / "hostile" / "infinite_loop",
                data_dir=str(grading_data), quick=True, out=tmp_path / "out", report=False,
                limits=Limits(hook_seconds=30, grade_seconds=4), isolation="subprocess")
    messages = [c["message"] for c in res["checks"]]
    assert any("set with --grade-timeout" in m for m in messages), messages
    assert any(m.startswith("not run: the grade's wall-time limit") for m in messages), messages
    assert res["limits"]["applied"]["grade_seconds"] == 4
    assert res["limits"]["applied"]["train_seconds"] == MIN_TRAIN_SECONDS


def test_numpy_global_generator_is_seeded_from_the_grade(tmp_path):
    """Code that draws from np.random without seeding it answers the same on every grade
    with the same seed, and differently with another."""
    body = """
        @hookimpl
        def harness_predict(x):
            return np.random.randint(0, 2**31, size=len(x))
    """
    answers = []
    for run, seed in enumerate((3, 3, 4)):
        (tmp_path / str(run)).mkdir()
        proc = make(tmp_path / str(run), body)
        proc.seed = seed
        with proc:
            answers.append(proc.call("harness_predict", x=np.zeros(4)).tolist())
    assert answers[0] == answers[1] != answers[2]


def test_a_plain_subprocess_runs_as_a_user_of_its_own_where_it_can(tmp_path):
    """As root, with the interpreter and the scratch reachable by another user, a subprocess
    worker drops to the grade's own uid for good; the per-user process limit then holds it
    (root is exempt). Where they are not reachable (an interpreter in root's home, a private
    temp directory) it stays the harness's user, as the caveat says."""
    import sys
    import tempfile
    from harness.sandbox.isolation import harness_roots, worker_uid
    if os.geteuid() != 0:
        pytest.skip("only root can give a worker a user of its own")
    scratch_root = Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp: reachable by every user
    try:
        os.chmod(scratch_root, 0o711)
        reachable = worker_uid("subprocess", 1, scratch_root / "s") is not None
        if not reachable:
            pytest.skip(f"the interpreter ({sys.executable}) or the harness "
                        f"({harness_roots()}) is not reachable by another user here")
        sub = tmp_path / "sub"
        sub.mkdir()
        (sub / "harness_plugin.py").write_text(textwrap.dedent("""
            import os
            import numpy as np
            from harness.hookspecs import hookimpl
            @hookimpl
            def harness_predict(x):
                return np.array([os.getuid(), os.geteuid()])
        """))
        with SubmissionProcess(sub, scratch_root / "s", Limits(hook_seconds=10),
                               "subprocess") as proc:
            uids = proc.call("harness_predict", x=np.zeros(1)).tolist()
            assert proc.uid is not None and uids == [proc.uid, proc.uid] != [0, 0]
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
