#!/usr/bin/env python3
"""CPU per message of each check and of scoring, on messages parsed beforehand: the checks' own
share of ``Scanner.scan`` without the parse around it. Each check runs once over every message
(cold caches, as in a scan), in the engine's order.

    .venv/bin/python bench/check_costs.py                          # phishing_pot, first 600
    .venv/bin/python bench/check_costs.py --set easy_ham --limit 0  # a whole set
    PYTHONPATH=/path/to/other/src .venv/bin/python bench/check_costs.py   # another tree
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens import Scanner  # noqa: E402
from lurelens.scoring import score  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--limit", type=int, default=600, help="messages per set (0: all)")
    a = ap.parse_args()
    for name, _kind, files in iter_sets(a.corpus, a.sets or ["phishing_pot"]):
        files = files[: a.limit] if a.limit else files
        scanner = Scanner().warm()
        msgs = [scanner.parse(p.read_bytes()) for p in files]
        costs: dict[str, float] = {}
        findings: list[list] = [[] for _ in msgs]
        for check in scanner.checks:
            c0 = time.process_time()
            for i, m in enumerate(msgs):
                findings[i].extend(check.run(m, scanner.context))
            costs[f"check: {check.name}"] = time.process_time() - c0
        c0 = time.process_time()
        for f in findings:
            score(f, scanner.scoring, scanner.descriptions)
        costs["scoring"] = time.process_time() - c0
        total = sum(costs.values())
        print(f"{name}: {len(msgs)} messages (lurelens from {Path(sys.modules['lurelens'].__file__).parent})")
        for k, v in sorted(costs.items(), key=lambda kv: -kv[1]):
            print(f"  {k:24} {v * 1000 / len(msgs):7.3f} ms/msg")
        print(f"  {'all checks + scoring':24} {total * 1000 / len(msgs):7.3f} ms/msg")


if __name__ == "__main__":
    main()
