"""A memory cgroup per grade, where the kernel lets the harness make one.

The watch in :mod:`harness.sandbox.resources` sums the worker tree's memory every 0.2 s; in that
time a submission on two cores can touch gigabytes more. A memory cgroup holds the whole tree
(every process the worker starts is born in it) to the limit in the kernel itself, tmpfs pages
included: past the limit the kernel's OOM killer stops a process of the grade, never one of
another grade or the harness's. The harness makes one below its own (cgroup v1's ``memory``
hierarchy, or v2 where the memory controller is already delegated to its children), and falls
back to the watch alone where neither is writable (a container without cgroup access).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

_V1_ROOT = Path("/sys/fs/cgroup/memory")
_V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))


def _own_groups() -> dict[str, str]:
    """This process's cgroups: ``{"memory": path}`` (v1) and ``{"": path}`` (v2)."""
    groups = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(","):
                groups[name] = path
    except (OSError, ValueError):
        pass
    return groups


class MemoryGroup:
    """A cgroup of the grade's own with a memory limit; :meth:`create` returns None where none
    can be made. The worker's ``preexec_fn`` calls :meth:`enter` before it runs anything."""

    def __init__(self, path: Path, version: int) -> None:
        self.path = path
        self.version = version
        self._procs = str(path / "cgroup.procs")

    @classmethod
    def create(cls, limit_bytes: int) -> "MemoryGroup | None":
        groups = _own_groups()
        candidates = []
        if "memory" in groups and (_V1_ROOT / "cgroup.procs").exists():
            candidates.append((_V1_ROOT / groups["memory"].lstrip("/"), 1))
        if "" in groups:
            for root in _V2_ROOTS:
                parent = root / groups[""].lstrip("/")
                try:
                    delegated = "memory" in (parent / "cgroup.subtree_control").read_text()
                except OSError:
                    continue
                if delegated:
                    candidates.append((parent, 2))
        for parent, version in candidates:
            _remove_orphans(parent)
            path = parent / f"harness-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                limit = "memory.limit_in_bytes" if version == 1 else "memory.max"
                (path / limit).write_text(str(limit_bytes))
                if version == 1:  # swap counted too, where the kernel accounts it
                    try:
                        (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
                    except OSError:
                        pass
                else:
                    (path / "memory.swap.max").write_text("0")
                return cls(path, version)
            except OSError:
                _rmdir(path)
        return None

    def enter(self) -> None:
        """Move the calling process into the group (in a child, before it runs anything)."""
        fd = os.open(self._procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def peak(self) -> int:
        """The most memory the group has held, in bytes (0 where the kernel does not say)."""
        text = self._read("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak")
        return int(text) if text.strip().isdigit() else 0

    def oom_kills(self) -> int:
        """How many of the group's processes the kernel killed for its memory limit."""
        text = self._read("memory.oom_control" if self.version == 1 else "memory.events")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def remove(self, patience: float = 2.0) -> None:
        """Remove the group once its processes are gone (they are being killed)."""
        _remove_when_empty(self.path, patience)

    def describe(self) -> str:
        return f"cgroup v{self.version}"


def remove_groups_of(pid: int, patience: float = 2.0) -> None:
    """Remove the groups grading process ``pid`` made, once it has ended (its supervisor calls
    this: a process killed outright cannot remove its own)."""
    groups = _own_groups()
    parents = [_V1_ROOT / groups["memory"].lstrip("/")] if "memory" in groups else []
    if "" in groups:
        parents += [root / groups[""].lstrip("/") for root in _V2_ROOTS]
    for parent in parents:
        try:
            found = list(parent.glob(f"harness-{pid}-*"))
        except OSError:
            continue
        for path in found:
            _remove_when_empty(path, patience)  # its sandboxed workers are dying


def _remove_orphans(parent: Path) -> None:
    """Remove the empty groups that grading processes no longer alive left in ``parent`` (one
    killed outright cannot remove its own); a group still holding a process is kept (the
    kernel refuses to remove it anyway)."""
    try:
        entries = list(parent.glob("harness-*-*"))
    except OSError:
        return
    for path in entries:
        pid = path.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _rmdir(path)


def _remove_when_empty(path: Path, patience: float) -> None:
    """Remove the group at ``path``, trying again for up to ``patience`` seconds while the
    processes in it die (the kernel refuses to remove a group that holds one)."""
    deadline = time.monotonic() + patience
    while not _rmdir(path) and time.monotonic() < deadline:
        time.sleep(0.02)


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
