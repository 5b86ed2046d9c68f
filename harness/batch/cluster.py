"""A batch on a Dask distributed cluster: ``harness grade submissions/ --cluster ADDRESS``.

Each submission travels with its task (its files, zipped: workers need no shared filesystem,
only the harness and the dataset), is graded on a worker exactly as ``harness grade`` grades
one submission (a supervised child process, sandboxed), and its record (``results.json``,
``arrays.npz``, ``report.html``) comes back as bytes. Resume, progress, the overview and the
gradebook are the local batch's. A task whose worker is lost is retried on another (``retries``).
``local[:N]`` starts a ``LocalCluster`` of N single-threaded worker processes.

Needs the ``cluster`` extra (``pip install 'harness[cluster]'``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

from harness.files import submission_files, write_atomic
from harness.present.progress import say

from .errors import ClusterUnavailable
from .local import BatchOptions, error_result, finish_batch, plan_batch, progress_line

RETRIES = 2


def pack(sub: Path) -> bytes:
    """The submission's files as a zip (no symbolic links, no caches)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in submission_files(sub):
            zf.write(path, path.relative_to(sub).as_posix())
    return buf.getvalue()


def grade_task(sub_name: str, payload: bytes, opts: dict) -> tuple[dict, dict[str, bytes]]:
    """Runs on a worker: grade in a fresh ``python -m harness.batch.task`` process, which
    unpacks the submission in a directory of its own, supervises the grade as ``harness grade``
    does, hands the record back as a zip on its stdout, and stops and cleans up after itself
    should this worker die first. The worker makes no file: a worker killed at any moment
    leaves nothing behind."""
    request = json.dumps({"name": sub_name, "opts": opts}).encode() + b"\n" + payload
    done = subprocess.run([sys.executable, "-m", "harness.batch.task", str(os.getpid())],
                          input=request, capture_output=True)
    try:
        with zipfile.ZipFile(io.BytesIO(done.stdout)) as zf:
            files = {name: zf.read(name) for name in zf.namelist()}
    except zipfile.BadZipFile:
        files = {}
    if "results.json" not in files:
        raise RuntimeError("grading task failed on the worker: "
                           f"{done.stderr.decode(errors='replace')[-2000:]}")
    return json.loads(files["results.json"]), files


def _client(address: str):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ClusterUnavailable("--cluster needs Dask: pip install 'harness[cluster]'") \
            from exc
    if address == "local" or address.startswith("local:"):
        n = address.partition(":")[2] or "2"
        if not n.isdigit() or int(n) < 1:
            raise ClusterUnavailable(f"--cluster {address}: write local or local:N, N ≥ 1")
        n = int(n)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") \
            from exc


def run_on_cluster(paths: list[str], out_root: Path, opts: BatchOptions, address: str,
                   force: bool = False, templates: tuple[Path, ...] = (),
                   csv_format: str = "harness") -> list[dict]:
    """Grade every submission under ``paths`` on the Dask cluster at ``address``; write the
    overview; return one row each."""
    if opts.isolation == "auto":  # unattended, auto means bubblewrap: say so in the options
        opts.isolation = "bwrap"  # that fingerprint the grades, as the workers will see them
    plan = plan_batch(paths, out_root, opts, force)
    client, cluster = _client(address)
    try:
        from dask.distributed import as_completed

        workers = len(client.scheduler_info()["workers"])
        say(f"batch: {len(plan.subs)} submissions, {len(plan.rows)} unchanged since their "
            f"last grade, {len(plan.todo)} to grade on {address} ({workers} workers)")
        options = asdict(opts)
        futures = {}
        for sub, name, out in plan.todo:
            future = client.submit(grade_task, sub.name, pack(sub), options,
                                   key=f"harness-grade-{name}-{time.time_ns()}",
                                   retries=RETRIES, pure=False)
            futures[future] = (name, out)
        started, done, total = time.perf_counter(), len(plan.rows), len(plan.subs)
        for future in as_completed(futures):
            name, out = futures[future]
            try:
                res, files = future.result()
            except Exception as exc:  # the task failed on every try: that submission only
                res = error_result(Path(name), f"graded on the cluster, the task failed: "
                                   f"{type(exc).__name__}: {exc}")
                files = {"results.json": json.dumps(res, indent=2).encode()}
            for fname, data in files.items():
                write_atomic(out / fname, data)
            plan.rows[name] = res
            done += 1
            graded = done - (total - len(plan.todo))
            eta = (time.perf_counter() - started) / graded * (total - done)
            say(progress_line(done, total, name, res, eta))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return finish_batch(plan, out_root, templates, csv_format)
