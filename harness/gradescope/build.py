"""``harness gradescope build``: the autograder zip Gradescope runs.

The zip holds ``setup.sh`` (run once when the image is built: installs Python, bubblewrap, the
dataset and this very harness, from the source copied into the zip, so the autograder grades
with the version that built it), ``run_autograder`` (run per submission) and
``harness-autograder.json`` (rubric file, dataset, quick or full). What happens per submission
is :mod:`harness.gradescope.run`.
"""

from __future__ import annotations

import io
import json
import zipfile
from importlib.metadata import metadata, requires
from importlib.resources import files
from pathlib import Path

from harness import __version__
from harness.files import submission_files, write_atomic

CONFIG = "harness-autograder.json"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu). The
# variables let the harness's own tests run it elsewhere, with another interpreter.
set -euo pipefail
ROOT="${{HARNESS_AUTOGRADER_ROOT:-/autograder}}"
VENV="${{HARNESS_VENV:-/opt/harness-venv}}"
PYTHON="${{HARNESS_PYTHON:-python3}}"
export DEBIAN_FRONTEND=noninteractive
need=""
command -v "$PYTHON" >/dev/null || need="$need python3"
"$PYTHON" -c "import ensurepip, venv" 2>/dev/null || need="$need python3-venv python3-pip"
command -v bwrap >/dev/null || need="$need bubblewrap"
if [ -n "$need" ]; then
  apt-get update -qq && apt-get install -y -qq $need >/dev/null
fi
"$PYTHON" -c "import sys; sys.exit(sys.version_info < (3, 10))" || {{
  echo "harness needs Python 3.10 or newer; this image has $("$PYTHON" --version 2>&1):" \
       "choose a newer Gradescope base image (Ubuntu 22.04 has 3.10)" >&2; exit 1; }}
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$ROOT/source/harness-src"
# Fashion-MNIST from the distribution where it is packaged, else the official download,
# verified against its published checksums either way.
"$VENV/bin/harness" data where {dataset} >/dev/null 2>&1 || \
  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || true
"$VENV/bin/harness" data where {dataset} 2>/dev/null || "$VENV/bin/harness" data get {dataset}
# The grading key of the secret view, made once in the image: a regrade sees the same view.
"$VENV/bin/python" -c "from harness.data.permute import grading_key; grading_key()"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it always writes results/results.json.
VENV="${{HARNESS_VENV:-/opt/harness-venv}}"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3  # the harness installed some other way
cd "${{HARNESS_AUTOGRADER_ROOT:-/autograder}}/source"
exec "$PY" -m harness.gradescope.run
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "harness"
version = "{version}"
requires-python = "{requires_python}"
dependencies = {dependencies}

[project.scripts]
harness = "harness.cli:main"

[tool.setuptools.packages.find]
include = ["harness*", "reference*"]

[tool.setuptools.package-data]
"*" = ["*.j2", "*.toml", "*.json"]
"""


def _add_tree(zf: zipfile.ZipFile, root: Path, prefix: str) -> None:
    """``root``'s files under ``prefix``, once each (an installed harness already holds its
    templates; a source checkout keeps them beside the package)."""
    have = set(zf.namelist())
    for path in submission_files(root):
        name = f"{prefix}/{path.relative_to(root).as_posix()}"
        if path.suffix != ".pyc" and name not in have:
            zf.write(path, name)


def _add_text(zf: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)


def build(out: Path, rubric: str | None = None, dataset: str = "fashion-mnist",
          quick: bool = False) -> int:
    """Write the autograder zip to ``out``; return its size in bytes."""
    deps = [r for r in (requires("harness") or []) if "extra ==" not in r]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_text(zf, "setup.sh", SETUP.format(dataset=dataset), executable=True)
        _add_text(zf, "run_autograder", RUN.format(), executable=True)
        config = {"dataset": dataset, "quick": quick, "harness_version": __version__,
                  "rubric": "rubric.toml" if rubric else None}
        _add_text(zf, CONFIG, json.dumps(config, indent=2) + "\n")
        if rubric:
            zf.write(rubric, "rubric.toml")
        src = "harness-src"
        _add_text(zf, f"{src}/pyproject.toml", PYPROJECT.format(
            version=__version__, dependencies=json.dumps(deps),
            requires_python=metadata("harness")["Requires-Python"] or ">=3.10"))
        _add_tree(zf, Path(str(files("harness"))), f"{src}/harness")
        _add_tree(zf, Path(str(files("harness.templates"))), f"{src}/harness/templates")
        _add_tree(zf, Path(str(files("reference"))), f"{src}/reference")
    write_atomic(out, buf.getvalue())
    return len(buf.getvalue())
