"""A process of the harness's own code that a grade starts beside itself (the report renderer,
the reference's curves): never the submission's. Its standard error is kept to explain a failure,
and it never outlives the grade: use it as a context manager (and should the grade be killed,
the kernel kills it too)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness.sandbox.isolation import on_parent_death


class Helper:
    """``python -m module *args`` with ``env`` added to this process's environment; ``stdin``
    a pipe when ``talk`` (see :attr:`process`), else nothing."""

    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None,
                 talk: bool = False) -> None:
        self._errors = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args], env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if talk else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._errors, preexec_fn=functools.partial(on_parent_death, signal.SIGKILL))

    def wait(self, timeout: float) -> int | None:
        """Its exit code, or None if it took longer than ``timeout`` seconds (it is then
        killed)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def last_error(self) -> str:
        """The last line it wrote to standard error."""
        self._errors.seek(0)
        lines = self._errors.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def stop(self) -> None:
        """Kill it if it is still running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def __enter__(self) -> "Helper":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self._errors.close()
