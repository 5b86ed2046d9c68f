"""The Jinja templates, read from the package data ``harness.templates`` (the top-level
``templates/`` directory of the source tree), so an installed wheel renders as a checkout does."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import jinja2


def template_path(name: str) -> Path:
    """The file of template ``name`` (package data is installed as plain files)."""
    return Path(str(files("harness.templates").joinpath(name)))


def environment(html: bool = True) -> jinja2.Environment:
    """A Jinja environment over the templates; ``html``: autoescaped, with the report filters
    ``pct`` (a fraction as a percentage) and ``num`` (significant digits)."""
    loader = jinja2.FileSystemLoader(template_path("report.html.j2").parent)
    if not html:
        return jinja2.Environment(loader=loader, keep_trailing_newline=True)
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["acc"] = lambda v: "–" if v is None else f"{v:.4f}"
    env.filters["num"] = lambda v, digits=4: "–" if v is None else f"{v:.{digits}g}"
    env.filters["clauses"] = clauses
    return env


def clauses(message: str) -> list[str]:
    """A finding's clauses: split at "; " outside parentheses, so that a run-on message of
    several findings can be shown as a list (a parenthesis's own "; " stays inside it)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(message):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and message.startswith("; ", i):
            out.append(message[start:i])
            start = i + 2
    return [c for c in [*out, message[start:]] if c]
