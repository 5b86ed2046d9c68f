"""How a worker process is confined: resource limits always, bubblewrap where it is available.

With ``bwrap`` (Debian package ``bubblewrap``) the worker sees only what it needs: the system's
``/usr`` (with the data directories under it blanked), the interpreter's standard library, of
its installed packages only NumPy, the worker's own dependencies and the rubric's allowed ones
(:func:`package_view`: a forbidden framework is not there to import, whatever the code does),
the harness's own package, a read-only copy of the submission and the arrays the harness
shares, and its work area, the only writable place. It has no network, its own PID namespace
(the harness and other workers are invisible to it), and dies with the harness. Without bwrap, a
plain subprocess with the same resource limits and :mod:`harness.sandbox.guard`, which stops
Python code but not code that goes around Python (ctypes, a C extension):
:data:`SUBPROCESS_CAVEAT` says so wherever that mode is used.

When the harness runs as root, every grade's workers run as a user of their own
(:func:`claim_uid`), in both modes: no per-user limit (``RLIMIT_NPROC`` counts a user's tasks
machine-wide) and no signal crosses from one grade to another.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import resource
import shutil
import signal
import site
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.files import SKIP_DIRS

MODES = ("auto", "bwrap", "subprocess")


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Wall time is per phase (each hook call gets ``hook_seconds``;
    training and search get their budget's time with headroom unless set here) and for the
    whole grade (``grade_seconds``). ``memory_mb``, ``processes``, ``disk_mb`` and ``files``
    are totals over all of a grade's processes and its work area; ``memory_mb`` also bounds
    each process's address space, ``file_mb`` each file."""

    hook_seconds: float = 60.0
    train_seconds: float | None = None
    search_seconds: float | None = None
    grade_seconds: float = 3600.0
    memory_mb: int = 4096
    cpu_seconds: int = 1800
    processes: int = 256
    file_mb: int = 512
    disk_mb: int = 2048
    files: int = 10_000
    output_kb: int = 16
    threads: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


# The most any flag may set each limit to: a typo must not unbind a class's grades.
HARD_CAPS = {"hook_seconds": 3600.0, "train_seconds": 4 * 3600.0, "search_seconds": 8 * 3600.0,
             "grade_seconds": 12 * 3600.0, "memory_mb": 65536, "cpu_seconds": 12 * 3600,
             "processes": 4096, "file_mb": 16384, "disk_mb": 65536, "files": 1_000_000,
             "output_kb": 4096, "threads": 64}


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


TRUST_FLAG = "--trust-submissions"


def choose(mode: str = "auto", unattended: bool = False, trusted: bool = False) -> str:
    """The isolation to use: ``bwrap`` or ``subprocess``. Asking for bwrap where it cannot run
    is an error rather than a silent downgrade. An ``unattended`` batch runs without a sandbox
    only when the grader says the submissions are ``trusted`` (:data:`TRUST_FLAG`): without
    bubblewrap any submission can read the test labels and change other grades."""
    if mode not in MODES:
        raise IsolationError(f"isolation must be one of {', '.join(MODES)}")
    why = "bubblewrap (bwrap) is not installed or cannot create namespaces here"
    if mode == "subprocess" or (mode == "auto" and not bwrap_works()):
        if unattended and not trusted:
            reason = "--isolation subprocess was asked for" if mode == "subprocess" else why
            raise IsolationError(
                f"{reason}, so this batch would run untrusted code without a sandbox, where "
                "any submission can read the test labels, change other grades and signal "
                "the grader. Install the Debian package bubblewrap, or pass "
                f"{TRUST_FLAG} with --isolation subprocess for code you trust")
        return "subprocess"
    if bwrap_works():
        return "bwrap"
    raise IsolationError(f"{why}; install the Debian package bubblewrap, or use "
                         "--isolation subprocess")


UID_BASE = 1_500_000_000  # far above any real user or subordinate-uid range
UID_SLOTS = 64  # concurrent grades one process may run (a batch runs each in its own process)
_claimed: set[int] = set()


def claim_uid() -> int | None:
    """A user id of its own for one grade's workers, when the harness is root (None
    otherwise: the workers then run as the harness's user). Derived from this process's id,
    so that concurrent grades on one machine never share one, with no shared state to keep;
    give it back with :func:`release_uid`."""
    if os.geteuid() != 0:
        return None
    for slot in range(UID_SLOTS):
        uid = UID_BASE + os.getpid() * UID_SLOTS + slot
        if uid not in _claimed:
            _claimed.add(uid)
            return uid
    raise IsolationError(f"more than {UID_SLOTS} grades at once in one process")


def release_uid(uid: int | None) -> None:
    _claimed.discard(uid)


SUBPROCESS_CAVEAT = (
    "graded without a sandbox (bubblewrap is not available or was not chosen): the submission "
    "ran as a user of its own where the harness, as root, could give it one (else as the "
    "harness's user), stopped only by Python-level guards, which code that goes "
    "around Python (ctypes, C extensions) can evade to read or change files the harness can "
    "reach, such as the test labels or the dataset cache, or to signal other processes, the "
    "grading process included. Install bubblewrap (Debian package 'bubblewrap') to grade "
    "untrusted code")


WORKER_PACKAGES = ("numpy", "pluggy")  # what the worker itself imports


def harness_roots() -> list[Path]:
    """The directories holding the ``harness`` and ``reference`` packages (on the worker's
    ``PYTHONPATH``: only those two packages are visible there, not what lies beside them)."""
    import harness
    import reference

    return sorted({Path(p).resolve().parent for m in (harness, reference) for p in m.__path__
                   if Path(p).is_dir()})


def _python_paths() -> list[Path]:
    """What the worker's Python needs: the interpreter's prefixes (its standard library; their
    package directories are narrowed by :func:`package_view`), the user's site-packages, and
    the harness and reference packages. Nothing else of ``sys.path``: a working directory
    there could be a course folder full of submissions."""
    import harness
    import reference

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(sys.executable).resolve().parent}
    user_site = Path(site.getusersitepackages())
    if site.ENABLE_USER_SITE and user_site.is_dir():  # packages from `pip install --user`
        paths.add(user_site)
    paths |= {Path(p).resolve() for m in (harness, reference) for p in m.__path__
              if Path(p).is_dir()}
    return sorted(p for p in paths if p != Path("/"))


def _site_dirs() -> list[Path]:
    """Every directory installed packages come from: site-packages and dist-packages."""
    dirs = {Path(p) for p in [*site.getsitepackages(), site.getusersitepackages(), *sys.path]
            if p and Path(p).name in ("site-packages", "dist-packages")}
    return sorted(d.resolve() for d in dirs if d.is_dir())


def _requirement_name(spec: str) -> str | None:
    """The distribution a requirement names, None when it only applies to an extra."""
    if "extra ==" in spec.replace("extra==", "extra =="):
        return None
    name = re.split(r"[\s<>=!~;\[(]", spec.strip(), maxsplit=1)[0]
    return name or None


def _top_levels(dist) -> set[str]:
    """The top-level entries a distribution installed (``numpy``, ``numpy.libs``, ``six.py``,
    its ``.dist-info``), from its RECORD read as text (parsing it as CSV took most of a grade's
    start-up for a large package); never ``__pycache__`` or anything outside its directory."""
    text = dist.read_text("RECORD") or ""
    tops = {line.split(",", 1)[0].split("/", 1)[0] for line in text.splitlines()}
    return {t for t in tops if t and t not in ("..", "__pycache__") and not t.startswith("/")}


def _distribution_of(module: str) -> str | None:
    """The installed distribution that provides top-level ``module``: its own name mostly
    (cheap to look up), else found among all distributions (slow: only when needed)."""
    from importlib import metadata
    from importlib.util import find_spec

    try:
        return metadata.distribution(module).metadata["Name"]
    except metadata.PackageNotFoundError:
        pass
    try:
        if find_spec(module) is None:
            return None
    except (ImportError, ValueError):
        return None
    return next(iter(metadata.packages_distributions().get(module, [])), None)


@functools.cache
def package_view(allowed: tuple[str, ...]) -> tuple[tuple[Path, tuple[Path, ...]], ...]:
    """For each package directory: the entries of it the worker may see. Those are NumPy and
    the worker's own dependencies (:data:`WORKER_PACKAGES`), the distributions that provide the
    ``allowed`` top-level modules, and everything those require (extras aside); never a
    forbidden framework, even when an allowed package asks for one."""
    from importlib import metadata

    from .imports import forbidden_root

    wanted = [_distribution_of(m) for m in (*WORKER_PACKAGES, *allowed)]
    wanted = [d for d in wanted if d]
    seen: set[str] = set()
    entries: dict[Path, set[Path]] = {}
    while wanted:
        name = wanted.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        base = Path(dist.locate_file("")).resolve()
        tops = _top_levels(dist)
        if any(forbidden_root(t.split(".")[0].split("-")[0]) for t in tops):
            continue
        for top in tops:
            if (base / top).exists() and not top.endswith(".pth"):
                entries.setdefault(base, set()).add(base / top)
        wanted += [n for n in map(_requirement_name, dist.requires or []) if n]
    return tuple((d, tuple(sorted(entries.get(d, ())))) for d in _site_dirs())


def _open_to_others(path: Path) -> bool:
    """Whether another user can reach ``path`` (every directory above it searchable)."""
    try:
        return all(p.stat().st_mode & 0o001 for p in Path(path).resolve().parents)
    except OSError:
        return False


def worker_uid(isolation: str, uid: int | None, scratch: Path) -> int | None:
    """The user a grade's workers run as: its own ``uid`` (from :func:`claim_uid`) under
    bubblewrap when ``setpriv`` (util-linux) is there to drop to it, and in a plain subprocess
    when the interpreter, the harness and the grade's ``scratch`` can be reached by another user
    (an interpreter in root's home cannot, nor a scratch under a private temp directory); None:
    the harness's own user."""
    if uid is None:
        return None
    if isolation == "bwrap":
        return uid if shutil.which("setpriv") else None
    needed = [Path(sys.executable), Path(sys.prefix), *harness_roots(), Path(scratch)]
    return uid if all(_open_to_others(p) for p in needed) else None


def bwrap_prefix(work: Path, read_only: Sequence[Path], hidden: Sequence[Path],
                 uid: int | None, allowed: tuple[str, ...] = ()) -> list[str]:
    """bwrap arguments for a minimal view: ``/usr`` and its usual links, the dynamic linker's
    cache, the interpreter and harness (read-only), its package directories narrowed to
    :func:`package_view`, the ``hidden`` directories blanked where they fall inside those, the
    ``read_only`` directories (the submission's copy, the shared arrays), and ``work``, the
    only writable place; no network, own PID namespace, death with the harness, and (as root)
    the grade's own user ``uid``. Later mounts cover earlier ones, so the order matters."""
    args = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/usr", "/usr",
            "--dev", "/dev", "--proc", "/proc", "--size", str(64 << 20), "--tmpfs", "/tmp",
            "--dir", "/etc"]
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
    for directory, visible in package_view(tuple(allowed)):
        args += ["--tmpfs", str(directory)]
        for entry in visible:
            args += ["--ro-bind", str(entry), str(entry)]
    for root in harness_roots():  # again: a package directory's view may have covered them
        for package in ("harness", "reference"):
            if (root / package).is_dir():
                args += ["--ro-bind", str(root / package), str(root / package)]
    for path in hidden:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    for path in (work, *read_only):
        args += parents(path) + ["--ro-bind" if path != work else "--bind", str(path), str(path)]
        made.add(path)
    args += ["--size", str(64 << 20), "--tmpfs", "/dev/shm",
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--chdir", str(work),
             "--setenv", "HOME", str(work)]
    if uid is not None:
        args += ["--", shutil.which("setpriv"), f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
    return args


def copy_submission(src: Path, dest: Path, max_mb: int, max_files: int = 10_000,
                    max_total_mb: int | None = None) -> list[str]:
    """Copy the submission's regular files into ``dest`` for the worker, never following a
    symlink (a link to a secret stays behind), skipping special files (a FIFO would block the
    copy) and files over ``max_mb``, and stopping after ``max_files`` entries or
    ``max_total_mb`` in all; returns what was left out, in words. The worker never touches the
    original."""
    left_out: list[str] = []
    budget = (max_total_mb if max_total_mb is not None else 4 * max_mb) << 20
    entries = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                         and not (Path(root) / d).is_symlink())
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            entries += 1
            path = Path(root) / name
            info = path.lstat()
            if entries > max_files:
                left_out.append(f"everything after {max_files} files (the submission holds "
                                "more files than a submission may)")
                return left_out
            if stat.S_ISLNK(info.st_mode):
                left_out.append(f"{rel / name} (a symbolic link)")
            elif not stat.S_ISREG(info.st_mode):
                left_out.append(f"{rel / name} (not a regular file)")
            elif info.st_size > max_mb << 20:
                left_out.append(f"{rel / name} (over {max_mb} MB)")
            elif info.st_size > budget:
                left_out.append(f"{rel / name} (the submission's files are over "
                                f"{max_total_mb or 4 * max_mb} MB in all)")
            else:
                budget -= info.st_size
                shutil.copyfile(path, dest / rel / name)
    return left_out


try:  # loaded here, not in a forked child, where loading a library is not safe
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError, TypeError):  # not Linux
    _prctl = None
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38


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


def rlimits(limits: Limits, uid: int | None = None, group=None) -> Callable[[], None]:
    """A ``preexec_fn`` applying ``limits`` in the child before it runs anything, and killing
    it when the process that started it dies (on Linux; bubblewrap's ``--die-with-parent``
    does the same), so a grade that is killed leaves no worker running. With ``uid`` (a plain
    subprocess started by root), the child also becomes that user for good, unable to gain
    privileges again, so that ``RLIMIT_NPROC`` holds it (root is exempt). With ``group`` (a
    :class:`~harness.sandbox.cgroup.MemoryGroup`), the child and all it starts live in it."""
    def apply() -> None:
        on_parent_death(signal.SIGKILL)
        if group is not None:
            group.enter()
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if _prctl is not None:
                _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
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


_PASSED_ON = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "VIRTUAL_ENV",
              "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def worker_env(work: Path, limits: Limits) -> dict[str, str]:
    """The worker's environment: only what Python and BLAS need (never the harness's settings,
    nor whatever tokens the grader's shell holds), the harness found on ``PYTHONPATH``, BLAS
    threads fixed so that results do not depend on how many submissions run side by side,
    caches and temp files in the work area."""
    env = {k: os.environ[k] for k in _PASSED_ON if k in os.environ}
    threads = str(limits.threads)
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", PYTHONNOUSERSITE="1",
               PYTHONPATH=os.pathsep.join(map(str, harness_roots())), HOME=str(work),
               TMPDIR=str(work), MPLCONFIGDIR=str(work / ".matplotlib"),
               OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    return env
