"""``harness grade``: load → check → score → report, for one submission.

The submission's code runs only in its worker process (:mod:`harness.sandbox`); every figure
scored here is computed by the harness from what the worker returned. Whatever the submission
does, ``results.json`` is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

from harness import blas
from harness.checks import Check, Outcome, load_checks
from harness.checks.artifacts import Artifacts, TrainedRun, UndeclaredArtifact
from harness.checks.policy import stand_in_roots
from harness.data import (DATASETS, DEFAULT_VAL_SIZE, find_dataset, load_dataset, locate,
                          permute as permutation, to_unit, train_val_split)
from harness.files import default_out
from harness.hookspecs import HOOKS_BY_PART
from harness.sandbox.imports import FORBIDDEN_MODULES
from harness.sandbox.isolation import SUBPROCESS_CAVEAT, Limits, choose
from harness.present.progress import say
from harness.sandbox.process import SubmissionFailure, SubmissionProcess
from harness.sandbox.workarea import Tampered

from . import declarations, record, reference_curves, results
from . import rubric as rubric_mod
from .context import Context, GradeData
from .fingerprint import submission_fingerprint
from .renderer import Renderer
from .rubric import Rubric, load_rubric
from .settings import QUICK_SUBSET, grading_settings

CURVES_WAIT_MIN = 30.0  # seconds a grade waits at least for the comparison curves
PART_OF_HOOK = {hook: part for part, hooks in HOOKS_BY_PART.items() for hook in hooks}
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"


def resolve_submission(path: str | Path) -> Path:
    """A submission directory; ``reference`` names the reference solution itself."""
    p = Path(path)
    if not p.exists() and str(path) == "reference":
        return REFERENCE_DIR
    return p.resolve()


def grade_data(dataset: str, data_dir: str | None, seed: int, quick: bool) -> GradeData:
    """The data for grading: the training split (a subset when ``quick``), validation and test,
    scaled to [0, 1]."""
    d = load_dataset(dataset, data_dir)
    val = min(DEFAULT_VAL_SIZE[dataset], len(d.x_train) // 5)
    split = train_val_split(d.x_train, d.y_train, val, seed,
                            subset=QUICK_SUBSET if quick else None).scaled()
    return GradeData(d.name, *split.arrays, to_unit(d.x_test), d.y_test, d.classes,
                     d.image_shape, d.verified)


def grade_options(dataset, data_dir, quick, seed, extra_checks, limits, isolation,
                  disabled_checks=(), permute: bool = True) -> dict:
    """The options that change a grade (for the fingerprint)."""
    return {"dataset": dataset, "data_dir": str(data_dir), "quick": quick, "seed": seed,
            "checks": list(extra_checks), "limits": limits.to_dict(), "isolation": isolation,
            "disabled": list(disabled_checks), "permute": permute}


def load_grading_checks(rubric: Rubric, extra_checks=(), disabled_checks=(),
                        quick: bool = False) -> list[Check]:
    """The checks of this grade, the rubric's check names validated against them."""
    every = load_checks(extra_checks)
    rubric_mod.check_names(rubric, [c.name for c in every], DATASETS)
    checks = load_checks(extra_checks, disabled_checks) if disabled_checks else every
    return [c for c in checks if c.quick or not quick]


def hidden_paths(data_source: Path, out: Path, hide: tuple[Path, ...]) -> tuple[Path, ...]:
    """What a submission must not read: the data, the caches, the reports, other submissions."""
    env = os.environ.get("HARNESS_DATA")
    candidates = [data_source, locate.cache_root(), locate.DEBIAN_FASHION_MNIST, out, *hide]
    if env:
        candidates.append(Path(env))
    return tuple(Path(p) for p in candidates)


PIP_NAMES = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "Pillow",
             "yaml": "PyYAML", "skimage": "scikit-image"}


def explain_missing_module(failure: SubmissionFailure, rubric: Rubric) -> None:
    """Add to a load error what to do about a module the grading machine lacks."""
    module = failure.missing_module
    if not module:
        return
    root = module.split(".")[0]
    if root in rubric.allowed_packages:
        failure.message += (f". The course allows it: whoever runs the harness installs it "
                            f"with `pip install {PIP_NAMES.get(root, root)}`")
    else:
        failure.message += (f". It is not among the packages this course allows (the rubric's "
                            f"[packages] allowed: {', '.join(rubric.allowed_packages) or 'none'})"
                            f": remove the import, or ask the instructor to allow it")


def run_check(check: Check, ctx: Context, rubric: Rubric) -> Outcome:
    """One check, its failures contained: whatever the submission did becomes an Outcome."""
    if ctx.proc.load_error is not None and check.needs_plugin:
        return Outcome(False, "not graded: harness_plugin.py did not load (see the load error)",
                       details={"not_loaded": True})
    missing = [h for h in check.requires if h not in ctx.proc.implemented]
    if check.requires_one_of and not any(h in ctx.proc.implemented
                                             for h in check.requires_one_of):
        missing.append(" or ".join(check.requires_one_of))
    if missing:
        parts = sorted({PART_OF_HOOK.get(h.split(" or ")[0], "?") for h in missing})
        return Outcome(False, f"missing hook{'s' if len(missing) > 1 else ''} "
                       f"{', '.join(missing)} (the {'/'.join(parts)} part): this check "
                       f"cannot run and its {rubric.points.get(check.name, 0):g} points are lost",
                       details={"missing_hooks": missing})
    try:
        return check.run(dataclasses.replace(ctx, artifacts=ctx.artifacts.seen_by(check)))
    except UndeclaredArtifact:
        raise  # a mistake in the check, not the submission's: its author must see it
    except SubmissionFailure as failure:
        return Outcome(False, failure.message,
                       details={"failure": failure.kind, "traceback": failure.traceback})
    except Tampered as exc:  # a link or a file planted where the harness works
        return Outcome(False, f"the submission changed its work directory under the harness: "
                       f"{exc}", details={"failure": "tampered"})
    except Exception as exc:  # a malformed return value tripped the check: say so, go on
        return Outcome(False, f"the submission returned something this check could not use "
                       f"({type(exc).__name__}: {exc})",
                       details={"traceback": traceback.format_exc(limit=3)})


def run_checks(ctx: Context, checks: list[Check], rubric: Rubric,
               progress: bool = False) -> list[tuple]:
    """Start the worker, read the plugin's declarations, run every check: (check, outcome,
    seconds) each, saying which on stderr when ``progress``. Nothing the submission does
    escapes as an exception."""
    proc = ctx.proc
    proc.expect_restarts(sum(check.reloads for check in checks))
    if proc.submission.is_dir():
        proc.start()
    else:
        proc.load_error = SubmissionFailure("load", f"{proc.submission} is not a directory")
    if proc.load_error is not None:
        explain_missing_module(proc.load_error, rubric)
    elif "harness_info" in proc.implemented:
        try:
            ctx.decl = declarations.parse(proc.call("harness_info"))
        except SubmissionFailure as failure:
            ctx.decl = declarations.Declarations(problems=(
                f"harness_info failed ({failure.message}); defaults used",))
    outcomes = []
    for n, check in enumerate(checks, start=1):
        if progress:
            say(f"harness: [{n}/{len(checks)}] {check.name}: {check.title}")
        t0 = time.perf_counter()
        outcome = run_check(check, ctx, rubric)
        outcomes.append((check, outcome, time.perf_counter() - t0))
    return outcomes


def grade(submission: str | Path, dataset: str = "fashion-mnist", data_dir: str | None = None,
          rubric_path: str | Path | None = None, out: str | Path | None = None,
          quick: bool = False, seed: int = 0, extra_checks: tuple[str, ...] = (),
          disabled_checks: tuple[str, ...] = (),
          gradescope: str | Path | None = None, report: bool = True,
          limits: Limits | None = None, isolation: str = "auto",
          hide: tuple[Path, ...] = (), scratch_root: Path | None = None,
          progress: bool = False, permute: bool = True) -> dict:
    """Grade one submission; write ``out/results.json`` (and the report); return the results.

    ``hide``: more paths the submission must not read (in a batch: the other submissions and
    the batch's report root). ``scratch_root``: where the scratch directory goes (a supervisor
    passes one it removes itself, in case this process is killed before it can).
    ``progress``: say on stderr which check is running (a single grade; a batch has its bar).
    ``permute``: grade on the secret permuted view (:mod:`harness.data.permute`) unless the
    rubric turns it off; False for a debug run (``--no-permute``); results.json says which.
    """
    started = time.perf_counter()
    sub = resolve_submission(submission)
    out = Path(out) if out else default_out("grade", sub.name)
    out.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    isolation = choose(isolation)
    if isolation == "subprocess" and not hide:  # a batch said so once, for the whole class
        say(f"harness: warning: {SUBPROCESS_CAVEAT}")
    rubric = load_rubric(rubric_path)
    checks = load_grading_checks(rubric, extra_checks, disabled_checks, quick)
    source = find_dataset(dataset, data_dir)
    hidden = hidden_paths(source if source.is_dir() else source.parent, out, hide)
    with contextlib.ExitStack() as stack:  # every process started here is stopped on the way out
        renderer = stack.enter_context(Renderer()) if report else None  # imports meanwhile
        scratch = Path(tempfile.mkdtemp(prefix=f"harness-{sub.name}-", dir=scratch_root))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)  # link-safe: rmtree uses fds
        stand_ins = stand_in_roots(sub, rubric.data_loaders, "policy" in rubric.gates,
                                   FORBIDDEN_MODULES | frozenset(rubric.forbidden_extra)) \
            if sub.is_dir() else ()
        proc = stack.enter_context(SubmissionProcess(sub, scratch, limits, isolation, hidden,
                                                     rubric.allowed_packages, seed, stand_ins))
        if sub.is_dir():
            proc.boot()  # the worker starts up while the data loads
        data = grade_data(dataset, data_dir, seed, quick)
        settings = grading_settings(dataset, rubric, quick, limits, len(data.x_train),
                                    data.input_dim, permutation.probe_seed(sub.name, seed))
        curves_dir = scratch / "curves"  # the harness's own: never the worker's
        curves_dir.mkdir()
        curves = stack.enter_context(reference_curves.start(
            data, settings.train_config, settings.train_budget["epochs"],
            {"dataset": dataset, "data_dir": data_dir, "seed": seed, "quick": quick},
            limits.threads, curves_dir))  # the reference learns the original view
        if permute and rubric.permute:
            data = data.permuted(permutation.for_grade(data.image_shape, data.num_classes,
                                                       sub.name, seed))
        loaded = time.perf_counter()
        ctx = Context(proc, data, settings, rubric, artifacts=Artifacts(),
                      deadline=time.monotonic() + limits.grade_seconds - (loaded - started))
        outcomes = run_checks(ctx, checks, rubric, progress)
        output_tail, output_by_hook = proc.output_tail(), proc.output_by_hook()
        proc.close()
        checked = time.perf_counter()
        artifacts: Artifacts = ctx.artifacts
        fingerprint = submission_fingerprint(sub, rubric.text, grade_options(
            dataset, data_dir, quick, seed, extra_checks, limits, isolation, disabled_checks,
            permute))

        def write(overlay, overlay_info: dict) -> dict:
            """Assemble and write the record (results.json, arrays, Gradescope's file)."""
            run = {"isolation": isolation,
                   "limits": {**limits.to_dict(), "applied": {
                       "hook_seconds": settings.hook_timeout,
                       "train_seconds": settings.train_timeout,
                       "search_seconds": settings.search_timeout,
                       "grade_seconds": limits.grade_seconds}},
                   "resources": proc.resources(),
                   "blas": blas.describe(limits.threads),
                   "submission_files_left_out": proc.copy_left_out or [],
                   "disabled_checks": list(disabled_checks), "output_by_hook": output_by_hook,
                   "fingerprint": fingerprint,
                   "timings": {"load": round(loaded - started, 3),
                               "checks": round(checked - loaded, 3),
                               "reference_curves": round(time.perf_counter() - checked, 3),
                               "total": round(time.perf_counter() - started, 3),
                               **{k: round(v, 3) for k, v in proc.timing.items()},
                               **{k: round(v, 3) for k, v in overlay_info.get(
                                   "timings", {}).items()}},
                   "reference_history_missing": overlay_info.get("problem")}
            res = results.assemble(sub, data, rubric, settings, outcomes, ctx.decl,
                                   proc.implemented, proc.load_error, output_tail, artifacts,
                                   overlay, run)
            record.write(out, res, results.arrays(artifacts, data, curves.first_layer()
                                                  if overlay is not None else None))
            if gradescope:
                from harness.present.gradescope import to_gradescope
                record.write_json(Path(gradescope), to_gradescope(res, rubric.visibility,
                                                                  rubric.leaderboard))
            return res

        # The grade is complete when its checks are: the record is written now, and the
        # reference's comparison curves (a figure, still training on a cold cache) join it
        # if they arrive within as long as the checks took.
        if not artifacts.get(TrainedRun):
            res = write(None, {})
        else:
            if not curves.ready():
                write(None, {"problem": "pending: the reference's comparison curves were "
                                        "still training when the checks finished"})
            res = write(*curves.history(min(settings.train_timeout,
                                            max(CURVES_WAIT_MIN, checked - loaded))))
        if renderer is not None:
            renderer.render(out)
    return res
