"""What the assignment forbids: deep-learning and autodiff frameworks, by top-level module name.

Shared by the static scan of a submission's files and the import blocker in its worker process.
"""

from __future__ import annotations

import importlib.abc
import sys

FORBIDDEN_MODULES = frozenset({
    "torch", "torchvision", "tensorflow", "keras", "tf_keras", "jax", "jaxlib", "flax", "haiku",
    "optax", "autograd", "mxnet", "paddle", "paddlepaddle", "theano", "pytensor", "chainer",
    "cupy", "mindspore", "oneflow", "tinygrad", "lightning", "pytorch_lightning",
})


def forbidden_root(module: str, forbidden: frozenset[str] = FORBIDDEN_MODULES) -> str | None:
    """The forbidden framework ``module`` belongs to, if any (``torch.nn`` → ``torch``)."""
    root = module.split(".", 1)[0]
    return root if root in forbidden else None


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses forbidden imports with a message a student understands, and remembers each try."""

    def __init__(self, forbidden: frozenset[str] = FORBIDDEN_MODULES) -> None:
        self.forbidden = forbidden
        self.attempts: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        root = forbidden_root(fullname, self.forbidden)
        if root is None:
            return None
        if fullname not in self.attempts:
            self.attempts.append(fullname)
        raise ImportError(
            f"import of '{fullname}' blocked: the assignment allows NumPy only, and {root} is a "
            "deep-learning/autodiff framework"
        )

    def install(self) -> None:
        for name in list(sys.modules):
            if forbidden_root(name, self.forbidden):
                del sys.modules[name]
        sys.meta_path.insert(0, self)
