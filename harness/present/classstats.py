"""What the class got wrong: per check, how many submissions failed it and the most common
diagnoses, each with the submissions that have it (the list an instructor wants before the
next lecture)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_TENSORS = re.compile(r"^(?:[Wb]\d+(?:, )?)+: ")
_NUMBERS = re.compile(r"(?<![A-Za-z_\d.])-?\d+(?:\.\d+)?(?:e-?\d+)?")
_PAREN = re.compile(r"\s*\([^()]*\)")


def diagnoses(check: dict) -> list[tuple[str, str]]:
    """The distinct findings of one failed check as ``(identity, text)``: the identity, the
    same for the same bug in every submission (the gradient's bug models; elsewhere the
    finding with its particulars - numbers, tensor names, parentheses - taken out), and the
    text as this submission's report words it, whole. A clause that is only figures (a run's
    summary) is not a finding."""
    details = check.get("details") if isinstance(check.get("details"), dict) else {}
    rows = details.get("rows") if check["name"] == "gradient" else None
    if rows:
        found = [r["diagnosis"] for r in rows if not r.get("ok") and r.get("diagnosis")]
    elif check["name"] == "accuracy" and "next tier" in check["message"]:
        found = ["below the accuracy tier for full credit"]
    else:
        found = _unparenthesized(check["message"]).split("; ")
    out = {}
    for text in found:
        text = _TENSORS.sub("", _unparenthesized(text)).strip()
        identity = _NUMBERS.sub("#", text)
        if text and not identity.startswith("#"):
            out.setdefault(identity, _shortened(text))
    return sorted(out.items())


def _unparenthesized(text: str) -> str:
    """``text`` without its parentheses, nested ones too (evidence, not the finding)."""
    while True:
        shorter = _PAREN.sub("", text)
        if shorter == text:
            return text
        text = shorter


def _shortened(text: str, limit: int = 160) -> str:
    """``text`` cut at a word boundary within ``limit`` characters, marked when cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def what_went_wrong(rows: list[dict], names: list[str], top: int = 3) -> list[dict]:
    """Per check that anyone failed, most failed first: ``check``, ``title``, ``failed``
    (names), ``graded`` (how many were graded), ``common``: up to ``top`` findings as
    ``{"text", "names"}``, most frequent first, and ``others``: the failing submissions no
    shown finding names (so that every one is reachable from its check's row)."""
    failed: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    by_diag: dict[str, Counter] = defaultdict(Counter)
    who: dict[tuple[str, str], list[str]] = defaultdict(list)
    wording: dict[tuple[str, str], str] = {}
    graded = 0
    for name, res in zip(names, rows):
        if res.get("status") in ("error", "did not load"):
            continue
        graded += 1
        for c in res.get("checks", []):
            titles[c["name"]] = c["title"]
            if c["passed"] or (c.get("details") or {}).get("not_loaded"):
                continue
            failed[c["name"]].append(name)
            for identity, text in diagnoses(c):
                by_diag[c["name"]][identity] += 1
                who[(c["name"], identity)].append(name)
                wording.setdefault((c["name"], identity), text)
    out = []
    for check, names_ in failed.items():
        common = [{"text": wording[(check, d)], "names": who[(check, d)]}
                  for d, _ in by_diag[check].most_common(top)]
        shown = {n for c in common for n in c["names"]}
        out.append({"check": check, "title": titles[check], "failed": names_,
                    "graded": graded, "common": common,
                    "others": [n for n in names_ if n not in shown],
                    "more_findings": max(0, len(by_diag[check]) - top)})
    return sorted(out, key=lambda r: -len(r["failed"]))
