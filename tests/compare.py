"""Comparing results documents across runs."""

VARIES = ("seconds", "timings", "resources", "path", "graded_at")


def stable(doc):
    """A results document without what legitimately varies between runs: times, what the
    processes cost, paths, and the last bits of floating-point figures (BLAS sums in another
    order on another thread count)."""
    if isinstance(doc, dict):
        return {k: stable(v) for k, v in doc.items() if k not in VARIES}
    if isinstance(doc, list):
        return [stable(v) for v in doc]
    if isinstance(doc, float):
        return float(f"{doc:.9g}")
    return doc
