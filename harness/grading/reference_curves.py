"""The reference's training curves under the same grading budget, for the report's overlay.

The reference is our own, trusted code, so it runs outside any sandbox. Curves are cached in the
user cache, keyed by everything that shapes them: the data, the configuration and the number of
epochs. A run is never cut short by a clock and only a finished run is written (atomically), so
a cached curve never depends on the load.

On a cold cache a single grade trains the curves in a background process (:func:`start`) while
its checks run, so they are off the grade's critical path; the grade waits only for what is left
when the report needs them (:meth:`Background.history`). A process rather than a thread: training
in a thread beside the checks' matrix products hung inside OpenBLAS (``inner_thread``, measured
2026-11-25). A batch trains the curves once, up front and in view (:func:`reference_history`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import __version__
from harness.data.locate import cache_root
from harness.files import write_atomic
from harness.present.progress import say

from .context import GradeData
from .helper import Helper


def curve_path(data: GradeData, train_config: dict, epochs: int) -> Path:
    """Where the curves of ``train_config`` trained ``epochs`` epochs on ``data`` are cached."""
    content = hashlib.sha1(data.y_train.tobytes() + data.x_val[:256].tobytes()).hexdigest()
    key_src = json.dumps([__version__, data.name, content, len(data.x_train), len(data.x_val),
                          train_config, epochs], sort_keys=True)
    return cache_root() / "reference-curves" / f"{hashlib.sha1(key_src.encode()).hexdigest()}.json"


def cached(path: Path) -> list[dict] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def train_and_cache(data: GradeData, train_config: dict, epochs: int, path: Path,
                    workdir: Path | None = None) -> list[dict]:
    """Train the reference to the end of its budget and cache its history at ``path``;
    its checkpoint goes in ``workdir`` (a grade's scratch, removed with it even when this
    process is killed), else in a temporary directory of its own."""
    from reference.train import TrainConfig, train

    c = train_config
    config = TrainConfig(hidden_sizes=tuple(c["hidden_sizes"]), activation=c["activation"],
                         lr=c["lr"], lr_decay=c["lr_decay"], decay_rate=c["decay_rate"],
                         step_every=c["step_every"], momentum=c["momentum"],
                         batch_size=c["batch_size"], reg=c["reg"], seed=c["seed"],
                         epochs=epochs, max_seconds=None)
    with contextlib.nullcontext(workdir) if workdir else tempfile.TemporaryDirectory() as tmp:
        result = train(data.x_train, data.y_train, data.x_val, data.y_val,
                       data.num_classes, config, Path(tmp) / "ref.npz")
        try:
            with np.load(Path(tmp) / "ref.npz", allow_pickle=False) as saved:
                buf = io.BytesIO()
                np.save(buf, np.asarray(saved["W1"], np.float32), allow_pickle=False)
            write_atomic(first_layer_path(path), buf.getvalue())
        except (OSError, KeyError, ValueError):
            pass  # the curves stand without the weights
    try:
        write_atomic(path, json.dumps(result.history))
    except OSError:
        pass
    return result.history


def first_layer_path(path: Path) -> Path:
    """Where the reference's first-layer weights (its saved best epoch) sit beside its curves."""
    return path.with_suffix(".w1.npy")


def cached_first_layer(path: Path) -> np.ndarray | None:
    """The reference's first-layer weights cached beside the curves at ``path``, if any."""
    try:
        return np.load(first_layer_path(path), allow_pickle=False)
    except (OSError, ValueError):
        return None


def reference_history(data: GradeData, train_config: dict, epochs: int) -> list[dict]:
    """The curves, from the cache or trained here and now (saying so)."""
    path = curve_path(data, train_config, epochs)
    history = cached(path)
    if history is None:
        say(f"harness: training the reference for the report's comparison curves ({epochs} "
            "epochs, once per dataset and budget; cached after this)")
        history = train_and_cache(data, train_config, epochs, path)
    return history


@dataclass
class Background:
    """Curves being trained by a background process (``helper`` None: they were cached). Use
    as a context manager: the process never outlives the grade."""

    path: Path
    helper: Helper | None = None

    def ready(self) -> bool:
        """Whether the curves are cached or their background run has ended."""
        return self.helper is None or self.helper.process.poll() is not None

    def history(self, timeout: float) -> tuple[list[dict] | None, dict]:
        """The curves, waiting up to ``timeout`` seconds for the background run if it is still
        going (killed after that: nothing cached), and what happened: ``timings`` to add to
        the grade's, and ``problem``, why there are no curves, if there are none."""
        if self.helper is None:
            history = cached(self.path)
            return history, {"problem": None if history else "the cached curves are unreadable"}
        waited = time.perf_counter()
        if self.helper.process.poll() is None:
            say(f"harness: waiting for the reference's comparison curves (training in the "
                f"background for {waited - self.helper.started:.0f} s so far)")
        code = self.helper.wait(timeout)
        info = {"timings": {
            "reference_curves_background": time.perf_counter() - self.helper.started,
            "reference_curves_wait": time.perf_counter() - waited}}
        history = cached(self.path) if code == 0 else None
        if code is None:
            info["problem"] = f"training them took over {timeout:.0f} s and was stopped"
        elif history is None:
            info["problem"] = (f"training them failed (exit code {code}) "
                               f"{self.helper.last_error()}")
        return history, info

    def first_layer(self) -> np.ndarray | None:
        """The reference's first-layer weights, once its run is cached (see
        :func:`cached_first_layer`)."""
        return cached_first_layer(self.path) if self.ready() else None

    def __enter__(self) -> "Background":
        return self

    def __exit__(self, *exc) -> None:
        if self.helper is not None:
            self.helper.__exit__(*exc)


def start(data: GradeData, train_config: dict, epochs: int, how_to_load: dict,
          threads: int, workdir: Path | None = None) -> Background:
    """Start training the curves in a background process unless they are cached.
    ``how_to_load``: the :func:`harness.grading.pipeline.grade_data` arguments that gave
    ``data``; the process loads the data itself (nothing large through a pipe) and trains with
    ``threads`` BLAS threads, its checkpoint in ``workdir`` (the grade's scratch: a stopped
    grade's clean-up removes it, where a killed process could not remove its own)."""
    path = curve_path(data, train_config, epochs)
    if cached(path) is not None:
        return Background(path)
    say(f"harness: training the reference's comparison curves in the background ({epochs} "
        "epochs, once per dataset and budget)")
    job = {"load": how_to_load, "train_config": train_config, "epochs": epochs,
           "path": str(path), "workdir": str(workdir) if workdir else None}
    threads_env = {v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                             "MKL_NUM_THREADS")}
    return Background(path, Helper(__name__, json.dumps(job), env=threads_env))


def main(argv: list[str]) -> int:
    """The background process: load the data as the grade did, train, cache. Niced: the
    grade's own checks and the submission's worker come first."""
    from .pipeline import grade_data

    os.nice(10)
    job = json.loads(argv[0])
    data = grade_data(**job["load"])
    path = curve_path(data, job["train_config"], job["epochs"])
    if str(path) != job["path"]:
        print("harness: the background process loaded different data than the grade",
              file=sys.stderr)
        return 3
    train_and_cache(data, job["train_config"], job["epochs"], path,
                    Path(job["workdir"]) if job.get("workdir") else None)
    if cached(path) is None:
        print(f"harness: could not write the curves to {path}", file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
