"""Diagnoses as a linter keeps its rules: each a named, executable model of one bug.

A bug model is a transformation of the canonical computation (the gradient computed with the
batch mean left out, with the tanh derivative taken from ``z``, ...). A check compares what the
submission computed with what each model predicts for the same inputs, and names the models that
reproduce the submission's numbers: evidence, not inference. A new diagnosis is a new model here
plus a fixture that has the bug (``fixture``: a submission's path in the repository, or
``corpus:OPERATOR``, a bug operator of the style × bug corpus in ``tests/corpus.py``, applied
to every style that can have it), and the tests grade the fixtures and expect the message.

- :mod:`harness.checks.diagnoses.gradient`: backprop bugs, judged per tensor and activation.
- :mod:`harness.checks.diagnoses.loss`: what a loss is instead of mean cross-entropy, and what
  its L2 penalty is instead of either accepted convention.
- :mod:`harness.checks.diagnoses.optimizer`: what one optimizer step does instead of θ − lr·g.
- :mod:`harness.checks.diagnoses.schedule`: what a recorded learning-rate sequence does instead
  of decaying (any decay is decay: :mod:`harness.checks.schedules` recognises their shapes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BugModel:
    """One bug: ``name`` (stable, for results.json and grouping), the ``message`` a student
    reads, the changes to the canonical computation that make it (``changes``, keyword
    arguments of the module's engine), the activations it can occur with (all if empty), and
    the ``fixture`` that has it."""

    name: str
    message: str
    changes: dict[str, Any] = field(default_factory=dict)
    activations: tuple[str, ...] = ()
    fixture: str = ""

    def applies_to(self, activation: str) -> bool:
        return not self.activations or activation in self.activations
