"""What checks hand on: one type per artifact.

A check declares the artifact types it ``produces`` and ``needs`` (see :class:`harness.checks.Check`);
:func:`harness.checks.order_checks` runs producers before the checks that need them and refuses,
naming both checks, a set where something needed has no producer. At run time a check sees only
what it declared (:class:`Artifacts`), and a needed artifact may still be ``None``: its producer
ran but could not make it (training failed, say), which the consumer says in its own words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class L2Convention:
    """How the submission's L2 term is written: penalty ``coefficient·λ·Σ‖W‖²`` (so its
    gradient is ``2·coefficient·λ·W``), biases included or not."""

    coefficient: float = 0.5
    biases: bool = False
    label: str = "0.5·λ·Σ‖W‖²"


@dataclass(frozen=True)
class Objective:
    """The loss a submission computes where it is not cross-entropy but a known other one
    (:data:`harness.checks.diagnoses.gradient.OBJECTIVES`): its gradient is then judged against
    that loss's exact gradient, the loss check having charged the loss."""

    name: str
    label: str


@dataclass
class TrainedRun:
    """What a training run left: its config, history and checkpoint directory."""

    config: dict
    budget: dict
    history: list[dict]
    checkpoint_dir: Path
    checkpoint_path: Path
    seconds: float
    saved: bool  # whether the run wrote anything where its checkpoint belongs
    stray_files: list[str] = field(default_factory=list)
    checkpoint_files: list[str] = field(default_factory=list)  # relative to checkpoint_dir

    @property
    def best_val_acc(self) -> float:
        return max(r["val_acc"] for r in self.history)

    def missing_checkpoint(self) -> str:
        """Why there is no checkpoint, in words, pointing at where files went instead."""
        where = f"nothing was written in the checkpoint directory the harness gave " \
                f"(checkpoint_dir, or checkpoint_path={self.checkpoint_path.name!r} inside it)"
        if self.stray_files:
            shown = ", ".join(repr(f) for f in self.stray_files[:3])
            where += (f"; the run wrote {shown} elsewhere instead: save to the path you are "
                      "given, not a fixed, relative or Windows-style one")
        return where


    def saved_where(self) -> str:
        """What the run saved and where, for a checkpoint that does not load: the files in the
        checkpoint directory, and any written outside it."""
        shown = ", ".join(self.checkpoint_files[:5]) + (
            f" and {len(self.checkpoint_files) - 5} more" if len(self.checkpoint_files) > 5
            else "")
        said = f" (the checkpoint directory holds {shown or 'nothing'}"
        if self.stray_files:
            said += (f"; the run also wrote {', '.join(repr(f) for f in self.stray_files[:3])} "
                     "outside it: save everything the loader needs in the checkpoint directory "
                     "you are given")
        return said + ")"


@dataclass(frozen=True)
class CheckpointVerdict:
    """Whether the training run's checkpoint loads through the submission's own loader."""

    loadable: bool


@dataclass(frozen=True)
class TestPredictions:
    """The saved model's predictions on the test images (computed into an accuracy by the
    harness), and its first-layer weights for the report's picture when it gave them."""

    predictions: np.ndarray
    accuracy: float
    first_layer: np.ndarray | None = None


@dataclass(frozen=True)
class SearchRecord:
    """The hyperparameter search as the harness read it: the grid asked for, the trials found,
    the best one (reported by the submission, else computed)."""

    grid: dict
    trials: list
    best: dict | None

    def as_dict(self) -> dict:
        return asdict(self)


class UndeclaredArtifact(TypeError):
    """A check used an artifact it did not declare: a mistake in the check, not the
    submission."""


class Artifacts:
    """The artifacts of one grade, keyed by type."""

    def __init__(self) -> None:
        self._items: dict[type, object] = {}

    def put(self, item: object) -> None:
        self._items[type(item)] = item

    def get(self, kind: type[T]) -> T | None:
        return self._items.get(kind)  # type: ignore[return-value]

    def seen_by(self, check) -> "CheckArtifacts":
        """The view ``check`` works with: only what it declared."""
        return CheckArtifacts(self, check)


class CheckArtifacts:
    """One check's view of the artifacts: it may read what it ``needs`` and write what it
    ``produces``, nothing else."""

    def __init__(self, store: Artifacts, check) -> None:
        self._store, self._check = store, check

    def get(self, kind: type[T]) -> T | None:
        if kind not in self._check.needs:
            raise UndeclaredArtifact(f"check {self._check.name!r} reads {kind.__name__} "
                                     f"without declaring it in needs")
        return self._store.get(kind)

    def put(self, item: object) -> None:
        if type(item) not in self._check.produces:
            raise UndeclaredArtifact(f"check {self._check.name!r} writes "
                                     f"{type(item).__name__} without declaring it in produces")
        self._store.put(item)
