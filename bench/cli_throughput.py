"""End-to-end speed of the command line: ``lurelens scan DIR > /dev/null`` and ``lurelens scan
--json DIR > /dev/null`` on a corpus folder, start-up included, as a user runs it. Prints messages
per second of wall-clock time and of CPU time (the CPU figure is steadier on a shared machine).

    .venv/bin/python bench/cli_throughput.py                       # ../shared/corpus/phishing_pot
    .venv/bin/python bench/cli_throughput.py --dir PATH --repeat 3

Reads the corpus by path; nothing is copied.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS  # noqa: E402

LURELENS = Path(sys.executable).parent / "lurelens"


def run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one CLI run with output to /dev/null."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        code = subprocess.run([str(LURELENS), *args], stdout=null, stderr=null).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code not in (0, 1, 2):
        raise SystemExit(f"lurelens {' '.join(args)} exited {code}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=DEFAULT_CORPUS / "phishing_pot")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    if not a.dir.is_dir():
        raise SystemExit(f"{a.dir} is absent")
    n = sum(1 for p in a.dir.rglob("*.eml") if p.is_file())
    print(f"{a.dir}: {n} .eml files (every file of the folder is scanned)")
    print(f"{'mode':6} {'wall s':>8} {'msg/s':>8} {'CPU s':>8} {'msg/CPU-s':>10}")
    for mode, extra in (("text", []), ("json", ["--json"])):
        for _ in range(a.repeat):
            wall, cpu = run(["scan", "--no-summary", *extra, str(a.dir)])
            print(f"{mode:6} {wall:8.1f} {n / wall:8.0f} {cpu:8.1f} {n / cpu:10.0f}")


if __name__ == "__main__":
    main()
