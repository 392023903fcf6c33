#!/usr/bin/env python3
"""Scan throughput per dev set, in one process: messages per second, CPU milliseconds per
message, and peak memory (RSS high-water mark of this process).

    .venv/bin/python bench/throughput.py                 # every set
    .venv/bin/python bench/throughput.py --set phishing_pot --repeat 3
    .venv/bin/python bench/throughput.py --vs-rspamd ../shared/corpus/phishing_pot --limit 600

--vs-rspamd DIR scores the same files with rspamd (../shared/peers, started by its
start_peers.sh) and with lurelens in one run, alternating for --rounds rounds (default 3), and
prints CPU per message for both in each round and the median ratio.

Files are read into memory first, so the figures are the scanner's alone, not the disk's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import tempfile
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens import Scanner  # noqa: E402


PEERS = Path(__file__).resolve().parent.parent.parent / "shared" / "peers"


def _rspamd_cpu(sp_path: Path, root: Path, limit: int | None) -> tuple[dict | None, str]:
    """One scoring of the files by rspamd: (its run's meta, or None; what went wrong)."""
    with tempfile.TemporaryDirectory(prefix="lurelens-vs-rspamd-") as out:
        cmd = [sys.executable, str(sp_path), str(root), "--peers", "rspamd", "--set", "vs",
               "--out", out, "--quiet"] + (["--limit", str(limit)] if limit is not None else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        metas = [json.loads(p.read_text()) for p in Path(out).glob("*.meta.json")]
        meta = next((m for m in metas if m.get("peer") == "rspamd"), None)
        if proc.returncode != 0 or meta is None or not meta.get("peer_cpu_ms_per_msg"):
            return None, (proc.stderr or proc.stdout)[-800:]
        return meta, ""


def vs_rspamd(root: Path, limit: int | None, peers: Path, rounds: int = 3) -> int:
    """CPU per message of rspamd's workers and of this process on the same files, in alternating
    rounds (rspamd, lurelens, rspamd, ...), so a change of load on a shared machine slows both
    alike; each round's ratio is printed and the median is the figure."""
    spec = importlib.util.spec_from_file_location("score_peers", peers / "score_peers.py")
    if spec is None or spec.loader is None or not (peers / "score_peers.py").is_file():
        print(f"no {peers / 'score_peers.py'}: set --peers", file=sys.stderr)
        return 2
    sp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sp)
    # The peers' own file selection, so both scanners see exactly the same messages.
    files = [root / rel for rel in sp.list_messages(str(root), "*.eml", limit)]
    if not files:
        print(f"no messages under {root}", file=sys.stderr)
        return 2
    datas = [f.read_bytes() for f in files]
    scanner = Scanner().warm()
    scanner.scan(datas[0])
    print(f"{len(datas)} messages from {root}, {rounds} alternating rounds")
    ratios = []
    version = "?"
    for r in range(1, rounds + 1):
        meta, problem = _rspamd_cpu(peers / "score_peers.py", root, limit)
        if meta is None:
            print("rspamd did not score the files (is it running? sudo ../shared/peers/start_peers.sh "
                  "--status):\n" + problem, file=sys.stderr)
            return 1
        version = meta.get("peer_version", "?")
        c0, w0 = time.process_time(), time.perf_counter()
        for d in datas:
            scanner.scan(d)
        cpu = (time.process_time() - c0) * 1000 / len(datas)
        wall = (time.perf_counter() - w0) * 1000 / len(datas)
        r_cpu = float(meta["peer_cpu_ms_per_msg"])
        ratios.append(cpu / r_cpu)
        print(f"round {r}: rspamd {version} {r_cpu:.2f} ms CPU/msg (its worker processes; "
              f"{meta.get('errors', 0)} errors, flagged {meta.get('flagged')}); lurelens {cpu:.2f} ms CPU/msg "
              f"in one process ({wall:.2f} ms wall/msg); ratio {cpu / r_cpu:.2f}")
    print(f"ratio lurelens / rspamd: {statistics.median(ratios):.2f} (median of {rounds}; "
          f"range {min(ratios):.2f}-{max(ratios):.2f})")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--repeat", type=int, default=1, help="scan each set this many times, keep the best run")
    ap.add_argument("--vs-rspamd", type=Path, metavar="DIR", help="CPU per message beside rspamd on DIR's files")
    ap.add_argument("--limit", type=int, default=None, help="with --vs-rspamd: the first N files (sorted)")
    ap.add_argument("--peers", type=Path, default=PEERS, help="the peers folder (score_peers.py)")
    ap.add_argument("--rounds", type=int, default=3, help="with --vs-rspamd: alternating rounds (median ratio)")
    a = ap.parse_args()
    if a.vs_rspamd:
        sys.exit(vs_rspamd(a.vs_rspamd, a.limit, a.peers, max(1, a.rounds)))
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
