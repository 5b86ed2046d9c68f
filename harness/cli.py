"""The ``harness`` command line.

Exit codes, the same for one submission and for a batch: 0 every check passed, 1 some check
failed, 2 something could not be graded or the command was used wrongly (the message says
which), 130 interrupted (Ctrl-C), 143 stopped (SIGTERM: ``kill``, ``timeout``, a scheduler's
time limit); interrupted or stopped, it stops the grades under way and removes their files.
``--json`` prints exactly one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from . import __version__, blas
from .batch.errors import ClusterUnavailable
from .checks import CheckSetError
from .data import DATASETS, DataError
from .files import Busy, default_out, exclusive
from .grading.rubric import RubricError
from .present.gradebook import FORMATS
from .present.progress import say
from .sandbox.isolation import IsolationError

EXAMPLES = """examples:
  harness grade . --quick                      check your own work before submitting
  harness grade submissions/ --jobs 4          grade a class: reports/, index.html, grades.csv
  harness grade submissions/ --cluster local:2 the same batch on a Dask cluster
  harness report reports/                      render the reports and overview again
  harness gradescope build -o autograder.zip   a Gradescope autograder
  harness run-reference                        train and test the model answer
"""


class UsageError(Exception):
    """A mistake in how the command was called: said in one line, exit code 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {value}")
    return value


def _limit(field: str, kind=_positive_int):
    """A limit's argument type: positive, and at most the limit's hard cap."""
    def parse(text: str):
        from .sandbox.isolation import HARD_CAPS

        value = kind(text)
        if value > HARD_CAPS[field]:
            raise argparse.ArgumentTypeError(f"at most {HARD_CAPS[field]:g}, got {value:g}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    return text


def _existing_file(text: str) -> str:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return text


def _exit_code(rows: list[dict]) -> int:
    if any(r.get("status") == "error" for r in rows):
        return 2
    return 0 if all(c["passed"] for r in rows for c in r.get("checks", [])) else 1


def _print_json(doc) -> None:
    print(json.dumps(doc, indent=2, default=str))


def _run_reference(args: argparse.Namespace) -> int:
    from .run_reference import run

    out = Path(args.out) if args.out else default_out("run-reference", args.dataset)
    summary = run(dataset=args.dataset, data_dir=args.data_dir, out=out, seed=args.seed,
                  do_search=args.search, epochs=args.epochs, max_seconds=args.max_seconds,
                  threads=args.threads)
    if args.json:
        _print_json({k: v for k, v in summary.items() if k != "history"})
    return 0


def _limits(args: argparse.Namespace):
    from .sandbox.isolation import Limits

    return Limits(hook_seconds=args.hook_timeout, train_seconds=args.train_timeout,
                  grade_seconds=args.grade_timeout, memory_mb=args.memory_mb,
                  cpu_seconds=args.cpu_seconds, processes=args.max_procs,
                  file_mb=args.max_file_mb, disk_mb=args.max_disk_mb, files=args.max_files,
                  output_kb=args.max_output_kb,
                  threads=args.threads or blas.GRADING_THREADS)


def _options(args: argparse.Namespace, batch: bool):
    from .batch.local import BatchOptions
    from .data import find_dataset
    from .grading.pipeline import load_grading_checks
    from .grading.rubric import load_rubric

    # A user's mistake is said here, once, before anything is graded.
    rubric = load_rubric(args.rubric)
    load_grading_checks(rubric, tuple(args.check), tuple(args.no_check), args.quick)
    find_dataset(args.dataset, args.data_dir)
    limits = _limits(args)
    if args.cluster is None:  # a cluster's workers have their own BLAS (results.json says)
        say(f"harness: BLAS {blas.describe(limits.threads)} per submission")
    return BatchOptions(dataset=args.dataset, data_dir=args.data_dir, rubric_path=args.rubric,
                        quick=args.quick, seed=args.seed, extra_checks=tuple(args.check),
                        disabled_checks=tuple(args.no_check), limits=limits,
                        isolation=args.isolation, trusted=args.trust_submissions,
                        permute=not args.no_permute,
                        report=not args.no_report,
                        gradescope=batch and args.gradescope is not None,
                        progress=not batch)


def _grade(args: argparse.Namespace) -> int:
    from .batch.local import discover, is_batch
    from .grading.pipeline import resolve_submission

    for path in args.submission:
        found = resolve_submission(path)
        if not found.exists():
            raise UsageError(f"{path}: no such submission directory")
        if not found.is_dir():
            raise UsageError(f"{path} is a file: give the submission's directory (the one "
                             f"holding harness_plugin.py), such as {found.parent}")
    if is_batch(args.submission) and not discover(args.submission):
        raise UsageError(f"no submissions found in {', '.join(args.submission)}")
    if args.cluster is None and not is_batch(args.submission):
        return _grade_one(args, args.submission[0])
    opts = _options(args, batch=True)
    out = Path(args.out) if args.out else default_out("batch")
    templates = tuple(Path(t) for t in args.template)
    with exclusive(out):
        if args.cluster is not None:
            from .batch.cluster import run_on_cluster

            rows = run_on_cluster(args.submission, out, opts, args.cluster, force=args.force,
                                  templates=templates, csv_format=args.csv_format)
        else:
            from .batch.local import run_batch

            rows = run_batch(args.submission, out, opts,
                             jobs=args.jobs or os.cpu_count() or 1, force=args.force,
                             templates=templates, csv_format=args.csv_format)
    if args.json:
        _print_json({"output": str(out), "overview": str(out / "index.html"),
                     "gradebook": str(out / "grades.csv"), "submissions": rows})
    else:
        print(f"{len(rows)} submissions graded; overview: {out / 'index.html'}; "
              f"gradebook: {out / 'grades.csv'}")
    return _exit_code(rows)


def _grade_one(args: argparse.Namespace, submission: str) -> int:
    """One submission, graded in a supervised child process so that ``results.json`` is
    written whatever the submission does to the process grading it."""
    from .batch.local import grade_supervised
    from .grading.pipeline import resolve_submission
    from .present.inert import for_terminal
    from .present.summary import summary_text

    opts = _options(args, batch=False)
    sub = resolve_submission(submission)
    where = Path(args.out) if args.out else default_out("grade", sub.name)
    gradescope = args.gradescope
    if gradescope == "":
        gradescope = where / "gradescope" / "results.json"
    with exclusive(where):
        res = grade_supervised(sub, where, opts, Path(gradescope) if gradescope else None)
    if args.json:
        _print_json(res)
    elif res.get("status") == "error":
        print(for_terminal(f"{res['submission']}: could not be graded: {res['error']}"))
    else:
        print(summary_text(res))
        print(f"results: {where / 'results.json'}" + ("" if args.no_report else
                                                       f"; report: {where / 'report.html'}"))
    return _exit_code([res])


def _report(args: argparse.Namespace) -> int:
    from .batch.rerender import NothingToRender, rerender
    from .present.gradebook import RosterError, read_canvas_roster

    if args.roster and args.csv_format != "canvas":
        raise UsageError("--roster is a Canvas gradebook export: use it with --csv-format canvas")
    try:
        roster = read_canvas_roster(Path(args.roster)) if args.roster else None
        written, unmatched = rerender(Path(args.directory),
                                      tuple(Path(t) for t in args.template), args.csv_format,
                                      roster, args.assignment)
    except (NothingToRender, RosterError) as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    if unmatched:
        print(f"not in {args.roster}, so left out of grades-canvas.csv (grades.csv has them): "
              + ", ".join(unmatched), file=sys.stderr)
    return 0


def _checks(args: argparse.Namespace) -> int:
    from .checks import load_checks
    from .grading.rubric import load_rubric

    rubric = load_rubric(args.rubric)
    rows = [{"name": c.name, "points": rubric.points.get(c.name, 0.0),
             "part": rubric.parts.get(c.name, c.part), "quick": c.quick,
             "needs": [k.__name__ for k in c.needs],
             "produces": [k.__name__ for k in c.produces], "origin": c.origin,
             "title": c.title} for c in load_checks(tuple(args.check))]
    if args.json:
        _print_json(rows)
        return 0
    head = f"{'check':<11} {'points':>6}  {'part':<7} {'quick':<5}  {'needs':<28} " \
           f"{'produces':<20} origin"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['name']:<11} {r['points']:>6g}  {r['part']:<7} "
              f"{'yes' if r['quick'] else 'no':<5}  {', '.join(r['needs']) or '-':<28} "
              f"{', '.join(r['produces']) or '-':<20} {r['origin']}")
    print(f"\nin the order they run; points from the rubric {rubric.source}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from .present.templates import environment

    target = Path(args.directory)
    plugin = target / "harness_plugin.py"
    if plugin.exists() and not args.force:
        raise UsageError(f"{plugin} exists; use --force to overwrite it")
    target.mkdir(parents=True, exist_ok=True)
    template = environment(html=False).get_template("harness_plugin.py.j2")
    plugin.write_text(template.render(name=target.resolve().name, path=str(target)))
    print(f"wrote {plugin}: fill in the hooks, then run `harness grade {target} --quick`")
    return 0


def _gradescope_build(args: argparse.Namespace) -> int:
    from .gradescope.build import build
    from .grading.pipeline import load_grading_checks
    from .grading.rubric import load_rubric

    # The configuration is checked exactly as `harness grade` checks it: a mistake found here
    # would otherwise be a zero with a RubricError for every student.
    load_grading_checks(load_rubric(args.rubric), quick=args.quick)
    out = Path(args.output) if args.output else default_out("gradescope")
    size = build(out, rubric=args.rubric, dataset=args.dataset, quick=args.quick)
    print(f"wrote {out} ({size / 1024:.0f} KiB): upload it as the autograder of a Gradescope "
          "programming assignment (Ubuntu 22.04 base image)")
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


def _add_grade_parser(sub) -> None:
    gr = sub.add_parser("grade", help="grade a submission, or a whole class",
                        description="Grade a submission, or a whole class. " + __doc__.split(
                            "\n\n", 1)[1], epilog=EXAMPLES,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    gr.add_argument("submission", nargs="+",
                    help="a submission directory ('reference' for the reference), a directory "
                         "of submission directories, or several paths (a batch)")
    gr.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    gr.add_argument("--data-dir", type=_existing_dir, help="directory holding the dataset files")
    gr.add_argument("--rubric", type=_existing_file,
                    help="rubric TOML (default: the one shipped with harness)")
    gr.add_argument("--out", help="output directory (default: reports/NAME for one "
                    "submission, reports/ for a batch)")
    gr.add_argument("--quick", action="store_true",
                    help="the fast self-check: model, loss, gradients, optimizer, a short "
                         "training and the checkpoint round trip")
    gr.add_argument("--seed", type=int, default=0)
    gr.add_argument("--json", action="store_true",
                    help="print the results as one JSON document on stdout")
    gr.add_argument("--gradescope", nargs="?", const="", default=None, metavar="PATH",
                    help="also write Gradescope's results.json (default PATH: "
                         "OUT/gradescope/results.json)")
    gr.add_argument("--check", action="append", default=[], metavar="MODULE",
                    help="an extra check plugin module (repeatable)")
    gr.add_argument("--no-check", action="append", default=[], metavar="NAME",
                    help="leave a check out; its points are not graded (repeatable)")
    gr.add_argument("--no-report", action="store_true", help="skip the HTML report")
    batch = gr.add_argument_group("batch grading")
    batch.add_argument("--jobs", type=_positive_int, help="submissions graded in parallel "
                       "(default: the number of cores)")
    batch.add_argument("--cluster", metavar="ADDRESS",
                       help="grade on a Dask cluster: a scheduler address (tcp://host:8786) "
                            "or local[:N] for a LocalCluster of N workers (needs the "
                            "'cluster' extra: pip install 'harness[cluster]')")
    batch.add_argument("--csv-format", choices=FORMATS, default="harness",
                       help="grades.csv columns: harness (all parts), canvas or moodle "
                            "(their gradebook import formats)")
    batch.add_argument("--force", action="store_true",
                       help="regrade submissions whose files, rubric and options are unchanged")
    batch.add_argument("--template", action="append", default=[], metavar="DIR",
                       help="starter code handed out to students, ignored by the similarity "
                            "report (repeatable)")
    gr.add_argument("--no-permute", action="store_true",
                    help="grade on the data as published, not the secret permuted view "
                         "(pixels and class ids shuffled per grade, which makes weights "
                         "brought in from outside worth chance): for debugging; results.json "
                         "records it")
    lim = gr.add_argument_group("isolation and limits (per submission)")
    lim.add_argument("--isolation", choices=("auto", "bwrap", "subprocess"), default="auto",
                     help="auto: bubblewrap where it works, else (one submission only) a "
                          "plain subprocess")
    lim.add_argument("--trust-submissions", action="store_true",
                     help="let a batch run with --isolation subprocess: without a sandbox any "
                          "submission can read the test labels and change other grades; for "
                          "code you trust only")
    lim.add_argument("--hook-timeout", type=_limit("hook_seconds", _positive_float),
                     default=60.0, metavar="S", help="wall seconds for each hook call "
                     "(default 60)")
    lim.add_argument("--train-timeout", type=_limit("train_seconds", _positive_float),
                     metavar="S", help="wall seconds for one training run (default: the "
                     "budget's work at a fixed slow rate, 300 to 1800; the same on every "
                     "machine)")
    lim.add_argument("--grade-timeout", type=_limit("grade_seconds", _positive_float),
                     default=3600.0, metavar="S",
                     help="wall seconds for a whole grade (default 3600)")
    lim.add_argument("--memory-mb", type=_limit("memory_mb"), default=4096,
                     help="memory of all the submission's processes together, and each one's "
                          "address space (default 4096)")
    lim.add_argument("--cpu-seconds", type=_limit("cpu_seconds"), default=1800,
                     help="CPU time of each process (default 1800)")
    lim.add_argument("--max-procs", type=_limit("processes"), default=256,
                     help="processes and threads at once (default 256)")
    lim.add_argument("--max-file-mb", type=_limit("file_mb"), default=512,
                     help="largest file, and all output printed (default 512)")
    lim.add_argument("--max-disk-mb", type=_limit("disk_mb"), default=2048,
                     help="disk used in the work directory, all files together (default 2048)")
    lim.add_argument("--max-files", type=_limit("files"), default=10_000,
                     help="files and directories in the work directory (default 10000)")
    lim.add_argument("--max-output-kb", type=_limit("output_kb"), default=16,
                     help="how much of the submission's output the results keep (default 16)")
    lim.add_argument("--threads", type=_limit("threads"),
                     help="BLAS threads per submission (default 1, fixed so that a grade is "
                          "the same alone or in a batch; printed, and kept in results.json)")
    gr.set_defaults(func=_grade)


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error under ``--json`` also prints one JSON document
    (``{"error", "exit_code"}``) on stdout, so that a script reading stdout learns why."""

    json_errors = False

    def error(self, message: str):
        if _Parser.json_errors:
            _print_json({"error": f"{self.prog}: {message}", "exit_code": 2})
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=__doc__, epilog=EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_grade_parser(sub)

    rep = sub.add_parser("report", help="render reports again from results.json, no regrading")
    rep.add_argument("directory", type=_existing_dir,
                     help="one grade's directory (report.html) or a batch's (every report, "
                          "index.html and grades.csv)")
    rep.add_argument("--template", action="append", default=[], metavar="DIR",
                     help="starter code ignored by the similarity report (repeatable)")
    rep.add_argument("--csv-format", choices=FORMATS, default="harness",
                     help="also a platform's import file beside grades.csv (a batch): canvas "
                          "or moodle")
    rep.add_argument("--roster", type=_existing_file, metavar="CSV",
                     help="the course's Canvas gradebook export: each submission matched to "
                          "its student (Canvas ID in the folder name, SIS login, or name)")
    rep.add_argument("--assignment", default="harness", metavar="TITLE",
                     help="the grade column's title in the platform file (for Canvas, an "
                          "existing assignment's column as the export spells it, e.g. "
                          "'HW1 (12345)', updates that assignment)")
    rep.set_defaults(func=_report)

    chk = sub.add_parser("checks", help="list the checks: points, what they need and produce")
    chk.add_argument("--rubric", type=_existing_file)
    chk.add_argument("--check", action="append", default=[], metavar="MODULE")
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=_checks)

    ref = sub.add_parser("run-reference", help="train and test the reference implementation")
    ref.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    ref.add_argument("--data-dir", type=_existing_dir, help="directory holding the dataset files")
    ref.add_argument("--search", action="store_true",
                     help="search lr, hidden sizes and L2 first, then train the best")
    ref.add_argument("--out", help="output directory (default: runs/reference-DATASET)")
    ref.add_argument("--seed", type=int, default=0)
    ref.add_argument("--epochs", type=_positive_int, help="override the epoch budget")
    ref.add_argument("--max-seconds", type=_positive_float,
                     help="stop before an epoch that would pass this many seconds (default: "
                          "no cap; the budget is epochs); said plainly when it fires")
    ref.add_argument("--threads", type=_positive_int,
                     help="BLAS threads (default: every core); printed with the BLAS kernels")
    ref.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    ref.set_defaults(func=_run_reference)

    init = sub.add_parser("init", help="write a commented plugin template into DIR")
    init.add_argument("directory")
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=_init)

    gs = sub.add_parser("gradescope", help="Gradescope autograder")
    gs_sub = gs.add_subparsers(dest="gradescope_command", required=True, metavar="COMMAND")
    gsb = gs_sub.add_parser("build", help="write the autograder zip")
    gsb.add_argument("-o", "--output", help="the zip to write (default: autograder.zip)")
    gsb.add_argument("--rubric", type=_existing_file, help="rubric TOML to grade with")
    gsb.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    gsb.add_argument("--quick", action="store_true",
                     help="grade with the quick checks only (a fast pre-submission check)")
    gsb.set_defaults(func=_gradescope_build)

    data = sub.add_parser("data", help="dataset utilities")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    get = data_sub.add_parser("get", help="download and verify the official files")
    get.add_argument("dataset", choices=DATASETS)
    get.add_argument("--dest", type=Path,
                     help="where to put them (default: the user cache, searched automatically)")
    get.add_argument("--url", help="a mirror: the directory URL holding the four .gz files "
                     "(fashion-mnist) or the tarball's URL (cifar10)")
    get.set_defaults(func=_data_get)
    where = data_sub.add_parser("where", help="say where a dataset is found, and verify it")
    where.add_argument("dataset", choices=DATASETS)
    where.add_argument("--data-dir", type=_existing_dir, help="look only here")
    where.set_defaults(func=_data_where)
    return parser


class Stopped(KeyboardInterrupt):
    """SIGTERM arrived: stop as on Ctrl-C."""


def _stop(*_) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: let the cleanup finish
    raise Stopped


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_errors = "--json" in argv
    args = build_parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()  # where handlers can be set
    on_term = signal.signal(signal.SIGTERM, _stop) if in_main else None
    try:
        return args.func(args)
    except (UsageError, DataError, RubricError, IsolationError, CheckSetError,
            ClusterUnavailable, Busy) as exc:
        print(f"harness: {exc}", file=sys.stderr)
        if getattr(args, "json", False):
            _print_json({"error": f"harness: {exc}", "exit_code": 2})
        return 2
    except Stopped:
        print("harness: stopped (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `harness checks --json | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, on_term)
