"""The sandbox: where a submission's code runs, and the only place it runs.

The rule that keeps a root harness safe from what the submission leaves behind: **nothing in a
place the submission can write is opened, created, listed, chowned or read by path.** The
worker can write only its work area (``scratch/work``); the harness touches it only through
:class:`~harness.sandbox.workarea.WorkArea` (a directory descriptor, ``*at`` calls, no link
followed, walks bounded), and reads the worker's output from a pipe, never a file.
``tests/test_layers.py`` walks the code for path operations on the work area's paths.

``process`` starts and talks to the worker (``worker``, run as ``python -m
harness.sandbox.worker``) over a bounded channel (``wire``); ``isolation`` chooses and builds the
isolation (bubblewrap or a plain subprocess) and its resource limits; ``workarea`` is the
harness's only way into the worker's writable directory; ``output`` keeps what the worker
prints; ``resources`` and ``cgroup`` hold a grade's totals (memory, tasks, disk); ``guard`` and
``imports`` are the worker's in-process defences (file writes outside its work directory,
forbidden frameworks).

May import: ``harness.files``, ``harness.hookspecs`` and the standard library. Nothing here
knows about checks, grades or reports.
"""
