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

    def __init__(self, forbidden: frozenset[str] = FORBIDDEN_MODULES, root: str = "") -> None:
        self.forbidden = forbidden
        self.root = root  # the submission: attempts name the innermost frame of its code
        self.attempts: list[dict] = []

    def find_spec(self, fullname, path=None, target=None):
        root = forbidden_root(fullname, self.forbidden)
        if root is None:
            return None
        attempt = {"module": fullname, **_importer(self.root)}
        if attempt not in self.attempts:
            self.attempts.append(attempt)
        raise ImportError(
            f"import of '{fullname}' blocked: the assignment allows NumPy only, and {root} is a "
            "deep-learning/autodiff framework"
        )

    def install(self) -> None:
        for name in list(sys.modules):
            if forbidden_root(name, self.forbidden):
                del sys.modules[name]
        sys.meta_path.insert(0, self)


def _importer(root: str) -> dict:
    """File and line of the submission's code that asked for the import: the innermost frame
    under ``root`` (through ``importlib.import_module``, ``exec`` and libraries alike); empty
    when no submission code is on the stack (a library probing for an optional backend)."""
    frame = sys._getframe(2)
    prefix = root.rstrip("/") + "/"
    while frame is not None:
        if root and frame.f_code.co_filename.startswith(prefix):
            return {"file": frame.f_code.co_filename[len(prefix):], "line": frame.f_lineno}
        frame = frame.f_back
    return {"file": "", "line": 0}
