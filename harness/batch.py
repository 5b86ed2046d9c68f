"""Batch grading: a whole class, in parallel, resumable, with an overview for the instructor.

Each submission is graded in its own harness process (which runs the submission in its own
worker), so nothing one submission does can reach another's grade or stop the batch. A
submission whose fingerprint (files, rubric, options, harness version) matches its existing
``results.json`` is not graded again unless ``force``; an interrupted batch therefore picks up
where it stopped.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .grading.fingerprint import submission_fingerprint
from .grading.pipeline import grade, grade_data, grade_options
from .grading.reference_curves import reference_history
from .grading.results import write_json
from .grading.rubric import load_rubric
from .grading.settings import grading_settings
from .isolation import SUBPROCESS_CAVEAT, Limits, choose
from .progress import fmt_seconds, say
from .worker import PLUGIN_FILE

_SKIP = {"__pycache__", ".git", ".ipynb_checkpoints"}


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
        found += sorted(c for c in p.iterdir() if c.is_dir() and c.name not in _SKIP
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
    limits: Limits = field(default_factory=Limits)
    isolation: str = "auto"
    report: bool = True
    gradescope: bool = False


def _grade_child(sub: Path, out: Path, hide: tuple[Path, ...], opts: BatchOptions,
                 gradescope: Path | None, scratch_root: Path) -> None:
    """Runs in a child process: grade, or record why grading was impossible."""
    try:
        grade(sub, dataset=opts.dataset, data_dir=opts.data_dir, rubric_path=opts.rubric_path,
              out=out, quick=opts.quick, seed=opts.seed, extra_checks=opts.extra_checks,
              gradescope=gradescope, report=opts.report, limits=opts.limits,
              isolation=opts.isolation, hide=hide, scratch_root=scratch_root)
    except BaseException as exc:
        write_json(out / "results.json", _error_result(sub, f"{type(exc).__name__}: {exc}",
                                                       traceback.format_exc(limit=5)))


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
    proc = multiprocessing.get_context("spawn").Process(
        target=_grade_child, args=(sub, out, hide, opts, gradescope, scratch_root), daemon=True)
    proc.start()
    return Child(proc, sub, out, scratch_root, time.perf_counter())


def _finish_child(child: Child) -> dict:
    """The results the child wrote, or an error result saying how it died; its scratch is
    removed either way."""
    child.process.join()
    shutil.rmtree(child.scratch_root, ignore_errors=True)
    res = _read(child.out / "results.json")
    if not res:
        res = _error_result(child.sub, f"the grading process died (exit code "
                            f"{child.process.exitcode}); the submission may have killed it")
        write_json(child.out / "results.json", res)
    return res


def grade_supervised(sub: Path, out: Path, opts: BatchOptions,
                     gradescope: Path | None = None) -> dict:
    """Grade one submission in a supervised child process; ``results.json`` always written."""
    opts.isolation = choose(opts.isolation)
    return _finish_child(_start_child(sub, out, (), opts, gradescope))


def _error_result(sub: Path, message: str, tb: str = "") -> dict:
    return {"submission": sub.name, "path": str(sub), "status": "error", "score": 0.0,
            "max_score": None, "checks": [], "error": message, "traceback": tb}


def run_batch(paths: list[str], out_root: Path, opts: BatchOptions, jobs: int,
              force: bool = False, templates: tuple[Path, ...] = ()) -> list[dict]:
    """Grade every submission under ``paths``; write the overview; return one row each."""
    subs = discover(paths)
    if not subs:
        raise ValueError(f"no submissions found in {', '.join(paths)}")
    opts.isolation = choose(opts.isolation, unattended=True)
    out_root.mkdir(parents=True, exist_ok=True)
    rubric = load_rubric(opts.rubric_path)
    options = grade_options(opts.dataset, opts.data_dir, opts.quick, opts.seed,
                            opts.extra_checks, opts.limits, opts.isolation)
    # Train the reference overlay once, up front, instead of in every child at once.
    data, _ = grade_data(opts.dataset, opts.data_dir, opts.seed, opts.quick)
    reference_history(data, grading_settings(opts.dataset, rubric, opts.quick, opts.limits,
                                             len(data.x_train), data.input_dim))

    names = _out_names(subs)
    todo, rows = [], {}
    for sub, name in zip(subs, names):
        out = out_root / name
        fp = submission_fingerprint(sub, rubric.source, options)
        previous = _read(out / "results.json")
        if not force and previous.get("fingerprint") == fp:
            rows[name] = previous
        else:
            todo.append((sub, name, out))
    say(f"batch: {len(subs)} submissions, {len(rows)} unchanged since their last grade, "
        f"{len(todo)} to grade with {jobs} job{'s' if jobs > 1 else ''} "
        f"({opts.isolation} isolation)")
    if opts.isolation == "subprocess":
        say(f"warning: {SUBPROCESS_CAVEAT}")

    running: dict[str, Child] = {}
    durations: list[float] = []
    done, total = len(rows), len(subs)
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
            say(f"{_bar(done, total)} {done}/{total}  {name}: {_score(res)}  "
                f"ETA {fmt_seconds(eta)}")
    ordered = [rows[n] for n in names]
    from .overview import write_overview  # matplotlib only once grading is done
    write_overview(ordered, names, subs, out_root, templates)
    return ordered


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _score(res: dict) -> str:
    if res.get("status") == "error":
        return f"ERROR {res.get('error', '')[:80]}"
    return f"{res.get('score', 0):g}/{res.get('max_score', 0):g}"


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"
