#!/usr/bin/env python3
"""What a fresh process pays before its first verdict: import, ``Scanner()``, ``warm()``, the first
scan and a steady scan, with and without ``warm()``, and the pickled size of a warmed Scanner.
Each variant runs in its own interpreter so nothing is already loaded.

    .venv/bin/python bench/warm.py            # 3 runs of each variant, the best kept
    .venv/bin/python bench/warm.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, pickle, resource, sys, time
t0 = time.perf_counter()
from lurelens import Scanner
t1 = time.perf_counter()
s = Scanner()
t2 = time.perf_counter()
if sys.argv[1] == "warm":
    s.warm()
t3 = time.perf_counter()
raw = open(sys.argv[2], "rb").read()
s.scan(raw)
t4 = time.perf_counter()
s.scan(raw)
t5 = time.perf_counter()
out = {"import": t1 - t0, "init": t2 - t1, "warm": t3 - t2, "first": t4 - t3, "steady": t5 - t4,
       "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if sys.argv[1] == "warm":
    out["pickle_mb"] = len(pickle.dumps(s)) / 1e6
    t6 = time.perf_counter(); pickle.loads(pickle.dumps(s)); out["pickle_rt"] = time.perf_counter() - t6
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--message", type=Path, default=ROOT / "examples" / "apt31-style-lure.eml")
    a = ap.parse_args()
    print(f"message: {a.message.name}; best of {a.runs} fresh processes; milliseconds")
    print(f"{'variant':8} {'import':>7} {'Scanner()':>9} {'warm()':>7} {'1st scan':>8} {'2nd scan':>8} {'RSS MB':>7}"
          f" {'pickle MB':>9} {'pickle round trip':>17}")
    for variant in ("cold", "warm"):
        runs = []
        for _ in range(a.runs):
            p = subprocess.run([sys.executable, "-c", CHILD, variant, str(a.message)], capture_output=True,
                               text=True, check=True)
            runs.append(json.loads(p.stdout))
        best = {k: min(r[k] for r in runs) for k in runs[0]}
        ms = {k: v * 1000 for k, v in best.items() if k not in ("rss_mb", "pickle_mb")}
        extra = (f" {best['pickle_mb']:9.1f} {ms['pickle_rt']:17.0f}" if "pickle_mb" in best else "")
        print(f"{variant:8} {ms['import']:7.0f} {ms['init']:9.0f} {ms['warm']:7.0f} {ms['first']:8.1f}"
              f" {ms['steady']:8.1f} {best['rss_mb']:7.0f}{extra}")


if __name__ == "__main__":
    main()
