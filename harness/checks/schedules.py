"""Learning-rate schedules, recognised from the rates a training run recorded.

The assignment asks for learning-rate decay, not for one formula: students write exponential,
step, linear, inverse-time and cosine schedules, per epoch or per batch. Each family here is a
named model of the recorded sequence ``lr[0..n-1]`` (per epoch, or per step when the run
recorded one rate per step); :func:`recognise` returns the first that fits the numbers within
floating-point tolerance. Decay of any recognised shape is decay; a sequence that is not a decay
is one of the schedule bug models (constant, rising, rising again after falling, not positive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .diagnoses import schedule as schedule_bugs
from .diagnoses.schedule import RTOL


@dataclass(frozen=True)
class Schedule:
    """What a sequence of rates is: ``decays`` (falls overall, never rises after falling) and
    ``name``, in words ("cosine from 0.1 to 0 over 10 epochs"); for one that does not decay,
    the ``bug`` model (:mod:`harness.checks.diagnoses.schedule`) it fits."""

    decays: bool
    name: str
    bug: str | None = None


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=RTOL, atol=1e-12))


def _exponential(lr: np.ndarray, unit: str) -> str | None:
    ratios = lr[1:] / lr[:-1]
    if _close(ratios, ratios[0]) and ratios[0] < 1:
        return f"exponential, ×{ratios[0]:.4g} per {unit}"
    return None


def _step(lr: np.ndarray, unit: str) -> str | None:
    drops = np.flatnonzero(~np.isclose(lr[1:], lr[:-1], rtol=RTOL)) + 1
    if len(drops) == 0:
        return None
    factors = lr[drops] / lr[drops - 1]
    gaps = np.diff(np.concatenate([[0], drops]))
    regular = bool(np.all(gaps == gaps[0])) and len(lr) - drops[-1] <= gaps[0]
    if len(drops) == 1 and factors[0] < 1:
        return f"step, ×{factors[0]:.4g} at {unit} {drops[0] + 1}"
    if _close(factors, factors[0]) and factors[0] < 1 and regular:
        return f"step, ×{factors[0]:.4g} every {gaps[0]} {unit}s"
    return None


def _linear(lr: np.ndarray, unit: str) -> str | None:
    steps = np.diff(lr)
    if _close(steps, steps[0]) and steps[0] < 0:
        return f"linear, {steps[0]:+.4g} per {unit}"
    return None


def _inverse_time(lr: np.ndarray, unit: str) -> str | None:
    inv = 1 / lr
    steps = np.diff(inv)
    if _close(steps, steps[0]) and steps[0] > 0:
        return f"inverse-time, lr₀/(1 + {steps[0] * lr[0]:.4g}·t) per {unit}"
    return None


def _cosine(lr: np.ndarray, unit: str) -> str | None:
    n = len(lr)
    for length in range(n - 1, 4 * n + 1):  # the period: the run's length, or a longer budget
        if length < 1:
            continue
        shape = 0.5 * (1 + np.cos(np.pi * np.arange(n) / length))  # 1 → 0 over `length`
        # lr = low + (high − low)·shape: solve for low and high from the first two distinct
        a = np.vstack([1 - shape, shape]).T
        (low, high), *_ = np.linalg.lstsq(a, lr, rcond=None)
        if high > low >= -1e-12 and _close(a @ [low, high], lr):
            low = low if low > 1e-12 * high else 0.0
            return f"cosine, {high:.4g} → {low:.4g} over {length} {unit}s"
    return None


FAMILIES = (_exponential, _step, _linear, _inverse_time, _cosine)


def recognise(lrs, unit: str = "epoch") -> Schedule:
    """What the rates ``lrs`` (one per ``unit``) do, by the first family that fits exactly;
    else whether they decay at all, in words."""
    lr = np.asarray(lrs, np.float64)
    if len(lr) < 2:
        return Schedule(False, f"one {unit} only: a decay cannot show")
    bug = schedule_bugs.explain(lr, unit)  # not a decay: which bug model it is
    if bug is not None:
        return Schedule(False, bug[1], bug[0].name)
    falls, rises = schedule_bugs.falls_and_rises(lr)
    first_fall = int(np.argmax(falls))
    # what rises before the first fall is a warm-up; the decay starts at its peak
    start = int(np.flatnonzero(rises[:first_fall])[-1]) + 1 if rises[:first_fall].any() else 0
    after = lr[start:]
    warmup = f"warm-up over {start} {unit}{'s' * (start != 1)}, then " if start else ""
    for family in FAMILIES:
        if len(after) >= 3 or family in (_exponential, _step):
            name = family(after, unit)
            if name:
                return Schedule(True, warmup + name)
    return Schedule(True, f"{warmup}its own decay, {after[0]:.4g} → {after[-1]:.4g}")
