"""One-line progress messages on stderr, so stdout stays clean for ``--json``."""

from __future__ import annotations

import sys

from .inert import for_terminal


def fmt_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def say(message: str) -> None:
    """``message`` on stderr, control characters escaped (it may quote a submission)."""
    print(for_terminal(message), file=sys.stderr, flush=True)


def epoch_line(record: dict, total_epochs: int, eta: float) -> str:
    return (f"epoch {record['epoch']:>3}/{total_epochs}  train_loss {record['train_loss']:.4f}  "
            f"val_loss {record['val_loss']:.4f}  val_acc {record['val_acc']:.4f}  "
            f"lr {record['lr']:.4g}  {record['seconds']:.1f}s  ETA {fmt_seconds(eta)}")
