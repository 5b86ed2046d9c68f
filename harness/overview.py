"""The class overview: ``index.html`` (one row per submission, histograms, similar pairs) and
``grades.csv`` for the gradebook."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from . import plots
from .hookspecs import HOOKS_BY_PART
from .report import TEMPLATES, _env, _png
from .similarity import similar_pairs

PLUGIN_TEMPLATE = TEMPLATES / "harness_plugin.py.j2"


def _histograms(rows: list[dict]):
    import matplotlib.pyplot as plt

    scores = [r["score"] for r in rows if r.get("max_score")]
    top = max((r["max_score"] for r in rows if r.get("max_score")), default=1)
    accs = [r["test_accuracy"] for r in rows if r.get("test_accuracy") is not None]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3), layout="constrained")
    a.hist(scores, bins=20, range=(0, top), color="C0")
    a.set(title="Scores", xlabel="points", ylabel="submissions")
    if accs:
        b.hist(accs, bins=20, color="C2")
    b.set(title="Test accuracy", xlabel="accuracy", ylabel="submissions")
    return fig


def write_overview(rows: list[dict], names: list[str], subs: list[Path], out_root: Path,
                   templates: tuple[Path, ...] = ()) -> None:
    write_grades_csv(rows, names, out_root / "grades.csv")
    pairs = similar_pairs(subs, names, [PLUGIN_TEMPLATE, *templates])
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
    html = _env().get_template("index.html.j2").render(
        entries=entries, parts=parts, pairs=pairs, histogram=_png(_histograms(rows)),
        mean=float(np.mean(scores)) if scores else None,
        median=float(np.median(scores)) if scores else None)
    (out_root / "index.html").write_text(html)
    plots.plt.close("all")


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
