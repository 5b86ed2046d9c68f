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

from .declarations import ACTIVATIONS

DEFAULT = "default_rubric.toml (shipped with harness)"
VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")
KEYS = {
    "": {"name", "activations", "min_activations", "required_activations", "hidden_sizes",
         "permute", "packages", "policy", "checks", "accuracy", "gradescope"},
    "packages": {"allowed"},
    "policy": {"gate", "forbidden_extra", "data_loaders"},
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
    data_loaders: bool = True  # a framework imported only to load data is noted, not gated
    tiers: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    visibility: dict[str, str] = field(default_factory=dict)
    leaderboard: bool = False
    permute: bool = True  # grade on the secret permuted view (harness.data.permute)
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


MAX_POINTS = 1e6
MAX_HIDDEN = 100_000


def _bad(where: str, value, need: str) -> RubricError:
    return RubricError(f"{where} = {value!r}: {need}")


def _points(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value <= MAX_POINTS:
        raise _bad(where, value, f"points must be a number from 0 to {MAX_POINTS:g}")
    return float(value)


def _boolean(where: str, value) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, value, "must be true or false (without quotes)")
    return value


def _names(where: str, value, valid: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(where, value, "must be a list of names in quotes")
    for v in value:
        if valid is not None and v not in valid:
            close = difflib.get_close_matches(v, valid, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(valid)}"
            raise _bad(where, value, f"{v!r} is not an activation the harness knows; {hint}")
    return tuple(value)


def _hidden_sizes(where: str, value) -> tuple[tuple[int, ...], ...]:
    ok = isinstance(value, list) and value and all(
        isinstance(hs, list) and hs and all(
            isinstance(h, int) and not isinstance(h, bool) and 0 < h <= MAX_HIDDEN for h in hs)
        for hs in value)
    if not ok:
        raise _bad(where, value, "must be a list of lists of positive whole numbers, such as "
                                 "[[24, 16], [40, 12]]")
    return tuple(tuple(hs) for hs in value)


def _tiers(where: str, value) -> list[tuple[float, float]]:
    """[threshold, share] pairs: accuracies and shares as fractions, thresholds rising and
    shares not falling (a higher accuracy never earns less)."""
    if not isinstance(value, list) or not value or not all(
            isinstance(t, list) and len(t) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in t)
            for t in value):
        raise _bad(where, value, "must be a list of [accuracy, share] pairs, such as "
                                 "[[0.8, 0.5], [0.85, 1.0]]")
    for threshold, share in value:
        if threshold > 1 or share > 1:
            raise _bad(where, value, "accuracies and shares are fractions: write 0.85, not 85")
        if threshold <= 0 or share < 0:
            raise _bad(where, value, "accuracies must be above 0 and shares at least 0")
    if any(b[0] <= a[0] or b[1] < a[1] for a, b in zip(value, value[1:])):
        raise _bad(where, value, "list the tiers from the lowest accuracy up, each share at "
                                 "least the one before")
    return [(float(t), float(f)) for t, f in value]


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
        return _parse(raw, path, source, text)
    except (KeyError, TypeError, ValueError) as exc:
        raise RubricError(f"rubric {source} is malformed: {exc}") from exc
    except RubricError as exc:
        raise RubricError(f"rubric {source}: {exc}") from None


def _parse(raw: dict, path, source: str, text: str) -> Rubric:
    """The rubric's values, each checked for its type and range, the key named when one is
    wrong (a negative score, an infinity or tiers in percent would pass silently otherwise)."""
    checks = raw["checks"]
    if not isinstance(checks, dict) or not all(isinstance(c, dict) for c in checks.values()):
        raise _bad("checks", checks, "must be [checks.NAME] sections")
    points = {name: _points(f"[checks.{name}] points", c.get("points", 0))
              for name, c in checks.items()}
    parts = {name: str(c.get("part", name)) for name, c in checks.items()}
    visibility = {name: str(c["visibility"]) for name, c in checks.items()
                  if "visibility" in c}
    for name, v in visibility.items():
        if v not in VISIBILITY:
            raise _bad(f"[checks.{name}] visibility", v, f"one of {', '.join(VISIBILITY)}")
    policy = raw.get("policy", {})
    tiers = {ds: _tiers(f"[accuracy.{ds}] tiers", spec["tiers"])
             for ds, spec in raw.get("accuracy", {}).items()}
    activations = _names("activations", raw.get("activations", ["relu", "sigmoid", "tanh"]),
                         ACTIVATIONS)
    required = _names("required_activations", raw.get("required_activations", []),
                      ACTIVATIONS)
    least = raw.get("min_activations", 2)
    if isinstance(least, bool) or not isinstance(least, int) or \
            not 1 <= least <= len(ACTIVATIONS):
        raise _bad("min_activations", least, f"must be a whole number from 1 to "
                                             f"{len(ACTIVATIONS)}")
    return Rubric(
        name=str(raw.get("name", Path(path).stem if path else "default")), points=points,
        parts=parts, activations=activations, min_activations=least,
        required_activations=required,
        allowed_packages=_names("[packages] allowed",
                                raw.get("packages", {}).get("allowed", [])),
        hidden_sizes=_hidden_sizes("hidden_sizes", raw.get("hidden_sizes", [[24, 16]])),
        gates=frozenset({"policy"} if _boolean("[policy] gate", policy.get("gate", True))
                        else set()),
        forbidden_extra=_names("[policy] forbidden_extra", policy.get("forbidden_extra", [])),
        data_loaders=_boolean("[policy] data_loaders", policy.get("data_loaders", True)),
        tiers=tiers, visibility=visibility,
        leaderboard=_boolean("[gradescope] leaderboard",
                             raw.get("gradescope", {}).get("leaderboard", False)),
        permute=_boolean("permute", raw.get("permute", True)),
        source=source, text=text)
