"""The class overview: ``index.html`` (what the class got wrong, one row per submission,
histograms, similar code side by side, how the batch ran) and ``grades.csv``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.files import write_atomic

from . import plots
from .classstats import what_went_wrong
from .gradebook import ordered_parts, platform_file, student_name, write_gradebooks
from .similarity import similar_pairs
from .templates import environment, template_path


def run_metadata(rows: list[dict]) -> dict:
    """How the batch was graded, from its results (what every graded row agrees on, else
    the values seen)."""
    graded = [r for r in rows if r.get("status") != "error"]
    keys = ("dataset", "rubric", "isolation", "harness_version", "mode")
    meta = {k: ", ".join(sorted({str(r.get(k)) for r in graded if r.get(k) is not None}))
            for k in keys}
    times = sorted(r["graded_at"] for r in graded if r.get("graded_at"))
    meta["graded"] = f"{times[0]} to {times[-1]}" if len(set(times)) > 1 else \
        (times[0] if times else "")
    return meta


STATUS_ORDER = ("error", "did not load", "timed out", "gated", "graded")
LOW = 0.5  # a score under half the maximum is marked


def _flag(entries: list[dict], pairs: list[dict]) -> None:
    """What an instructor should look at in each row: a low score, code similar to another
    submission's, a declared name another submission declares too (a copied plugin keeps its
    author's name)."""
    similar: dict[str, list[str]] = {}
    for p in pairs:
        similar.setdefault(p["a"], []).append(p["b"])
        similar.setdefault(p["b"], []).append(p["a"])
    declared: dict[str, list[str]] = {}
    for e in entries:
        if e["student"]:
            declared.setdefault(e["student"], []).append(e["name"])
    for e in entries:
        flags = []
        if e["status"] != "error" and e["max_score"] and e["score"] < LOW * e["max_score"]:
            flags.append("low score")
        if e["name"] in similar:
            flags.append("similar to " + ", ".join(similar[e["name"]]))
        twins = [n for n in declared.get(e["student"], []) if n != e["name"]]
        if twins:
            flags.append(f"declares the same name as {', '.join(twins)}")
        e["flags"] = flags


def _attention(e: dict) -> tuple:
    """Sort key: errors, load failures, time-outs and gates first, then flagged rows, then
    the rest by score, lowest first."""
    status = STATUS_ORDER.index(e["status"]) if e["status"] in STATUS_ORDER else 0
    share = e["score"] / e["max_score"] if e.get("max_score") else 0.0
    return (status, not e["flags"], share, e["name"])


def write_overview(rows: list[dict], names: list[str], subs: list[Path], out_root: Path,
                   templates: tuple[Path, ...] = (), csv_format: str = "harness",
                   roster: list[dict] | None = None, assignment: str = "harness") -> list[str]:
    """``out_root/index.html`` and ``out_root/grades.csv`` for ``rows`` (results documents),
    and a platform's gradebook beside it (:func:`~harness.present.gradebook.write_gradebooks`);
    the submissions a roster did not match."""
    _, unmatched = write_gradebooks(rows, names, out_root, csv_format, roster, assignment)
    pairs = similar_pairs(subs, names, [template_path("harness_plugin.py.j2"), *templates])
    parts = ordered_parts(rows)
    entries = []
    for name, r in zip(names, rows):
        entries.append({
            "name": name, "student": student_name(r), "status": r.get("status", "graded"),
            "score": r.get("score"), "max_score": r.get("max_score"),
            "parts": r.get("parts") or {}, "test_accuracy": r.get("test_accuracy"),
            "failed": [c["name"] for c in r.get("checks", []) if not c["passed"]
                       and not (c.get("details") or {}).get("not_loaded")],
            "error": r.get("error"), "gated_by": r.get("gated_by") or [],
            "report": f"{name}/report.html" if (out_root / name / "report.html").exists()
            else None,
        })
    _flag(entries, pairs)
    entries.sort(key=_attention)  # who needs attention first; any column re-sorts
    scores = [e["score"] for e in entries if e["max_score"]]
    histogram_alt = "Histograms of the scores" + (
        f" (mean {np.mean(scores):.1f}, median {np.median(scores):.1f}, {len(scores)} "
        "submissions)" if scores else "") + " and of the test accuracies"
    html = environment().get_template("index.html.j2").render(
        histogram_alt=histogram_alt,
        entries=entries, parts=parts, pairs=pairs, wrong=what_went_wrong(rows, names),
        meta=run_metadata(rows), histogram=plots.data_uri(plots.score_histograms(rows)),
        mean=float(np.mean(scores)) if scores else None,
        median=float(np.median(scores)) if scores else None,
        platform=platform_file(csv_format) if csv_format != "harness" else None)
    write_atomic(out_root / "index.html", html)
    return unmatched
