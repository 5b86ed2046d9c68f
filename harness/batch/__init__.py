"""Grading many submissions: each in a supervised child process (``local``: a pool of them on
this machine; ``cluster``: on a Dask cluster), resumable by fingerprint, ending in the class
overview and gradebook.

May import: ``harness.grading``, ``harness.present``, ``harness.sandbox.isolation``,
``harness.files``.
"""
