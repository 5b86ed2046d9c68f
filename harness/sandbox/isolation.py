"""How a worker process is confined: resource limits always, bubblewrap where it is available.

With ``bwrap`` (Debian package ``bubblewrap``) the worker sees only what it needs: the system's
``/usr`` (with the data directories under it blanked), the interpreter and its packages, the
harness's own package, and its scratch directory, the only writable place, holding a read-only
copy of the submission. It has no network, its own PID namespace (the harness and other workers
are invisible to it), and dies with the harness; when the harness runs as root, the worker runs
as the unprivileged user :data:`WORKER_UID`. Without bwrap, a plain subprocess with the same
resource limits and :mod:`harness.sandbox.guard`, which stops Python code but not code that goes around
Python (ctypes, a C extension): :data:`SUBPROCESS_CAVEAT` says so wherever that mode is used.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import signal
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.files import SKIP_DIRS

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


class IsolationError(Exception):
    """The isolation asked for cannot be had here."""


def choose(mode: str = "auto", unattended: bool = False) -> str:
    """The isolation to use: ``bwrap`` or ``subprocess``. Asking for bwrap where it cannot run
    is an error rather than a silent downgrade, and so is ``auto`` for an ``unattended`` batch
    (untrusted code without a sandbox must be chosen knowingly, with ``subprocess``)."""
    if mode not in MODES:
        raise IsolationError(f"isolation must be one of {', '.join(MODES)}")
    if mode == "subprocess":
        return "subprocess"
    if bwrap_works():
        return "bwrap"
    why = "bubblewrap (bwrap) is not installed or cannot create namespaces here"
    if mode == "bwrap":
        raise IsolationError(f"{why}; install the Debian package bubblewrap, or use "
                             "--isolation subprocess")
    if unattended:
        raise IsolationError(f"{why}, so this batch would run untrusted code without a "
                             "sandbox. Install the Debian package bubblewrap, or pass "
                             "--isolation subprocess to grade without one knowingly")
    return "subprocess"


WORKER_UID = 65534  # "nobody"
SUBPROCESS_CAVEAT = (
    "graded without a sandbox (bubblewrap is not available or was not chosen): the submission "
    "ran as the harness's own user, stopped only by Python-level guards, which code that goes "
    "around Python (ctypes, C extensions) can evade to read or change files the harness can "
    "reach, such as the test labels or the dataset cache, or to signal other processes, the "
    "grading process included. Install bubblewrap (Debian package 'bubblewrap') to grade "
    "untrusted code")


def _python_paths() -> list[Path]:
    """What the worker's Python needs: the interpreter's prefixes (its standard library and
    site-packages), the user's site-packages, and the harness and reference packages. Nothing else of ``sys.path``: a
    working directory there could be a course folder full of submissions."""
    import harness
    import reference

    import site

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(sys.executable).resolve().parent}
    user_site = Path(site.getusersitepackages())
    if site.ENABLE_USER_SITE and user_site.is_dir():  # packages from `pip install --user`
        paths.add(user_site)
    paths |= {Path(p).resolve() for m in (harness, reference) for p in m.__path__
              if Path(p).is_dir()}
    return sorted(p for p in paths if p != Path("/"))


def drops_privileges() -> bool:
    """Whether the sandboxed worker runs as :data:`WORKER_UID`: when the harness is root and
    ``setpriv`` (util-linux) is there to drop to it inside the sandbox."""
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def bwrap_prefix(scratch: Path, read_only: Sequence[Path], hidden: Sequence[Path]) -> list[str]:
    """bwrap arguments for a minimal view: ``/usr`` and its usual links, the dynamic linker's
    cache, the interpreter and harness (read-only), the ``hidden`` directories blanked where
    they fall inside those, ``scratch`` writable with the ``read_only`` directories in it (the
    submission's copy, the shared arrays) read-only;
    no network, own PID namespace, death with the harness, and (as root) the unprivileged
    worker user. Later mounts cover earlier ones, so the order below matters."""
    args = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/usr", "/usr",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", "/etc"]
    for top in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        link = Path("/") / top
        if link.is_symlink():
            args += ["--symlink", os.readlink(link), str(link)]
        elif link.is_dir():
            args += ["--ro-bind", str(link), str(link)]
    for path in ("/etc/ld.so.cache", "/etc/localtime"):
        if Path(path).exists():
            args += ["--ro-bind", path, path]
    made = {Path("/"), Path("/usr"), Path("/tmp"), Path("/etc")}

    def parents(path: Path) -> list[str]:
        """Traversable (0755) parent directories for a mount point: bwrap would make them
        0700, closed to the unprivileged worker."""
        out = []
        for parent in reversed(path.parents):
            if parent not in made and not any(parent.is_relative_to(m) for m in mounted):
                out += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        return out

    mounted: list[Path] = [Path("/usr")]
    for path in _python_paths():
        args += parents(path) + ["--ro-bind", str(path), str(path)]
        mounted.append(path)
    for path in hidden:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    args += parents(scratch) + ["--bind", str(scratch), str(scratch)]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--chdir", str(scratch),
             "--setenv", "HOME", str(scratch)]
    if drops_privileges():
        args += ["--", shutil.which("setpriv"), f"--reuid={WORKER_UID}",
                 f"--regid={WORKER_UID}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all"]
    return args


def copy_submission(src: Path, dest: Path, max_mb: int) -> list[str]:
    """Copy the submission's files into ``dest`` for the worker, never following a symlink
    (a link to a secret stays behind) and skipping files over ``max_mb``; returns what was left
    out, in words. The worker never touches the original."""
    left_out = []
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS
                   and not (Path(root) / d).is_symlink()]
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            path = Path(root) / name
            if path.is_symlink():
                left_out.append(f"{rel / name} (a symbolic link)")
            elif path.stat().st_size > max_mb << 20:
                left_out.append(f"{rel / name} (over {max_mb} MB)")
            else:
                shutil.copyfile(path, dest / rel / name)
    return left_out


def hand_over(scratch: Path) -> None:
    """Give the scratch directory to the worker's user, when the worker drops to it."""
    if not drops_privileges():
        return
    for root, dirs, files in os.walk(scratch):
        for name in (".", *dirs, *files):
            os.chown(Path(root) / name, WORKER_UID, WORKER_UID, follow_symlinks=False)


try:  # loaded here, not in a forked child, where loading a library is not safe
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError, TypeError):  # not Linux
    _prctl = None
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def on_parent_death(sig: int) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux
    ``PR_SET_PDEATHSIG``, kept across ``exec``); False where that is not available."""
    return _prctl is not None and _prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0


@functools.cache
def become_subreaper() -> None:
    """Make this process adopt its descendants' orphans (Linux ``PR_SET_CHILD_SUBREAPER``),
    so that a process a submission double-forks around the guard is found among its
    children. Elsewhere, leftovers are still killed with the process group on close."""
    if _prctl is not None:
        _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def rlimits(limits: Limits) -> Callable[[], None]:
    """A ``preexec_fn`` applying ``limits`` in the child before it runs anything, and killing
    it when the process that started it dies (on Linux; bubblewrap's ``--die-with-parent``
    does the same), so a grade that is killed leaves no worker running."""
    def apply() -> None:
        on_parent_death(signal.SIGKILL)
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
