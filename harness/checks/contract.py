"""Model contract: the model builds for every activation and hidden size it must support, with
parameters, outputs and predictions of the right shapes, and computes what its parameters say.

Each (activation, hidden sizes) case is scored on its own: one that raises or misbehaves costs
its share and names itself, and the other cases are still examined. The forward pass is compared
with the harness's canonical one in log space up to a per-row constant, so logits,
probabilities and log-probabilities (as declared in ``forward_returns``) all pass when right.
"""

from __future__ import annotations

import numpy as np

from harness.sandbox.process import SubmissionFailure

from . import Check, Outcome, checkimpl, numerics

BATCH = 8


def coverage_problems(ctx) -> list[str]:
    """What the declared activations lack against the rubric (empty when nothing is declared:
    then the rubric's own list is checked)."""
    declared = ctx.decl.activations
    if declared is None:
        return []
    problems = [f"activation {a} is required by the rubric but not declared as supported"
                for a in ctx.rubric.required_activations if a not in declared]
    if len(declared) < ctx.rubric.min_activations:
        problems.append(f"only {len(declared)} activation{'s' if len(declared) > 1 else ''} "
                        f"supported ({', '.join(declared)}); the assignment asks for a "
                        f"selectable activation, at least {ctx.rubric.min_activations}")
    return problems


class ContractCheck(Check):
    name = "contract"
    title = "Model builds with custom hidden sizes and activations; shapes are right"
    part = "model"
    order = 10
    requires = ("harness_build_model", "harness_get_params", "harness_set_params",
                "harness_forward", "harness_predict")

    def run(self, ctx) -> Outcome:
        x = ctx.data.x_val[:BATCH]
        rows = []
        for activation in ctx.activations:
            for sizes in dict.fromkeys(tuple(ctx.hidden(s)) for s in ctx.settings.hidden_sizes):
                hidden = list(sizes)
                try:
                    problem = self._one(ctx, activation, hidden, x)
                except SubmissionFailure as failure:
                    problem = f"{failure.message}"
                    if failure.kind == "crashed":
                        ctx.proc.restart()
                rows.append({"activation": activation, "hidden_sizes": hidden,
                             "ok": problem is None, "problem": problem})
        for problem in coverage_problems(ctx):
            rows.append({"activation": None, "hidden_sizes": None, "ok": False,
                         "problem": problem})
        passed = sum(r["ok"] for r in rows)
        conventional = [h.removeprefix("harness_") for h in ctx.proc.by_convention]
        details = {"cases": rows, "forward_returns": ctx.decl.forward_returns,
                   "by_convention": conventional}
        if passed == len(rows):
            by = f"; {', '.join(conventional)} by convention" if conventional else ""
            return Outcome(True, f"all {len(rows)} architectures build and behave "
                           f"({', '.join(ctx.activations)}; forward returns "
                           f"{ctx.decl.forward_returns}{by})", details=details)
        return Outcome(False, f"{len(rows) - passed} of {len(rows)} cases fail: "
                       + _grouped(rows), fraction=passed / len(rows), details=details)

    def _one(self, ctx, activation: str, hidden: list[int], x: np.ndarray) -> str | None:
        sizes = [ctx.data.input_dim, *hidden, ctx.data.num_classes]
        case = f"building with activation={activation}"
        try:
            model = ctx.call("harness_build_model", input_dim=sizes[0], hidden_sizes=hidden,
                             activation=activation, num_classes=sizes[-1], seed=0,
                             dtype="float64")
        except SubmissionFailure as failure:
            raise SubmissionFailure(failure.kind, f"{case} failed: {failure.message}",
                                    failure.traceback) from None
        params = ctx.call("harness_get_params", model=model)
        expected = numerics.expected_shapes(sizes, ctx.decl.biases)
        if not isinstance(params, dict) or set(params) != set(expected):
            got = sorted(params) if isinstance(params, dict) else type(params).__name__
            hint = " (a network without biases declares 'biases': False in harness_info)" \
                if isinstance(params, dict) and set(params) == set(
                    numerics.expected_shapes(sizes, biases=False)) else ""
            return f"parameters should be named {sorted(expected)}, got {got}{hint}"
        for name, shape in expected.items():
            got = np.shape(params[name])
            if got != shape:
                hint = " (stored (out, in)? transpose in get_params/set_params)" \
                    if got == shape[::-1] and len(shape) == 2 else ""
                return f"{name} has shape {got}, expected {shape}{hint}"
        new = numerics.random_params(sizes, np.random.default_rng(1), biases=ctx.decl.biases)
        ctx.call("harness_set_params", model=model, params=new)
        back = ctx.call("harness_get_params", model=model)
        if not isinstance(back, dict) or set(back) != set(new):
            return "get_params after set_params does not return the same parameter names"
        tol = _tolerance(back)
        if any(not np.allclose(np.asarray(back[k], np.float64), v, **tol) for k, v in new.items()):
            return "get_params after set_params does not return the parameters that were set"
        output = np.asarray(ctx.call("harness_forward", model=model, x=x))
        if output.shape != (len(x), sizes[-1]):
            return f"forward returns shape {output.shape}, expected {(len(x), sizes[-1])}"
        if not np.issubdtype(output.dtype, np.number) or not np.all(np.isfinite(output)):
            return "forward returns NaN, infinity or non-numbers"
        ours = numerics.logits(new, x, activation, ctx.decl.leaky_relu_slope)
        theirs = numerics.as_log_scores(output, ctx.decl.forward_returns)
        if not np.allclose(numerics.row_centred(theirs), numerics.row_centred(ours),
                           rtol=1e-3 if tol["rtol"] > 1e-9 else 1e-5, atol=1e-4):
            if activation == "leaky_relu":
                for slope in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.3):
                    alt = numerics.logits(new, x, activation, slope)
                    if np.allclose(numerics.row_centred(theirs), numerics.row_centred(alt),
                                   rtol=1e-3, atol=1e-4):
                        return (f"leaky ReLU with slope {slope:g}, but the declared slope is "
                                f"{ctx.decl.leaky_relu_slope:g}: declare "
                                f"leaky_relu_slope={slope:g} in harness_info")
            for other in ("relu", "leaky_relu", "sigmoid", "tanh"):
                alt = numerics.logits(new, x, other, ctx.decl.leaky_relu_slope)
                if other != activation and np.allclose(
                        numerics.row_centred(theirs), numerics.row_centred(alt), rtol=1e-3,
                        atol=1e-4):
                    return (f"built with activation={activation!r}, the model computes "
                            f"{other}: the activation argument is ignored (pass it on to the "
                            "model, or declare only the activations it has)")
            return _forward_mismatch(output, ctx.decl.forward_returns, activation)
        preds = np.asarray(ctx.call("harness_predict", model=model, x=x))
        if preds.shape != (len(x),) or not np.issubdtype(preds.dtype, np.integer):
            return (f"predictions should be integers of shape ({len(x)},), got {preds.dtype} "
                    f"{preds.shape}")
        if not np.array_equal(preds, ours.argmax(axis=1)):
            return "predictions are not the class with the highest score"
        return None


def _grouped(rows: list[dict]) -> str:
    """Failed cases, one clause per distinct problem, naming the cases it hit."""
    by_problem: dict[str, list[str]] = {}
    for r in rows:
        if not r["ok"]:
            case = f"{r['activation']} {r['hidden_sizes']}" if r["activation"] else ""
            by_problem.setdefault(r["problem"], []).append(case)
    clauses = []
    for problem, cases in list(by_problem.items())[:3]:
        named = [c for c in cases if c]
        where = "" if not named else f" ({', '.join(named[:3])}" + \
            (f" and {len(named) - 3} more)" if len(named) > 3 else ")")
        clauses.append(problem + where)
    return "; ".join(clauses) + (" ..." if len(by_problem) > 3 else "")


def _tolerance(params: dict) -> dict:
    """Comparison tolerance for values the submission stores in its own dtype."""
    low = any(np.asarray(v).dtype in (np.float32, np.float16) for v in params.values())
    return {"rtol": 1e-5, "atol": 1e-6} if low else {"rtol": 1e-9, "atol": 1e-12}


def _forward_mismatch(output: np.ndarray, returns: str, activation: str) -> str:
    """Why a forward's output differs from the canonical one, as precisely as can be told."""
    out = np.asarray(output, np.float64)
    rows_sum_to_one = np.allclose(out.sum(axis=1), 1.0, atol=1e-6) and out.min() >= 0
    declared = {"logits": "logits", "probabilities": "probabilities",
                "log_probabilities": "log-probabilities"}[returns]
    if returns != "probabilities" and rows_sum_to_one:
        return ("forward returns probabilities (rows sum to 1), but the submission declares "
                f"{declared}: declare forward_returns='probabilities' in harness_info")
    if returns == "logits" and np.allclose(np.exp(out).sum(axis=1), 1.0, atol=1e-6):
        return ("forward returns log-probabilities, but the submission declares logits: "
                "declare forward_returns='log_probabilities' in harness_info")
    if returns == "probabilities" and not rows_sum_to_one:
        return "forward is declared to return probabilities, but its rows do not sum to 1"
    return (f"forward differs from x@W1+b1 → {activation} → ... → scores for the parameters "
            f"set (is the forward pass, or the adapter's layout, right?)")


@checkimpl
def harness_checks():
    return [ContractCheck()]
