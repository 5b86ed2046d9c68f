"""The grade as text on the terminal, from its results document."""

from __future__ import annotations


def summary_text(res: dict) -> str:
    """The readable summary printed after grading."""
    lines = [f"{res['submission']}: {res['score']:g} / {res['max_score']:g} points "
             f"({res['mode']} grade, {res['dataset']})"]
    if res["gated_by"]:
        lines.append(f"  grade set to 0: the {', '.join(res['gated_by'])} check failed")
    for problem in (res.get("declarations") or {}).get("problems", []):
        lines.append(f"  harness_info: {problem}")
    if res["load_error"]:
        lines.append(f"  could not load the plugin: {res['load_error']['message']}")
        if res["load_error"]["traceback"]:
            lines += ["    " + ln for ln in res["load_error"]["traceback"].splitlines()]
    for c in res["checks"]:
        mark = "PASS" if c["passed"] else "FAIL"
        lines.append(f"  {mark} {c['name']:<11} {c['score']:>5g}/{c['max_score']:<3g} "
                     f"{c['message']}")
        tb = c["details"].get("traceback") if isinstance(c["details"], dict) else None
        if tb and not c["passed"]:
            lines += ["         | " + ln for ln in tb.strip().splitlines()[-6:]]
    if res.get("disabled_checks"):
        lines.append("  not graded (--no-check): " + ", ".join(res["disabled_checks"]))
    if res["missing_hooks"]:
        lines.append("  missing hooks: " + ", ".join(f"{m['hook']} ({m['part']})"
                                                    for m in res["missing_hooks"]))
    if res.get("test_accuracy") is not None:
        lines.append(f"  test accuracy {res['test_accuracy']:.4f}")
    return "\n".join(lines)
