"""What to fix first, from a results document: the failed checks in order of points lost, each
with what was found and one thing to try. Shared by the terminal summary, the report and the
pytest items, so a student reads the same advice everywhere."""

from __future__ import annotations

import re

TRY = {
    "load": "fix the error loading harness_plugin.py first: nothing else can be graded until "
            "it imports",
    "policy": "remove the framework import from the code your plugin runs (NumPy only); keep "
              "any comparison against a framework out of the files harness_plugin.py imports",
    "contract": "build the model from the sizes and activation you are given, and return "
                "arrays of the shapes named in the message (get/set_params: W1, b1, … with W "
                "as (fan_in, fan_out))",
    "loss": "compute mean softmax cross-entropy plus the L2 term on a tiny batch by hand and "
            "compare with your loss",
    "gradient": "check the backward pass of the tensors named: average over the batch, take "
                "the activation's derivative at the right layer, add the L2 term's gradient; "
                "a centred finite difference on that one tensor shows the error",
    "training": "train on the arrays you are given for the given number of epochs and return "
                "one record per epoch (epoch, train_loss, val_acc, and lr)",
    "optimizer": "one step must be θ − lr·g (plus momentum or weight decay only if declared); "
                 "record the learning rate in each epoch's history",
    "checkpoint": "save inside the checkpoint directory you are given whenever validation "
                  "accuracy improves, with the sizes and activation, and rebuild the model "
                  "from what was saved",
    "search": "train one model per (lr, hidden sizes, reg) of the grid and record each with "
              "its validation accuracy (a CSV or JSON file, or a list)",
    "test": "load the checkpoint you are given and return accuracy as a fraction of the x, y "
            "you are passed",
    "accuracy": "once the other checks pass, tune the learning rate, its decay and the hidden "
                "sizes with your search, and train for the whole budget",
}


# More specific advice where the message names the bug: (check, words in the message, advice).
TRY_WHEN = [
    ("training", "learned nothing",
     "make the model overfit 100 training images first (the loss should fall near 0); if it "
     "does not, the gradients or the update are wrong, if it does, raise the learning rate"),
    ("training", "did not go down",
     "lower the learning rate, and check that each step subtracts lr × gradient"),
    ("checkpoint", "last model, not the best",
     "save only when validation accuracy beats the best so far, not after every epoch"),
    ("checkpoint", "lowest validation loss",
     "choose the best epoch by validation accuracy, not validation loss"),
    ("checkpoint", "activation is not read",
     "store the activation name in the checkpoint and build the model with it when loading"),
    ("gradient", "not averaged over the batch", "divide the summed gradient by the batch size"),
    ("gradient", "L2 term is missing", "add reg × W (or 2·reg × W, matching your loss) to dW"),
]


def advice_for(check: str, message: str) -> str:
    """One thing to try for a failed ``check`` whose message is ``message``; for a check that
    failed because another did (its message says "see the X check"), to fix that one first."""
    for name, words, advice in TRY_WHEN:
        if name == check and words in message:
            return advice
    cause = re.search(r"see the (\w+) check", message)
    if cause and cause.group(1) != check:
        return (f"fix what the {cause.group(1)} check reports first: this check depends on "
                "it")
    return TRY.get(check, "")


def fix_first(res: dict) -> list[dict]:
    """The failed checks, what they cost and what to try, the most expensive first (a failed
    gate first of all: it costs the whole grade). Each: ``check``, ``title``, ``lost``,
    ``gate``, ``found`` (the check's message), ``try``."""
    if res.get("status") == "error":
        return []
    items = []
    if res.get("load_error"):
        items.append({"check": "load", "title": "harness_plugin.py loads", "gate": False,
                      "lost": res.get("max_score") or 0.0,
                      "found": res["load_error"]["message"], "try": TRY["load"]})
    for c in res.get("checks", []):
        if c["passed"] or (c.get("details") or {}).get("not_loaded"):
            continue
        gate = bool(c.get("gate"))
        items.append({"check": c["name"], "title": c["title"], "gate": gate,
                      "lost": res.get("max_score", 0.0) if gate else
                      round(c["max_score"] - c["score"], 2),
                      "found": c["message"], "try": advice_for(c["name"], c["message"])})
    return sorted(items, key=lambda i: (not i["gate"], i["check"] != "load", -i["lost"]))


def failing_first(checks: list[dict]) -> list[dict]:
    """The checks with the failed ones first (most points lost first), the rest in run order."""
    return sorted(checks, key=lambda c: (c["passed"], -(c["max_score"] - c["score"])))
