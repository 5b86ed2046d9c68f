"""The worker: the only process in which submission code runs.

Started by :mod:`harness.sandbox` as ``python -m harness.sandbox.worker``. It blocks forbidden
imports, loads the submission's plugin (with the contract's defaults, :mod:`harness.conventions`,
for the hooks it leaves out), then answers requests on the channel (:mod:`harness.sandbox.wire`)
until the harness closes it. It only calls the student's hooks and returns their raw results:
nothing that scores is computed here, since whatever runs in this process can be changed by the
submission. The submission's own stdout and stderr go to a pipe the harness reads, never to the
channel; they are flushed before every reply, so a call's output arrives before its answer.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PLUGIN_FILE = "harness_plugin.py"
SHARED_NAME = re.compile(r"a\d{1,6}\.npy")


def student_traceback(exc: BaseException, submission: Path) -> str:
    """The traceback cut down to the frames in the submission's own files, newest last, each
    named by its path inside the submission (as the student knows it, and the same on every
    run, wherever the copy being graded lives); none of the harness's frames, even where the
    error has no frame of the student's (a syntax error names its file and line itself)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [traceback.FrameSummary(str(Path(f.filename).resolve().relative_to(submission)),
                                  f.lineno, f.name, line=f.line)
           for f in frames if Path(f.filename).resolve().is_relative_to(submission)]
    if isinstance(exc, SyntaxError) and exc.filename:  # the file and line are in the error
        path = Path(exc.filename).resolve()
        if path.is_relative_to(submission):
            exc.filename = str(path.relative_to(submission))
    # never the harness's own frames, nor where the copy being graded lives
    return "".join(traceback.format_list(own)) + \
        "".join(traceback.format_exception_only(type(exc), exc))


def _hint(exc: BaseException) -> str:
    """What a limit the student ran into means, where the exception alone does not say."""
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return " (the file-size limit was reached: printing or writing far too much)"
    if isinstance(exc, MemoryError):
        return " (the memory limit was reached)"
    return ""


def _check_hook_names(pm) -> None:
    """A hookimpl named ``harness_…`` that is no hook of the contract (a misspelling) fails the
    load, as pluggy's ``check_pending`` would; one named otherwise (a hookimpl imported under
    another name, ``harness_train as reference_train``) is left alone."""
    import pluggy

    for name in dir(pm.hook):
        caller = getattr(pm.hook, name)
        if name.startswith("harness_") and getattr(caller, "spec", None) is None and \
                caller.get_hookimpls():
            raise pluggy.PluginValidationError(caller.get_hookimpls()[0].plugin,
                                               f"unknown hook {name!r} in plugin")


def explain_load_error(exc: BaseException, module) -> str:
    """The known ways a plugin fails to load, in one sentence with its file and line: a syntax
    error, a hook taking an argument the contract does not pass, a hookimpl named like no hook
    (with the closest hook's name); "" for anything else (its traceback says it)."""
    import difflib
    import inspect

    from harness import hookspecs

    if isinstance(exc, SyntaxError):
        where = f"{os.path.basename(exc.filename or PLUGIN_FILE)}, line {exc.lineno}"
        return f"syntax error ({where}): {exc.msg}"
    text = str(exc)
    hook = re.search(r"hook '(\w+)'", text)  # pluggy's "for hook 'x'", ours "unknown hook 'x'"
    func = getattr(module, hook.group(1), None) if hook and module else None
    if func is None:
        return ""
    try:
        line = inspect.getsourcelines(func)[1]
        where = f"{os.path.basename(inspect.getsourcefile(func) or PLUGIN_FILE)}, line {line}"
    except (OSError, TypeError):
        where = PLUGIN_FILE
    spec = getattr(hookspecs, hook.group(1), None)
    if spec is None:
        known = [n for n in dir(hookspecs) if n.startswith("harness_")]
        close = difflib.get_close_matches(hook.group(1), known, n=1)
        return (f"{hook.group(1)} ({where}) is not a hook of the contract"
                + (f": did you mean {close[0]}?" if close else ""))
    wanted = list(inspect.signature(spec).parameters)
    extra = [a for a in inspect.signature(func).parameters if a not in wanted]
    return (f"{hook.group(1)} ({where}) takes {', '.join(map(repr, extra))}, which the "
            f"contract does not pass: its arguments are {', '.join(wanted)} (take any of "
            "them, named exactly so)")


MODEL_HOOKS = ("harness_build_model", "harness_load_checkpoint")


class _Model:
    """A model on its way out of a hook that makes one: kept in the worker and sent as a handle
    whatever it is (a plain dict or list of arrays too), so that every later hook gets the same
    object by reference and changes made by set_params or a step are not lost in a copy."""

    def __init__(self, value: Any) -> None:
        self.value = value


class Worker:
    def __init__(self, submission: Path, shared: Path | None = None) -> None:
        import pluggy

        from harness import hookspecs

        self.submission = submission
        self.shared = shared
        self.pm = pluggy.PluginManager("harness")
        self.pm.add_hookspecs(hookspecs)
        self.objects: dict[int, Any] = {}
        self._params_declaration: str | None = None
        self._declarations_read = False

    def load(self) -> dict:
        path = self.submission / PLUGIN_FILE
        if not path.is_file():
            return {"ok": False, "error": f"no {PLUGIN_FILE} in the submission directory "
                    "(run `harness init DIR` for a template)"}
        sys.path.insert(0, str(self.submission))
        try:
            spec = importlib.util.spec_from_file_location("harness_submission_plugin", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self.pm.register(module, "submission")
            _check_hook_names(self.pm)
        except ModuleNotFoundError as exc:
            return {"ok": False, "missing_module": exc.name,
                    "error": f"loading {PLUGIN_FILE} failed: the submission imports "
                             f"'{exc.name}', which is not installed where the harness runs",
                    "traceback": student_traceback(exc, self.submission)}
        except BaseException as exc:  # a broken plugin is the student's to fix: report it
            said = explain_load_error(exc, sys.modules.get("harness_submission_plugin"))
            shown = student_traceback(exc, self.submission)
            if said and not any(line.startswith("  File ") for line in shown.splitlines()):
                shown = ""  # no line of the student's to show: the sentence says it all
            return {"ok": False, "error": f"loading {PLUGIN_FILE} failed"
                    + (f": {said}" if said else ""), "traceback": shown}
        by_convention = self._register_conventions()
        implemented = sorted(name for name in dir(self.pm.hook)
                             if name.startswith("harness_")
                             and getattr(self.pm.hook, name).get_hookimpls())
        return {"ok": True, "implemented": implemented, "by_convention": by_convention}

    def _register_conventions(self) -> list[str]:
        """The harness's conventional defaults (:mod:`harness.conventions`) for the hooks the
        plugin leaves out; the names of those registered."""
        from harness import conventions

        missing = [h for h in conventions.CONVENTIONAL
                   if not getattr(self.pm.hook, h).get_hookimpls()]
        if missing:
            self.pm.register(conventions.defaults(missing, self._declared_params, self.pm.hook),
                             "conventions")
        return missing

    def _declared_params(self) -> str | None:
        """The ``params`` declaration of ``harness_info`` (read when a default first needs it)."""
        if not self._declarations_read:
            info = self.pm.hook.harness_info() if self.pm.hook.harness_info.get_hookimpls() \
                else None
            value = info.get("params") if isinstance(info, dict) else None
            self._params_declaration = value if isinstance(value, str) else None
            self._declarations_read = True
        return self._params_declaration

    def handle_of(self, obj: Any) -> int:
        key = len(self.objects) + 1
        self.objects[key] = obj.value if isinstance(obj, _Model) else obj
        return key

    def object_of(self, key: int) -> Any:
        if key not in self.objects:
            raise KeyError(f"unknown handle {key}")
        return self.objects[key]

    def call(self, hook: str, kwargs: dict, seed: int | None = None) -> Any:
        """``hook(**kwargs)``, with NumPy's global generator seeded first when ``seed`` is
        given: code that draws from ``np.random`` without seeding it (initial weights, the
        shuffle) gives the same answer on every grade of the same submission."""
        if isinstance(seed, int) and not isinstance(seed, bool):
            import numpy as np

            np.random.seed(seed % 2**32)
        result = getattr(self.pm.hook, hook)(**{k: self.unshare(v) for k, v in kwargs.items()})
        return _Model(result) if hook in MODEL_HOOKS and result is not None else result

    def unshare(self, value: Any) -> Any:
        """An array the harness shared as a file (``{"__shared__": name}``), mapped
        copy-on-write: the submission may change it in memory, never on disk."""
        if not (isinstance(value, dict) and set(value) == {"__shared__"}):
            return value
        name = str(value["__shared__"])
        if self.shared is None or not SHARED_NAME.fullmatch(name):
            raise ValueError(f"bad shared array name {name!r}")
        import numpy as np

        return np.load(self.shared / name, mmap_mode="c", allow_pickle=False)

    def serve(self, fd_in: int, fd_out: int, blocker) -> None:
        from harness.sandbox import wire

        try:  # a worker may wait as a spare until the harness needs it, or never does
            first = wire.decode(wire.receive(fd_in), self.object_of)
        except wire.ChannelError:
            return
        hello = self.load() if isinstance(first, dict) and first.get("op") == "load" else \
            {"ok": False, "error": "the harness did not ask the worker to load the plugin"}
        _flush()
        wire.send(fd_out, wire.encode({**hello, "blocked_imports": blocker.attempts,
                                       "id": first.get("id") if isinstance(first, dict)
                                       else None}))
        while True:
            try:
                frame = wire.receive(fd_in)
            except wire.ChannelError:
                return  # the harness is done with us
            started = time.perf_counter()
            request = None
            try:
                request = wire.decode(frame, self.object_of)
                if request["op"] == "call":
                    result = self.call(request["hook"], request["kwargs"], request.get("seed"))
                else:
                    raise ValueError(f"unknown op {request['op']!r}")
                reply = {"ok": True, "result": result}
            except BaseException as exc:  # the student's exception becomes a failed check
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}{_hint(exc)}",
                         "traceback": student_traceback(exc, self.submission)}
            reply["seconds"] = time.perf_counter() - started
            reply["blocked_imports"] = blocker.attempts
            reply["id"] = request.get("id") if isinstance(request, dict) else None
            try:
                payload = wire.encode(reply, self.handle_of)
            except Exception as exc:
                payload = wire.encode({"ok": False, "error": f"its result could not be sent "
                                       f"to the harness: {exc}", "id": reply["id"],
                                       "blocked_imports": blocker.attempts})
            _flush()
            wire.send(fd_out, payload)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # closed or broken by the submission: nothing more to say


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("submission", type=Path)
    ap.add_argument("--fd-in", type=int, required=True)
    ap.add_argument("--fd-out", type=int, required=True)
    ap.add_argument("--work", type=Path, required=True, help="the only writable directory")
    ap.add_argument("--shared", type=Path, required=True, help="arrays the harness shares")
    ap.add_argument("--deny", action="append", default=[],
                    help="a directory the submission may not read")
    ap.add_argument("--stand-in", action="append", default=[],
                    help="a forbidden framework imported as an inert stand-in")
    args = ap.parse_args()

    from harness.sandbox import guard
    from harness.sandbox.imports import ImportBlocker

    blocker = ImportBlocker(root=str(args.submission.resolve()),
                            stand_ins=frozenset(args.stand_in))
    blocker.install()
    os.chdir(args.work)  # relative writes land in the work directory
    guard.install(str(args.work), args.deny)
    import numpy  # noqa: F401  (every submission needs it: imported while the worker waits)
    Worker(args.submission.resolve(), args.shared.resolve()).serve(args.fd_in, args.fd_out,
                                                                   blocker)


if __name__ == "__main__":
    main()
