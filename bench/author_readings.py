#!/usr/bin/env python3
"""What reading the author several ways (parse/author.py) costs per message, and how often the
slow path (every parser, not the plain-mailbox shortcut) runs, per dev set.

    .venv/bin/python bench/author_readings.py [--set easy_ham ...] [--repeat 3]

Reads ../shared/corpus by path (or $LURELENS_CORPUS); prints its figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens.parse.author import read_author  # noqa: E402
from lurelens.parse.mime import parse_message  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for name, _kind, files in iter_sets(args.corpus, args.sets):
        inputs = []
        for f in files:
            raw = f.read_bytes()
            msg = parse_message(raw)
            inputs.append((raw, msg.headers, msg.auth.get("results", {})))
        best = float("inf")
        slow = 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            slow = 0
            for raw, headers, results in inputs:
                a = read_author(raw, headers, results)
                slow += not a.readings or a.readings[0].note != "plain mailbox"
            best = min(best, time.perf_counter() - t0)
        print(f"{name:14} n={len(inputs):5}  {best / len(inputs) * 1e6:7.1f} us/message  full readings on {slow / len(inputs):6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
