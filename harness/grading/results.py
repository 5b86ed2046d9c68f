"""Scores from outcomes, and the results document (``results.json``) that everything downstream
reads: reports, overviews, gradebooks, Gradescope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from harness import __version__
from harness.hookspecs import HOOKS_BY_PART, missing_hooks
from harness.checks.artifacts import Artifacts, SearchRecord, TestPredictions, TrainedRun
from harness.sandbox.isolation import SUBPROCESS_CAVEAT

from . import metrics
from .context import GradeData, Settings
from .declarations import Declarations
from .rubric import Rubric


SCHEMA_VERSION = 2


def _checks_and_parts(outcomes, rubric: Rubric) -> tuple[list[dict], dict]:
    checks, parts = [], {}
    for check, outcome, seconds in outcomes:
        max_score = rubric.points.get(check.name, 0.0)
        score = round(max_score * min(max(outcome.fraction, 0.0), 1.0), 2)
        part = rubric.parts.get(check.name, check.part)
        checks.append({"name": check.name, "title": check.title, "part": part, "score": score,
                       "max_score": max_score, "passed": outcome.passed,
                       "gate": check.name in rubric.gates,
                       "hooks": [*check.requires, *check.requires_one_of],
                       "message": outcome.message,
                       "details": outcome.details, "seconds": round(seconds, 3)})
        p = parts.setdefault(part, {"score": 0.0, "max_score": 0.0})
        p["score"] = round(p["score"] + score, 2)
        p["max_score"] += max_score
    return checks, parts


def assemble(sub: Path, data: GradeData, rubric: Rubric, settings: Settings, outcomes,
             decl: Declarations, implemented: list[str], load_error, output_tail: str,
             artifacts: Artifacts, reference_history: list[dict] | None, run: dict) -> dict:
    """The results document, complete: everything a report or overview shows is here or in
    the arrays file beside it (:func:`arrays`). ``run``: how the grade ran (isolation, limits,
    fingerprint, timings, ...)."""
    training = artifacts.get(TrainedRun)
    tested = artifacts.get(TestPredictions)
    search = artifacts.get(SearchRecord)
    checks, parts = _checks_and_parts(outcomes, rubric)
    gated_by = [c["name"] for c in checks if c["gate"] and not c["passed"]]
    total = 0.0 if gated_by else round(sum(c["score"] for c in checks), 2)
    if gated_by:  # the parts add up to the total
        parts = {name: {**part, "score": 0.0} for name, part in parts.items()}
    missing = [{"hook": h, "part": next(p for p, hs in HOOKS_BY_PART.items() if h in hs)}
               for h in missing_hooks(implemented)] if load_error is None else []
    res = {
        "schema_version": SCHEMA_VERSION,
        "status": _status(load_error, gated_by, checks),
        "submission": sub.name,
        "path": str(sub),
        "harness_version": __version__,
        "graded_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "rubric": rubric.name,
        "dataset": data.name,
        "classes": list(data.classes),
        "image_shape": list(data.image_shape),
        "data_verified": data.verified,
        "mode": "quick" if settings.quick else "full",
        "not_checked": sorted(set(rubric.points) - {c["name"] for c in checks}),
        "score": total,
        "max_score": sum(c["max_score"] for c in checks),
        "gated_by": gated_by,
        "parts": parts,
        "checks": checks,
        "test_accuracy": tested.accuracy if tested else None,
        "missing_hooks": missing,
        "load_error": None if load_error is None else {"message": load_error.message,
                                                        "traceback": load_error.traceback},
        "info": {"name": decl.name} if decl.name else {},
        "declarations": decl.as_dict(),
        "train_config": training.config if training else None,
        "history": training.history if training else None,
        "reference_history": reference_history,
        "search": search.as_dict() if search else None,
        "confusion_matrix": None,
        "per_class": None,
        "output_tail": output_tail,
        "permuted": data.permutation is not None,
        **run,
        "isolation_caveat": SUBPROCESS_CAVEAT if run.get("isolation") == "subprocess" else None,
    }
    if tested is not None:
        confusion = metrics.confusion_matrix(data.y_test, tested.predictions, data.num_classes)
        if data.permutation is not None:  # over the class names, as a reader knows them
            confusion = data.permutation.restore_confusion(confusion)
        res["confusion_matrix"] = confusion.tolist()
        res["per_class"] = metrics.per_class(confusion, data.classes)
    return res


def _status(load_error, gated_by: list[str], checks: list[dict]) -> str:
    """How the grade stands, for an instructor's triage: "did not load" (the plugin), "gated"
    (a gate failed: the grade is 0), "timed out" (the grade's wall time ran out before every
    check ran), else "graded". A grade that could not be made at all is "error" (written by the
    batch, not here)."""
    if load_error is not None:
        return "did not load"
    if gated_by:
        return "gated"
    if any("--grade-timeout" in c["message"] for c in checks if not c["passed"]):
        return "timed out"
    return "graded"


def arrays(artifacts: Artifacts, data: GradeData | None = None,
           reference_first_layer: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The arrays the report draws that do not belong in JSON: the first layer's weights, in
    the original pixel order when the grade saw a permuted view, and the reference's under
    the same budget (trained on the original view) to set beside them."""
    tested = artifacts.get(TestPredictions)
    if tested is None or tested.first_layer is None:
        return {}
    first = np.asarray(tested.first_layer)
    if data is not None and data.permutation is not None and \
            first.ndim == 2 and first.shape[0] == data.input_dim:
        first = data.permutation.restore_rows(first)
    out = {"first_layer": first}
    if reference_first_layer is not None and reference_first_layer.shape[0] == first.shape[0]:
        out["reference_first_layer"] = reference_first_layer
    return out
