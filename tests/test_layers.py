"""The architecture holds: imports point down the layers (cli → batch/grading → checks →
sandbox → data), presentation reads records and imports no grading machinery, and the model
answer imports nothing of the harness. Type-only imports (under ``TYPE_CHECKING``) don't count."""

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

# What each part of the harness may import from the rest of it (besides itself).
ALLOWED = {
    "files": set(),
    "blas": set(),
    "hookspecs": set(),
    "conventions": {"hookspecs"},  # the contract's defaults, run in the worker
    "data": {"files"},
    "sandbox": {"files", "hookspecs", "conventions"},
    "present": {"files", "hookspecs", "templates"},
    "checks": {"files", "hookspecs", "sandbox", "data"},
    "grading": {"files", "blas", "hookspecs", "sandbox", "data", "checks", "present"},
    "batch": {"files", "hookspecs", "sandbox", "data", "grading", "present", "checks"},
    "gradescope": {"files", "grading", "batch", "present"},
    "pytest_plugin": {"files", "batch", "present", "checks"},
    "run_reference": {"files", "blas", "data", "grading", "present"},
    "cli": set(ALLOWED_ALL := {"files", "blas", "hookspecs", "data", "sandbox", "present", "checks",
                               "grading", "batch", "gradescope", "run_reference"}),
    "__init__": set(),
    "__main__": {"cli"},
}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text())
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                found |= {module} | {f"{module}.{a.name}" for a in node.names}
            elif node.module:
                found.add(node.module)
    return {m for m in found if m == "harness" or m.startswith("harness.")}


def violations(root: Path) -> list[str]:
    wrong = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        module = ".".join(rel.parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        if path.name == "__init__.py":
            module = module.removesuffix(".__init__")
        here = _part(module) if module != "harness" else "__init__"
        for imported in _imports(path, package):
            there = _part(imported)
            if there in (here, "__init__") or imported == "harness" or there.startswith("__"):
                continue
            if there not in ALLOWED[here]:
                wrong.append(f"{module} imports {imported}")
    return wrong


def test_imports_point_down_the_layers():
    wrong = violations(HARNESS)
    assert not wrong, "\n".join(wrong)


def test_an_upward_import_is_caught(tmp_path):
    (tmp_path / "harness" / "present").mkdir(parents=True)
    (tmp_path / "harness" / "present" / "x.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.checks import Check\n"
        "from ..grading import record\n")
    assert sorted(violations(tmp_path / "harness")) == [
        "harness.present.x imports harness.grading",
        "harness.present.x imports harness.grading.record"]


# Paths into the worker's work area, as the harness's code names them: a run's directories and
# files, what the submission is told to write to, and the work area itself.
WORK_PATHS = ("checkpoint_dir", "checkpoint_path", "out_dir", "run_dir", "data_dir", "work.path",
              "log_path", "scratch")
PATH_OPS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "rglob", "glob",
            "iterdir", "mkdir", "is_file", "is_dir", "exists", "stat", "lstat", "unlink",
            "resolve", "touch", "chmod", "chown", "walk", "scandir", "listdir", "rmdir",
            "copyfile", "copytree", "samefile", "is_symlink", "readlink"}
# Where a scratch path is the harness's own (created before the worker runs, or never
# writable by it): the sandbox's process set-up, a grade's and a batch's scratch made and removed.
OWN_SCRATCH = {"sandbox/process.py", "sandbox/workarea.py", "grading/pipeline.py",
               "batch/local.py"}


def path_operations_on_work(source: str) -> list[str]:
    """Calls that open, list, create or change a path into the work area by name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in PATH_OPS:
            continue
        operands = [func.value] if isinstance(func, ast.Attribute) else []
        text = " ".join(ast.unparse(o) for o in [*operands, *node.args])
        if any(w in text for w in WORK_PATHS):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_in_the_work_area_is_touched_by_path():
    """The sandbox's rule (harness/sandbox/__init__.py): the harness reaches what a submission
    can write only through WorkArea, never by path, since a link planted there would be
    followed by a harness running as root."""
    offenders = {}
    for path in HARNESS.rglob("*.py"):
        rel = str(path.relative_to(HARNESS))
        if rel in OWN_SCRATCH:
            continue
        found = path_operations_on_work(path.read_text())
        if found:
            offenders[rel] = found
    assert not offenders, offenders


def test_a_path_operation_on_the_work_area_is_caught():
    assert path_operations_on_work("run.checkpoint_dir.rglob('*')")
    assert path_operations_on_work("open(out_dir / 'records.csv')")
    assert path_operations_on_work("(ctx.scratch / 'x').mkdir()")
    assert not path_operations_on_work("ctx.proc.work.files(run_dir)")
