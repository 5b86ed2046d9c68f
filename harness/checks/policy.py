"""Policy: no deep-learning or autodiff framework anywhere in the submission.

Two lines of defence: a static scan of every ``.py`` and ``.ipynb`` (findings with file:line),
and the worker's import blocker, whose attempts are reported here. It runs last so that it sees
every import the submission tried while the other checks ran.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from harness.policy import FORBIDDEN_MODULES, forbidden_root

from . import Check, Outcome, checkimpl

_IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))")
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def _module_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else \
            func.attr if isinstance(func, ast.Attribute) else ""
        if name in ("__import__", "import_module"):
            return [node.args[0].value]
    return []


def scan_source(source: str, forbidden: frozenset[str] = FORBIDDEN_MODULES) -> list[tuple[int, str]]:
    """``(line, module)`` for every forbidden import in ``source``; a file that does not
    parse is scanned line by line instead."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        hits = []
        for lineno, line in enumerate(source.splitlines(), start=1):
            m = _IMPORT_LINE.match(line)
            if m:
                for name in re.split(r"[,\s]+", m.group(1) or m.group(2)):
                    if name and forbidden_root(name, forbidden):
                        hits.append((lineno, name))
        return hits
    return [(node.lineno, name) for node in ast.walk(tree) for name in _module_names(node)
            if forbidden_root(name, forbidden)]


def _notebook_cells(path: Path) -> list[str]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
    except (ValueError, OSError):
        return []
    out = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            # IPython magics and shell escapes are not Python: blank them, keep line numbers
            out.append("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln
                                 for ln in src.splitlines()))
    return out


def scan_submission(root: Path, forbidden: frozenset[str] = FORBIDDEN_MODULES) -> list[dict]:
    """Findings ``{"file", "line", "module", "where"}`` over all .py and .ipynb files."""
    findings = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _SKIP_DIRS & set(path.relative_to(root).parts):
            continue
        rel = str(path.relative_to(root))
        if path.suffix == ".py":
            for line, module in scan_source(path.read_text(encoding="utf-8", errors="replace"),
                                            forbidden):
                findings.append({"file": rel, "line": line, "module": module,
                                 "where": f"{rel}:{line}"})
        elif path.suffix == ".ipynb":
            for cell_no, src in enumerate(_notebook_cells(path), start=1):
                for line, module in scan_source(src, forbidden):
                    findings.append({"file": rel, "line": line, "module": module,
                                     "where": f"{rel} cell {cell_no}, line {line}"})
    return findings


class PolicyCheck(Check):
    name = "policy"
    title = "NumPy only: no deep-learning or autodiff framework"
    part = "policy"
    order = 900

    def run(self, ctx) -> Outcome:
        forbidden = FORBIDDEN_MODULES | frozenset(ctx.rubric.forbidden_extra)
        findings = scan_submission(ctx.proc.submission, forbidden)
        blocked = sorted(set(ctx.proc.blocked_imports))
        ctx.artifacts["policy_findings"] = findings
        details = {"static_findings": findings, "blocked_at_runtime": blocked}
        if not findings and not blocked:
            return Outcome(True, "no forbidden framework imported or used", details=details)
        parts = [f"{f['module']} imported at {f['where']}" for f in findings]
        parts += [f"tried to import {m} while running (blocked)" for m in blocked]
        return Outcome(False, "the assignment allows NumPy only: " + "; ".join(parts),
                       details=details)


@checkimpl
def harness_checks():
    return [PolicyCheck()]
