"""The sandbox: where a submission's code runs, and the only place it runs.

``process`` starts and talks to the worker (``worker``, run as ``python -m
harness.sandbox.worker``) over a bounded channel (``wire``); ``isolation`` chooses and builds the
isolation (bubblewrap or a plain subprocess) and its resource limits; ``guard`` and ``imports``
are the worker's in-process defences (file writes outside scratch, forbidden frameworks).

May import: ``harness.files``, ``harness.hookspecs`` and the standard library. Nothing here
knows about checks, grades or reports.
"""
