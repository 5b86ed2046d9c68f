"""Comparing results documents across runs."""

VARIES = ("seconds", "timings", "resources", "path", "graded_at")


def stable(doc):
    """A results document without what legitimately varies between runs: times, what the
    processes cost, paths."""
    if isinstance(doc, dict):
        return {k: stable(v) for k, v in doc.items() if k not in VARIES}
    if isinstance(doc, list):
        return [stable(v) for v in doc]
    return doc
