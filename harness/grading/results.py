"""Scores from outcomes, and the results documents: ``results.json`` and Gradescope's schema."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from harness import __version__
from harness.hookspecs import HOOKS_BY_PART, REQUIRED_HOOKS

from .context import GradeData, Settings
from .declarations import Declarations
from .rubric import Rubric


def assemble(sub: Path, data: GradeData, rubric: Rubric, settings: Settings, outcomes,
             decl: Declarations, implemented: list[str], load_error, output_tail: str,
             artifacts: dict) -> dict:
    """The results document (without timings and report-only extras)."""
    training = artifacts.get("training")
    checks, parts = [], {}
    for check, outcome, seconds in outcomes:
        max_score = rubric.points.get(check.name, 0.0)
        score = round(max_score * min(max(outcome.fraction, 0.0), 1.0), 2)
        part = rubric.parts.get(check.name, check.part)
        checks.append({"name": check.name, "title": check.title, "part": part, "score": score,
                       "max_score": max_score, "passed": outcome.passed,
                       "message": outcome.message, "details": outcome.details,
                       "seconds": round(seconds, 3)})
        p = parts.setdefault(part, {"score": 0.0, "max_score": 0.0})
        p["score"] = round(p["score"] + score, 2)
        p["max_score"] += max_score
    gated_by = [c["name"] for c in checks if c["name"] in rubric.gates and not c["passed"]]
    total = 0.0 if gated_by else round(sum(c["score"] for c in checks), 2)
    missing = [{"hook": h, "part": next(p for p, hs in HOOKS_BY_PART.items() if h in hs)}
               for h in REQUIRED_HOOKS if h not in implemented] if load_error is None else []
    return {
        "submission": sub.name,
        "path": str(sub),
        "harness_version": __version__,
        "rubric": rubric.name,
        "dataset": data.name,
        "data_verified": data.verified,
        "mode": "quick" if settings.quick else "full",
        "score": total,
        "max_score": sum(c["max_score"] for c in checks),
        "gated_by": gated_by,
        "parts": parts,
        "checks": checks,
        "test_accuracy": artifacts.get("test_accuracy"),
        "missing_hooks": missing,
        "load_error": None if load_error is None else {"message": load_error.message,
                                                        "traceback": load_error.traceback},
        "info": {"name": decl.name} if decl.name else {},
        "declarations": decl.as_dict(),
        "train_config": training.config if training else None,
        "history": training.history if training else None,
        "search": artifacts.get("search"),
        "output_tail": output_tail,
    }


def gradescope(res: dict) -> dict:
    """Gradescope's autograder ``results.json``: one test per check."""
    tests = []
    for c in res["checks"]:
        output = c["message"]
        tb = c["details"].get("traceback") if isinstance(c["details"], dict) else None
        if tb:
            output += "\n\n" + tb
        tests.append({"name": f"{c['part']}: {c['title']}", "score": c["score"],
                      "max_score": c["max_score"], "output": output, "visibility": "visible"})
    summary = f"score {res['score']:g}/{res['max_score']:g}"
    if res["gated_by"]:
        summary += f" (set to 0 by the {', '.join(res['gated_by'])} check)"
    return {"score": res["score"], "tests": tests, "output": summary,
            "execution_time": int(res.get("timings", {}).get("total", 0))}


def summary_text(res: dict) -> str:
    """The readable summary printed after grading."""
    lines = [f"{res['submission']}: {res['score']:g} / {res['max_score']:g} points "
             f"({res['mode']} grade, {res['dataset']})"]
    if res["gated_by"]:
        lines.append(f"  grade set to 0: the {', '.join(res['gated_by'])} check failed")
    for problem in (res.get("declarations") or {}).get("problems", []):
        lines.append(f"  harness_info: {problem}")
    if res["load_error"]:
        lines.append(f"  could not load the plugin: {res['load_error']['message']}")
        if res["load_error"]["traceback"]:
            lines += ["    " + ln for ln in res["load_error"]["traceback"].splitlines()]
    for c in res["checks"]:
        mark = "PASS" if c["passed"] else "FAIL"
        lines.append(f"  {mark} {c['name']:<11} {c['score']:>5g}/{c['max_score']:<3g} "
                     f"{c['message']}")
        tb = c["details"].get("traceback") if isinstance(c["details"], dict) else None
        if tb and not c["passed"]:
            lines += ["         | " + ln for ln in tb.strip().splitlines()[-6:]]
    if res["missing_hooks"]:
        lines.append("  missing hooks: " + ", ".join(f"{m['hook']} ({m['part']})"
                                                    for m in res["missing_hooks"]))
    if res.get("test_accuracy") is not None:
        lines.append(f"  test accuracy {res['test_accuracy']:.4f}")
    return "\n".join(lines)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def write_json(path: Path, doc: dict) -> None:
    """Write atomically: an interrupted batch never leaves a half-written results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2, default=_json_default)
    os.replace(tmp, path)
