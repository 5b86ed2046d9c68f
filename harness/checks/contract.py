"""Model contract: the model builds for every listed activation and hidden size, with parameters,
logits and predictions of the right shapes, and computes what its parameters say."""

from __future__ import annotations

import numpy as np

from harness import numerics

from . import Check, Outcome, checkimpl

BATCH = 8


class ContractCheck(Check):
    name = "contract"
    title = "Model builds with custom hidden sizes and activations; shapes are right"
    part = "model"
    order = 10
    requires = ("harness_build_model", "harness_get_params", "harness_set_params",
                "harness_forward", "harness_predict")

    def run(self, ctx) -> Outcome:
        data = ctx.data
        x = data.x_val[:BATCH]
        rows, problems = [], []
        for activation in ctx.settings.activations:
            for sizes in ctx.settings.hidden_sizes:
                hidden = ctx.hidden(sizes)
                problem = self._one(ctx, activation, hidden, x)
                rows.append({"activation": activation, "hidden_sizes": hidden,
                             "ok": problem is None, "problem": problem})
                if problem:
                    problems.append(f"{activation} {hidden}: {problem}")
        passed = sum(r["ok"] for r in rows)
        details = {"cases": rows}
        if not problems:
            return Outcome(True, f"all {len(rows)} architectures build and behave", details=details)
        return Outcome(False, "; ".join(problems[:4]) + (" ..." if len(problems) > 4 else ""),
                       fraction=passed / len(rows), details=details)

    def _one(self, ctx, activation: str, hidden: list[int], x: np.ndarray) -> str | None:
        sizes = [ctx.data.input_dim, *hidden, ctx.data.num_classes]
        model = ctx.call("harness_build_model", input_dim=sizes[0], hidden_sizes=hidden,
                         activation=activation, num_classes=sizes[-1], seed=0, dtype="float64")
        params = ctx.call("harness_get_params", model=model)
        expected = numerics.expected_shapes(sizes)
        if not isinstance(params, dict) or set(params) != set(expected):
            got = sorted(params) if isinstance(params, dict) else type(params).__name__
            return f"parameters should be named {sorted(expected)}, got {got}"
        for name, shape in expected.items():
            if np.shape(params[name]) != shape:
                return (f"{name} has shape {np.shape(params[name])}, expected {shape} "
                        "(W_i is (fan_in, fan_out) in the contract)")
        new = numerics.random_params(sizes, np.random.default_rng(1))
        ctx.call("harness_set_params", model=model, params=new)
        back = ctx.call("harness_get_params", model=model)
        if any(not np.allclose(np.asarray(back[k], np.float64), v, rtol=1e-6, atol=1e-9)
               for k, v in new.items()):
            return "get_params after set_params does not return the parameters that were set"
        logits = np.asarray(ctx.call("harness_forward", model=model, x=x))
        if logits.shape != (len(x), sizes[-1]):
            return f"logits have shape {logits.shape}, expected {(len(x), sizes[-1])}"
        if not np.all(np.isfinite(logits)):
            return "logits contain NaN or infinity"
        if activation != "leaky_relu":  # leaky slopes vary between courses; others do not
            ours = numerics.preactivations(new, x, activation)[-1]
            if not np.allclose(logits, ours, rtol=1e-4, atol=1e-6):
                return ("logits differ from x@W1+b1 → activation → ... for the parameters set "
                        "(is the forward pass, or the adapter's layout, right?)")
        preds = np.asarray(ctx.call("harness_predict", model=model, x=x))
        if preds.shape != (len(x),) or not np.issubdtype(preds.dtype, np.integer):
            return f"predictions should be integers of shape ({len(x)},), got {preds.dtype} " \
                   f"{preds.shape}"
        if not np.array_equal(preds, logits.argmax(axis=1)):
            return "predictions are not the argmax of the logits"
        return None


@checkimpl
def harness_checks():
    return [ContractCheck()]
