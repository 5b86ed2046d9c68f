"""``harness run-reference``: the reference's full pipeline on a real dataset.

load → (search) → train with the best checkpoint saved → reload it from disk in a fresh model →
test accuracy → ``results.json`` and figures in the output directory.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from reference import checkpoint, evaluate, search
from reference.train import TrainConfig, train

from . import __version__, blas
from .files import default_out
from .present import plots
from .data import DEFAULT_VAL_SIZE, load_dataset, to_unit, train_val_split
from .grading import metrics
from .present.progress import epoch_line, fmt_seconds, say
from .present.report import write_reference_report

# The best measured recipe per dataset (README, "Figures"). Budgets are epochs: no wall-time cap
# unless --max-seconds asks for one, so the result does not depend on the machine's load.
CONFIGS = {
    "fashion-mnist": TrainConfig(hidden_sizes=(512, 256), lr=0.1, momentum=0.9,
                                 lr_decay="cosine", batch_size=256, reg=1e-4, dropout=0.1,
                                 epochs=25),
    "cifar10": TrainConfig(hidden_sizes=(1024, 512), lr=0.01, momentum=0.9,
                           lr_decay="cosine", batch_size=128, reg=5e-4, dropout=0.2,
                           epochs=20),
}
# Per dataset, each grid holding the default's values, so the search can keep the default.
SEARCH_GRIDS = {
    "fashion-mnist": {"lrs": [0.02, 0.05, 0.1], "hidden": [(256, 128), (512, 256)],
                      "regs": [1e-4, 1e-3]},
    "cifar10": {"lrs": [0.005, 0.01, 0.02], "hidden": [(512, 256), (1024, 512)],
                "regs": [5e-4, 1e-3]},
}
SEARCH_EPOCHS = 4


def stopped_sentence(result, config: TrainConfig) -> str | None:
    """Why training stopped before its epochs, in words; None when it ran them all."""
    done = len(result.history)
    if result.stopped_by == "max_seconds":
        return (f"stopped by the time cap ({config.max_seconds:g} s, --max-seconds) after "
                f"{done} of {config.epochs} epochs")
    if result.stopped_by == "diverged":
        return f"stopped at epoch {done} of {config.epochs}: the loss diverged (not finite)"
    return None


def run(dataset: str = "fashion-mnist", data_dir: str | None = None,
        out: str | Path | None = None, seed: int = 0, do_search: bool = False,
        epochs: int | None = None, max_seconds: float | None = None,
        val_size: int | None = None, threads: int | None = None) -> dict:
    """Run the pipeline and return the summary also written to ``out/results.json``.
    ``threads``: BLAS threads (default: :func:`harness.blas.reference_threads`, every core).
    Budgets are epochs; ``max_seconds`` is an optional cap, and when it fires the terminal, the
    results and the report say so."""
    from threadpoolctl import threadpool_limits

    threads = threads or blas.reference_threads()
    with threadpool_limits(limits=threads):
        return _run(dataset, data_dir, Path(out) if out else default_out("run-reference",
                                                                         dataset),
                    seed, do_search, epochs, max_seconds, val_size, threads)


def _run(dataset, data_dir, out: Path, seed, do_search, epochs, max_seconds,
         val_size, threads: int) -> dict:
    started = time.perf_counter()
    say(f"BLAS: {blas.describe(threads)}")
    out.mkdir(parents=True, exist_ok=True)
    data = load_dataset(dataset, data_dir)
    split = train_val_split(data.x_train, data.y_train,
                            val_size or min(DEFAULT_VAL_SIZE[dataset], len(data.x_train) // 5),
                            seed).scaled()
    loaded = time.perf_counter()
    say(f"{data.name}: {len(split.x_train)} train / {len(split.x_val)} validation / "
        f"{len(data.x_test)} test, from {data.source} ({data.verified})")

    config = dataclasses.replace(CONFIGS[dataset], seed=seed)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    if max_seconds is not None:
        config = dataclasses.replace(config, max_seconds=max_seconds)

    search_summary = None
    if do_search:
        grid = SEARCH_GRIDS[dataset]
        trials = search.grid_trials(grid["lrs"], grid["hidden"], grid["regs"])
        budget = dataclasses.replace(config, epochs=min(SEARCH_EPOCHS, config.epochs),
                                     max_seconds=None)
        say(f"search: {len(trials)} trials of {budget.epochs} epochs each")
        records, best = search.search(
            *split.arrays, data.num_classes, budget, trials, out / "search",
            on_trial=lambda r: say(f"trial {r['trial']:>2}/{len(trials)}  lr {r['lr']:g}  "
                                   f"hidden {r['hidden_sizes']}  reg {r['reg']:g}  "
                                   f"val_acc {r['best_val_acc']:.4f}  {r['seconds']:.1f}s"
                                   + ("" if r["status"] == "ok" else f"  ({r['status']})")))
        config = dataclasses.replace(config, lr=best["lr"], reg=best["reg"],
                                     hidden_sizes=tuple(best["hidden_sizes"]))
        search_summary = {"trials": records, "best": best,
                          "csv": str(out / "search" / "search.csv")}
        say(f"search: best trial {best['trial']} (val_acc {best['best_val_acc']:.4f}); "
            "training it with the full budget")

    ckpt = out / "best.npz"
    result = train(*split.arrays, data.num_classes, config, ckpt,
                   progress=lambda rec, eta: say(epoch_line(rec, config.epochs, eta)))
    trained = time.perf_counter()

    # Reload from disk into a fresh model: what is scored is what was saved.
    predictions = evaluate.predict(ckpt, to_unit(data.x_test))
    test_acc = float(np.mean(predictions == data.y_test))
    model, _, meta = checkpoint.load(ckpt)
    finished = time.perf_counter()
    confusion = metrics.confusion_matrix(data.y_test, predictions, data.num_classes)

    summary = {
        "harness_version": __version__,
        "dataset": data.name,
        "data_source": str(data.source),
        "data_verified": data.verified,
        "test_accuracy": test_acc,
        "best_val_acc": result.best_val_acc,
        "best_epoch": result.best_epoch,
        "checkpoint_epoch": meta["epoch"],
        "epochs_run": len(result.history),
        "stopped_by": result.stopped_by,
        "stopped": stopped_sentence(result, config),
        "blas": blas.describe(threads),
        "checkpoint": str(ckpt),
        "train_config": config.to_dict(),
        "search": search_summary,
        "timings": {"load": round(loaded - started, 3), "train": round(trained - loaded, 3),
                    "test": round(finished - trained, 3), "total": round(finished - started, 3)},
        "per_class": metrics.per_class(confusion, data.classes),
        "confusion_matrix": confusion.tolist(),
        "history": result.history,
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    plots.save(plots.curves(result.history, title=f"reference on {data.name}"),
               out / "curves.png")
    write_reference_report(summary, model.params["W1"], data.image_shape, confusion,
                           data.classes, out / "report.html")
    if summary["stopped"]:
        say(f"warning: {summary['stopped']}")
    say(f"test accuracy {test_acc:.4f} (best validation {result.best_val_acc:.4f} at epoch "
        f"{result.best_epoch}); {fmt_seconds(summary['timings']['total'])} in all; "
        f"results in {out / 'results.json'}, report in {out / 'report.html'}")
    return summary
