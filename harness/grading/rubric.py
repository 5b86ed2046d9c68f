"""Rubrics: points per check, accuracy tiers per dataset, what the model must support."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "default_rubric.toml"


class RubricError(Exception):
    """The rubric file is missing or malformed."""


@dataclass(frozen=True)
class Rubric:
    name: str
    points: dict[str, float]
    parts: dict[str, str]
    activations: tuple[str, ...]
    hidden_sizes: tuple[tuple[int, ...], ...]
    min_activations: int = 2
    required_activations: tuple[str, ...] = ()
    allowed_packages: tuple[str, ...] = ()
    gates: frozenset[str] = frozenset()
    forbidden_extra: tuple[str, ...] = ()
    tiers: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    source: str = ""

    def accuracy_tiers(self, dataset: str) -> list[tuple[float, float]]:
        return self.tiers.get(dataset, [])


def load_rubric(path: str | Path | None = None) -> Rubric:
    path = Path(path) if path else DEFAULT
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"cannot read rubric {path}: {exc}") from exc
    try:
        checks = raw["checks"]
        points = {name: float(c.get("points", 0)) for name, c in checks.items()}
        parts = {name: str(c.get("part", name)) for name, c in checks.items()}
        policy = raw.get("policy", {})
        tiers = {ds: sorted((float(t), float(f)) for t, f in spec["tiers"])
                 for ds, spec in raw.get("accuracy", {}).items()}
        return Rubric(
            name=str(raw.get("name", path.stem)), points=points, parts=parts,
            activations=tuple(raw.get("activations", ["relu", "sigmoid", "tanh"])),
            min_activations=int(raw.get("min_activations", 2)),
            required_activations=tuple(raw.get("required_activations", [])),
            allowed_packages=tuple(raw.get("packages", {}).get("allowed", [])),
            hidden_sizes=tuple(tuple(int(h) for h in hs)
                               for hs in raw.get("hidden_sizes", [[24, 16]])),
            gates=frozenset({"policy"} if policy.get("gate", True) else set()),
            forbidden_extra=tuple(policy.get("forbidden_extra", [])),
            tiers=tiers, source=str(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise RubricError(f"rubric {path} is malformed: {exc}") from exc
