"""Shipping figures: a batch on a Dask LocalCluster of 2 workers against ``--jobs 2`` on the
same machine (the engine's overhead per submission), and the size and build time of the
Gradescope zip. Runs alternate (local, cluster, local, ...) and the medians are compared.

    python benchmarks/shipping.py [--copies 6] [--repeats 2] [--data-dir D]
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

from harness.batch.cluster import run_on_cluster  # noqa: E402
from harness.batch.local import BatchOptions, run_batch  # noqa: E402
from harness.gradescope.build import build  # noqa: E402


def batch_seconds(engine: str, copies: int, data_dir) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cls = Path(tmp) / "class"
        for i in range(copies):
            shutil.copytree(ROOT / "reference", cls / f"student{i:03d}",
                            ignore=shutil.ignore_patterns("__pycache__"))
        opts = BatchOptions(data_dir=data_dir, quick=True, report=True)
        t = time.perf_counter()
        if engine == "jobs":
            run_batch([str(cls)], Path(tmp) / "out", opts, jobs=2)
        else:
            run_on_cluster([str(cls)], Path(tmp) / "out", opts, "local:2")
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    times: dict[str, list[float]] = {"jobs": [], "cluster": []}
    for _ in range(args.repeats):
        for engine in times:
            times[engine].append(batch_seconds(engine, args.copies, args.data_dir))
    jobs, cluster = (statistics.median(times[e]) for e in ("jobs", "cluster"))
    print(f"quick batch of {args.copies} copies of the reference, median of {args.repeats}:")
    print(f"  --jobs 2            {jobs:6.1f} s  ({args.copies / jobs * 60:.1f} per minute)")
    print(f"  --cluster local:2   {cluster:6.1f} s  ({args.copies / cluster * 60:.1f} per minute)"
          f"; ratio {cluster / jobs:.2f}, overhead {(cluster - jobs) / args.copies:+.2f} s "
          "per submission (cluster start-up included)")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        size = build(Path(tmp) / "autograder.zip")
        print(f"Gradescope zip: {size / 1024:.0f} KiB, built in {time.perf_counter() - t:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
