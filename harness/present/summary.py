"""The grade as text on the terminal, from its results document."""

from __future__ import annotations

import textwrap

from .advice import fix_first
from .inert import for_terminal


def _wrapped(text: str, first: str, rest: str, width: int = 100) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest) or [first]


def summary_text(res: dict) -> str:
    """The readable summary printed after grading: the score, what to fix first, then every
    check; control characters escaped (it quotes the submission)."""
    lines = [f"{res['submission']}: {res['score']:g} / {res['max_score']:g} points "
             f"({res['mode']} grade, {res['dataset']})"]
    if res["gated_by"]:
        lines.append(f"  grade set to 0: the {', '.join(res['gated_by'])} check failed")
    for problem in (res.get("declarations") or {}).get("problems", []):
        lines.append(f"  harness_info: {problem}")
    todo = fix_first(res)
    if todo:
        lines.append("fix first:")
        for n, item in enumerate(todo, start=1):
            cost = "the whole grade" if item["gate"] else f"{item['lost']:g} points"
            lines += _wrapped(f"{n}. {item['check']} ({cost}): {item['found']}", "  ", "     ")
            if item["try"]:
                lines += _wrapped(f"try: {item['try']}", "     ", "          ")
    if res["load_error"] and res["load_error"]["traceback"]:
        lines += ["    " + ln for ln in res["load_error"]["traceback"].splitlines()]
    lines.append("checks:")
    for c in res["checks"]:
        mark = "PASS" if c["passed"] else "FAIL"
        points = "gate" if c.get("gate") else f"{c['score']:g}/{c['max_score']:g}" \
            if c["max_score"] else "no points"  # left out of the rubric: said, not "0/0"
        lines.append(f"  {mark} {c['name']:<11} {points:>9}  {c['message']}")
        tb = c["details"].get("traceback") if isinstance(c["details"], dict) else None
        if tb and not c["passed"]:
            lines += ["         | " + ln for ln in tb.strip().splitlines()[-6:]]
    if res.get("disabled_checks"):
        lines.append("  not graded (--no-check): " + ", ".join(res["disabled_checks"]))
    unscored = [c["name"] for c in res["checks"] if not c["max_score"] and not c.get("gate")]
    if unscored:
        lines.append("  run but not graded (no points in the rubric): " + ", ".join(unscored))
    if res["missing_hooks"]:
        lines.append("  missing hooks: " + ", ".join(f"{m['hook']} ({m['part']})"
                                                    for m in res["missing_hooks"]))
    if res.get("test_accuracy") is not None:
        lines.append(f"  test accuracy {res['test_accuracy']:.4f}")
    return for_terminal("\n".join(lines))
