"""Search: a record for every combination of a small grid, and the best chosen by validation
accuracy.

``harness_search`` returns either the records (``{"trials": [...], "best": {...}}``) or the path
of a records file it wrote under ``out_dir``, which the harness reads itself: a CSV with a header
row, a JSON list of trials, or a JSON dict of trials. Column names are matched without regard
to case against :data:`ALIASES` (lr, learning_rate, alpha ...; hidden_sizes, hidden, hs ...;
reg, l2, lambda, weight_decay, wd ...; val_acc, val_accuracy, best_val_accuracy ...), and sizes
may come one column per layer (hidden1, hidden2 or h1, h2: :data:`PER_LAYER`). Without a
reported best, the harness takes the trial with the highest validation accuracy.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from pathlib import Path

from harness.sandbox.workarea import Tampered, WorkArea

from . import Check, Outcome, checkimpl, runs
from .artifacts import SearchRecord

MAX_RECORDS_BYTES = 5 * 1024 * 1024
ALIASES = {
    "lr": ("lr", "learning_rate", "learning rate", "learningrate", "eta", "lr0", "alpha",
           "base_lr", "initial_lr", "lr_init", "init_lr"),
    "hidden_sizes": ("hidden_sizes", "hidden_size", "hidden", "hidden_dim", "hidden_dims",
                     "hidden_layers", "hidden_units", "hidden sizes", "hidden size", "hs",
                     "n_hidden", "num_hidden", "hidden_layer_sizes", "layers", "architecture"),
    "reg": ("reg", "l2", "lambda", "lam", "weight_decay", "reg_strength", "l2_reg",
            "regularization", "reg_lambda", "l2_lambda", "lambda_reg", "l2_strength", "wd",
            "reg_strength_l2", "regularization_strength"),
    "val_acc": ("val_acc", "val_accuracy", "valid_acc", "validation_accuracy", "best_val_acc",
                "best_val_accuracy", "best_validation_accuracy", "valid_accuracy",
                "validation_acc", "val acc", "final_val_acc", "accuracy", "acc", "best_acc"),
}
# One column per layer (hidden1, hidden2; h1, h2; hidden_size_1 ...), read as the sizes in order.
PER_LAYER = re.compile(r"(?:hidden|h|hs|hidden_size|hidden_dim|hidden_units|n_hidden)[ _]?(\d)")


class RecordsError(ValueError):
    """A records file or result the harness cannot read, with what it expected."""


def _key(lr, hidden, reg) -> tuple:
    return (round(float(lr), 12), tuple(int(h) for h in hidden), round(float(reg), 12))


def _hidden(value) -> list[int]:
    if isinstance(value, (int, float)):
        return [int(value)]
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    numbers = re.findall(r"\d+", str(value))
    if not numbers:
        raise RecordsError(f"hidden sizes {value!r} hold no numbers")
    return [int(n) for n in numbers]


def _hidden_from(value) -> list[int]:
    """Sizes from a cell, or from a list of per-layer cells (``["128", "64"]``)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [size for v in value for size in _hidden(v)]
    return _hidden(value)


def normalize(trial) -> dict:
    """A trial with the contract's keys, from any of the common spellings."""
    if not isinstance(trial, dict):
        raise RecordsError(f"a trial is a {type(trial).__name__}, not a record")
    lowered = {str(k).strip().lower(): v for k, v in trial.items()}
    layers = sorted((int(m.group(1)), v) for k, v in lowered.items()
                    if (m := PER_LAYER.fullmatch(k)))
    if layers and not any(n in lowered for n in ALIASES["hidden_sizes"]):
        lowered["hidden_sizes"] = [v for _, v in layers]
    out = {}
    for key, names in ALIASES.items():
        found = next((lowered[n] for n in names if n in lowered), None)
        if found is None:
            raise RecordsError(f"a trial has no {key} (columns: {', '.join(map(str, trial))})")
        out[key] = found
    out["hidden_sizes"] = _hidden_from(out["hidden_sizes"])
    for key in ("lr", "reg", "val_acc"):
        out[key] = float(out[key])
    if out["val_acc"] > 1.0:
        out["val_acc"] /= 100.0  # a percentage
    return out


def read_records(path: Path, out_dir: Path, work: WorkArea) -> list:
    """Trials from a records file the submission wrote inside ``out_dir`` (of ``work``)."""
    path = Path(path)
    if not path.is_absolute():
        path = out_dir / path
    try:
        inside = work.relative(path).is_relative_to(work.relative(out_dir))
        data = work.read_file(path, MAX_RECORDS_BYTES) if inside else None
    except FileNotFoundError:
        raise RecordsError(f"harness_search returned {path.name!r}, but no such file was "
                           "written") from None
    except Tampered as exc:
        raise RecordsError(f"the records file cannot be read: {exc}") from None
    except ValueError:
        raise RecordsError(f"the records file is over {MAX_RECORDS_BYTES >> 20} MB") from None
    if data is None:
        raise RecordsError(f"the records file {path} is not inside out_dir")
    text = data.decode("utf-8", errors="replace")
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in "[{":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise RecordsError(f"{path.name} is not valid JSON ({exc})") from None
        if isinstance(doc, dict) and isinstance(doc.get("trials"), list):
            return doc["trials"]
        if isinstance(doc, dict):
            return [v for v in doc.values() if isinstance(v, dict)]
        if isinstance(doc, list):
            return doc
        raise RecordsError(f"{path.name} holds neither a list nor a dict of trials")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise RecordsError(f"{path.name} has no rows under a header")
    return rows


def trials_and_best(result, out_dir: Path, work: WorkArea) -> tuple[list[dict], dict | None]:
    """Normalized trials and the reported best (None if the submission reported none)."""
    if isinstance(result, str):
        return [normalize(t) for t in read_records(Path(result), out_dir, work)], None
    if not isinstance(result, dict) or not isinstance(result.get("trials"), list):
        raise RecordsError("harness_search must return {'trials': [{'lr', 'hidden_sizes', "
                           "'reg', 'val_acc'}, ...], 'best': {...}} or the path of a records "
                           f"file it wrote; got {type(result).__name__}")
    best = result.get("best")
    return [normalize(t) for t in result["trials"]], normalize(best) if best else None


class SearchCheck(Check):
    name = "search"
    title = "Hyperparameter search over lr, hidden size and L2"
    part = "search"
    order = 70
    produces = (SearchRecord,)
    quick = False
    requires = ("harness_search",)

    def run(self, ctx) -> Outcome:
        s, data = ctx.settings, ctx.data
        grid = {**s.search_grid, "hidden_sizes": [list(h) for h in dict.fromkeys(
            tuple(ctx.hidden(h)) for h in s.search_grid["hidden_sizes"])]}
        n_train, n_val = s.search_size
        out_dir = ctx.proc.work.new_dir("search")
        data_dir = runs.data_files(ctx, ctx.proc.work.new_dir("search-data"),
                                   data.x_train[:n_train], data.y_train[:n_train],
                                   data.x_val[:n_val], data.y_val[:n_val])
        result = ctx.call("harness_search", timeout=s.search_timeout,
                          x_train=data.x_train[:n_train], y_train=data.y_train[:n_train],
                          x_val=data.x_val[:n_val], y_val=data.y_val[:n_val], grid=grid,
                          base_config=ctx.train_config,
                          budget=s.search_budget, out_dir=str(out_dir), data_dir=data_dir)
        try:
            trials, best = trials_and_best(result, out_dir, ctx.proc.work)
        except (RecordsError, TypeError, ValueError) as exc:
            return Outcome(False, str(exc), details={"grid": grid})
        if not trials:
            return Outcome(False, "the search recorded no trials", details={"grid": grid})
        for t in trials + ([best] if best else []):
            if len(t["hidden_sizes"]) == 1 and ctx.decl.equal_hidden_sizes:  # one size for all
                t["hidden_sizes"] = ctx.hidden(t["hidden_sizes"] * ctx.decl.hidden_layers)
        bad = [t for t in trials if not math.isfinite(t["val_acc"])]
        expected = {_key(*c) for c in itertools.product(grid["lr"], grid["hidden_sizes"],
                                                         grid["reg"])}
        got = {_key(t["lr"], t["hidden_sizes"], t["reg"]): t["val_acc"] for t in trials}
        top = max(t["val_acc"] for t in trials)
        computed_best = best is None
        if computed_best:
            best = max(trials, key=lambda t: t["val_acc"])
        ctx.artifacts.put(SearchRecord(grid, trials, best))
        details = {"grid": grid, "trials": len(trials), "best": best,
                   "best_computed_by_harness": computed_best}
        problems, fraction = [], 1.0
        missing = expected - set(got)
        if missing:
            problems.append(_missing_message(missing, expected, got))
            fraction -= 0.5
        if bad:
            problems.append(f"{len(bad)} trial(s) have a val_acc that is not a number")
        best_key = _key(best["lr"], best["hidden_sizes"], best["reg"])
        if best_key not in got or got[best_key] != top:
            problems.append("the reported best is not the trial with the highest val_acc")
            fraction -= 0.5
        if problems:
            return Outcome(False, "; ".join(problems), fraction=max(fraction, 0), details=details)
        chosen = "the harness took the best" if computed_best else "best"
        return Outcome(True, f"{len(trials)} trials recorded; {chosen}: lr={best['lr']:g}, "
                       f"hidden={best['hidden_sizes']}, reg={best['reg']:g} (val accuracy "
                       f"{top:.4f} after {s.search_budget['epochs']} epochs on "
                       f"{min(n_train, len(data.x_train)):,} images: a search trial, not a "
                       "full run)", details=details)


def _missing_message(missing: set, expected: set, got: dict) -> str:
    example = sorted(missing)[0]
    said = (f"{len(missing)} of {len(expected)} grid combinations have no record, e.g. "
            f"lr={example[0]:g}, hidden={list(example[1])}, reg={example[2]:g}")
    strangers = set(got) - expected
    if strangers:
        other = sorted(strangers)[0]
        said += (f"; {len(strangers)} record(s) are for combinations not in the grid, e.g. "
                 f"lr={other[0]:g}, hidden={list(other[1])}, reg={other[2]:g} (search the grid "
                 "the harness passes, with its hidden sizes as given)")
    return said


@checkimpl
def harness_checks():
    return [SearchCheck()]
