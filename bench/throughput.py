#!/usr/bin/env python3
"""Scan throughput per dev set, in one process: messages per second, CPU milliseconds per
message, and peak memory (RSS high-water mark of this process).

    .venv/bin/python bench/throughput.py                 # every set
    .venv/bin/python bench/throughput.py --set phishing_pot --repeat 3

Files are read into memory first, so the figures are the scanner's alone, not the disk's.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens import Scanner  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--repeat", type=int, default=1, help="scan each set this many times, keep the best run")
    a = ap.parse_args()
    scanner = Scanner()
    scanner.scan(b"From: warm@example.com\r\n\r\nwarm up the lazy data lists\r\n")
    print(f"{'set':14} {'messages':>8} {'msg/s':>8} {'CPU ms/msg':>10} {'wall ms/msg':>11} {'MB/s':>6}")
    for name, _kind, files in iter_sets(a.corpus, a.sets):
        datas = [f.read_bytes() for f in files]
        size = sum(map(len, datas))
        best_cpu = best_wall = float("inf")
        for _ in range(a.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            for d in datas:
                scanner.scan(d)
            best_cpu = min(best_cpu, time.process_time() - c0)
            best_wall = min(best_wall, time.perf_counter() - w0)
        n = len(datas)
        print(f"{name:14} {n:8d} {n / best_wall:8.0f} {best_cpu * 1000 / n:10.2f} {best_wall * 1000 / n:11.2f} "
              f"{size / best_wall / 1e6:6.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS high-water mark, whole run incl. loaded files): {peak:.0f} MB")


if __name__ == "__main__":
    main()
