"""The HTML report shared by ``harness grade`` and ``harness run-reference``.

One Jinja template (``templates/report.html.j2``); every image is embedded, so the file stands
alone. Sections whose material is absent are left out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from harness import hookspecs
from harness.files import write_atomic

from . import plots
from .advice import failing_first, fix_first
from .templates import environment


def _figures(history, reference_history, first_layer, image_shape, confusion, classes,
             search_trials, title, reference_first_layer=None) -> dict:
    figs = {}
    if history:
        figs["curves"] = plots.data_uri(plots.curves(history, reference_history, title))
    if first_layer is not None and first_layer.shape[0] == int(np.prod(image_shape)):
        units = min(first_layer.shape[1], 48)
        figs["weights"] = plots.data_uri(plots.weight_grid(first_layer, image_shape, units))
        figs["weights_diverging"] = len(image_shape) != 3  # how weight_grid scales the tiles
        if reference_first_layer is not None and \
                reference_first_layer.shape[0] == first_layer.shape[0]:
            figs["weights_reference"] = plots.data_uri(plots.weight_grid(
                reference_first_layer, image_shape, units))
    if confusion is not None:
        figs["confusion"] = plots.data_uri(plots.confusion(np.asarray(confusion), classes))
    if search_trials:
        figs["search"] = plots.data_uri(plots.search_heatmaps(search_trials))
    return figs


def gradient_pivot(rows: list[dict]) -> dict:
    """The gradient-check rows as a table: one row per tensor, one column per (activation, L2)."""
    columns = list(dict.fromkeys((r["activation"], r["reg"]) for r in rows))
    tensors = list(dict.fromkeys(r["tensor"] for r in rows))
    cells = {(r["tensor"], r["activation"], r["reg"]): r for r in rows}
    return {"columns": columns, "rows": [
        {"tensor": t, "cells": [cells.get((t, a, reg)) for a, reg in columns]} for t in tensors]}


def hook_docs() -> dict[str, str]:
    """Each hook's documentation from the contract, for the report's links."""
    return {name: (getattr(hookspecs, name).__doc__ or "").strip()
            for name in (*hookspecs.REQUIRED_HOOKS, *hookspecs.STANDS_IN_FOR, "harness_info")}


def render(**context) -> str:
    context.setdefault("generated", dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
    return environment().get_template("report.html.j2").render(**context)


def _details(res: dict, check: str) -> dict:
    found = next((c for c in res.get("checks", []) if c["name"] == check), None)
    return found["details"] if found and isinstance(found.get("details"), dict) else {}


def write_grade_report(res: dict, arrays: dict, path: Path) -> None:
    """``report.html`` for one grade, from its results document and arrays alone."""
    search = res.get("search") or {}
    figures = _figures(res.get("history"), res.get("reference_history"),
                       arrays.get("first_layer"), tuple(res.get("image_shape") or ()),
                       res.get("confusion_matrix"), res.get("classes") or [],
                       search.get("trials"), f"{res['submission']} on {res['dataset']}",
                       arrays.get("reference_first_layer"))
    write_atomic(path, render(kind="grade", res=res, figures=figures,
                              gradient=gradient_pivot(_details(res, "gradient").get("rows", [])),
                              policy=_details(res, "policy"), fix_first=fix_first(res),
                              checks=failing_first(res.get("checks", [])),
                              hook_docs=hook_docs()))


def write_reference_report(summary: dict, first_layer: np.ndarray, image_shape,
                           confusion: np.ndarray, classes, path: Path) -> None:
    search = summary.get("search") or {}
    trials = [{**t, "val_acc": t["best_val_acc"]} for t in search.get("trials", [])]
    figures = _figures(summary["history"], None, first_layer, image_shape, confusion, classes,
                       trials, f"reference on {summary['dataset']}")
    write_atomic(path, render(kind="reference", res=summary, figures=figures,
                              gradient=gradient_pivot([]), policy={}, fix_first=[], checks=[],
                              hook_docs={}))
