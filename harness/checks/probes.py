"""Probes shaped like the graded training: what the loss, gradient and optimizer checks feed a
submission.

A probe with a fixed signature (float64, a batch of 8, hidden sizes 10-8, the first validation
rows) can be recognised and answered by something other than the code under test: central
differences need two forward passes per parameter, seconds for the 8,000 parameters of such a
probe. So the checks whose answers score probe at the graded run's own shape: its hidden sizes
and batch size, rows drawn from its training split in its dtype, parameters and rows drawn from
the grade's secret seed (:func:`harness.data.permute.probe_seed`: different every grade, the
same on a regrade). For Fashion-MNIST's graded 784-128-64-10 network central differences need
219,000 forward passes of a batch of 128, about 6·10¹² flops: far beyond a hook's time limit.

What a submission can still observe, and why it does not pay: that ``harness_loss_and_grads``
or ``harness_optimizer_step`` is called at all (its training need not call them): the gradient
hook is answered only by computing the gradient, a fused ``harness_train_step`` must follow the
gradient the other hook returns (:mod:`harness.checks.backprop`), and a training run's numbers
come from the submission's own code, which the training, checkpoint and accuracy checks judge;
the dtype ``float64`` of the models the checks build (a training run's model is built by the
submission, in the dtype it chooses).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from . import numerics


@dataclass(frozen=True)
class Probe:
    """A batch ``x`` ``(N, D)``, ``y`` ``(N,)`` and the network's ``hidden`` sizes (as the
    submission takes them) of the graded training run; ``rng`` for the parameters."""

    x: np.ndarray
    y: np.ndarray
    hidden: list[int]
    sizes: list[int]
    rng: np.random.Generator
    biases: bool = True

    def params(self) -> dict[str, np.ndarray]:
        """Float64 parameters for :attr:`sizes`, non-zero biases included (if it has any)."""
        return numerics.random_params(self.sizes, self.rng, biases=self.biases)


def probe(ctx, purpose: str) -> Probe:
    """The probe a check named ``purpose`` uses in this grade."""
    config = ctx.train_config
    rng = np.random.default_rng([ctx.settings.probe_seed, zlib.crc32(purpose.encode())])
    n = len(ctx.data.x_train)
    rows = np.sort(rng.choice(n, size=min(config["batch_size"], n), replace=False))
    hidden = list(config["hidden_sizes"])
    return Probe(x=ctx.data.x_train[rows], y=ctx.data.y_train[rows],
                 hidden=hidden, sizes=[ctx.data.input_dim, *hidden, ctx.data.num_classes],
                 rng=rng, biases=ctx.decl.biases)
