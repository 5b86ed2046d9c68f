"""The pieces checks are built from, on hand-made inputs."""

import json

import numpy as np
import pytest

from harness.checks.gradient import diagnose
from harness.checks.optimizer import _describe, expected_lr
from harness.checks.policy import scan_source, scan_submission

RNG = np.random.default_rng(0)
N = RNG.standard_normal(20)
THETA = RNG.standard_normal(20)


@pytest.mark.parametrize("analytic, expected", [
    (8 * N, "not averaged over the batch (× batch size 8)"),
    (N / 8, "divided by the batch size twice"),
    (2 * N, "off by a factor of 2"),
    (-N, "sign error"),
    (3.7 * N, "off by a constant factor of 3.7"),
    (np.zeros(20), "the gradient is zero"),
    (RNG.standard_normal(20), "wrong values"),
])
def test_gradient_diagnoses(analytic, expected):
    assert diagnose("W1", analytic, N, THETA, 0.0, 1.0, 8) == expected


def test_gradient_diagnoses_l2_mistakes():
    reg = 0.1
    assert diagnose("W2", N - reg * THETA, N, THETA, reg, 1.0, 8) == \
        "the L2 term is missing from this gradient"
    assert diagnose("b1", N + reg * THETA, N, THETA, reg, 1.0, 8).startswith(
        "L2 is applied to the bias gradient")
    assert "other convention" in diagnose("W1", N + reg * THETA, N, THETA, reg, 1.0, 8)


def test_optimizer_step_descriptions():
    t0, g = np.ones(10), RNG.standard_normal(10)
    assert _describe(t0, t0 - 0.1 * g, g, 0.1) is None
    assert "sign error" in _describe(t0, t0 + 0.1 * g, g, 0.1)
    assert "did not change" in _describe(t0, t0, g, 0.1)
    assert "Adam" in _describe(t0, t0 - 0.1 * np.sign(g), g, 0.1)
    assert "θ − 0.05·g" in _describe(t0, t0 - 0.05 * g, g, 0.1)


def test_expected_lr_schedules():
    cfg = {"lr": 1.0, "lr_decay": "step", "decay_rate": 0.5, "step_every": 2}
    assert [expected_lr(cfg, e) for e in (1, 2, 3, 5)] == [1.0, 1.0, 0.5, 0.25]
    assert expected_lr({**cfg, "lr_decay": "exponential"}, 3) == 0.25


def test_policy_scan_finds_every_spelling():
    src = ("import numpy as np\nimport torch\nfrom tensorflow import keras\n"
           "import os, jax.numpy as jnp\nm = __import__('autograd')\n"
           "import importlib\nx = importlib.import_module('mxnet')\nimport torchvision_like\n")
    assert scan_source(src) == [(2, "torch"), (3, "tensorflow"), (4, "jax.numpy"),
                                (5, "autograd"), (7, "mxnet")]


def test_policy_scan_survives_syntax_errors_and_reads_notebooks(tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n    pass\nimport torch\n")
    nb = {"cells": [{"cell_type": "markdown", "source": ["import torch"]},
                    {"cell_type": "code", "source": ["!pip install jax\n", "import numpy\n",
                                                     "import jax\n"]}]}
    (tmp_path / "work.ipynb").write_text(json.dumps(nb))
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("import torch\n")
    where = [f["where"] for f in scan_submission(tmp_path)]
    assert where == ["broken.py:3", "work.ipynb cell 1, line 3"]
