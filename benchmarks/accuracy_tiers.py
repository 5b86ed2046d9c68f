"""What correct and buggy submissions reach under the full grade, to set a dataset's accuracy tiers.

Grades, as one batch through the command line (``harness grade DIR --jobs J``): the reference,
the corpus's student styles as they are, three of them with bugs applied by machine
(:mod:`tests.corpus`) one at a time, and every style with three at once. Prints, for each, the
test accuracy of the saved model, the search check's best trial and the share of accuracy
points the rubric's tiers give it, sorted by accuracy: the tiers should separate the clean
submissions from the buggy ones. Needs the real data (``--data-dir``); a CIFAR-10 rebuilt from
JPEGs gives figures close to, not equal to, the official files'.

    python benchmarks/accuracy_tiers.py --dataset cifar10 --data-dir D [--jobs 2] [--rubric R]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from corpus import STYLES, mutated, operators_in  # noqa: E402

# bugs that can change what training reaches (gradient, step, schedule, checkpoint)
SINGLE = ("batch-sum", "derivative-missing", "biases-zero", "l2-missing", "no-decay",
          "save-last")
TRIPLES = (("l2-missing", "biases-zero", "save-last"),
           ("derivative-missing", "no-decay", "save-last"))
SINGLE_STYLES = {"alice", "dict_model", "deep_momentum"}  # one bug at a time: three shapes
NEEDS_OWN_FILES = {"file_loader"}  # reads Fashion-MNIST's IDX files itself


def cells(work: Path) -> dict[str, Path]:
    """Submission directories to grade, named ``style`` or ``style+bug+bug``."""
    out = {"reference": ROOT / "reference"}
    for style in STYLES.values():
        if style.name in NEEDS_OWN_FILES:
            continue
        out[style.name] = style
        marked = operators_in(style)
        for op in SINGLE if style.name in SINGLE_STYLES else ():
            if op in marked:
                out[f"{style.name}+{op}"] = mutated(style, op, work / "single")
        for ops in TRIPLES:
            if set(ops) <= marked:
                sub = style
                for i, op in enumerate(ops):
                    sub = mutated(sub, op, work / f"triple{i}")
                out[f"{style.name}+{'+'.join(ops)}"] = sub
    batch = work / "batch"
    batch.mkdir()
    for name, path in out.items():
        shutil.copytree(path, batch / name, ignore=shutil.ignore_patterns("__pycache__"))
    return {name: batch / name for name in out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rubric")
    ap.add_argument("--keep", help="write the batch's reports here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subs = cells(work)
        out = Path(args.keep) if args.keep else work / "reports"
        cmd = [sys.executable, "-m", "harness", "grade", str(work / "batch"), "--dataset",
               args.dataset, "--data-dir", args.data_dir, "--jobs", str(args.jobs),
               "--out", str(out), "--no-report"]
        if args.rubric:
            cmd += ["--rubric", args.rubric]
        started = time.time()
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
        print(f"{len(subs)} submissions graded in {time.time() - started:.0f} s "
              f"(load {os.getloadavg()[0]:.1f}), dataset {args.dataset}\n")
        rows = []
        for name in subs:
            path = out / name / "results.json"
            if not path.is_file():
                rows.append((name, None, None, None, "no results"))
                continue
            res = json.loads(path.read_text())
            checks = {c["name"]: c for c in res["checks"]}
            acc = checks.get("accuracy", {})
            share = acc["score"] / acc["max_score"] if acc.get("max_score") else None
            search = (res.get("search") or {}).get("best") or {}
            rows.append((name, res.get("test_accuracy"), search.get("val_acc"), share,
                         f"{res['score']:g}/{res['max_score']:g}"))
        print(f"{'submission':58} {'test acc':>8} {'search':>7} {'tier':>5}  score")
        for name, acc, val, share, score in sorted(rows, key=lambda r: -(r[1] or 0)):
            f = (lambda v, fmt: format(v, fmt) if v is not None else "-")
            print(f"{name:58} {f(acc, '8.4f')} {f(val, '7.4f')} {f(share, '5.2f')}  {score}")


if __name__ == "__main__":
    main()
