"""Rubrics: points per check, accuracy tiers per dataset, what the model must support."""

from __future__ import annotations

import difflib
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (Gradescope's Ubuntu 22.04): the backport
    import tomli as tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

DEFAULT = "default_rubric.toml (shipped with harness)"
VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")
KEYS = {
    "": {"name", "activations", "min_activations", "required_activations", "hidden_sizes",
         "packages", "policy", "checks", "accuracy", "gradescope"},
    "packages": {"allowed"},
    "policy": {"gate", "forbidden_extra"},
    "checks.*": {"part", "points", "visibility"},
    "accuracy.*": {"tiers"},
    "gradescope": {"leaderboard"},
}


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
    visibility: dict[str, str] = field(default_factory=dict)
    leaderboard: bool = False
    source: str = ""
    text: str = ""

    def accuracy_tiers(self, dataset: str) -> list[tuple[float, float]]:
        return self.tiers.get(dataset, [])


def _unknown(where: str, got: dict, valid: set[str]) -> None:
    for key in got:
        if key not in valid:
            close = difflib.get_close_matches(key, sorted(valid), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                f"; valid: {', '.join(sorted(valid))}"
            raise RubricError(f"unknown key {key!r} in {where or 'the top level'}{hint}")


def _validate_keys(raw: dict) -> None:
    _unknown("", raw, KEYS[""])
    for section in ("packages", "policy", "gradescope"):
        if isinstance(raw.get(section), dict):
            _unknown(f"[{section}]", raw[section], KEYS[section])
    for section in ("checks", "accuracy"):
        for name, spec in (raw.get(section) or {}).items():
            if isinstance(spec, dict):
                _unknown(f"[{section}.{name}]", spec, KEYS[f"{section}.*"])


def check_names(rubric: "Rubric", names: list[str], datasets: tuple[str, ...]) -> None:
    """Refuse a rubric that names a check or dataset that does not exist (a typo would
    otherwise silently give that check no points)."""
    for where, got, valid in (("checks", rubric.points, names),
                              ("accuracy", rubric.tiers, list(datasets))):
        for name in got:
            if name not in valid:
                close = difflib.get_close_matches(name, valid, n=1)
                hint = f"did you mean [{where}.{close[0]}]?" if close else \
                    f"valid: {', '.join(valid)}"
                raise RubricError(f"rubric {rubric.source}: [{where}.{name}] names no "
                                  f"{'check' if where == 'checks' else 'dataset'}; {hint}")


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The rubric at ``path`` (default: the one shipped with the harness), its keys checked."""
    try:
        text = Path(path).read_text() if path else \
            files("harness").joinpath("default_rubric.toml").read_text()
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"cannot read rubric {path}: {exc}") from exc
    source = str(path) if path else DEFAULT
    _validate_keys(raw)
    try:
        checks = raw["checks"]
        points = {name: float(c.get("points", 0)) for name, c in checks.items()}
        parts = {name: str(c.get("part", name)) for name, c in checks.items()}
        visibility = {name: str(c["visibility"]) for name, c in checks.items()
                      if "visibility" in c}
        for name, v in visibility.items():
            if v not in VISIBILITY:
                raise ValueError(f"[checks.{name}] visibility {v!r} is not one of "
                                 f"{', '.join(VISIBILITY)}")
        policy = raw.get("policy", {})
        tiers = {ds: sorted((float(t), float(f)) for t, f in spec["tiers"])
                 for ds, spec in raw.get("accuracy", {}).items()}
        return Rubric(
            name=str(raw.get("name", Path(path).stem if path else "default")), points=points,
            parts=parts,
            activations=tuple(raw.get("activations", ["relu", "sigmoid", "tanh"])),
            min_activations=int(raw.get("min_activations", 2)),
            required_activations=tuple(raw.get("required_activations", [])),
            allowed_packages=tuple(raw.get("packages", {}).get("allowed", [])),
            hidden_sizes=tuple(tuple(int(h) for h in hs)
                               for hs in raw.get("hidden_sizes", [[24, 16]])),
            gates=frozenset({"policy"} if policy.get("gate", True) else set()),
            forbidden_extra=tuple(policy.get("forbidden_extra", [])),
            tiers=tiers, visibility=visibility,
            leaderboard=bool(raw.get("gradescope", {}).get("leaderboard", False)),
            source=source, text=text)
    except (KeyError, TypeError, ValueError) as exc:
        raise RubricError(f"rubric {source} is malformed: {exc}") from exc
