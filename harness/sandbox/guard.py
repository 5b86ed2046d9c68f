"""In-process guard for the worker: a Python audit hook that refuses what grading never needs.

Installed just before the submission is loaded, it cannot be removed by Python code. It refuses:
starting processes (fork, exec, subprocess, os.system), network access (connect, bind, DNS),
writing anywhere but the scratch directory, and reading or listing the data, cache and report
directories and other submissions.
It is the first line of defence everywhere; bubblewrap and resource limits (see
:mod:`harness.sandbox.isolation`) back it up against code that goes around Python.
"""

from __future__ import annotations

import os
import sys

_PROCESS_EVENTS = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn",
                   "os.spawn", "subprocess.Popen", "os.kill", "os.killpg", "pty.spawn"}
_NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                   "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"}
_PATH_WRITE_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link",
                      "os.chmod", "os.chown", "os.truncate", "os.utime", "shutil.rmtree",
                      "shutil.move", "os.replace"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _real(p) -> str | None:
    if isinstance(p, int):
        return None  # an already-open descriptor: was checked when it was opened
    try:
        return os.path.realpath(os.fsdecode(p))
    except (TypeError, ValueError):
        return None


def install(scratch: str, denied: list[str], read_only: tuple[str, ...] = ()) -> None:
    """Refuse from now on everything listed in the module docstring; ``read_only`` (the
    submission's own copy, the arrays the harness shares) may be read but not written,
    although it lies in scratch."""
    writable = (os.path.realpath(scratch), os.devnull)
    hidden = tuple(os.path.realpath(d) for d in denied)
    frozen = tuple(os.path.realpath(p) for p in read_only)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path = _real(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and (not _under(path, writable) or _under(path, frozen)):
                raise PermissionError(f"grading: writing {path} is not allowed; a submission "
                                      "writes only where the harness tells it (its scratch "
                                      "directory)")
            if _under(path, hidden):
                raise PermissionError(f"grading: reading {path} is not allowed")
        elif event in ("os.listdir", "os.scandir"):
            path = _real(args[0]) if args and args[0] is not None else None
            if path is not None and _under(path, hidden):
                raise PermissionError(f"grading: listing {path} is not allowed")
        elif event in _PROCESS_EVENTS:
            raise PermissionError(f"grading: {event} is not allowed (no new processes or "
                                  "signals while grading)")
        elif event in _NETWORK_EVENTS:
            raise PermissionError(f"grading: {event} is not allowed (no network while grading)")
        elif event in _PATH_WRITE_EVENTS:
            for p in args[:2]:
                path = _real(p)
                if path is not None and (not _under(path, writable) or _under(path, frozen)):
                    raise PermissionError(f"grading: {event} on {path} is not allowed outside "
                                          "the scratch directory")

    sys.addaudithook(hook)
