"""The HTML report shared by ``harness grade`` and ``harness run-reference``.

One Jinja template (``templates/report.html.j2``); every image is embedded, so the file stands
alone. Sections whose material is absent are left out.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import jinja2
import numpy as np

from . import plots

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.2f}%"
    env.filters["num"] = lambda v, digits=4: "–" if v is None else f"{v:.{digits}g}"
    return env


def _png(fig) -> str:
    return "data:image/png;base64," + base64.b64encode(plots.png_bytes(fig)).decode()


def _figures(history, reference_history, first_layer, image_shape, confusion, classes,
             search_trials, title) -> dict:
    figs = {}
    if history:
        figs["curves"] = _png(plots.curves(history, reference_history, title))
    if first_layer is not None and first_layer.shape[0] == int(np.prod(image_shape)):
        figs["weights"] = _png(plots.weight_grid(first_layer, image_shape))
    if confusion is not None:
        figs["confusion"] = _png(plots.confusion(np.asarray(confusion), classes))
    if search_trials:
        figs["search"] = _png(plots.search_heatmaps(search_trials))
    return figs


def gradient_pivot(rows: list[dict]) -> dict:
    """The gradient-check rows as a table: one row per tensor, one column per (activation, L2)."""
    columns = list(dict.fromkeys((r["activation"], r["reg"]) for r in rows))
    tensors = list(dict.fromkeys(r["tensor"] for r in rows))
    cells = {(r["tensor"], r["activation"], r["reg"]): r for r in rows}
    return {"columns": columns, "rows": [
        {"tensor": t, "cells": [cells.get((t, a, reg)) for a, reg in columns]} for t in tensors]}


def render(**context) -> str:
    context.setdefault("generated", dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    return _env().get_template("report.html.j2").render(**context)


def write_grade_report(res: dict, artifacts: dict, data, path: Path) -> None:
    search = res.get("search") or {}
    figures = _figures(res.get("history"), res.get("reference_history"),
                       artifacts.get("first_layer"), data.image_shape,
                       res.get("confusion_matrix"), data.classes, search.get("trials"),
                       f"{res['submission']} on {res['dataset']}")
    path.write_text(render(kind="grade", res=res, figures=figures,
                           gradient=gradient_pivot(artifacts.get("gradient_rows", [])),
                           policy=artifacts.get("policy_findings", [])))


def write_reference_report(summary: dict, first_layer: np.ndarray, image_shape,
                           confusion: np.ndarray, classes, path: Path) -> None:
    search = summary.get("search") or {}
    trials = [{**t, "val_acc": t["best_val_acc"]} for t in search.get("trials", [])]
    figures = _figures(summary["history"], None, first_layer, image_shape, confusion, classes,
                       trials, f"reference on {summary['dataset']}")
    path.write_text(render(kind="reference", res=summary, figures=figures,
                           gradient=gradient_pivot([]), policy=[]))
