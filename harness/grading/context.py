"""What a check works with: the submission's process, the data, the settings, and the artifacts
it declared (see :mod:`harness.checks.artifacts`)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.checks.artifacts import Artifacts, CheckArtifacts
from harness.data.permute import Permutation
from harness.sandbox.process import SubmissionFailure, SubmissionProcess

from .declarations import Declarations


TRAINS_FASTEST = ("relu", "leaky_relu", "tanh", "sigmoid")


@dataclass(frozen=True)
class GradeData:
    """Inputs scaled to [0, 1] (float32). ``y_test`` never leaves the harness process."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    image_shape: tuple[int, ...]
    verified: str
    permutation: Permutation | None = None  # the secret view the grade uses, if any

    def permuted(self, p: Permutation) -> "GradeData":
        """Every split seen through ``p`` (:mod:`harness.data.permute`): what the submission
        and every check then work with; ``classes`` stay in their original order (the record
        maps results back)."""
        return dataclasses.replace(
            self, x_train=p.inputs(self.x_train), y_train=p.labels(self.y_train),
            x_val=p.inputs(self.x_val), y_val=p.labels(self.y_val),
            x_test=p.inputs(self.x_test), y_test=p.labels(self.y_test), permutation=p)

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class Settings:
    """Budgets and probes for one grading run (see :mod:`harness.grading.settings`)."""

    quick: bool
    train_config: dict
    train_budget: dict
    probe_size: tuple[int, int]
    probe_config: dict
    loss_probe_config: dict
    probe_budget: dict
    loss_probe_budget: dict
    search_grid: dict
    search_budget: dict
    search_size: tuple[int, int]
    activations: tuple[str, ...]
    hidden_sizes: tuple[tuple[int, ...], ...]
    hook_timeout: float
    train_timeout: float
    search_timeout: float
    probe_seed: int = 0  # secret per grade (harness.data.permute.probe_seed): the probes' draws


@dataclass
class Context:
    proc: SubmissionProcess
    data: GradeData
    settings: Settings
    rubric: Any
    decl: Declarations = field(default_factory=Declarations)
    deadline: float | None = None  # time.monotonic() by which the whole grade must end
    artifacts: Artifacts | CheckArtifacts = field(default_factory=Artifacts)

    def hidden(self, sizes) -> list[int]:
        """``sizes`` in the shape the submission's network takes (see
        :meth:`Declarations.hidden`)."""
        return self.decl.hidden(sizes)

    @property
    def activations(self) -> tuple[str, ...]:
        """The activations to check: those the submission declares, else the rubric's."""
        return self.decl.activations or self.rubric.activations

    @property
    def train_config(self) -> dict:
        """The configured training run as this submission's network takes it: its hidden
        sizes' shape and depth, and the configured activation unless the submission declares
        it does not have it (then the one of its activations that learns fastest under a short
        budget: a sigmoid network learns little in three epochs). Every check that trains
        starts here."""
        config = self.settings.train_config
        activation = next((a for a in (config["activation"], *TRAINS_FASTEST)
                           if a in self.activations), self.activations[0])
        return {**config, "hidden_sizes": self.hidden(config["hidden_sizes"]),
                "activation": activation, "num_classes": self.data.num_classes}

    @property
    def probe_activation(self) -> str:
        """An activation other than the training run's, for runs that must show whether a
        checkpoint records its activation (the training one only when nothing else is
        supported)."""
        trained = self.train_config["activation"]
        others = [a for a in ("tanh", "leaky_relu", "sigmoid", "relu")
                  if a in self.activations and a != trained]
        return others[0] if others else trained

    def call(self, hook: str, timeout: float | None = None, label: str = "",
             **kwargs: Any) -> Any:
        """``hook(**kwargs)`` in the submission's worker; a time-out says which limit it hit
        and the flag that sets it. ``label``: what the call is for, in the output by hook."""
        limit = timeout or self.settings.hook_timeout
        flag = {"harness_train": "--train-timeout", "harness_search": "--train-timeout"}.get(
            hook, "--hook-timeout")
        if self.deadline is not None and self.deadline - time.monotonic() < limit:
            limit, flag = max(self.deadline - time.monotonic(), 0.0), "--grade-timeout"
            if limit <= 0:
                raise SubmissionFailure("timeout", "not run: the grade's wall-time limit was "
                                        "reached (set with --grade-timeout)")
        try:
            return self.proc.call(hook, limit, label, **kwargs)
        except SubmissionFailure as failure:
            if failure.kind == "timeout":
                what = "what was left of the grade's wall time" if flag == "--grade-timeout" \
                    else "wall-time limit"
                failure.message += f" ({what} {limit:.0f} s, set with {flag})"
            raise
