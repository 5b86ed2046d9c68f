"""What to fix first, from a results document: the failed checks in order of points lost, each
with what was found and one thing to try. Shared by the terminal summary, the report and the
pytest items, so a student reads the same advice everywhere."""

from __future__ import annotations

import re

# Advice follows from a finding or is absent: each rule is (check, words its message contains
# when it found that bug, one thing to try). A failure no rule matches gets no advice rather
# than a generic line that may not apply (the configuration a grade uses is the harness's, for
# one, so "tune the learning rate" never helps).
LOAD = ("fix the error loading harness_plugin.py first: nothing else can be graded until it "
        "imports")
TRY_WHEN = [
    ("policy", "allows NumPy only",
     "remove the framework import from the code your plugin runs (NumPy only); keep any "
     "comparison against a framework out of the files harness_plugin.py imports"),
    ("contract", "activation argument is ignored",
     "pass the activation you are given on to the model and use it in the forward pass"),
    ("contract", "(out, in)", "transpose the weights in get_params/set_params: W is (fan_in, "
     "fan_out)"),
    ("contract", "declare ", "add the declaration the message names to harness_info"),
    ("loss", "summed over the batch", "average the cross-entropy over the batch"),
    ("loss", "divided by the number of classes", "sum −one-hot(y)·log p over the classes, "
     "then average over the batch: −mean(log p[range(N), y])"),
    ("loss", "without its minus sign", "the loss is −mean(log p[range(N), y]), a positive "
     "number that falls as the model learns"),
    ("loss", "penalty is divided by the batch size", "add λ·Σ‖W‖² (or 0.5·λ·Σ‖W‖²) once per "
     "batch, not divided by the batch size"),
    ("loss", "(L1)", "square the weights in the penalty: Σ‖W‖² is the sum of squares"),
    ("loss", "the norm and not its square", "square the norm: Σ‖W‖² is the sum of squares"),
    ("loss", "squared error", "use cross-entropy: −mean(log softmax(z)[y])"),
    ("loss", "add the matching penalty",
     "add the L2 penalty to the loss: 0.5·λ·Σ‖W‖² if the gradient adds λ·W, λ·Σ‖W‖² if 2·λ·W"),
    ("gradient", "not averaged over the batch", "divide the summed gradient by the batch size"),
    ("gradient", "divided by the batch size twice", "divide by the batch size once"),
    ("gradient", "L2 term is missing", "add reg × W (or 2·reg × W, matching your loss) to dW"),
    ("gradient", "other convention", "use the loss's factor in the gradient: 0.5·λ·Σ‖W‖² "
     "gives λ·W, λ·Σ‖W‖² gives 2·λ·W"),
    ("gradient", "L2 gradient is divided by the batch size",
     "only the cross-entropy part is averaged over the batch: add reg × W undivided"),
    ("gradient", "L2 is applied to the bias gradient",
     "leave the biases out of the L2 gradient, as the loss does"),
    ("gradient", "in the gradient although L2 is declared",
     "leave L2 out of the gradient: it is weight decay in your step"),
    ("gradient", "without subtracting one-hot", "the output error is softmax(z) − one-hot(y)"),
    ("gradient", "derivative is missing", "multiply the error passed back by the activation's "
     "derivative at every hidden layer"),
    ("gradient", "from the pre-activation z", "take the derivative from the activation's output "
     "a: 1 − a² for tanh, a·(1 − a) for sigmoid"),
    ("gradient", "activation's value instead", "use the activation's derivative, not its value: "
     "a·(1 − a) for sigmoid, 1 − a² for tanh"),
    ("gradient", "1 − a instead of 1 − a²", "tanh's derivative is 1 − a²"),
    ("gradient", "slope is missing", "leaky ReLU's derivative is its slope, not 0, for negative "
     "inputs"),
    ("gradient", "bias gradient is zero", "the bias gradient is the error summed over the batch"),
    ("gradient", "off by a factor of", "look for a stray constant: the cross-entropy gradient "
     "is (softmax(z) − one-hot(y)) / N with no factor of 2 or ½"),
    ("gradient", "off by a constant factor", "look for a stray constant factor in the backward "
     "pass"),
    ("gradient", "transposed", "the gradient of W is a_prevᵀ·δ, shaped like W (fan_in, "
     "fan_out)"),
    ("gradient", "sign error", "the gradient of the loss, not of −loss: the output error is "
     "softmax(z) − one-hot(y)"),
    ("gradient", "at the output layer (an activation",
     "the output layer has no activation: softmax follows the last affine layer directly"),
    ("gradient", "wrong values", "compare that layer's backward step with a centred finite "
     "difference on a tiny network"),
    ("training", "learned nothing",
     "make the model overfit 100 training images first (the loss should fall near 0); if it "
     "does not, the gradients or the update are wrong, if it does, raise the learning rate"),
    ("training", "did not go down",
     "lower the learning rate, and check that each step subtracts lr × gradient"),
    ("optimizer", "does not decay", "decay the learning rate as training goes on (any "
     "schedule: exponential, step, cosine, …) and record it in each epoch's history"),
    ("optimizer", "uphill", "subtract lr × gradient"),
    ("optimizer", "did not change", "update every parameter, biases included"),
    ("optimizer", "keeps state between calls", "make harness_train_step one plain SGD step, "
     "with no momentum carried from call to call"),
    ("optimizer", "ignores the lr", "multiply the gradient by the lr the step is given: "
     "θ − lr·g"),
    ("optimizer", "carries momentum", "apply momentum only when it is asked for (momentum > 0)"),
    ("optimizer", "like Adam", "the assignment asks for SGD: θ − lr·g"),
    ("checkpoint", "not the best",
     "save only when validation accuracy beats the best so far, not after every epoch"),
    ("checkpoint", "lowest validation loss",
     "choose the best epoch by validation accuracy, not validation loss"),
    ("checkpoint", "activation is not read",
     "store the activation name in the checkpoint and build the model with it when loading"),
    ("checkpoint", "outside it", "save everything the loader needs in the checkpoint directory "
     "you are given"),
    ("checkpoint", "untrained model", "save after training, whenever validation accuracy "
     "improves"),
    ("search", "have no record", "train one model per (lr, hidden sizes, reg) of the grid you "
     "are given and record each with its validation accuracy"),
    ("search", "reported best is not", "report the trial with the highest validation accuracy"),
    ("test", "but the checkpoint's predictions", "compute the accuracy from the predictions of "
     "the loaded checkpoint on the x, y you are passed, as a fraction"),
]


def advice_for(check: str, message: str) -> str:
    """What to try for a failed ``check`` whose message is ``message``: one thing per finding a
    rule knows, in the order the message names them; for a check that failed because another
    did (its message says "see the X check"), to fix that one first."""
    found = sorted((message.index(words), advice) for name, words, advice in TRY_WHEN
                   if name == check and words in message)
    if found:
        return "; ".join(dict.fromkeys(advice for _, advice in found))
    cause = re.search(r"see the (\w+) check", message)
    if cause and cause.group(1) != check:
        return (f"fix what the {cause.group(1)} check reports first: this check depends on "
                "it")
    return ""


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
                      "found": res["load_error"]["message"], "try": LOAD})
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
