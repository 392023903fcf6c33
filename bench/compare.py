#!/usr/bin/env python3
"""CPU time per message of two lurelens source trees on the same files, interleaved in rounds so a
loaded machine slows both alike. Each tree is scanned in its own interpreter (PYTHONPATH).

    .venv/bin/python bench/compare.py /path/to/old/src src --set phishing_pot --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, SETS, message_files  # noqa: E402

CHILD = r"""
import json, sys, time
from lurelens import Scanner
files = json.loads(sys.stdin.read())
datas = [open(f, "rb").read() for f in files]
s = Scanner()
s.scan(datas[0])
c0 = time.process_time()
for d in datas:
    s.scan(d)
print(json.dumps({"cpu_ms": (time.process_time() - c0) * 1000 / len(datas)}))
"""


def run(src: str, files: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    p = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(files), capture_output=True, text=True,
                       env=env, check=True, cwd="/")
    return json.loads(p.stdout)["cpu_ms"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"{'set':14} {'messages':>8} {'old CPU ms/msg':>14} {'new CPU ms/msg':>14} {'change':>7}  (best of {a.rounds} rounds)")
    for name, folder, _kind in SETS:
        if a.sets and name not in a.sets:
            continue
        files = [str(f) for f in message_files(a.corpus, folder)]
        if not files:
            continue
        olds, news = [], []
        for _ in range(a.rounds):
            olds.append(run(a.old, files))
            news.append(run(a.new, files))
        old, new = min(olds), min(news)
        print(f"{name:14} {len(files):8} {old:14.2f} {new:14.2f} {100 * (new - old) / old:+6.1f}%")


if __name__ == "__main__":
    main()
