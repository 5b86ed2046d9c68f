"""Policy: no deep-learning or autodiff framework in the code the submission runs.

The gate falls on what runs: a forbidden import in a file reachable from ``harness_plugin.py``
by import (the harness follows the submission's own imports statically, so a lying worker cannot
hide one), or an import the worker's blocker refused while the submission's code ran. Optional
imports with a fallback (``try: import cupy`` / ``except ImportError: ...numpy``) and framework
code the plugin never reaches (a vendored folder, a ``tests/`` file, a notebook) are reported as
findings for the instructor without gating. The check reads files only, so it runs even when the
plugin does not load; it runs last to see every import the worker blocked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from harness.files import notebook_code_cells, submission_files
from harness.sandbox.imports import FORBIDDEN_MODULES, forbidden_root, is_data_module

from . import Check, Outcome, checkimpl

_IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))")
_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
PLUGIN = "harness_plugin.py"


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


def _guarded_lines(tree: ast.AST) -> set[int]:
    """Lines inside a ``try`` whose handlers catch a failed import."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        names = set()
        for handler in node.handlers:
            t = handler.type
            if t is None:
                names.add("BaseException")
            for n in (t.elts if isinstance(t, ast.Tuple) else [t]) if t is not None else []:
                names.add(n.id if isinstance(n, ast.Name) else getattr(n, "attr", ""))
        if names & _GUARDS:
            for stmt in node.body:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def scan_source(source: str, forbidden: frozenset[str] = FORBIDDEN_MODULES
                ) -> list[tuple[int, str, bool, bool]]:
    """``(line, module, guarded, data_only)`` for every forbidden import in ``source``;
    ``data_only``: what it imports is used only as a data loader (:func:`_data_only`). A file
    that does not parse is scanned line by line instead (nothing counts as guarded there)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        hits = []
        for lineno, line in enumerate(source.splitlines(), start=1):
            m = _IMPORT_LINE.match(line)
            if m:
                for name in re.split(r"[,\s]+", m.group(1) or m.group(2)):
                    if name and forbidden_root(name, forbidden):
                        hits.append((lineno, name, False, False))
        return hits
    guarded, uses = _guarded_lines(tree), _uses(tree)
    return [(node.lineno, name, node.lineno in guarded, _data_only(node, name, uses))
            for node in ast.walk(tree) for name in _module_names(node)
            if forbidden_root(name, forbidden)]


def _uses(tree: ast.AST) -> dict[str, list[str]]:
    """For every name the code loads, the dotted attribute chains it is used in
    (``torch.utils.data.DataLoader``); a use that is not an attribute chain is ``""``."""
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    uses: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            parts, n = [], node
            while isinstance(n, ast.Attribute):
                parts.append(n.attr)
                n = n.value
            if isinstance(n, ast.Name):
                uses.setdefault(n.id, []).append(".".join([n.id, *reversed(parts)]))
        elif isinstance(node, ast.Name) and id(node) not in inner and \
                isinstance(node.ctx, ast.Load):
            uses.setdefault(node.id, []).append("")
    return uses


def _data_only(node: ast.AST, module: str, uses: dict[str, list[str]]) -> bool:
    """Whether this import brings in only a framework's data loading: ``from
    torchvision.datasets import FashionMNIST``, ``from torchvision import datasets``, or
    ``import tensorflow as tf`` whose every use is a chain like ``tf.keras.datasets.…``."""
    if isinstance(node, ast.ImportFrom):
        return is_data_module(module) or all(is_data_module(f"{module}.{a.name}")
                                             for a in node.names)
    if not isinstance(node, ast.Import):
        return is_data_module(module)
    alias = next(a for a in node.names if a.name == module)
    bound = alias.asname or module.split(".", 1)[0]
    full = module if alias.asname else bound
    if is_data_module(full):
        return True
    chains = uses.get(bound, [])
    return bool(chains) and all(c and is_data_module(full + c[len(bound):]) for c in chains)


def _local_imports(source: str, rel: Path) -> list[tuple[str, int]]:
    """Dotted module names a file imports, with relative imports resolved against ``rel``
    (its path inside the submission), and the level: 0 absolute, >0 relative."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel.parent.parts)[: len(rel.parent.parts) - (node.level - 1)]
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names += [(mod, 1)] + [(f"{mod}.{a.name}", 1) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [(node.module, 0)] + [(f"{node.module}.{a.name}", 0) for a in node.names]
        else:
            names += [(n, 0) for n in _module_names(node)]
    return names


def python_files(root: Path) -> list[Path]:
    return list(submission_files(root, (".py",)))


def reachable_files(root: Path) -> set[Path]:
    """Files of the submission that running ``harness_plugin.py`` can import: its own modules,
    followed transitively. A module name is looked for in the submission's top directory and in
    every directory of it that holds ``.py`` files (students add folders to ``sys.path``)."""
    files = python_files(root)
    bases = sorted({p.parent for p in files})
    start = root / PLUGIN
    if not start.is_file():
        return set()
    seen, todo = set(), [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        source = path.read_text(encoding="utf-8", errors="replace")
        for name, level in _local_imports(source, path.relative_to(root)):
            parts = name.split(".")
            for base in [root] if level else bases:
                for candidate in (base.joinpath(*parts).with_suffix(".py"),
                                  base.joinpath(*parts, "__init__.py")):
                    if candidate.is_file():
                        todo.append(candidate)
                # a package's __init__ runs on the way to its submodules
                for i in range(1, len(parts)):
                    init = base.joinpath(*parts[:i], "__init__.py")
                    if init.is_file():
                        todo.append(init)
    return seen


def scan_submission(root: Path, forbidden: frozenset[str] = FORBIDDEN_MODULES) -> list[dict]:
    """Findings ``{"file", "line", "module", "where", "runs", "guarded"}`` over all .py and
    .ipynb files; ``runs``: the file is reachable from the plugin by import."""
    reachable = reachable_files(root)
    findings = []
    for path in python_files(root):
        rel = str(path.relative_to(root))
        for line, module, guarded, data in scan_source(path.read_text(encoding="utf-8",
                                                                      errors="replace"),
                                                       forbidden):
            findings.append({"file": rel, "line": line, "module": module,
                             "where": f"{rel}:{line}", "runs": path in reachable,
                             "guarded": guarded, "data_only": data})
    for path in submission_files(root, (".ipynb",)):
        rel = str(path.relative_to(root))
        for cell_no, src in enumerate(notebook_code_cells(path), start=1):
            for line, module, guarded, data in scan_source(src, forbidden):
                findings.append({"file": rel, "line": line, "module": module,
                                 "where": f"{rel} cell {cell_no}, line {line}", "runs": False,
                                 "guarded": guarded, "data_only": data})
    return findings


def verdict(findings: list[dict], blocked: list[dict], data_loaders: bool = False
            ) -> tuple[list[str], list[str]]:
    """(what gates the grade, what is only reported), each a list of sentences.
    ``data_loaders``: a framework imported only to load data is reported, not gating."""
    guarded_at = {(f["file"], f["line"]) for f in findings if f["guarded"]}
    data_at = {(f["file"], f["line"]) for f in findings if f["data_only"] and data_loaders}
    gating, noted = [], []
    for f in findings:
        if f["runs"] and f["data_only"] and data_loaders:
            noted.append(f"{f['module']} imported at {f['where']} only to load data (allowed; "
                         "an inert stand-in while grading)")
        elif f["runs"] and not f["guarded"]:
            gating.append(f"{f['module']} imported at {f['where']}")
        elif f["guarded"]:
            noted.append(f"optional import of {f['module']} at {f['where']} (with a fallback)")
        else:
            noted.append(f"{f['module']} imported at {f['where']}, code the plugin never runs")
    for b in blocked:
        how = "a stand-in" if b.get("stand_in") else "blocked"
        if not b["file"]:
            noted.append(f"a library tried to import {b['module']} ({how}; not the "
                         "submission's code)")
        elif (b["file"], b["line"]) not in guarded_at | data_at:
            gating.append(f"tried to import {b['module']} at {b['file']}:{b['line']} while "
                          f"running ({how})")
    return list(dict.fromkeys(gating)), list(dict.fromkeys(noted))


def stand_in_roots(root: Path, data_loaders: bool, gated: bool,
                   forbidden: frozenset[str] = FORBIDDEN_MODULES) -> tuple[str, ...]:
    """Frameworks the submission's worker imports as inert stand-ins
    (:class:`harness.sandbox.imports.StandIn`) instead of refusing them, so that its plugin
    loads: those its running code imports only to load data (when the rubric allows data
    loaders), and, with the policy gate off, every one it imports without a fallback. A
    framework also imported inside ``try``/``except ImportError`` is left refused, so the
    fallback still runs."""
    by_root: dict[str, list[dict]] = {}
    for f in scan_submission(root, forbidden):
        if f["runs"]:
            by_root.setdefault(forbidden_root(f["module"], forbidden), []).append(f)
    return tuple(sorted(
        name for name, fs in by_root.items()
        if not any(f["guarded"] for f in fs)
        and (not gated or data_loaders and all(f["data_only"] for f in fs))))


class PolicyCheck(Check):
    name = "policy"
    title = "NumPy only: no deep-learning or autodiff framework"
    part = "policy"
    order = 900
    needs_plugin = False

    def run(self, ctx) -> Outcome:
        forbidden = FORBIDDEN_MODULES | frozenset(ctx.rubric.forbidden_extra)
        findings = scan_submission(ctx.proc.submission, forbidden)
        blocked = list(ctx.proc.blocked_imports)
        gating, noted = verdict(findings, blocked, ctx.rubric.data_loaders)
        details = {"static_findings": findings, "blocked_at_runtime": blocked,
                   "gating": gating, "noted": noted}
        if gating:
            return Outcome(False, "the assignment allows NumPy only: " + "; ".join(gating),
                           details=details)
        if noted:
            aside = ", data loaders aside" if any(f["data_only"] and f["runs"]
                                                  for f in findings) else ""
            return Outcome(True, f"no framework in the code that runs{aside}; noted for the "
                           "instructor: " + "; ".join(noted[:5]), details=details)
        return Outcome(True, "no forbidden framework imported or used", details=details)


@checkimpl
def harness_checks():
    return [PolicyCheck()]
