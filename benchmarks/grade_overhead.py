"""Where a grade's time goes: the harness's own overhead per submission, apart from the time
spent in the submission's code.

Runs ``harness grade reference`` as a user would (a fresh process, so start-up counts), quick
and full alternately, and splits each wall time from ``results.json``'s timings:

- ``in hooks``: inside the submission's hooks, as its worker reports it (the reference's own
  training, prediction, ...; a slow submission makes this larger, not the harness);
- ``worker starts``: starting the sandboxed worker and loading the plugin, times the number of
  starts (one, plus one per fresh-process reload of a checkpoint);
- ``harness``: everything else: start-up of the command, loading data, the harness's checks,
  transfers, the reference overlay and the report.

With ``--before PYTHON`` (an interpreter with an earlier harness installed, e.g. a venv made with
``pip install git+...@COMMIT``) the same grades run with it too, interleaved, for a before/after
comparison in one run; figures that earlier version did not record show as "-".

    python benchmarks/grade_overhead.py [--repeats 3] [--data-dir D] [--isolation auto]
                                        [--before PYTHON]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grade_once(python: str, quick: bool, data_dir: str | None, isolation: str,
               report: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [python, "-m", "harness", "grade", "reference", "--out", tmp,
               "--isolation", isolation]
        cmd += ["--quick"] if quick else []
        cmd += ["--data-dir", data_dir] if data_dir else []
        cmd += [] if report else ["--no-report"]
        t = time.perf_counter()
        # outside the source tree: each interpreter imports its own installed harness (and
        # grades its own reference), however it was installed
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if done.returncode not in (0, 1):
            sys.exit(f"grading failed ({done.returncode}):\n{done.stderr[-2000:]}")
        results = json.loads((Path(tmp) / "results.json").read_text())
    timings = results["timings"]
    return {"wall": wall, "score": results["score"], **timings}


def worker_figures(isolation: str, calls: int = 200) -> str:
    """A worker's first start, a restart (a fresh process for a reload, a second after the
    previous start, as between checks) and one hook call's round trip, for the reference,
    with this harness."""
    import numpy as np

    from harness.sandbox.isolation import choose
    from harness.sandbox.process import SubmissionProcess

    mode = choose(isolation)
    with tempfile.TemporaryDirectory() as tmp, \
            SubmissionProcess(ROOT / "reference", Path(tmp), isolation=mode) as proc:
        t = time.perf_counter()
        proc.start()
        first = time.perf_counter() - t
        restarts = []
        for _ in range(5):
            time.sleep(1.0)  # a check's work between reloads, while the spare gets ready
            t = time.perf_counter()
            proc.restart()
            restarts.append(time.perf_counter() - t)
        model = proc.call("harness_build_model", input_dim=784, hidden_sizes=[64, 32],
                          activation="relu", num_classes=10, seed=0, dtype="float32")
        x = np.zeros((16, 784), np.float32)
        t = time.perf_counter()
        for _ in range(calls):
            proc.call("harness_predict", model=model, x=x)
        trip = (time.perf_counter() - t) / calls
    return (f"worker ({mode}): first start {first * 1e3:.0f} ms, restart "
            f"{statistics.median(restarts) * 1e3:.0f} ms (median of 5, 1 s apart), hook round trip "
            f"{trip * 1e3:.2f} ms (mean of {calls})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir")
    parser.add_argument("--isolation", default="auto", choices=("auto", "bwrap", "subprocess"))
    parser.add_argument("--no-report", action="store_true", help="leave out the HTML report")
    parser.add_argument("--before", metavar="PYTHON",
                        help="also grade with this interpreter's (earlier) harness, interleaved")
    args = parser.parse_args()
    versions = {"now": sys.executable, **({"before": args.before} if args.before else {})}
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"isolation {args.isolation}; median of {args.repeats} runs, interleaved\n")
    runs: dict[tuple[str, str], list[dict]] = {
        (v, m): [] for m in ("quick", "full") for v in versions}
    for repeat in range(args.repeats):  # the order flips every round: none always goes first
        for (version, mode), rows in list(runs.items())[::1 if repeat % 2 == 0 else -1]:
            rows.append(grade_once(versions[version], mode == "quick", args.data_dir,
                                   args.isolation, not args.no_report))

    def med(key: str, rows: list[dict]) -> float | None:
        values = [r[key] for r in rows if key in r]
        return statistics.median(values) if values else None

    def cell(value: float | None, width: int, fmt: str = ".2f") -> str:
        return f"{value:{width}{fmt}}" if value is not None else f"{'-':>{width}}"

    print(f"{'':>13} {'wall s':>7} {'in hooks':>9} {'worker starts':>15} {'harness':>8} "
          f"{'of which: load':>15} {'score':>6}")
    for (version, mode), rows in runs.items():
        wall, hooks, start = med("wall", rows), med("in_hooks", rows), med("worker_start", rows)
        harness = wall - hooks - start if hooks is not None and start is not None else None
        starts = med("worker_starts", rows)
        count = f"({starts:.0f} ×)" if starts else ""
        print(f"{version + ' ' + mode:>13} {cell(wall, 7)} {cell(hooks, 9)} "
              f"{cell(start, 7)} {count:>7} {cell(harness, 8)} "
              f"{cell(med('load', rows), 15)} {cell(med('score', rows), 6, '.1f')}")
    print("\nharness = wall − in hooks − worker starts: command start-up, data, the checks' "
          "own work, transfers, overlay, report")
    print(worker_figures(args.isolation))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
