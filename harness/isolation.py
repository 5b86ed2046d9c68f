"""How a worker process is confined: resource limits always, bubblewrap where it is available.

With ``bwrap`` (Debian package ``bubblewrap``) the worker gets no network, a read-only view of the
system with the data, cache, report and other submissions' directories hidden, its own scratch
directory as the only writable place, its own PID namespace, and it dies with the harness.
Without it, a plain subprocess with the same resource limits; :mod:`harness.guard` applies in
both. Which one ran is recorded in ``results.json``.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

MODES = ("auto", "bwrap", "subprocess")


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Wall time is per phase: each hook call gets ``hook_seconds``;
    training and search get their budget's time with headroom unless set here."""

    hook_seconds: float = 60.0
    train_seconds: float | None = None
    search_seconds: float | None = None
    memory_mb: int = 4096
    cpu_seconds: int = 1800
    processes: int = 256
    file_mb: int = 512
    output_kb: int = 16
    threads: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


@functools.cache
def bwrap_works() -> bool:
    """True if ``bwrap`` exists and can create the namespaces we ask for on this machine."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    try:
        probe = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid",
                                "--die-with-parent", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def choose(mode: str = "auto") -> str:
    """The isolation to use: ``bwrap`` or ``subprocess``; asking for bwrap where it cannot run
    is an error rather than a silent downgrade."""
    if mode not in MODES:
        raise ValueError(f"isolation must be one of {MODES}")
    if mode == "subprocess":
        return "subprocess"
    if bwrap_works():
        return "bwrap"
    if mode == "bwrap":
        raise RuntimeError("bubblewrap (bwrap) is not installed or cannot create namespaces "
                           "here; install the Debian package bubblewrap, or use "
                           "--isolation subprocess")
    return "subprocess"


def _python_paths() -> list[Path]:
    """What the worker's Python needs to see even where /tmp is blanked: the interpreter's
    prefixes, its import path, and the harness and reference packages."""
    import harness
    import reference

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    paths |= {Path(p).resolve() for m in (harness, reference) for p in m.__path__
              if Path(p).is_dir()}
    paths |= {Path(p).resolve() for p in sys.path if p and Path(p).is_dir()}
    return sorted(p for p in paths if p != Path("/"))


def bwrap_prefix(scratch: Path, submission: Path, hidden: Sequence[Path]) -> list[str]:
    """bwrap arguments: read-only system with /tmp and the ``hidden`` directories blanked, the
    submission read-only, ``scratch`` writable, no network, own PID namespace, and death with
    the harness. Later mounts cover earlier ones, so the order below matters."""
    args = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev",
            "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in _python_paths():
        args += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    args += ["--ro-bind", str(submission), str(submission),
             "--bind", str(scratch), str(scratch),
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--chdir", str(scratch)]
    return args


def rlimits(limits: Limits) -> Callable[[], None]:
    """A ``preexec_fn`` applying ``limits`` in the child before it runs anything."""
    def apply() -> None:
        mb = 1024 * 1024
        for which, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                             (resource.RLIMIT_CPU, limits.cpu_seconds),
                             (resource.RLIMIT_NPROC, limits.processes),
                             (resource.RLIMIT_FSIZE, limits.file_mb * mb),
                             (resource.RLIMIT_CORE, 0)):
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass  # a limit the platform does not support is skipped, not fatal
    return apply


_PASSED_ON = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "VIRTUAL_ENV",
              "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def worker_env(scratch: Path, limits: Limits) -> dict[str, str]:
    """The worker's environment: only what Python and BLAS need (never the harness's settings,
    nor whatever tokens the grader's shell holds), BLAS threads fixed so that results do not
    depend on how many submissions run side by side, caches and temp files in scratch."""
    env = {k: os.environ[k] for k in _PASSED_ON if k in os.environ}
    threads = str(limits.threads)
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", HOME=str(scratch),
               TMPDIR=str(scratch / "tmp"), MPLCONFIGDIR=str(scratch / ".matplotlib"),
               OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    return env
