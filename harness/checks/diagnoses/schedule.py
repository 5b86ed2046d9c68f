"""Schedule bugs: named models of a recorded learning-rate sequence that is not a decay.

Any decay is decay (:mod:`harness.checks.schedules` recognises and names the shapes students
write); what is not, is one of these models, each a test on the rates ``lr[0..n-1]`` (per epoch,
or per step) and the words for what it found. :func:`explain` returns the first that holds.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import BugModel

RTOL = 1e-4  # relative tolerance between rates, here and in harness.checks.schedules

SCHEDULE_MODELS = (
    BugModel("lr-not-positive", "a learning rate that is zero, negative or not finite",
             {"test": "not_positive"}),
    BugModel("lr-constant", "constant at {first:.4g}", {"test": "constant"},
             fixture="corpus:no-decay"),
    BugModel("lr-rises", "rises from {first:.4g} to {last:.4g} and never falls",
             {"test": "rises"}),
    BugModel("lr-rises-after-falling", "rises again at {unit} {at} after falling",
             {"test": "rises_after_falling"}),
)


def falls_and_rises(lr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where consecutive rates fall and where they rise, beyond :data:`RTOL`."""
    tol = RTOL * lr[:-1]
    return np.diff(lr) < -tol, np.diff(lr) > tol


def _rise_after_fall(lr: np.ndarray) -> int | None:
    """The 1-based index of the first rate that rises after the rates have fallen."""
    falls, rises = falls_and_rises(lr)
    if not falls.any():
        return None
    first_fall = int(np.argmax(falls))
    if not rises[first_fall:].any():
        return None
    return first_fall + int(np.argmax(rises[first_fall:])) + 2


TESTS: dict[str, Callable[[np.ndarray], bool]] = {
    "not_positive": lambda lr: bool(np.any(~np.isfinite(lr)) or np.any(lr <= 0)),
    "constant": lambda lr: bool(np.allclose(lr, lr[0], rtol=RTOL, atol=1e-12)),
    "rises": lambda lr: not falls_and_rises(lr)[0].any(),
    "rises_after_falling": lambda lr: _rise_after_fall(lr) is not None,
}


def explain(lrs, unit: str = "epoch") -> tuple[BugModel, str] | None:
    """The first schedule model that holds for ``lrs`` (two or more rates), with its message
    filled in; None for a sequence that falls and never rises after it has fallen."""
    lr = np.asarray(lrs, np.float64)
    for model in SCHEDULE_MODELS:
        if TESTS[model.changes["test"]](lr):
            return model, model.message.format(first=lr[0], last=lr[-1], unit=unit,
                                               at=_rise_after_fall(lr))
    return None
