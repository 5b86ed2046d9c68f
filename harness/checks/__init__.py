"""Grading checks, each a pluggy plugin of the harness.

A check plugin implements the ``harness_checks`` hook (marker: ``checkimpl``) and returns
:class:`Check` objects. The harness registers its own checks first, then plugins found through
the ``harness.checks`` entry-point group, then any given on the command line; a check with the
same ``name`` as an earlier one replaces it, so an instructor can add a check or swap one out.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from harness.grading.context import Context

checkspec = pluggy.HookspecMarker("harness.checks")
checkimpl = pluggy.HookimplMarker("harness.checks")

BUILTIN = ("policy", "contract", "loss", "gradient", "training", "optimizer", "checkpoint",
           "search", "testing", "accuracy")


@dataclass
class Outcome:
    """What a check found. ``fraction`` in [0, 1] is the share of the check's points earned."""

    passed: bool
    message: str
    fraction: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fraction is None:
            self.fraction = 1.0 if self.passed else 0.0


class Check(ABC):
    """Base class. ``requires``: hooks without which the check cannot run; ``needs_plugin``:
    False for checks that read the submission's files only (they run even when the plugin does
    not load); ``quick``: part of the student self-check; ``order``: checks run in increasing
    order (later ones may use what earlier ones left in ``ctx.artifacts``)."""

    name: str = ""
    title: str = ""
    part: str = ""
    order: int = 100
    quick: bool = True
    needs_plugin: bool = True
    requires: tuple[str, ...] = ()

    @abstractmethod
    def run(self, ctx: "Context") -> Outcome:
        """Examine the submission through ``ctx`` and say what was found."""


class _Specs:
    @checkspec
    def harness_checks(self) -> list[Check]:
        """The checks this plugin provides."""


def load_checks(extra: Iterable[str] = ()) -> list[Check]:
    """Built-in checks, entry-point plugins, then ``extra`` modules (dotted names), by order."""
    pm = pluggy.PluginManager("harness.checks")
    pm.add_hookspecs(_Specs)
    for name in BUILTIN:
        pm.register(importlib.import_module(f"harness.checks.{name}"))
    pm.load_setuptools_entrypoints("harness.checks")
    for dotted in extra:
        pm.register(importlib.import_module(dotted))
    by_name: dict[str, Check] = {}
    for group in reversed(pm.hook.harness_checks()):  # pluggy calls the newest first
        for check in group:
            by_name[check.name] = check
    return sorted(by_name.values(), key=lambda c: c.order)
