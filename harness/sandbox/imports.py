"""What the assignment forbids: deep-learning and autodiff frameworks, by top-level module name.

Shared by the static scan of a submission's files and the import blocker in its worker process.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import types
import sys

FORBIDDEN_MODULES = frozenset({
    "torch", "torchvision", "tensorflow", "keras", "tf_keras", "jax", "jaxlib", "flax", "haiku",
    "optax", "autograd", "mxnet", "paddle", "paddlepaddle", "theano", "pytensor", "chainer",
    "cupy", "mindspore", "oneflow", "tinygrad", "lightning", "pytorch_lightning",
})


# Parts of the frameworks that only fetch or wrap data: importing one of these (and nothing else
# of its framework) is a data loader, which the rubric may allow ([policy] data_loaders).
DATA_MODULES = ("torchvision.datasets", "torchvision.transforms", "torch.utils.data",
                "keras.datasets", "tensorflow.keras.datasets", "tensorflow_datasets")


def is_data_module(dotted: str) -> bool:
    """``dotted`` lies inside one of :data:`DATA_MODULES` (``torchvision.datasets.MNIST``)."""
    return any(dotted == m or dotted.startswith(m + ".") for m in DATA_MODULES)


def forbidden_root(module: str, forbidden: frozenset[str] = FORBIDDEN_MODULES) -> str | None:
    """The forbidden framework ``module`` belongs to, if any (``torch.nn`` → ``torch``)."""
    root = module.split(".", 1)[0]
    return root if root in forbidden else None


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses forbidden imports with a message a student understands, and remembers each try.

    Frameworks named in ``stand_ins`` (imported by the submission only to load data, or with
    the policy gate off) import as a :class:`StandIn` instead: the plugin loads, and any real
    use of the framework fails with a clear message (the hooks receive the data)."""

    def __init__(self, forbidden: frozenset[str] = FORBIDDEN_MODULES, root: str = "",
                 stand_ins: frozenset[str] = frozenset()) -> None:
        self.forbidden = forbidden
        self.root = root  # the submission: attempts name the innermost frame of its code
        self.stand_ins = stand_ins
        self.attempts: list[dict] = []

    def find_spec(self, fullname, path=None, target=None):
        root = forbidden_root(fullname, self.forbidden)
        if root is None:
            return None
        attempt = {"module": fullname, **_importer(self.root)}
        if root in self.stand_ins:
            attempt["stand_in"] = True
        if attempt not in self.attempts:
            self.attempts.append(attempt)
        if root in self.stand_ins:
            return importlib.machinery.ModuleSpec(fullname, _StandInLoader(), is_package=True)
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


def _unavailable(name: str) -> RuntimeError:
    root = name.split(".", 1)[0]
    return RuntimeError(f"{name} is not available while grading: {root} is only a stand-in here "
                        "(the assignment allows NumPy only; the harness passes the data to your "
                        "hooks, so nothing needs to download or load it)")


class Inert:
    """Whatever a stand-in framework hands out: attribute access and calls give more of the
    same, so a module that builds a dataset object or a transform at import still loads; using
    one as data (iterating, indexing, converting to an array) raises a clear error."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str) -> "Inert":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Inert(f"{self._name}.{attr}")

    def __call__(self, *args, **kwargs) -> "Inert":
        return Inert(f"{self._name}(...)")

    def __iter__(self):
        raise _unavailable(self._name)

    def __len__(self) -> int:
        raise _unavailable(self._name)

    def __getitem__(self, key):
        raise _unavailable(self._name)

    def __array__(self, *args, **kwargs):
        raise _unavailable(self._name)

    def __repr__(self) -> str:
        return f"<stand-in {self._name}>"


class StandIn(types.ModuleType):
    """A forbidden framework's module replaced for grading (see :class:`Inert`)."""

    __path__: list[str] = []  # a package, so that its submodules import as stand-ins too

    def __getattr__(self, attr: str) -> Inert:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Inert(f"{self.__name__}.{attr}")


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return StandIn(spec.name)

    def exec_module(self, module) -> None:
        module.__path__ = []
