"""What the class got wrong: per check, how many submissions failed it and the most common
diagnoses, each with the submissions that have it (the list an instructor wants before the
next lecture)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_TENSORS = re.compile(r"^(?:[Wb]\d+(?:, )?)+: ")
_NUMBERS = re.compile(r"(?<![A-Za-z_\d.])-?\d+(?:\.\d+)?(?:e-?\d+)?")
_PAREN = re.compile(r"\s*\([^()]*\)")


def diagnoses(check: dict) -> list[str]:
    """The distinct findings of one failed check, with the particulars (numbers, tensor
    names, parentheses) taken out so that the same bug reads the same in every submission;
    a clause that is only figures (a run's summary) is not a finding."""
    details = check.get("details") if isinstance(check.get("details"), dict) else {}
    rows = details.get("rows") if check["name"] == "gradient" else None
    if rows:
        found = [r["diagnosis"] for r in rows if not r.get("ok") and r.get("diagnosis")]
    elif check["name"] == "accuracy" and "next tier" in check["message"]:
        found = ["below the accuracy tier for full credit"]
    else:
        found = _PAREN.sub("", check["message"]).split("; ")
    cleaned = set()
    for text in found:
        text = _NUMBERS.sub("#", _TENSORS.sub("", _PAREN.sub("", text))).strip()
        if text and not text.startswith("#"):
            cleaned.add(text[:120])
    return sorted(cleaned)


def what_went_wrong(rows: list[dict], names: list[str], top: int = 3) -> list[dict]:
    """Per check that anyone failed, most failed first: ``check``, ``title``, ``failed``
    (names), ``graded`` (how many were graded), and ``common``: up to ``top`` diagnoses as
    ``{"text", "names"}``, most frequent first."""
    failed: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    by_diag: dict[str, Counter] = defaultdict(Counter)
    who: dict[tuple[str, str], list[str]] = defaultdict(list)
    graded = 0
    for name, res in zip(names, rows):
        if res.get("status") == "error":
            continue
        graded += 1
        for c in res.get("checks", []):
            titles[c["name"]] = c["title"]
            if c["passed"] or (c.get("details") or {}).get("not_loaded"):
                continue
            failed[c["name"]].append(name)
            for d in diagnoses(c):
                by_diag[c["name"]][d] += 1
                who[(c["name"], d)].append(name)
    out = [{"check": check, "title": titles[check], "failed": names_, "graded": graded,
            "common": [{"text": d, "names": who[(check, d)]}
                       for d, _ in by_diag[check].most_common(top)]}
           for check, names_ in failed.items()]
    return sorted(out, key=lambda r: -len(r["failed"]))
