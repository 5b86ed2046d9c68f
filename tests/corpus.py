"""The style × bug corpus: student-shaped submissions, each bug applied to each by machine.

A style is a submission in one of the shapes real student code takes. Its source marks, for each
bug operator that can exist in it, the line(s) the operator rewrites::

    # mutate batch-sum: pass
    grad /= n

(the line after the marker, or after a stack of markers, becomes the replacement, at its
indentation). :func:`mutated` writes a copy of a style with one operator applied.
:data:`OPERATORS` says what the grade must then say: the check that owns the bug fails with
that diagnosis. The cells that exist are the (style, operator) pairs with a marker.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "tests" / "fixtures" / "student"

STYLES = {
    "layer objects, (out, in) weights, pickled": ROOT / "submissions" / "alice",
    "one class, backprop fused with the update": STUDENT / "fused_update",
    "functions over a dict of weights": STUDENT / "dict_model",
    "script, own file loader, one hidden layer": STUDENT / "file_loader",
    "float32, softmax output, weight decay in the step": STUDENT / "softmax_decay",
    "list of arrays, script-style training": STUDENT / "list_script",
    "no biases (declared)": STUDENT / "no_biases",
    "three hidden layers, layer objects, momentum": STUDENT / "deep_momentum",
}

# operator: (the check that owns it, what it must say)
OPERATORS = {
    "batch-sum": ("gradient", "not averaged over the batch"),
    "no-onehot": ("gradient", "without subtracting one-hot(y)"),
    "derivative-missing": ("gradient", "the activation's derivative is missing"),
    "tanh-from-z": ("gradient", "computed from the pre-activation z"),
    "sigmoid-value": ("gradient", "the derivative is the activation's value"),
    "leaky-slope-missing": ("gradient", "the slope is missing"),
    "biases-zero": ("gradient", "the bias gradient is zero"),
    "l2-missing": ("gradient", "the L2 term is missing from this gradient"),
    "l2-other-convention": ("gradient", "uses the other convention than the loss"),
    "l2-over-batch": ("gradient", "the L2 gradient is divided by the batch size"),
    "l2-on-biases": ("gradient", "L2 is applied to the bias gradient"),
    "loss-summed": ("loss", "summed over the batch instead of averaged"),
    "loss-mean-all": ("loss", "also divided by the number of classes"),
    "loss-sign": ("loss", "without its minus sign"),
    "l2-penalty-over-batch": ("loss", "the L2 penalty is divided by the batch size"),
    "loss-no-penalty": ("loss", "add the matching penalty to the loss"),
    "step-sign": ("optimizer", "sign error"),
    "step-frozen-biases": ("optimizer", "b1"),
    "step-lr-ignored": ("optimizer", "ignores the lr it is given"),
    "no-decay": ("optimizer", "the learning rate does not decay"),
    "save-last": ("checkpoint", "not the best"),
}
MODEL_LEVEL = {op for op, (owner, _) in OPERATORS.items() if owner in ("gradient", "loss")}
FULL_GRADE = {"no-decay"}  # a quick grade's 3 epochs cannot show that a decay never comes

_MARKER = re.compile(r"^\s*# mutate ([\w-]+): (.*)$")


def operators_in(style: Path) -> set[str]:
    """The operators a style marks."""
    return {m.group(1) for path in style.rglob("*.py")
            for m in map(_MARKER.match, path.read_text().splitlines()) if m}


def mutated(style: Path, operator: str, into: Path) -> Path:
    """A copy of ``style`` in ``into`` with every line marked for ``operator`` rewritten."""
    out = into / f"{style.name}-{operator}"
    shutil.copytree(style, out, ignore=shutil.ignore_patterns("__pycache__"))
    applied = 0
    for path in out.rglob("*.py"):
        lines, result, pending = path.read_text().splitlines(), [], None
        for line in lines:
            m = _MARKER.match(line)
            if m:
                if m.group(1) == operator:
                    pending = m.group(2)
                result.append(line)
                continue
            if pending is not None:
                indent = line[:len(line) - len(line.lstrip())]
                result.append(indent + pending)
                pending, applied = None, applied + 1
            else:
                result.append(line)
        path.write_text("\n".join(result) + "\n")
    assert applied, f"{style.name} has no marker for {operator}"
    return out


MODEL_CHECKS_ONLY = ("training", "optimizer", "checkpoint", "search", "test", "accuracy")
WITH_TRAINING = ("search", "test", "accuracy")


def verdict(res: dict, operator: str | None) -> str | None:
    """What is wrong with a grade of a style with ``operator`` applied (None: a clean style),
    or None when the grade says what it must: a clean style passes every check that ran; a bug
    fails the check that owns it, with its diagnosis, and no other check of the model part."""
    ran = {c["name"]: c for c in res["checks"] if c["name"] != "policy"}
    if operator is None:
        failed = {n: c["message"] for n, c in ran.items() if not c["passed"]}
        return f"a clean style fails {failed}" if failed else None
    owner, says = OPERATORS[operator]
    if ran[owner]["passed"]:
        return f"{owner} passes: {ran[owner]['message']}"
    if says not in ran[owner]["message"]:
        return f"{owner} says {ran[owner]['message']!r}, not {says!r}"
    charged = [n for n in ("contract", "loss", "gradient") if n != owner and n in ran
               and not ran[n]["passed"]]
    if charged:
        return f"also charged by {charged}: {[ran[n]['message'] for n in charged]}"
    return None


def grade_cell(style: Path, operator: str | None, data_dir: Path, work: Path,
               rubric: str) -> str | None:
    """Grade one cell (quick, but full where a quick grade cannot see the bug); its
    :func:`verdict`."""
    from harness.grading.pipeline import grade
    sub = mutated(style, operator, work) if operator else style
    disabled = MODEL_CHECKS_ONLY if operator in MODEL_LEVEL else WITH_TRAINING
    res = grade(sub, data_dir=str(data_dir), rubric_path=rubric,
                quick=operator not in FULL_GRADE, report=False,
                out=work / f"out-{style.name}-{operator}", disabled_checks=disabled)
    return verdict(res, operator)


def main() -> None:
    """Grade the whole matrix on generated data and print it as a Markdown table."""
    import sys
    import tempfile
    sys.path.insert(0, str(ROOT / "tests"))
    from fakedata import write_fashion_mnist
    rubric = str(ROOT / "tests" / "fixtures" / "rubric_synthetic.toml")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_fashion_mnist(work / "data", n_train=2000, n_test=300)
        ops = list(OPERATORS)
        print("| style | clean | " + " | ".join(ops) + " |")
        print("|---" * (len(ops) + 2) + "|")
        right = total = 0
        for label, style in STYLES.items():
            marked = operators_in(style)
            cells = [grade_cell(style, None, data, work, rubric)]
            cells += [grade_cell(style, op, data, work, rubric) if op in marked else "n/a"
                      for op in ops]
            for c in cells:
                if c != "n/a":
                    total += 1
                    right += c is None
            print(f"| {label} | " + " | ".join("✓" if c is None else "–" if c == "n/a"
                                               else "✗" for c in cells) + " |", flush=True)
            for op, c in zip([None, *ops], cells):
                if c not in (None, "n/a"):
                    print(f"<!-- {style.name} {op}: {c} -->", file=sys.stderr)
        print(f"\n{right} of {total} cells right")


if __name__ == "__main__":
    main()
