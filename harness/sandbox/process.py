"""The harness's side of a submission's worker process: start it, call hooks, contain failures.

Every way a call can go wrong (an exception in the student's code, a hang, a crash, a malformed
reply) comes back as a :class:`SubmissionFailure` whose message a student can act on; the
harness process itself is never at risk. After a failure the next call starts a fresh worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import wire
from .isolation import (Limits, become_subreaper, bwrap_prefix, claim_uid, copy_submission,
                        release_uid, rlimits, worker_env, worker_uid)
from .cgroup import MemoryGroup
from .output import Output
from .resources import WATCH_SECONDS, LimitExceeded, Watch
from .workarea import WorkArea

SHARE_BYTES = 1 << 20  # arrays this large travel as shared files, not through the pipe
MIN_WATCHED = 0.05  # seconds: calls this long are measured at their end too

SIGNAL_MEANING = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGKILL: "killed, usually for exceeding a memory or CPU limit",
    signal.SIGABRT: "aborted",
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size limit exceeded: printing or writing far too much",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating-point exception",
}


class SubmissionFailure(Exception):
    """A hook call that did not produce a result. ``kind``: exception, timeout, crashed,
    limit, protocol, load; ``traceback`` holds the student's frames where there are some."""

    def __init__(self, kind: str, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.traceback = kind, message, traceback
        self.missing_module: str | None = None


@dataclass(frozen=True)
class Handle:
    """A model (or other object) living in the worker process."""

    id: int
    generation: int


@dataclass
class _Spawned:
    """A started worker process and the harness's ends of its three pipes: requests, replies
    and the worker's output (stdout and stderr, read non-blocking)."""

    proc: subprocess.Popen
    to: int
    frm: int
    out: int

    def stop(self) -> None:
        """Close its pipes and kill its whole process group: nothing the submission forked
        outlives it."""
        for fd in (self.to, self.frm, self.out):
            try:
                os.close(fd)
            except OSError:
                pass
        _kill_group(self.proc)


class SubmissionProcess:
    """One submission's worker. Use as a context manager; ``call`` hooks by name.

    Its scratch directory (the caller's, empty) holds ``code/`` (the worker's read-only copy of
    the submission), ``shared/`` (large arrays the harness shares, read-only to the worker) and
    ``work/``, the worker's only writable place, which the harness touches only through
    :attr:`work` (:class:`~harness.sandbox.workarea.WorkArea`), never by path."""

    def __init__(self, submission: Path, scratch: Path, limits: Limits | None = None,
                 isolation: str = "subprocess", hidden: tuple[Path, ...] = (),
                 allowed: tuple[str, ...] = (), seed: int = 0,
                 stand_ins: tuple[str, ...] = ()) -> None:
        """``isolation``: "bwrap" or "subprocess" (see :func:`harness.sandbox.isolation.choose`);
        ``hidden``: directories the submission must not read (data, caches, reports, other
        submissions); ``allowed``: top-level modules of installed packages the worker may
        import besides NumPy (under bwrap, no other installed package is there to import);
        ``seed``: the grade's, from which NumPy's global generator is seeded before every call
        (the same call of the same grade always sees the same ``np.random``); ``stand_ins``:
        forbidden frameworks the worker imports as inert stand-ins instead of refusing them
        (:func:`harness.checks.policy.stand_in_roots`)."""
        self.submission = Path(submission).resolve()
        self.scratch = Path(scratch).resolve()
        self.scratch.mkdir(parents=True, exist_ok=True)
        os.chmod(self.scratch, 0o711)  # a worker of another user passes through, lists nothing
        self.code = self.scratch / "code" / self.submission.name  # the worker's read-only copy
        self.copy_left_out: list[str] | None = None
        self.limits = limits or Limits()
        self.isolation = isolation
        self.allowed = tuple(allowed)
        self.seed = int(seed)
        self.stand_ins = tuple(stand_ins)
        needed = (self.code, self.scratch, Path(__file__).resolve().parents[1])
        self.hidden = tuple(h for h in (Path(p).resolve() for p in hidden)
                            if not any(n.is_relative_to(h) for n in needed))
        self._claimed_uid = claim_uid()
        self.uid = worker_uid(isolation, self._claimed_uid, self.scratch)
        self.work = WorkArea(self.scratch / "work", self.uid)
        self.memory_group = MemoryGroup.create(self.limits.memory_mb << 20)
        self.watch = Watch(self.limits, self.work, self.memory_group)
        self.output = Output(self.limits.output_kb * 1024, self.limits.file_mb << 20)
        self._requests = 0
        self.default_timeout = self.limits.hook_seconds
        self._worker: _Spawned | None = None  # the worker loaded with the plugin
        self.generation = 0
        self.implemented: list[str] = []
        self.by_convention: list[str] = []
        self.load_error: SubmissionFailure | None = None
        self.blocked_imports: list[dict] = []  # {"module", "file", "line"}, every generation
        self.restarts = 0
        # Where the time went, for benchmarks (never scored: "in_hooks" is as the worker says)
        self.timing = {"worker_starts": 0, "workers_spawned": 0, "worker_start": 0.0,
                       "hook_calls": 0, "in_calls": 0.0, "in_hooks": 0.0}
        self.shared_dir = self.scratch / "shared"
        self.shared_dir.mkdir(mode=0o755)
        self._shared: dict[tuple, tuple[np.ndarray, str]] = {}  # see _share
        self._worker_pid: int | None = None  # see _locate_worker
        self._spare: _Spawned | None = None  # see _start
        self._restarts_ahead: int | None = None  # see expect_restarts
        self._adopter: int | None = None

    @property
    def proc(self) -> subprocess.Popen | None:
        """The worker process loaded with the plugin (None before a start, or after close)."""
        return self._worker.proc if self._worker is not None else None

    # lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "SubmissionProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def boot(self) -> None:
        """Start a worker that waits for the plugin, without waiting for it: Python, NumPy and
        the sandbox take a few hundred milliseconds, which overlap whatever the caller prepares
        before :meth:`start` (loading the data, say)."""
        if self._spare is None:
            self._spare = self._spawn()

    def expect_restarts(self, n: int) -> None:
        """Say how many restarts are still to come (the checks' planned reloads): a spare is
        started after a load only while one is, so no grade ends with a worker that started
        for nothing. Unsaid, a spare is always kept ready; a restart beyond the plan (after a
        crash, say) only waits for a new worker."""
        self._restarts_ahead = max(int(n), 0)

    def start(self) -> None:
        """Start a worker and load the plugin. Never raises for the submission's sake: a plugin
        that fails to load (or hangs, or kills its process while loading) sets ``load_error``."""
        t0 = time.perf_counter()
        self.output.begin("loading harness_plugin.py")
        try:
            self._start()
        finally:
            self.timing["worker_starts"] += 1
            self.timing["worker_start"] += time.perf_counter() - t0

    def _start(self) -> None:
        """Load the plugin in a worker that has never run submission code: the spare started
        after the previous load, or a new one. Then start the next spare, so that a restart
        (a checkpoint reloaded in a fresh process, say) does not wait for Python and NumPy to
        start."""
        self._stop_worker()
        if self.isolation != "bwrap":
            become_subreaper()
        self.generation += 1
        spare, self._spare = self._spare, None
        if spare is None or spare.proc.poll() is not None:
            if spare is not None:
                spare.stop()
            spare = self._spawn()
        self._worker = spare
        self._requests += 1
        try:
            wire.send(spare.to, wire.encode({"op": "load", "id": self._requests}))
        except OSError:
            pass  # it died; receiving says how
        try:
            hello = self._receive(time.monotonic() + self.limits.hook_seconds,
                                  "loading harness_plugin.py", self._requests)
        except SubmissionFailure as failure:
            self.load_error, self.implemented = failure, []
            return
        self._note_blocked(hello.get("blocked_imports"))
        if not hello.get("ok"):
            self.load_error = SubmissionFailure("load", str(hello.get("error", "load failed")),
                                                str(hello.get("traceback", "")))
            missing = hello.get("missing_module")
            self.load_error.missing_module = missing if isinstance(missing, str) else None
            self.implemented = []
            return
        self.load_error = None
        self.implemented = list(hello["implemented"])
        self.by_convention = [h for h in hello.get("by_convention") or [] if isinstance(h, str)]
        self._locate_worker()
        if self._restarts_ahead is None or self._restarts_ahead > 0:
            self._spare = self._spawn()

    def _spawn(self) -> _Spawned:
        """A sandboxed worker process and its three pipe ends; it sets itself up (guard, import
        blocker, NumPy) and waits for ``load`` before it touches the submission."""
        if self.copy_left_out is None:
            self.copy_left_out = copy_submission(self.submission, self.code,
                                                 self.limits.file_mb, self.limits.files,
                                                 self.limits.disk_mb)
        self.timing["workers_spawned"] += 1
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        out_r, out_w = os.pipe()
        os.set_blocking(out_r, False)
        work = self.work.path
        cmd = [sys.executable, "-m", "harness.sandbox.worker", str(self.code),
               "--fd-in", str(to_worker_r), "--fd-out", str(from_worker_w),
               "--work", str(work), "--shared", str(self.shared_dir)]
        for path in self.hidden:
            cmd += ["--deny", str(path)]
        for name in self.stand_ins:
            cmd += ["--stand-in", name]
        if self.isolation == "bwrap":
            cmd = bwrap_prefix(work, (self.code, self.shared_dir), self.hidden, self.uid,
                               self.allowed) + cmd
        try:
            proc = subprocess.Popen(
                cmd, pass_fds=(to_worker_r, from_worker_w), stdin=subprocess.DEVNULL,
                stdout=out_w, stderr=out_w, cwd=work, env=worker_env(work, self.limits),
                preexec_fn=rlimits(self.limits, self.uid if self.isolation != "bwrap" else None,
                                   self.memory_group),
                start_new_session=True)
        finally:
            for fd in (to_worker_r, from_worker_w, out_w):
                os.close(fd)
        return _Spawned(proc, to_worker_w, from_worker_r, out_r)

    def close(self) -> None:
        """Stop the worker and the spare, with everything they started; the work area's last
        totals join the resource record. Closing twice does nothing more."""
        if self.work.closed:
            return
        try:
            self._watch_tick()
        except LimitExceeded:
            pass  # the grade is over: the record says it
        if self._worker is not None:
            self._drain()
        self._stop_worker()
        if self._spare is not None:
            self._spare.stop()
            self._spare = None
        self.work.close()
        if self.memory_group is not None:
            self.memory_group.remove()
        release_uid(self._claimed_uid)
        self._claimed_uid = None

    def resources(self) -> dict:
        """The grade's resource record so far (see :class:`~harness.sandbox.resources.Watch`),
        with the user its workers ran as."""
        return {**self.watch.record(), "call_seconds": round(self.timing["in_calls"], 2),
                "uid": self.uid}

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _kill(self) -> None:
        _kill_group(self.proc)

    def restart(self) -> None:
        """Load the plugin again in a worker that has never run submission code."""
        self.restarts += 1
        if self._restarts_ahead:
            self._restarts_ahead -= 1
        self.start()

    # calls ---------------------------------------------------------------------------------
    def call(self, hook: str, timeout: float | None = None, label: str = "",
             **kwargs: Any) -> Any:
        """The result of ``hook(**kwargs)`` in the worker, or :class:`SubmissionFailure`.
        ``label`` names the call in the output split by hook (``harness_train (probe)``)."""
        t0 = time.perf_counter()
        self.output.begin(f"{hook} ({label})" if label else hook)
        try:
            return self._request({"op": "call", "hook": hook, "kwargs": kwargs}, timeout, hook)
        finally:
            self.timing["hook_calls"] += 1
            self.timing["in_calls"] += time.perf_counter() - t0

    def _request(self, request: dict, timeout: float | None, what: str) -> Any:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        if self.load_error is not None:
            raise self.load_error
        for value in _handles(request["kwargs"]):
            if value.generation != self.generation:
                raise SubmissionFailure(
                    "crashed", "the model came from a worker process that has since died")
        self._requests += 1
        request = {**request, "id": self._requests,
                   "seed": self.seed * 1_000_003 + self._requests,
                   "kwargs": {k: self._share(v) for k, v in request["kwargs"].items()}}
        payload = wire.encode(request, lambda h: h.id)
        started = time.monotonic()
        deadline = started + (timeout or self.default_timeout)
        try:
            wire.send(self._worker.to, payload)
        except OSError:
            pass  # the worker died; receiving reports how
        reply = self._receive(deadline, what, self._requests)
        if time.monotonic() - started > MIN_WATCHED:
            try:  # a call long enough to matter is measured at least once, at its end
                self._watch_tick()
            except LimitExceeded as exc:
                raise self._stopped_for(what, exc) from None
        if isinstance(reply.get("seconds"), (int, float)):
            self.timing["in_hooks"] += max(float(reply["seconds"]), 0.0)
        self._sweep_leftovers(what)
        self._note_blocked(reply.get("blocked_imports"))
        if not reply.get("ok"):
            raise SubmissionFailure("exception", f"{what} raised {reply.get('error')}",
                                    reply.get("traceback", ""))
        return reply.get("result")

    def _locate_worker(self) -> None:
        """Where the worker and its adopter of orphans are: without bwrap the worker is our
        child and we (a subreaper) adopt its orphans; under bwrap it is the child of the PID
        namespace's init, which adopts them."""
        self._worker_pid = self._adopter = None
        if self.isolation != "bwrap":
            self._worker_pid, self._adopter = self.proc.pid, os.getpid()
            return
        for init in _children(self.proc.pid):
            inside = [pid for pid in _children(init) if _alive(pid)]
            if len(inside) == 1:
                self._worker_pid, self._adopter = inside[0], init

    def _leftovers(self) -> list[int]:
        """The processes the submission left running: every descendant of the worker, and of
        each orphan its adopter took in (without bwrap we adopt other orphans too: only those
        of the worker's group)."""
        worker, adopter = self._worker_pid, self._adopter
        ours = self.isolation != "bwrap"
        tops = _children(worker) + [pid for pid in _children(adopter) if pid != worker and
                                    (not ours or _group(pid) == self.proc.pid)]
        found = [pid for top in tops for pid in (top, *_descendants(top))]
        if ours:  # children lists can miss a process re-parented meanwhile: the group cannot
            found += [pid for pid in _all_pids() if pid != worker and
                      _group(pid) == self.proc.pid]
        return [pid for pid in dict.fromkeys(found) if _alive(pid)]

    def _sweep_leftovers(self, what: str) -> None:
        """Kill whatever the submission left running after a hook (a process forked around the
        guard, say), and look again until nothing is left: a killed parent's children are
        adopted as it dies, and a fork under way shows only afterwards. Noted in the output."""
        if self._worker_pid is None or self.proc is None:
            return
        killed: set[int] = set()
        for _ in range(20):
            left = [pid for pid in self._leftovers() if pid not in killed]
            if not left:
                break
            _kill_all(left)
            killed.update(left)
            deadline = time.monotonic() + 1.0
            while any(_alive(pid) for pid in left) and time.monotonic() < deadline:
                time.sleep(0.002)  # dying: then its children have been adopted
        if self.isolation != "bwrap":
            for pid in _children(self._adopter):
                if pid != self._worker_pid and _group(pid) == self.proc.pid:
                    try:
                        os.waitpid(pid, os.WNOHANG)  # reap what we adopted: no zombie stays
                    except ChildProcessError:
                        pass
        if killed:
            self.output.feed(f"\n[harness] {what} left {len(killed)} process(es) running; "
                             "killed\n".encode())

    def _note_blocked(self, attempts) -> None:
        """Keep every forbidden import the worker reports, across worker restarts."""
        for attempt in attempts if isinstance(attempts, list) else []:
            if isinstance(attempt, dict) and isinstance(attempt.get("module"), str):
                clean = {"module": attempt["module"], "file": str(attempt.get("file", "")),
                         "line": attempt.get("line") if isinstance(attempt.get("line"), int)
                         else 0}
                if clean not in self.blocked_imports:
                    self.blocked_imports.append(clean)

    def _receive(self, deadline: float, what: str, request: int) -> dict:
        """The reply to request number ``request``, the worker's output read meanwhile and its
        totals watched; every way this can fail is a :class:`SubmissionFailure`."""
        worker = self._worker
        try:
            try:
                frame = wire.receive(worker.frm, deadline,
                                     also={worker.out: lambda: self.output.drain(worker.out, 16)},
                                     every=(WATCH_SECONDS, self._watch_tick))
            finally:
                self._drain()
            reply = wire.decode(frame, lambda n: Handle(int(n), self.generation))
            if not isinstance(reply, dict):
                raise wire.ChannelError("reply is not a message")
            if reply.get("id") != request:
                self._kill()
                raise SubmissionFailure(
                    "protocol", f"{what}: forged reply: a message that does not answer this "
                    "call arrived on the harness's channel (written by the submission's own "
                    "code, a thread or a process left running?); the worker was stopped")
            return reply
        except LimitExceeded as exc:
            raise self._stopped_for(what, exc) from None
        except wire.Timeout:
            self._kill()
            raise SubmissionFailure(
                "timeout", f"{what} did not finish within its time limit and was stopped "
                "(an endless loop, or far too slow)") from None
        except wire.ChannelError as exc:
            raise SubmissionFailure("crashed", f"{what}: {self._death_note(exc)}",
                                    self.output_tail()[-2000:]) from None

    def _stopped_for(self, what: str, exc: LimitExceeded) -> SubmissionFailure:
        """Stop the worker for a total over its limit; the failure the call then is."""
        self._kill()
        return SubmissionFailure("limit", f"{what} was stopped: {exc}")

    def _watch_tick(self) -> None:
        """The grade's totals, looked at while a call runs (raises LimitExceeded)."""
        self.watch.check([s.proc.pid for s in (self._worker, self._spare) if s is not None])

    def _drain(self) -> None:
        """Take in what the worker has printed so far (all of a call's output is in the pipe
        when its reply arrives: the worker flushes before it replies)."""
        if self._worker is not None:
            self.output.drain(self._worker.out)

    def _death_note(self, exc: Exception) -> str:
        try:
            self._watch_tick()  # a limit the kernel enforced shows here first
        except LimitExceeded:
            pass
        if self.watch.exceeded:
            return f"stopped: {self.watch.exceeded}"
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill()
            return f"the worker broke the channel ({exc}) and was stopped"
        if self.isolation == "bwrap" and code > 128:
            code = 128 - code  # bwrap reports its child's death by signal N as exit 128 + N
        if code < 0:
            try:
                sig = signal.Signals(-code)
            except ValueError:
                return f"the submission's process was killed by signal {-code}"
            meaning = SIGNAL_MEANING.get(sig, "killed by a signal")
            return f"the submission's process died: {sig.name} ({meaning})"
        return (f"the submission's process exited with code {code} in the middle of the call "
                "(sys.exit or os._exit in the submission?)")

    def _share(self, value: Any) -> Any:
        """A large array argument (the training inputs, say) goes to the worker once, as a
        read-only ``.npy`` file in scratch that it maps copy-on-write, instead of through the
        pipe at every call. Keyed by the array's memory and layout; the array is kept
        referenced, so that memory is never reused for another array while the key lives."""
        if not isinstance(value, np.ndarray) or value.nbytes < SHARE_BYTES or \
                value.dtype.hasobject:
            return value
        key = (value.__array_interface__["data"][0], value.shape, value.strides,
               value.dtype.str)
        if key not in self._shared:
            name = f"a{len(self._shared)}.npy"
            self.shared_dir.mkdir(exist_ok=True)
            tmp = self.shared_dir / f".{name}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(value), allow_pickle=False)
            os.chmod(tmp, 0o444)
            os.replace(tmp, self.shared_dir / name)
            self._shared[key] = (value, name)
        return {"__shared__": self._shared[key][1]}

    def output_by_hook(self) -> list[dict]:
        """What the submission printed, part by part (``what``: the hook, or loading the
        plugin), each cut to its last ``limits.output_kb``, in the order printed."""
        self._drain()
        return self.output.by_part()

    def output_tail(self) -> str:
        """The end of what the submission printed, at most ``limits.output_kb``."""
        self._drain()
        return self.output.tail()


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first); [] if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def _group(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[2]) if fields else None


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from each of its threads' ``children`` list."""
    found: list[int] = []
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with open(f"{task.path}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first."""
    found, frontier = [], [pid]
    while frontier:
        kids = [k for p in frontier for k in _children(p)]
        found += kids
        frontier = kids
    return found


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the process, its group and every descendant (bwrap's init leaves the group), then
    reap those this process adopted as a subreaper, so that none is left a zombie."""
    tree = _descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _kill_all(tree)
    proc.wait()
    for pid in tree:
        _reap(pid)


def _all_pids() -> list[int]:
    """Every process id on the machine (a listing of /proc)."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _kill_all(pids) -> None:
    """SIGKILL each of ``pids``; one already gone (or not ours to signal) is skipped."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid: int, patience: float = 1.0) -> None:
    """Wait for a killed process if it is ours to wait for (adopted); otherwise its parent
    or init does."""
    deadline = time.monotonic() + patience
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done or time.monotonic() > deadline:
            return
        time.sleep(0.002)


def _handles(obj: Any):
    if isinstance(obj, Handle):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _handles(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _handles(v)
