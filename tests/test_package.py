"""The package as shipped: every package listed, the model answer standalone and free of
hidden mutation, package data read as resources."""

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for top in ("harness", "reference") for p in (ROOT / top).rglob("__init__.py")}
    assert found | {"harness.templates"} == listed


def test_reference_imports_nothing_from_the_harness():
    for path in (ROOT / "reference").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "harness" or n.startswith("harness.") for n in names), path


def test_python_m_reference_runs_without_the_harness(fmnist_dir, tmp_path):
    blocker = "import sys; sys.modules['harness'] = None; import runpy; " \
              "runpy.run_module('reference', run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", blocker, str(fmnist_dir), "--epochs", "2",
                           "--val", "100", "--checkpoint", str(tmp_path / "b.npz")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout and (tmp_path / "b.npz").is_file()


def test_reference_functions_leave_their_arguments_alone():
    from reference.model import MLP
    from reference.optim import SGD

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 6)).astype(np.float32), rng.integers(0, 3, 8)
    model = MLP(6, (5, 4), 3, "relu", seed=0)
    x0 = x.copy()
    loss, grads = model.loss_and_grads(x, y, 1e-3)
    assert np.array_equal(x, x0)
    kept = {k: v.copy() for k, v in grads.items()}
    for momentum in (0.0, 0.9):
        SGD(momentum).step(model.params, grads, 0.1)
        assert all(np.array_equal(grads[k], kept[k]) for k in grads)


def test_templates_and_default_rubric_are_package_resources(tmp_path):
    code = ("from harness.present.templates import environment; "
            "from harness.grading.rubric import load_rubric; "
            "environment().get_template('report.html.j2'); print(load_rubric().name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""}, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "default", done.stderr
