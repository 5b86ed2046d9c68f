"""Loss bugs: named models of the loss a submission reports, for the loss check.

Two families, each judged on its own number:

- the data term, read with ``reg = 0``: what the loss is instead of mean cross-entropy
  (:data:`DATA_MODELS`, :func:`explain_data`). A known objective that is not cross-entropy (the
  squared errors of :data:`harness.checks.diagnoses.gradient.OBJECTIVES`) is a model too: the
  gradient check then judges backprop against that objective, so a bug behind it keeps its own
  diagnosis.
- the L2 penalty, read as the loss's growth when ``reg`` is turned on
  (:data:`PENALTY_MODELS`, :func:`explain_penalty`), under either accepted coefficient
  (``0.5·λ`` or ``λ``).

The models differ from the right answer and from each other by factors (the batch size, the
number of classes, a sign), so they are matched at :data:`MATCH_RTOL`, loose enough for an
epsilon inside the log or float32 arithmetic.
"""

from __future__ import annotations

import numpy as np

from . import BugModel
from .gradient import OBJECTIVES

MATCH_RTOL = 1e-3


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


DATA_MODELS = (
    BugModel("loss-summed", "the loss is summed over the batch instead of averaged",
             {"reduce": "sum"}, fixture="corpus:loss-summed"),
    BugModel("loss-mean-all", "the loss is averaged over every entry of the (batch, classes) "
             "array (one-hot × log p), so it is also divided by the number of classes: "
             "sum over the classes, then average over the batch", {"reduce": "mean_all"},
             fixture="corpus:loss-mean-all"),
    BugModel("loss-sign", "the loss is the mean log-likelihood without its minus sign (it "
             "must be −mean log p, a positive number)", {"sign": -1.0},
             fixture="corpus:loss-sign"),
    *(BugModel(f"objective-{name}", f"the loss is {label}, not mean cross-entropy",
               {"objective": name}, fixture="tests/fixtures/submissions/mse_loss")
      for name, (label, _) in OBJECTIVES.items()),
)

PENALTY_MODELS = (
    BugModel("l2-penalty-over-batch", "the L2 penalty is divided by the batch size (λ is a "
             "per-batch constant: add it once, not averaged)", {"scale": "1/batch"},
             fixture="corpus:l2-penalty-over-batch"),
    BugModel("l2-penalty-l1", "the penalty is λ·Σ|W| (L1), not L2", {"norm": "l1"}),
    BugModel("l2-penalty-norm", "the penalty is λ·Σ‖W‖, the norm and not its square",
             {"norm": "norm"}),
)


def data_term(logits: np.ndarray, y: np.ndarray, objective: str = "ce", reduce: str = "mean",
              sign: float = 1.0) -> float:
    """The loss without L2 on ``logits`` (N, C) and labels ``y`` (N,), with the given switches;
    with none, mean cross-entropy."""
    if objective != "ce":
        return sign * OBJECTIVES[objective][1](logits, y)
    nll = -_log_softmax(np.asarray(logits, np.float64))[np.arange(len(y)), y]
    total = {"mean": nll.mean(), "sum": nll.sum(), "mean_all": nll.sum() / logits.size}[reduce]
    return float(sign * total)


def penalty(params: dict, reg: float, n: int, coefficient: float, scale: str = "1",
            norm: str = "sq") -> float:
    """``coefficient·reg·Σ f(W)`` over the weights, f the squared norm (or the given ``norm``),
    divided by the batch size ``n`` when ``scale`` says so."""
    f = {"sq": lambda w: np.sum(w * w), "l1": lambda w: np.sum(np.abs(w)),
         "norm": lambda w: np.linalg.norm(w)}[norm]
    total = sum(f(np.asarray(v, np.float64)) for k, v in params.items() if k.startswith("W"))
    return float(coefficient * reg * total / (n if scale == "1/batch" else 1))


def explain_data(loss: float, logits: np.ndarray, y: np.ndarray) -> BugModel | None:
    """The data model whose value is ``loss`` (the submission's loss with ``reg = 0``)."""
    for model in DATA_MODELS:
        if np.isclose(loss, data_term(logits, y, **model.changes), rtol=MATCH_RTOL):
            return model
    return None


def explain_penalty(grown: float, params: dict, reg: float, n: int) -> BugModel | None:
    """The penalty model whose value is ``grown`` (how much the loss grew when ``reg`` was
    turned on), under either accepted coefficient."""
    for model in PENALTY_MODELS:
        for coefficient in (0.5, 1.0):
            want = penalty(params, reg, n, coefficient, **model.changes)
            if want and np.isclose(grown, want, rtol=MATCH_RTOL):
                return model
    return None
