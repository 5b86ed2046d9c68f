"""Helpers more than one check uses: building a model in the submission, reloading its
checkpoint, telling learning from guessing."""

from __future__ import annotations

from .artifacts import CheckpointVerdict, TrainedRun

REG = 0.1  # large, so an L2 mistake is not lost among the cross-entropy terms


def beats_chance(best_val_acc: float, num_classes: int) -> bool:
    """Clearly better than guessing: at least twice the chance rate."""
    return best_val_acc >= 2.0 / num_classes


def model_with(ctx, params: dict, hidden: list[int], activation: str):
    """A float64 model built by the submission, holding ``params``."""
    model = ctx.call("harness_build_model", input_dim=ctx.data.input_dim, hidden_sizes=hidden,
                     activation=activation, num_classes=ctx.data.num_classes, seed=0,
                     dtype="float64")
    ctx.call("harness_set_params", model=model, params=params)
    return model


def reload_model(ctx, run: TrainedRun):
    """The submission's model loaded from ``run``'s checkpoint by its own loader, in a fresh
    process: nothing survives from training but the files."""
    ctx.proc.restart()
    return ctx.call("harness_load_checkpoint", checkpoint_path=str(run.checkpoint_path),
                    checkpoint_dir=str(run.checkpoint_dir))


def loadable_checkpoint(ctx) -> tuple[TrainedRun | None, str | None]:
    """The training run whose checkpoint later checks may load, or why there is none (said
    once, by the checkpoint check; later checks only point at it)."""
    run = ctx.artifacts.get(TrainedRun)
    if run is None:
        return None, "no successful training run, so no checkpoint (see the training check)"
    if not run.saved:
        return None, "no checkpoint was saved (see the checkpoint check)"
    verdict = ctx.artifacts.get(CheckpointVerdict)
    if verdict is not None and not verdict.loadable:
        return None, "the checkpoint could not be loaded (see the checkpoint check)"
    return run, None
