"""Totals per grade: what all of a submission's processes hold together, watched and bounded.

Resource limits (``setrlimit``) bound one process or one file at a time; a submission that forks
five children, or writes twelve files, multiplies them. The harness therefore watches the whole
tree of the grade's worker processes while they run (psutil: resident memory summed, tasks
counted) and its work area (bytes and entries, through :mod:`harness.sandbox.workarea`), and
stops the grade's workers when a total passes its limit, saying which limit and the flag that
sets it. Where the grade has a memory cgroup (:mod:`harness.sandbox.cgroup`) the kernel holds
memory to the limit itself; the watch then stops the grade at the first process the kernel
killed for it, and takes the peak from the kernel. The same watch keeps the grade's resource record for ``results.json`` (isolate's meta
file is the model): peak memory, CPU seconds, wall seconds in the submission's calls, peak
tasks, processes seen, peak disk and entries.
"""

from __future__ import annotations

import psutil

from .workarea import WorkArea

MB = 1 << 20
WATCH_SECONDS = 0.2  # how often a running call's totals are looked at


class LimitExceeded(Exception):
    """A total passed its limit; the message names the limit and the flag that sets it."""


class Watch:
    """Totals of one grade's worker processes and work area. ``limits`` is the grade's
    :class:`~harness.sandbox.isolation.Limits`."""

    def __init__(self, limits, work: WorkArea, group=None) -> None:
        self.limits = limits
        self.work = work
        self.group = group  # a MemoryGroup, or None
        self.peak_memory = 0
        self.peak_tasks = 0
        self.peak_disk = 0
        self.peak_entries = 0
        self._cpu: dict[tuple[int, float], float] = {}  # (pid, start time) → CPU seconds
        self.exceeded: str | None = None

    def check(self, roots: list[int]) -> None:
        """Look at the processes below ``roots`` (the worker's and the spare's top processes)
        and the work area now; :class:`LimitExceeded` when a total is over its limit (the
        caller stops the processes)."""
        memory = tasks = 0
        procs = []
        for pid in roots:
            try:
                top = psutil.Process(pid)
                procs += [top, *top.children(recursive=True)]
            except psutil.Error:
                continue
        for proc in procs:
            try:
                with proc.oneshot():
                    memory += proc.memory_info().rss
                    tasks += proc.num_threads()
                    cpu = proc.cpu_times()
                    self._cpu[(proc.pid, proc.create_time())] = cpu.user + cpu.system
            except psutil.Error:
                continue  # gone meanwhile
        usage = self.work.usage(self.limits.files)
        held = self.group.peak() if self.group is not None else memory  # shared pages once
        self.peak_memory = max(self.peak_memory, held)
        self.peak_tasks = max(self.peak_tasks, tasks)
        self.peak_disk = max(self.peak_disk, usage.bytes)
        self.peak_entries = max(self.peak_entries, usage.entries)
        lim = self.limits
        if self.group is not None and self.group.oom_kills():
            self._exceed(f"its processes went over the {lim.memory_mb} MB memory limit for a "
                         "submission (--memory-mb), and the kernel stopped one of them")
        if self.group is None and memory > lim.memory_mb * MB:  # else the kernel holds it
            self._exceed(f"its processes held {memory / MB:.0f} MB together, over the "
                         f"{lim.memory_mb} MB memory limit for a submission (--memory-mb)")
        if tasks >= lim.processes:  # the per-user limit stops new ones at the limit itself
            self._exceed(f"it ran {tasks} processes and threads at once, the most allowed is "
                         f"{lim.processes} (--max-procs)")
        if usage.bytes > lim.disk_mb * MB:
            self._exceed(f"it wrote {usage.bytes / MB:.0f} MB to disk, over the {lim.disk_mb} "
                         "MB limit for a submission (--max-disk-mb)")
        if not usage.complete:
            self._exceed(f"it made more than {lim.files} files and directories, over the "
                         "limit (--max-files)")

    def _exceed(self, message: str) -> None:
        self.exceeded = message
        raise LimitExceeded(message)

    def record(self) -> dict:
        """The grade's resource record for ``results.json`` (the caller adds the seconds its
        calls took, which it times itself)."""
        return {"peak_memory_mb": round(self.peak_memory / MB, 1),
                "cpu_seconds": round(sum(self._cpu.values()), 2),
                "peak_tasks": self.peak_tasks,
                "processes_seen": len(self._cpu),
                "peak_disk_mb": round(self.peak_disk / MB, 1),
                "peak_entries": self.peak_entries,
                "limit_exceeded": self.exceeded,
                "memory_held_by": self.group.describe() if self.group is not None
                else "the watch"}
