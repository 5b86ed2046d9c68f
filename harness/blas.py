"""BLAS threads for ``harness grade`` and ``harness run-reference``, each a fixed rule (never
the machine's load), described the same way on both terminals and in both results.

- grading: :data:`GRADING_THREADS` per submission, whatever else runs. One thread or two change
  a trained model's weights in their last bits (measured: ~1e-8 after two epochs), so a fixed
  count is what makes a grade bit-for-bit the same alone, in a batch, on a cluster or on
  Gradescope, and a regrade the same as the grade.
- the reference run: every core (one job; nothing else to agree with).

``--threads`` overrides either, and is recorded.
"""

from __future__ import annotations

import os

GRADING_THREADS = 1


def reference_threads() -> int:
    """Every core: ``harness run-reference`` is the machine's only job."""
    return os.cpu_count() or 1


def describe(threads: int) -> str:
    """``"openblas 0.3.27 (Haswell kernels), 2 threads"``: the BLAS NumPy calls here (as
    threadpoolctl sees it) and the thread count in use."""
    from threadpoolctl import threadpool_info

    found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    plural = "s" * (threads != 1)
    if not found:
        return f"BLAS unknown, {threads} thread{plural}"
    info = found[0]
    kernels = f" ({info['architecture']} kernels)" if info.get("architecture") else ""
    return (f"{info.get('internal_api', '?')} {info.get('version') or ''}".rstrip()
            + f"{kernels}, {threads} thread{plural}")
