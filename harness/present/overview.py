"""The class overview: ``index.html`` (one row per submission, histograms, similar pairs) and
``grades.csv`` for the gradebook."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from harness.files import write_atomic
from harness.hookspecs import HOOKS_BY_PART

from . import plots
from .similarity import similar_pairs
from .templates import environment, template_path


def write_overview(rows: list[dict], names: list[str], subs: list[Path], out_root: Path,
                   templates: tuple[Path, ...] = ()) -> None:
    write_grades_csv(rows, names, out_root / "grades.csv")
    pairs = similar_pairs(subs, names, [template_path("harness_plugin.py.j2"), *templates])
    entries = []
    for name, r in zip(names, rows):
        entries.append({
            "name": name, "status": r.get("status", "graded"), "score": r.get("score"),
            "max_score": r.get("max_score"), "parts": r.get("parts") or {},
            "test_accuracy": r.get("test_accuracy"),
            "failed": [c["name"] for c in r.get("checks", []) if not c["passed"]],
            "error": r.get("error"), "gated_by": r.get("gated_by") or [],
            "report": f"{name}/report.html" if (out_root / name / "report.html").exists()
            else None,
        })
    order = [*HOOKS_BY_PART, "policy"]
    parts = sorted({p for e in entries for p, v in e["parts"].items() if v.get("max_score")},
                   key=lambda p: (order.index(p) if p in order else len(order), p))
    scores = [e["score"] for e in entries if e["max_score"]]
    html = environment().get_template("index.html.j2").render(
        entries=entries, parts=parts, pairs=pairs,
        histogram=plots.data_uri(plots.score_histograms(rows)),
        mean=float(np.mean(scores)) if scores else None,
        median=float(np.median(scores)) if scores else None)
    write_atomic(out_root / "index.html", html)


def write_grades_csv(rows: list[dict], names: list[str], path: Path) -> None:
    parts = sorted({p for r in rows for p in (r.get("parts") or {})})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["submission", "score", "max_score", *parts, "test_accuracy",
                    "failed_checks", "status"])
        for name, r in zip(names, rows):
            w.writerow([name, r.get("score"), r.get("max_score"),
                        *[(r.get("parts") or {}).get(p, {}).get("score", "") for p in parts],
                        "" if r.get("test_accuracy") is None else f"{r['test_accuracy']:.4f}",
                        " ".join(c["name"] for c in r.get("checks", []) if not c["passed"]),
                        r.get("status", "graded")])
