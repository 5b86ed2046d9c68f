"""Fashion-MNIST load time: parsing the IDX files (cold cache) against the parsed-array cache.

Uses a throwaway cache directory, so the user's cache is neither used nor touched.

    python benchmarks/data_load.py [--data-dir D] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.data import load_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["HARNESS_CACHE"] = cache
        for _ in range(args.repeats):
            shutil.rmtree(Path(cache) / "parsed", ignore_errors=True)
            t = time.perf_counter()
            d = load_dataset("fashion-mnist", args.data_dir)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            load_dataset("fashion-mnist", args.data_dir)
            warm.append(time.perf_counter() - t)
    print(f"Fashion-MNIST from {d.source} ({d.verified})")
    print(f"parse + verify + write cache: median {statistics.median(cold):.3f} s")
    print(f"from the cache:               median {statistics.median(warm):.3f} s "
          f"({statistics.median(cold) / statistics.median(warm):.0f}x faster)")


if __name__ == "__main__":
    main()
