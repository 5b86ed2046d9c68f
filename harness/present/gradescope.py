"""results.json in Gradescope's autograder schema: one test per check.

Each test carries ``status``, ``score``, ``max_score``, markdown ``output`` (the check's message;
never the harness's traceback, which would show students its internals; a plugin that does not
load shows the student's own frames and the error, file and line) and the visibility the rubric
sets for the check. A gate that failed (the policy check) is a failed test with its
finding, not a 0/0 line. The grade's overall output says where the score came from.
"""

from __future__ import annotations

STUDENT_LINES = 40


def _output(check: dict) -> str:
    lines = [check["message"]]
    details = check.get("details") if isinstance(check.get("details"), dict) else {}
    if check.get("gate") and not check["passed"]:
        lines.insert(0, "**This check gates the grade: while it fails, the score is 0.**")
    for where in details.get("gating", [])[:10]:
        if where not in check["message"]:  # a finding the message already says, once
            lines.append(f"- {where}")
    return "\n\n".join(lines)


def to_gradescope(res: dict, visibility: dict[str, str] | None = None,
                  leaderboard: bool = False) -> dict:
    """Gradescope's ``results.json`` for one graded submission (``res``: harness results);
    ``visibility``: per check name, as the rubric sets it; ``leaderboard``: add test accuracy
    to Gradescope's leaderboard."""
    visibility = visibility or {}
    if res.get("status") == "error":
        return failure(res.get("error", "the submission could not be graded"))
    tests = []
    for c in res["checks"]:
        test = {"name": f"{c['part']}: {c['title']}", "name_format": "text",
                "status": "passed" if c["passed"] else "failed",
                "output": _output(c), "output_format": "md",
                "visibility": visibility.get(c["name"], "visible")}
        if not c.get("gate"):
            test.update(score=c["score"], max_score=c["max_score"])
        tests.append(test)
    if res.get("load_error"):
        error = res["load_error"]
        where = (error.get("traceback") or "").strip()  # the student's own frames only
        tests.insert(0, {"name": "loading harness_plugin.py", "status": "failed",
                         "output": error["message"] + (f"\n\n{where}" if where else ""),
                         "output_format": "text", "visibility": "visible"})
    summary = f"Score {res['score']:g} / {res['max_score']:g} ({res['mode']} grade on " \
              f"{res['dataset']}, harness {res.get('harness_version', '?')}, " \
              f"isolation: {res.get('isolation', '?')})."
    if res["gated_by"]:
        summary += f" Set to 0 because the {', '.join(res['gated_by'])} check failed."
    doc = {"score": res["score"], "tests": tests, "output": summary, "output_format": "md",
           "execution_time": int(res.get("timings", {}).get("total", 0)),
           "visibility": "visible", "stdout_visibility": "hidden"}
    if leaderboard and res.get("test_accuracy") is not None:
        doc["leaderboard"] = [{"name": "Test accuracy", "value": round(res["test_accuracy"], 4)}]
    return doc


def failure(reason: str) -> dict:
    """The document written when grading itself failed: zero, one failed test saying why in
    words a student can act on (the traceback goes to the instructor's log only)."""
    return {"score": 0.0, "output": "The autograder could not grade this submission.",
            "tests": [{"name": "autograder", "status": "failed", "score": 0.0, "max_score": 0.0,
                       "output": reason, "output_format": "text", "visibility": "visible"}],
            "visibility": "visible", "stdout_visibility": "hidden"}
