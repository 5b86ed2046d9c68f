"""Batch grading: a whole class, in parallel, resumable, with an overview for the instructor.

Each submission is graded in its own harness process (which runs the submission in its own
worker), so nothing one submission does can reach another's grade or stop the batch. A
submission whose fingerprint (files, rubric, options, harness version) matches its existing
``results.json`` is not graded again unless ``force``; an interrupted batch therefore picks up
where it stopped.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from harness.files import SKIP_DIRS, remove_tree
from harness.grading import record
from harness.grading.fingerprint import submission_fingerprint
from harness.grading.pipeline import grade, grade_data, grade_options
from harness.grading.reference_curves import reference_history
from harness.grading.rubric import load_rubric
from harness.grading.settings import grading_settings
from harness.present.progress import fmt_seconds, say
from harness.sandbox.cgroup import remove_groups_of
from harness.sandbox.isolation import SUBPROCESS_CAVEAT, IsolationError, Limits, choose
from harness.sandbox.worker import PLUGIN_FILE


def is_batch(paths: list[str]) -> bool:
    """Several paths, or one directory of submission directories."""
    if len(paths) != 1:
        return True
    p = Path(paths[0])
    return p.is_dir() and not (p / PLUGIN_FILE).exists() and any(
        (c / PLUGIN_FILE).is_file() for c in p.iterdir() if c.is_dir())


def discover(paths: list[str]) -> list[Path]:
    """Submission directories: each path that holds a plugin file, else its subdirectories
    (all of them: one without a plugin file still gets results saying so)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw).resolve()
        if (p / PLUGIN_FILE).is_file() or not p.is_dir():
            found.append(p)
            continue
        found += sorted(c for c in p.iterdir() if c.is_dir() and c.name not in SKIP_DIRS
                        and not c.name.startswith("."))
    return found


def _out_names(subs: list[Path]) -> list[str]:
    """Report directory names, unique even when two submissions share a basename."""
    names, seen = [], {}
    for s in subs:
        n = seen.get(s.name, 0)
        seen[s.name] = n + 1
        names.append(s.name if n == 0 else f"{s.name}-{n + 1}")
    return names


@dataclass
class BatchOptions:
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    rubric_path: str | None = None
    quick: bool = False
    seed: int = 0
    extra_checks: tuple[str, ...] = ()
    disabled_checks: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    isolation: str = "auto"
    trusted: bool = False  # a batch may run without a sandbox (isolation.TRUST_FLAG)
    permute: bool = True  # the secret permuted view (harness.data.permute); off: --no-permute
    report: bool = True
    gradescope: bool = False
    progress: bool = False  # one grade on a terminal: say which check runs


def _grade_child(sub: Path, out: Path, hide: tuple[Path, ...], opts: BatchOptions,
                 gradescope: Path | None, scratch_root: Path) -> None:
    """Runs in a child process: grade, or record why grading was impossible."""
    try:
        grade(sub, dataset=opts.dataset, data_dir=opts.data_dir, rubric_path=opts.rubric_path,
              out=out, quick=opts.quick, seed=opts.seed, extra_checks=opts.extra_checks,
              disabled_checks=opts.disabled_checks,
              gradescope=gradescope, report=opts.report, limits=opts.limits,
              isolation=opts.isolation, hide=hide, scratch_root=scratch_root,
              progress=opts.progress, permute=opts.permute)
    except BaseException as exc:
        res = error_result(sub, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=5))
        record.write_json(out / "results.json", res)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # all written and closed: skip the interpreter's teardown (≈ 0.1 s)


def start_method() -> str:
    """How to start a grading process: ``fork`` when this process runs no other thread (the
    command line, a local batch), so the child starts with the harness already imported (a quick
    grade 2.03 → 1.70 s, median of 6, identical results; OpenBLAS stops and restarts its own
    threads around a fork); ``spawn`` where other threads run (a Dask worker, a pytest session),
    since a lock one of them held at the fork could hang the child."""
    return "fork" if threading.active_count() == 1 else "spawn"


@dataclass
class Child:
    """A supervised grading process and what its supervisor cleans up after it."""

    process: multiprocessing.process.BaseProcess
    sub: Path
    out: Path
    scratch_root: Path
    started: float


def _start_child(sub: Path, out: Path, hide: tuple[Path, ...], opts: BatchOptions,
                 gradescope: Path | None = None) -> Child:
    """A supervised grading process: whatever the submission does to it (kill it, say),
    the caller is left standing to write ``results.json`` and remove the scratch."""
    stale = out / "results.json"
    if stale.exists():
        stale.unlink()
    scratch_root = Path(tempfile.mkdtemp(prefix="harness-"))
    os.chmod(scratch_root, 0o711)  # its grades' workers, of other users, pass through
    proc = multiprocessing.get_context(start_method()).Process(
        target=_grade_child, args=(sub, out, hide, opts, gradescope, scratch_root), daemon=True)
    proc.start()
    return Child(proc, sub, out, scratch_root, time.perf_counter())


def _finish_child(child: Child) -> dict:
    """The results the child wrote, or an error result saying how it died; its scratch is
    removed either way, also when this process is stopped while it waits."""
    try:
        child.process.join()
    finally:
        _stop_child(child)
    res = record.read(child.out)
    if not res:
        res = error_result(child.sub, f"the grading process died (exit code "
                            f"{child.process.exitcode}); the submission may have killed it")
        record.write_json(child.out / "results.json", res)
    return res


def _stop_child(child: Child) -> None:
    """Kill the child if it still runs (its sandboxed workers die with it); remove its
    scratch and its memory cgroups."""
    if child.process.is_alive():
        child.process.kill()
    child.process.join()
    remove_tree(child.scratch_root)
    remove_groups_of(child.process.pid)


def grade_supervised(sub: Path, out: Path, opts: BatchOptions,
                     gradescope: Path | None = None, unattended: bool = False) -> dict:
    """Grade one submission in a supervised child process; ``results.json`` always written.
    ``unattended``: part of a class, so ``auto`` isolation insists on bubblewrap."""
    try:
        opts.isolation = choose(opts.isolation, unattended=unattended, trusted=opts.trusted)
    except IsolationError as exc:
        res = error_result(sub, str(exc))
        record.write_json(out / "results.json", res)
        return res
    return _finish_child(_start_child(sub, out, (), opts, gradescope))


def error_result(sub: Path, message: str, tb: str = "") -> dict:
    return {"submission": sub.name, "path": str(sub), "status": "error", "score": 0.0,
            "max_score": None, "checks": [], "error": message, "traceback": tb}


@dataclass
class Plan:
    """A batch before grading: every submission and its output name, the results still
    valid from a previous run (by fingerprint), and what is left to grade."""

    subs: list[Path]
    names: list[str]
    rows: dict[str, dict]
    todo: list[tuple[Path, str, Path]]


def plan_batch(paths: list[str], out_root: Path, opts: BatchOptions, force: bool) -> Plan:
    """Find the submissions, keep the grades that are still valid, and prepare the reference
    overlay once, up front, instead of in every child at once."""
    subs = discover(paths)
    if not subs:
        raise ValueError(f"no submissions found in {', '.join(paths)}")
    out_root.mkdir(parents=True, exist_ok=True)
    rubric = load_rubric(opts.rubric_path)
    options = grade_options(opts.dataset, opts.data_dir, opts.quick, opts.seed,
                            opts.extra_checks, opts.limits, opts.isolation,
                            opts.disabled_checks, opts.permute)
    data = grade_data(opts.dataset, opts.data_dir, opts.seed, opts.quick)
    settings = grading_settings(opts.dataset, rubric, opts.quick, opts.limits,
                                len(data.x_train), data.input_dim)
    reference_history(data, settings.train_config, settings.train_budget["epochs"])
    names = _out_names(subs)
    todo, rows = [], {}
    for sub, name in zip(subs, names):
        out = out_root / name
        previous = record.read(out)
        if not force and previous.get("fingerprint") == submission_fingerprint(
                sub, rubric.text, options):
            rows[name] = previous
        else:
            todo.append((sub, name, out))
    return Plan(subs, names, rows, todo)


def progress_line(done: int, total: int, name: str, res: dict, eta: float) -> str:
    return f"{_bar(done, total)} {done}/{total}  {name}: {_score(res)}  ETA {fmt_seconds(eta)}"


def finish_batch(plan: Plan, out_root: Path, templates: tuple[Path, ...],
                 csv_format: str = "harness") -> list[dict]:
    """The rows in submission order, and the overview and gradebook written."""
    ordered = [plan.rows[n] for n in plan.names]
    from harness.present.overview import write_overview  # matplotlib only once grading is done
    write_overview(ordered, plan.names, plan.subs, out_root, templates, csv_format)
    return ordered


def run_batch(paths: list[str], out_root: Path, opts: BatchOptions, jobs: int,
              force: bool = False, templates: tuple[Path, ...] = (),
              csv_format: str = "harness") -> list[dict]:
    """Grade every submission under ``paths``, ``jobs`` at a time on this machine; write the
    overview; return one row each."""
    opts.isolation = choose(opts.isolation, unattended=True, trusted=opts.trusted)
    plan = plan_batch(paths, out_root, opts, force)
    subs, rows, todo = plan.subs, plan.rows, plan.todo
    say(f"batch: {len(subs)} submissions, {len(rows)} unchanged since their last grade, "
        f"{len(todo)} to grade with {jobs} job{'s' if jobs > 1 else ''} "
        f"({opts.isolation} isolation)")
    if opts.isolation == "subprocess":
        say(f"warning: {SUBPROCESS_CAVEAT}")

    running: dict[str, Child] = {}
    durations: list[float] = []
    done, total = len(rows), len(subs)
    try:
        while todo or running:
            while todo and len(running) < jobs:
                sub, name, out = todo.pop(0)
                hide = (*(s for s in subs if s != sub), out_root.resolve())
                gradescope = out / "gradescope" / "results.json" if opts.gradescope else None
                running[name] = _start_child(sub, out, hide, opts, gradescope)
            time.sleep(0.05)
            for name, child in list(running.items()):
                if child.process.is_alive():
                    continue
                del running[name]
                res = rows[name] = _finish_child(child)
                durations.append(time.perf_counter() - child.started)
                done += 1
                eta = (len(todo) + len(running)) * (sum(durations) / len(durations)) / jobs
                say(progress_line(done, total, name, res, eta))
    finally:  # interrupted (Ctrl-C): the grades under way stop and leave nothing behind
        for child in running.values():
            _stop_child(child)
    return finish_batch(plan, out_root, templates, csv_format)


def _score(res: dict) -> str:
    if res.get("status") == "error":
        return f"ERROR {res.get('error', '')[:80]}"
    return f"{res.get('score', 0):g}/{res.get('max_score', 0):g}"


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"
