"""Batch throughput and the cost of isolation.

1. Throughput: N copies of the reference graded as one batch with 2 jobs, at the quick and the
   full budget: wall time and submissions per minute.
2. Isolation overhead, measured side by side in one run (medians of interleaved repeats):
   - one hook call's round trip through the worker vs the same call in-process;
   - the reference's training under the grading budget, in-process vs through the worker
     (bubblewrap and plain subprocess);
   - a whole quick grade under bubblewrap vs a plain subprocess.

    python benchmarks/batch_throughput.py [--copies 8] [--data-dir D] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from harness.batch.local import BatchOptions, run_batch  # noqa: E402
from harness.grading.pipeline import grade, grade_data  # noqa: E402
from harness.grading.rubric import load_rubric  # noqa: E402
from harness.grading.settings import grading_settings  # noqa: E402
from harness.sandbox.isolation import Limits, bwrap_works  # noqa: E402
from harness.sandbox.process import SubmissionProcess  # noqa: E402
from harness.sandbox.worker import Worker  # noqa: E402


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def throughput(copies: int, quick: bool, data_dir, isolation: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cls = Path(tmp) / "class"
        for i in range(copies):
            shutil.copytree(ROOT / "reference", cls / f"student{i:03d}",
                            ignore=shutil.ignore_patterns("__pycache__"))
        opts = BatchOptions(data_dir=data_dir, quick=quick, isolation=isolation, trusted=True,
                            report=True)
        seconds = timed(lambda: run_batch([str(cls)], Path(tmp) / "out", opts, jobs=2))
    return seconds, copies / seconds * 60


def reply_peaks() -> str:
    """The harness's own peak memory while decoding a legitimate large reply (CIFAR-10-sized
    float64 parameters) and a 1 MB message whose arrays declare 3.2 GB."""
    import tracemalloc

    import numpy as np

    from harness.sandbox import wire
    from hostile_messages import oversized_declaration

    sizes = [3072, 512, 256, 10]
    params = {f"W{i}": np.ones((a, b)) for i, (a, b) in enumerate(zip(sizes, sizes[1:]), 1)}
    legit = wire.encode({"ok": True, "result": params})
    out = []
    bomb = oversized_declaration()
    for name, payload in (("legitimate 13 MB parameters", legit), ("3.2 GB declared", bomb)):
        tracemalloc.start()
        try:
            wire.decode(payload)
            verdict = "decoded"
        except wire.ChannelError:
            verdict = "refused"
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append(f"{name} ({len(payload) / 1e3:.0f} kB sent): {verdict}, peak "
                   f"{peak / 1e6:.1f} MB")
    return "; ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--full-copies", type=int, default=4)
    ap.add_argument("--data-dir")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    modes = ["bwrap", "subprocess"] if bwrap_works() else ["subprocess"]
    print(f"isolation available: {', '.join(modes)}; 2 cores; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    # --- isolation overhead -------------------------------------------------------------
    data = grade_data("fashion-mnist", args.data_dir, 0, quick=False)
    print(f"data: {data.name}, {len(data.x_train)} training images ({data.verified})")
    settings = grading_settings("fashion-mnist", load_rubric(), quick=False,
                                n_train=len(data.x_train))
    config = {**settings.train_config, "num_classes": data.num_classes}
    kwargs = dict(x_train=data.x_train, y_train=data.y_train, x_val=data.x_val,
                  y_val=data.y_val, config=config, budget=settings.train_budget)
    x = data.x_val[:16]
    local = Worker(ROOT / "reference")
    local.load()
    model = local.call("harness_build_model", dict(input_dim=784, hidden_sizes=[64, 32],
                                                   activation="relu", num_classes=10, seed=0,
                                                   dtype="float32"))
    startup = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for m in modes:
                p = SubmissionProcess(ROOT / "reference", Path(tmp) / f"{m}{i}", Limits(), m)
                startup[m].append(timed(p.start))
                p.close()
    print("worker start-up (copy the submission, start the sandbox, load the plugin): " +
          ", ".join(f"{m} {statistics.median(v) * 1e3:.0f} ms" for m, v in startup.items()))
    print(f"harness peak memory decoding a reply: {reply_peaks()}")
    rtt = {"in-process": [], **{m: [] for m in modes}}
    train = {"in-process": [], **{m: [] for m in modes}}
    procs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in modes:
            procs[m] = SubmissionProcess(ROOT / "reference", Path(tmp) / m, Limits(threads=2), m)
            procs[m].start()
        handles = {m: procs[m].call("harness_build_model", input_dim=784, hidden_sizes=[64, 32],
                                    activation="relu", num_classes=10, seed=0,
                                    dtype="float32") for m in modes}
        for _ in range(args.repeats):
            rtt["in-process"].append(timed(lambda: [local.call(
                "harness_predict", {"model": model, "x": x}) for _ in range(200)]) / 200)
            train["in-process"].append(timed(lambda: local.call(
                "harness_train", {**kwargs, "checkpoint_path": f"{tmp}/local.npz",
                                  "checkpoint_dir": tmp, "data_dir": None})))
            for m in modes:
                rtt[m].append(timed(lambda: [procs[m].call(
                    "harness_predict", model=handles[m], x=x) for _ in range(200)]) / 200)
                train[m].append(timed(lambda: procs[m].call(
                    "harness_train", timeout=600, **kwargs,
                    checkpoint_path=str(Path(tmp) / m / "ckpt.npz"),
                    checkpoint_dir=str(Path(tmp) / m), data_dir=None)))
        for p in procs.values():
            p.close()
    base_train = statistics.median(train["in-process"])
    print(f"\nisolation overhead (median of {args.repeats}, interleaved; BLAS 2 threads):")
    print(f"{'':<12} {'hook round trip':>16} {'training (12 ep.)':>18} {'ratio':>6}")
    for name in ("in-process", *modes):
        r, t = statistics.median(rtt[name]), statistics.median(train[name])
        print(f"{name:<12} {r * 1e3:>13.2f} ms {t:>16.2f} s {t / base_train:>6.3f}")

    quick = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for m in modes:
                quick[m].append(timed(lambda: grade(
                    ROOT / "reference", data_dir=args.data_dir, quick=True, isolation=m,
                    out=Path(tmp) / f"{m}{i}", report=False)))
    print("whole quick grade: " + ", ".join(
        f"{m} {statistics.median(v):.2f} s" for m, v in quick.items()))

    # --- throughput ---------------------------------------------------------------------
    print(f"\nbatch throughput, 2 jobs, {modes[0]} isolation:")
    for quick_mode, copies in ((True, args.copies), (False, args.full_copies)):
        seconds, per_min = throughput(copies, quick_mode, args.data_dir, modes[0])
        print(f"  {'quick' if quick_mode else 'full':<5} {copies:>3} copies of the reference: "
              f"{seconds:6.1f} s, {per_min:5.1f} submissions/minute")


if __name__ == "__main__":
    main()
