"""The ``harness`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .data import DATASETS, DataError


def _run_reference(args: argparse.Namespace) -> int:
    from .run_reference import run

    summary = run(dataset=args.dataset, data_dir=args.data_dir, out=args.out, seed=args.seed,
                  do_search=args.search, epochs=args.epochs, max_seconds=args.max_seconds)
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
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
    except DataError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
