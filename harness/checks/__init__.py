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
    """Base class of a check.

    ``requires``: hooks without which the check cannot run; ``requires_one_of``: hooks of which
    it needs at least one (a fused training step or the separate gradient and step);
    ``needs_plugin``: False for checks that read the submission's files only (they run even
    when the plugin does not load); ``quick``: part of the student self-check; ``needs`` /
    ``produces``: the artifact types (:mod:`harness.checks.artifacts`) it reads and writes,
    which decide the order checks run in;
    ``order``: among checks free to run, lower first (the policy check, 900, runs last to see
    every import the worker blocked); ``reloads``: how many times it reloads the submission in
    a fresh worker when all goes well (the sandbox starts that many workers ahead, no more).
    ``origin`` is set when the check is loaded.
    """

    name: str = ""
    title: str = ""
    part: str = ""
    order: int = 100
    quick: bool = True
    needs_plugin: bool = True
    requires: tuple[str, ...] = ()
    requires_one_of: tuple[str, ...] = ()
    needs: tuple[type, ...] = ()
    produces: tuple[type, ...] = ()
    reloads: int = 0
    origin: str = "built in"

    @abstractmethod
    def run(self, ctx: "Context") -> Outcome:
        """Examine the submission through ``ctx`` and say what was found."""


class CheckSetError(ValueError):
    """The loaded checks cannot run together: something needed has no producer, two checks
    need each other, or a check disabled by name is needed by another."""


class _Specs:
    @checkspec
    def harness_checks(self) -> list[Check]:
        """The checks this plugin provides."""


def _origins(pm: pluggy.PluginManager, extra: Iterable[str]) -> dict[int, str]:
    origins = {id(pm.get_plugin(f"harness.checks.{n}")): "built in" for n in BUILTIN}
    for plugin, dist in pm.list_plugin_distinfo():
        origins[id(plugin)] = f"entry point ({dist.project_name})"
    for dotted in extra:
        origins[id(pm.get_plugin(dotted))] = f"--check {dotted}"
    return origins


def load_checks(extra: Iterable[str] = (), disabled: Iterable[str] = ()) -> list[Check]:
    """Built-in checks, entry-point plugins, then ``extra`` modules (dotted names), a later
    check replacing an earlier one of the same name; without those named in ``disabled``; in
    the order their artifacts ask for (:func:`order_checks`)."""
    extra = list(extra)
    pm = pluggy.PluginManager("harness.checks")
    pm.add_hookspecs(_Specs)
    for name in BUILTIN:
        module = importlib.import_module(f"harness.checks.{name}")
        pm.register(module, name=f"harness.checks.{name}")
    pm.load_setuptools_entrypoints("harness.checks")
    for dotted in extra:
        try:
            module = importlib.import_module(dotted)
        except ImportError as exc:
            raise CheckSetError(f"--check {dotted}: cannot import it ({exc}); give the dotted "
                                "name of a module on the Python path that defines "
                                "harness_checks()") from None
        pm.register(module, name=dotted)
    origins = _origins(pm, extra)
    by_name: dict[str, Check] = {}
    gone: list[tuple[Check, str]] = []
    for impl in pm.hook.harness_checks.get_hookimpls():  # oldest registration first
        for check in impl.function():
            check.origin = origins.get(id(impl.plugin), impl.plugin_name)
            if check.name in by_name:
                gone.append((by_name[check.name], f"replaced by {check.origin}"))
            by_name[check.name] = check
    disabled = list(disabled)
    for name in disabled:
        if name not in by_name:
            raise CheckSetError(f"--no-check {name}: no such check"
                                + _suggest(name, list(by_name)))
        gone.append((by_name.pop(name), "disabled with --no-check"))
    return order_checks(list(by_name.values()), gone)


def _suggest(name: str, valid: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, valid, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (checks: {', '.join(valid)})"


def order_checks(checks: list[Check], gone: Iterable[tuple[Check, str]] = ()) -> list[Check]:
    """``checks`` with every producer before the checks that need its artifacts, otherwise by
    ``order``. Raises :class:`CheckSetError`, naming the checks, when a needed artifact has no
    producer among ``checks`` (``gone``: checks that were loaded but are not among them, and
    why) or when checks need each other."""
    produced = {kind for c in checks for kind in c.produces}
    for check in checks:
        for kind in check.needs:
            if kind in produced:
                continue
            was = next(((c, why) for c, why in gone if kind in c.produces), None)
            because = (f": {was[0].name!r} ({was[0].origin}) produced it, but was {was[1]}"
                       if was else "")
            raise CheckSetError(f"check {check.name!r} ({check.origin}) needs "
                                f"{kind.__name__}, which no loaded check produces{because}")
    ordered: list[Check] = []
    waiting = sorted(checks, key=lambda c: (c.order, c.name))
    while waiting:
        done = {kind for c in ordered for kind in c.produces}
        ready = [c for c in waiting if all(k in done for k in c.needs)]
        if not ready:
            names = ", ".join(repr(c.name) for c in waiting)
            raise CheckSetError(f"checks {names} need each other's artifacts: none can run "
                                "first")
        ordered.append(ready[0])
        waiting.remove(ready[0])
    return ordered
