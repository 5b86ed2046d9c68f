"""Best checkpoint: the saved model, reloaded through the submission's own loader in a fresh
process, scores the best validation accuracy of the history, and records its own architecture.

Normal training often peaks at its last epoch, where "best" and "last" look alike, and uses the
default architecture, where a loader that hard-codes it looks right. So two short probe runs on
a subset, both with an activation and hidden sizes other than the training defaults:

- *last vs best*: validation labels shifted by one class, and a learning rate that grows tenfold
  per epoch. The better the model learns, the worse its probe validation accuracy, so the best
  epoch is the first and a checkpoint of the last epoch gives itself away.
- *accuracy vs loss*: 30 % of the validation labels true, the rest shifted, and a steady,
  high learning rate. Learning raises validation accuracy (the true part) while confident
  mistakes on the shifted part raise validation loss, so the accuracy-best epoch comes late and
  the loss-best one first: a checkpoint chosen by validation loss gives itself away. (Measured
  with tanh and relu; a sigmoid network learns too slowly in four epochs, so this probe uses
  one of those two.)

The checkpoint directory is the submission's: anything written inside it counts.
"""

from __future__ import annotations

import numpy as np

from harness.sandbox.process import SubmissionFailure

from . import Check, Outcome, checkimpl, numerics, runs
from .artifacts import CheckpointVerdict, TrainedRun
from .common import beats_chance, reload_model

PROBE_HIDDEN = (48, 24)


def _accuracy(ctx, model, x, y) -> float:
    return numerics.accuracy(ctx.call("harness_predict", model=model, x=x), y)


def _epoch_matching(accs: list[float], acc: float, tol: float) -> list[int]:
    return [i for i, a in enumerate(accs) if abs(a - acc) <= tol]


class CheckpointCheck(Check):
    name = "checkpoint"
    title = "Best checkpoint saved and reloadable"
    part = "train"
    order = 60
    needs = (TrainedRun,)
    produces = (CheckpointVerdict,)
    requires = ("harness_train", "harness_load_checkpoint", "harness_predict")
    reloads = 3  # the main run's checkpoint and the two probes'

    def run(self, ctx) -> Outcome:
        details: dict = {}
        main = self._main(ctx, details)
        details["main_ok"] = main is None
        if main is not None and details.get("fatal"):
            return Outcome(False, _said([main]), details=details)
        probes = [self._contained_probe(ctx, details, kind)
                  for kind in ("last_vs_best", "acc_vs_loss")]
        trained = ctx.train_config["activation"]
        if probes[0] is None and _inconclusive(details) and ctx.probe_activation != trained:
            # the probe's activation did not learn enough to make its first epoch the best:
            # the training activation, which learns fastest, may show it
            details["last_vs_best_first_try"] = details.pop("last_vs_best")
            probes[0] = self._contained_probe(ctx, details, "last_vs_best", trained)
        problems = [p for p in (main, *probes) if p]
        if not problems and _inconclusive(details):
            return Outcome(True, "the checkpoint matches the main run's best epoch, records its "
                           "architecture and reloads in a fresh process; whether it keeps the "
                           "best epoch rather than the last could not be shown (in the probe "
                           "runs the last epoch was also the best)", details=details)
        if not problems:
            return Outcome(True, "the checkpoint holds the best epoch by validation accuracy, "
                           "records its architecture, and reloads in a fresh process",
                           details=details)
        fraction = 0.5 if main is None else 0.25 if not any(probes) else 0.0
        return Outcome(False, _said(problems), fraction=fraction, details=details)

    def _load(self, ctx, run, details, what: str):
        """The reloaded model, or None after recording why it could not be loaded."""
        try:
            return reload_model(ctx, run)
        except SubmissionFailure as failure:
            details["fatal"] = what == "main"
            details[f"{what}_load_error"] = failure.message
            if failure.traceback:
                details["traceback"] = failure.traceback
            return None

    def _main(self, ctx, details) -> tuple[str, str] | None:
        run = ctx.artifacts.get(TrainedRun)
        if run is None:
            details["fatal"] = True
            return "no successful training run to take a checkpoint from", ""
        if not run.saved:
            details["fatal"] = True
            return "no checkpoint: " + run.missing_checkpoint(), ""
        model = self._load(ctx, run, details, "main")
        if model is None:
            ctx.artifacts.put(CheckpointVerdict(loadable=False))
            return f"loading the checkpoint failed: {details['main_load_error']}" + \
                run.saved_where(), ""
        acc = _accuracy(ctx, model, ctx.data.x_val, ctx.data.y_val)
        accs = [r["val_acc"] for r in run.history]
        best = max(accs)
        details.update(reloaded_val_acc=acc, history_best_val_acc=best)
        ctx.artifacts.put(CheckpointVerdict(loadable=True))
        tol = 1.0 / len(ctx.data.y_val)
        if abs(acc - best) <= tol:
            return None
        said = f"the main run: the reloaded checkpoint scores {acc:.4f} on the validation " \
               f"set, the best epoch in the history {best:.4f}"
        which = _which_epoch(run.history, acc, tol)
        if which is not None:
            return which[0], f"{said}: {which[1]}"
        if not beats_chance(acc, ctx.data.num_classes):  # an epoch it matches explains it first
            return ("the checkpoint holds an untrained model (saved before training, or never "
                    "updated with the trained weights?)", said)
        return "the checkpoint matches no epoch's validation accuracy", said

    def _contained_probe(self, ctx, details, kind: str,
                         activation: str | None = None) -> tuple[str, str] | None:
        """A probe whose run fails says so in its own words; the main result stands."""
        try:
            return self._probe(ctx, details, kind, activation)
        except SubmissionFailure as failure:
            if failure.kind == "crashed":
                ctx.proc.restart()
            return f"probe run: {failure.message}", ""

    def _probe(self, ctx, details, kind: str,
               activation: str | None = None) -> tuple[str, str] | None:
        s, data = ctx.settings, ctx.data
        n_train, n_val = s.probe_size
        y_val = data.y_val[:n_val]
        n_val = len(y_val)
        shifted = (y_val + 1) % data.num_classes
        hidden = ctx.hidden(PROBE_HIDDEN)
        if kind == "last_vs_best":
            labels, config, budget = shifted, s.probe_config, s.probe_budget
            activation = activation or ctx.probe_activation
        else:
            labels = np.where(np.arange(n_val) < int(0.3 * n_val), y_val, shifted)
            config, budget = s.loss_probe_config, s.loss_probe_budget
            activation = next((a for a in ("tanh", "relu") if a in ctx.activations),
                              ctx.activations[0])
        config = {**config, "hidden_sizes": hidden, "activation": activation,
                  "num_classes": data.num_classes}
        name = "probe" if kind == "last_vs_best" else "probe-loss"
        run = runs.train(ctx, name, data.x_train[:n_train], data.y_train[:n_train],
                         data.x_val[:n_val], labels, config, budget)
        if isinstance(run, str):
            return f"probe run: {run}", ""
        if not run.saved:
            return "probe run: no checkpoint: " + run.missing_checkpoint(), ""
        model = self._load(ctx, run, details, kind)
        if model is None:
            return f"probe run ({activation}, hidden {hidden}): loading its checkpoint " \
                   f"failed: {details[f'{kind}_load_error']}", ""
        architecture = self._architecture(ctx, model, hidden)
        if architecture:
            return architecture, ""
        accs = [r["val_acc"] for r in run.history]
        acc = _accuracy(ctx, model, data.x_val[:n_val], labels)
        best, last = max(accs), accs[-1]
        details[kind] = {"val_accs": accs, "reloaded": acc, "activation": activation,
                         "hidden_sizes": hidden,
                         "val_losses": [r.get("val_loss") for r in run.history]}
        tol = 0.5 / n_val
        if abs(acc - best) <= tol:
            if kind == "last_vs_best" and abs(best - last) <= tol:
                details[kind]["note"] = "the probe's last epoch was also its best: inconclusive"
            return None
        if kind == "last_vs_best" and abs(acc - last) <= tol:
            return HOLDS_LAST, (f"a probe run whose best epoch ({int(np.argmax(accs)) + 1}, "
                                f"val acc {best:.4f}) was not its last ({len(accs)}, "
                                f"{last:.4f}): the checkpoint scores {acc:.4f}")
        said = f"a probe run ({activation}, hidden {'-'.join(map(str, hidden))}): the " \
               f"checkpoint scores {acc:.4f}, the best epoch {best:.4f}"
        which = _which_epoch(run.history, acc, tol)
        if which is not None:
            return which[0], f"{said}: {which[1]}"
        if details.get("main_ok") and activation != ctx.train_config["activation"]:
            return (f"the model reloads right after the default "
                    f"{ctx.train_config['activation']} run but not after a {activation} run, "
                    "so the activation is not read from the checkpoint (save it, and build the "
                    "model from it)", said)
        return "the checkpoint matches no epoch's validation accuracy", said

    def _architecture(self, ctx, model, hidden) -> str | None:
        """Whether the reloaded model has the probe's hidden sizes: a loader that rebuilds the
        default architecture instead of reading it shows here."""
        if "harness_get_params" not in ctx.proc.implemented:
            return None
        params = ctx.call("harness_get_params", model=model)
        sizes = [ctx.data.input_dim, *hidden, ctx.data.num_classes]
        shapes = {k: np.shape(v) for k, v in params.items()} if isinstance(params, dict) else {}
        if shapes != numerics.expected_shapes(sizes, ctx.decl.biases):
            layers = sum(1 for k in shapes if k.startswith("W"))
            got = [shapes[f"W{i}"][1] for i in range(1, layers)
                   if f"W{i}" in shapes and len(shapes[f"W{i}"]) == 2]
            return (f"the checkpoint of a run with hidden sizes {hidden} reloads as a model "
                    f"with hidden sizes {got}: save the architecture in the checkpoint and "
                    "build the model from it")
        return None


def _inconclusive(details: dict) -> bool:
    """Whether the last-versus-best probe could not tell them apart (its last epoch was also
    its best)."""
    return "note" in details.get("last_vs_best", {})


HOLDS_LAST = "the checkpoint holds the last epoch, not the best by validation accuracy"


def _which_epoch(history: list[dict], acc: float, tol: float) -> tuple[str, str] | None:
    """Which epoch a checkpoint's accuracy belongs to, and what that says about how it was
    chosen: (the diagnosis, the epoch as evidence), or None when it matches no epoch."""
    accs = [r["val_acc"] for r in history]
    matches = _epoch_matching(accs, acc, tol)
    if not matches:
        return None
    losses = [r.get("val_loss") for r in history]
    last = len(accs) - 1
    if all(isinstance(v, (int, float)) for v in losses):
        loss_best = int(np.argmin(losses))
        if loss_best in matches and loss_best != int(np.argmax(accs)) and loss_best != last:
            return ("the checkpoint holds the epoch with the lowest validation loss; the best "
                    "model is the one with the highest validation accuracy",
                    f"epoch {loss_best + 1}")
        if loss_best == last in matches:  # two explanations fit: say both, assert neither
            return ("the checkpoint holds the last epoch, which is also the one with the "
                    "lowest validation loss; the best is the one with the highest validation "
                    "accuracy", f"epoch {len(accs)}")
    if last in matches:
        return HOLDS_LAST, f"epoch {len(accs)}, the last"
    return "the checkpoint holds an epoch that is not the best", f"epoch {matches[0] + 1}"


def _said(findings: list[tuple[str, str]]) -> str:
    """Findings ``(diagnosis, evidence)`` as one message: each diagnosis once, with all its
    evidence in one parenthesis."""
    grouped: dict[str, list[str]] = {}
    for diagnosis, evidence in findings:
        grouped.setdefault(diagnosis, []).extend([evidence] if evidence else [])
    return "; ".join(f"{d} ({'; '.join(e)})" if e else d for d, e in grouped.items())


@checkimpl
def harness_checks():
    return [CheckpointCheck()]
