#!/usr/bin/env python3
"""Do two lurelens source trees give the same verdicts? Scans every dev-corpus message with each
tree (in its own interpreter, by PYTHONPATH) and compares the whole ``scan --json`` object of each
message except its timing. Speed work must print "0 differ" here before it is merged.

    .venv/bin/python bench/verdict_diff.py /work/main/src src                # every dev set
    .venv/bin/python bench/verdict_diff.py /work/main/src src --set phishing_pot --show 5

Exit status 0 when every message gives the same object, 1 otherwise (the first differences are
printed, field by field).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

CHILD = r"""
import json, sys
from lurelens import Scanner
s = Scanner()
for line in sys.stdin:
    path = line.rstrip("\n")
    with open(path, "rb") as f:
        d = s.scan(f.read()).to_dict()
    d.pop("elapsed_ms", None)
    sys.stdout.write(json.dumps(d, sort_keys=True, ensure_ascii=True) + "\n")
"""


def run_tree(src: str, files: list[Path]) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    out = subprocess.run([sys.executable, "-c", CHILD], input="".join(f"{p}\n" for p in files),
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        sys.exit(f"scanning with {src} failed:\n{out.stderr[-3000:]}")
    return [json.loads(x) for x in out.stdout.splitlines()]


def differences(a, b, path: str = "") -> list[str]:
    if type(a) is not type(b):
        return [f"{path}: {a!r:.200} -> {b!r:.200}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {'absent' if k not in a else repr(a[k])[:200]} -> "
                           f"{'absent' if k not in b else repr(b[k])[:200]}")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items -> {len(b)} items: {a!r:.300} -> {b!r:.300}"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r:.200} -> {b!r:.200}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="the src folder of the reference tree (e.g. /work/main/src)")
    ap.add_argument("new", help="the src folder of the changed tree")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", dest="sets", action="append", help="a dev set (repeatable; default all)")
    ap.add_argument("--show", type=int, default=10, help="messages whose differences are printed")
    args = ap.parse_args()
    total = differ = 0
    shown = 0
    for name, _kind, files in iter_sets(args.corpus, args.sets):
        old, new = run_tree(args.old, files), run_tree(args.new, files)
        n_diff = 0
        for path, a, b in zip(files, old, new):
            diffs = differences(a, b)
            if diffs:
                n_diff += 1
                if shown < args.show:
                    shown += 1
                    print(f"--- {path}")
                    for line in diffs[:8]:
                        print(f"    {line}")
        total += len(files)
        differ += n_diff
        print(f"{name:14} {len(files):5} messages, {n_diff} differ")
    print(f"all            {total:5} messages, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
