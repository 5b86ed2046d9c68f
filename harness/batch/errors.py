"""Errors of batch grading the command line reports in one line (kept apart so that the CLI can
name them without importing the grading machinery)."""


class ClusterUnavailable(RuntimeError):
    """Dask is not installed, the address is malformed, or the scheduler cannot be reached."""
