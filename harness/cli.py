"""The ``harness`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .data import DATASETS, DataError
from .grading.rubric import RubricError
from .isolation import IsolationError


def _run_reference(args: argparse.Namespace) -> int:
    from .run_reference import run

    summary = run(dataset=args.dataset, data_dir=args.data_dir, out=args.out, seed=args.seed,
                  do_search=args.search, epochs=args.epochs, max_seconds=args.max_seconds)
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
    return 0


def _limits(args: argparse.Namespace):
    from .isolation import Limits

    return Limits(hook_seconds=args.hook_timeout, train_seconds=args.train_timeout,
                  memory_mb=args.memory_mb, cpu_seconds=args.cpu_seconds,
                  processes=args.max_procs, file_mb=args.max_file_mb,
                  output_kb=args.max_output_kb, threads=args.threads)


def _grade(args: argparse.Namespace) -> int:
    from .batch import BatchOptions, is_batch, run_batch

    if is_batch(args.submission):
        opts = BatchOptions(dataset=args.dataset, data_dir=args.data_dir,
                            rubric_path=args.rubric, quick=args.quick, seed=args.seed,
                            extra_checks=tuple(args.check), limits=_limits(args),
                            isolation=args.isolation, report=not args.no_report,
                            gradescope=args.gradescope is not None)
        out = Path(args.out or "reports")
        rows = run_batch(args.submission, out, opts, jobs=args.jobs or os.cpu_count() or 1,
                         force=args.force, templates=tuple(Path(t) for t in args.template))
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
        print(f"{len(rows)} submissions graded; overview: {out / 'index.html'}; "
              f"gradebook: {out / 'grades.csv'}")
        return 0 if all(r.get("status") != "error" for r in rows) else 1
    return _grade_one(args, args.submission[0])


def _grade_one(args: argparse.Namespace, submission: str) -> int:
    """One submission, graded in a supervised child process so that ``results.json`` is
    written whatever the submission does to the process grading it."""
    from .batch import BatchOptions, grade_supervised
    from .data import load_dataset
    from .grading.pipeline import resolve_submission
    from .grading.results import summary_text
    from .grading.rubric import load_rubric

    load_rubric(args.rubric)  # a user's mistake is said here, with exit code 2
    load_dataset(args.dataset, args.data_dir)
    sub = resolve_submission(submission)
    where = Path(args.out) if args.out else Path("reports") / sub.name
    gradescope = args.gradescope
    if gradescope == "":
        gradescope = where / "gradescope" / "results.json"
    opts = BatchOptions(dataset=args.dataset, data_dir=args.data_dir, rubric_path=args.rubric,
                        quick=args.quick, seed=args.seed, extra_checks=tuple(args.check),
                        limits=_limits(args), isolation=args.isolation,
                        report=not args.no_report)
    res = grade_supervised(sub, where, opts, Path(gradescope) if gradescope else None)
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    elif res.get("status") == "error":
        print(f"{res['submission']}: could not be graded: {res['error']}")
    else:
        print(summary_text(res))
        print(f"results: {where / 'results.json'}" + ("" if args.no_report else
                                                       f"; report: {where / 'report.html'}"))
    if res.get("status") == "error":
        return 2
    return 0 if all(c["passed"] for c in res["checks"]) else 1


def _init(args: argparse.Namespace) -> int:
    import jinja2

    from .report import TEMPLATES

    target = Path(args.directory)
    plugin = target / "harness_plugin.py"
    if plugin.exists() and not args.force:
        print(f"harness: {plugin} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    target.mkdir(parents=True, exist_ok=True)
    template = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                  keep_trailing_newline=True).get_template("harness_plugin.py.j2")
    plugin.write_text(template.render(name=target.resolve().name, path=str(target)))
    print(f"wrote {plugin}: fill in the hooks, then run `harness grade {target} --quick`")
    return 0


def _data_get(args: argparse.Namespace) -> int:
    from .data.download import GETTERS

    dest = GETTERS[args.dataset](args.dest, args.url)
    print(f"{args.dataset}: verified files in {dest}")
    return 0


def _data_where(args: argparse.Namespace) -> int:
    from .data import load_dataset

    d = load_dataset(args.dataset, args.data_dir)
    print(f"{d.name}: {d.source} ({len(d.x_train)} train, {len(d.x_test)} test; "
          f"verified: {d.verified})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ref = sub.add_parser("run-reference", help="train and test the reference implementation")
    ref.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    ref.add_argument("--data-dir", help="directory holding the dataset files")
    ref.add_argument("--search", action="store_true",
                     help="search lr, hidden sizes and L2 first, then train the best")
    ref.add_argument("--out", default="reports/reference", help="output directory")
    ref.add_argument("--seed", type=int, default=0)
    ref.add_argument("--epochs", type=int, help="override the epoch budget")
    ref.add_argument("--max-seconds", type=float, help="override the wall-time budget")
    ref.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    ref.set_defaults(func=_run_reference)

    gr = sub.add_parser("grade", help="grade a submission, or a whole class")
    gr.add_argument("submission", nargs="+",
                    help="a submission directory ('reference' for the reference), a directory "
                         "of submission directories, or several paths (a batch)")
    gr.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    gr.add_argument("--data-dir", help="directory holding the dataset files")
    gr.add_argument("--rubric", help="rubric TOML (default: the one shipped with harness)")
    gr.add_argument("--out", help="output directory (default: reports/<submission name>)")
    gr.add_argument("--quick", action="store_true",
                    help="the fast self-check: model, loss, gradients, optimizer, a short "
                         "training and the checkpoint round trip")
    gr.add_argument("--seed", type=int, default=0)
    gr.add_argument("--json", action="store_true", help="print results.json on stdout")
    gr.add_argument("--gradescope", nargs="?", const="", default=None, metavar="PATH",
                    help="also write Gradescope's results.json (default PATH: "
                         "OUT/gradescope/results.json)")
    gr.add_argument("--check", action="append", default=[], metavar="MODULE",
                    help="an extra check plugin module (repeatable)")
    gr.add_argument("--no-report", action="store_true", help="skip the HTML report")
    batch = gr.add_argument_group("batch grading")
    batch.add_argument("--jobs", type=int, help="submissions graded in parallel "
                       "(default: the number of cores)")
    batch.add_argument("--force", action="store_true",
                       help="regrade submissions whose files, rubric and options are unchanged")
    batch.add_argument("--template", action="append", default=[], metavar="DIR",
                       help="starter code handed out to students, ignored by the similarity "
                            "report (repeatable)")
    lim = gr.add_argument_group("isolation and limits (per submission)")
    lim.add_argument("--isolation", choices=("auto", "bwrap", "subprocess"), default="auto",
                     help="auto: bubblewrap where it works, else a plain subprocess")
    lim.add_argument("--hook-timeout", type=float, default=60.0, metavar="S",
                     help="wall seconds for each hook call (default 60)")
    lim.add_argument("--train-timeout", type=float, metavar="S",
                     help="wall seconds for one training run (default: its budget x1.5 + 30)")
    lim.add_argument("--memory-mb", type=int, default=4096, help="address space (default 4096)")
    lim.add_argument("--cpu-seconds", type=int, default=1800, help="CPU time (default 1800)")
    lim.add_argument("--max-procs", type=int, default=256, help="processes (default 256)")
    lim.add_argument("--max-file-mb", type=int, default=512,
                     help="largest file, output log included (default 512)")
    lim.add_argument("--max-output-kb", type=int, default=16,
                     help="how much of the submission's output the results keep (default 16)")
    lim.add_argument("--threads", type=int, default=1,
                     help="BLAS threads per submission (default 1; fixed so that results do "
                          "not depend on the batch)")
    gr.set_defaults(func=_grade)

    init = sub.add_parser("init", help="write a commented plugin template into DIR")
    init.add_argument("directory")
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=_init)

    data = sub.add_parser("data", help="dataset utilities")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    get = data_sub.add_parser("get", help="download and verify the official files")
    get.add_argument("dataset", choices=DATASETS)
    get.add_argument("--dest", type=Path,
                     help="where to put them (default: the user cache, searched automatically)")
    get.add_argument("--url", help="a mirror: the directory URL holding the four .gz files "
                     "(fashion-mnist) or the tarball's URL (cifar10)")
    get.set_defaults(func=_data_get)
    where = data_sub.add_parser("where", help="say where a dataset is found, and verify it")
    where.add_argument("dataset", choices=DATASETS)
    where.add_argument("--data-dir", help="look only here")
    where.set_defaults(func=_data_where)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, RubricError, IsolationError) as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
