"""What a submission prints, captured through a pipe and kept in bounded memory.

The worker's stdout and stderr are the write end of a pipe whose read end only the harness
holds, so the submission's output is never a file the harness opens by name (a link in scratch
cannot redirect it). Each part (one hook, or loading the plugin) keeps its byte count and its
last ``limit`` bytes; however much is printed, the harness holds at most a few parts' tails.
Past ``max_total`` bytes in all, the grade's workers are stopped: printing without end is a
way to spend the harness's time.
"""

from __future__ import annotations

import os

from .resources import LimitExceeded


class Output:
    """The parts printed so far: ``[what, bytes, tail]`` each, in order."""

    def __init__(self, limit: int, max_total: int) -> None:
        self.limit = limit
        self.max_total = max_total
        self.total = 0
        self.parts: list[list] = []
        self._what = "starting the worker"
        self._tail = b""

    def begin(self, what: str) -> None:
        """What the output from now on is printed by (consecutive parts of one name merge)."""
        self._what = what

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if not self.parts or self.parts[-1][0] != self._what:
            self.parts.append([self._what, 0, b""])
        part = self.parts[-1]
        part[1] += len(data)
        part[2] = (part[2] + data)[-self.limit:]
        self._tail = (self._tail + data)[-self.limit:]
        self.total += len(data)
        if self.total > self.max_total:
            raise LimitExceeded(f"it printed over {self.max_total >> 20} MB (printing or "
                                "writing far too much; the limit is --max-file-mb)")

    def drain(self, fd: int, chunks: int | None = None) -> bool:
        """Read what ``fd`` (non-blocking) holds now, or at most ``chunks`` reads of it (so
        that a flood cannot keep the caller here); False once the writers are gone."""
        for _ in iter(int, 1) if chunks is None else range(chunks):
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            self.feed(chunk)
        return True

    def by_part(self) -> list[dict]:
        """Each part as ``{"what", "bytes", "cut", "text"}``, cut to its last ``limit`` bytes."""
        return [{"what": what, "bytes": n, "cut": n > self.limit,
                 "text": tail.decode("utf-8", "replace")} for what, n, tail in self.parts]

    def tail(self) -> str:
        """The last ``limit`` bytes printed, whatever printed them."""
        return self._tail.decode("utf-8", "replace")
