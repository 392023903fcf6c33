#!/usr/bin/env python3
"""``lurelens hunt`` throughput: messages per second, CPU per message and peak memory, for archives
built by sampling the dev corpus with replacement in a mailbox-like mix (about four fifths
legitimate mail, one fifth phishing and spam), for -j 1, -j 2 and Dask with two local workers, into
SQLite and PostgreSQL.

    .venv/bin/python bench/hunt.py                                  # 10,000 and 100,000 messages, every mode
    .venv/bin/python bench/hunt.py --size 10000 --mode j1 --mode j2 --db sqlite
    .venv/bin/python bench/hunt.py --size 10000 --mode dask --db postgresql

Each run is a fresh ``lurelens hunt ARCHIVE.mbox --db ... --json`` subprocess into an empty store.
msg/s is messages read over the command's whole wall time (start-up, worker warm-up, planning and
the last write included). CPU/msg adds the driver's own CPU (planning, receiving rows, writing)
and the workers' CPU, both from the hunt's --json summary, and is split into the time inside
``Scanner.scan`` ("scan") and everything around it ("hunt": reading and splitting the archive,
sha256, building and pickling rows in the workers, plus the driver's CPU); "driver" is the
driver's part of that. "warm s" is the CPU the workers spent building their Scanner inside a task
(Dask workers build it on their first task; the local pool's workers before theirs, uncounted),
left out of the per-message figures. "busy" is the share of the command's wall time the workers
spent inside tasks (1.00: never idle; start-up, waiting for work and the tail are the rest). "1st s" is the wall time until the first partition was stored (start-up:
indexing the archive, starting and warming the workers, the first partition's scan). Peak RSS is sampled every
0.1 s over the driver, all its descendants and the Dask workers: the largest single process, and
the largest total at one instant.
The archives are kept under --workdir and reused when present (building 100,000 takes a while).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, message_files  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LEGIT = ["spamassassin/easy_ham", "spamassassin/hard_ham", "mailinglists/usrp-users", "newsletters/unspy"]
BAD = ["phishing_pot", "spamassassin/spam"]
_FROM_LINE = re.compile(rb"(?m)^(>*From )")


def build_archive(corpus: Path, n: int, path: Path, bad_share: float = 0.2, seed: int = 1) -> None:
    """An mboxrd file of ``n`` messages drawn with replacement: legitimate sets pooled, bad ones pooled."""
    legit = [f for d in LEGIT for f in message_files(corpus, d)]
    bad = [f for d in BAD for f in message_files(corpus, d)]
    if not legit or not bad:
        sys.exit(f"corpus not found at {corpus} (needs {LEGIT + BAD})")
    rng = random.Random(seed)
    cache: dict[Path, bytes] = {}
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as out:
        for _ in range(n):
            f = rng.choice(bad if rng.random() < bad_share else legit)
            data = cache.get(f)
            if data is None:
                data = cache[f] = _FROM_LINE.sub(rb">\1", f.read_bytes().replace(b"\r\n", b"\n")).rstrip(b"\n") + b"\n"
            out.write(b"From bench@example.invalid Thu Jan  1 00:00:00 2026\n")
            out.write(data)
            out.write(b"\n")
    tmp.rename(path)


class PeakRSS:
    """Samples the RSS of a process tree (plus extra pids) until stopped."""

    def __init__(self, pid: int, extra: list[int] | None = None):
        import psutil

        self.psutil, self.root, self.extra = psutil, psutil.Process(pid), extra or []
        self.single = self.total = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _procs(self):
        procs = [self.root]
        try:
            procs += self.root.children(recursive=True)
        except self.psutil.Error:
            pass
        for pid in self.extra:
            try:
                p = self.psutil.Process(pid)
                procs += [p, *p.children(recursive=True)]
            except self.psutil.Error:
                pass
        return procs

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in self._procs():
                try:
                    rss = p.memory_info().rss
                except self.psutil.Error:
                    continue
                total += rss
                self.single = max(self.single, rss)
            self.total = max(self.total, total)
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def run_one(archive: Path, db: str, mode: str, dask=None, partition_size: int = 1000) -> dict:
    args = [sys.executable, "-m", "lurelens.adapters.cli", "hunt", str(archive), "--db", db, "--json",
            "--partition-size", str(partition_size)]
    args += ["--dask", dask.address] if mode == "dask" else ["-j", mode[1:]]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO))
    peak = PeakRSS(proc.pid, dask.pids() if dask else None)
    _, status, _usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    peak.stop()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"hunt failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    s = json.loads(out)
    n = s["items_read"]
    driver_cpu_note = s["driver_cpu_s"]
    per = 1000 / max(n, 1)
    return {"messages": n, "stored": s["stored"], "wall_s": wall, "msg_s": n / wall,
            "cpu_ms_msg": (driver_cpu_note + s["worker_cpu_s"]) * per,
            "scan_ms_msg": s["scan_cpu_s"] * per,
            "hunt_ms_msg": (driver_cpu_note + s["worker_cpu_s"] - s["scan_cpu_s"]) * per,
            "driver_cpu_ms_msg": driver_cpu_note * per, "first_s": s["first_result_s"] or 0.0,
            "warm_s": s.get("warm_cpu_s", 0.0),
            "busy": s.get("worker_busy_s", 0.0) / (wall * (2 if mode in ("j2", "dask") else 1)),
            "peak_single_mb": peak.single / 2**20, "peak_total_mb": peak.total / 2**20, "verdicts": s["verdicts"]}


def _ratios(results: dict[tuple[int, str, str], list[dict]], sizes: list[int], dbs: list[str]) -> None:
    """The targets' ratios from this run: -j 2 over -j 1 (target >= 1.8), Dask over -j 2 (>= 0.75),
    and peak memory of the largest archive over the smallest (target <= 1.10). With several rounds,
    each round's ratio (its modes ran one after the other, under the same load) and their median."""
    def ratio(name: str, a: list[dict], b: list[dict], target: str) -> None:
        rs = [x["msg_s"] / y["msg_s"] for x, y in zip(a, b)]
        each = f" (rounds: {', '.join(f'{r:.2f}' for r in rs)})" if len(rs) > 1 else ""
        print(f"{name} = {statistics.median(rs):.2f}x{each} (target {target})")

    for n in sizes:
        for db in dbs:
            j1, j2, dk = (results.get((n, m, db)) for m in ("j1", "j2", "dask"))
            if j1 and j2:
                ratio(f"{n} {db}: -j 2 / -j 1", j2, j1, ">= 1.8")
            if j2 and dk:
                ratio(f"{n} {db}: dask / -j 2", dk, j2, ">= 0.75")
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        for (n, mode, db), rs in sorted(results.items()):
            small = results.get((lo, mode, db))
            if n == hi and small:
                big_total, big_single = max(r["peak_total_mb"] for r in rs), max(r["peak_single_mb"] for r in rs)
                lo_total, lo_single = max(r["peak_total_mb"] for r in small), max(r["peak_single_mb"] for r in small)
                print(f"peak memory {hi} / {lo} ({mode}, {db}): {big_total / lo_total:.2f} "
                      f"all processes, {big_single / lo_single:.2f} largest process (target <= 1.10)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--size", type=int, action="append", help="messages per archive (repeatable; default 10000 and 100000)")
    ap.add_argument("--mode", action="append", choices=["j1", "j2", "dask"], help="repeatable; default all")
    ap.add_argument("--db", action="append", choices=["sqlite", "postgresql"], help="repeatable; default both")
    ap.add_argument("--workdir", type=Path, default=REPO / ".bench-hunt", help="archives and SQLite files")
    ap.add_argument("--partition-size", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every mode this many times, the modes one after the other in each round, and give "
                         "each round's ratios and their median (load from other work slows a round's modes alike)")
    a = ap.parse_args()
    sizes, modes, dbs = a.size or [10_000, 100_000], a.mode or ["j1", "j2", "dask"], a.db or ["sqlite", "postgresql"]
    a.workdir.mkdir(parents=True, exist_ok=True)
    pg = dask = None
    try:
        if "postgresql" in dbs:
            from lurelens.testing.services import TempPostgres

            pg = TempPostgres().start()
        if "dask" in modes:
            from lurelens.testing.services import TempDask

            dask = TempDask(2, logdir=str(a.workdir / "dask")).start()
        print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC: {' '.join(sys.argv)}")
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'messages':>9} {'mode':5} {'db':10} {'msg/s':>7} {'wall s':>7} {'1st s':>6} {'CPU ms/msg':>10} "
              f"{'scan':>6} {'hunt':>6} {'driver':>6} {'warm s':>6} {'busy':>5} {'peak proc MB':>12} {'peak all MB':>11} {'load':>5}")
        results: dict[tuple[int, str, str], dict] = {}
        for n in sizes:
            archive = a.workdir / f"mix-{n}.mbox"
            if not archive.exists():
                t = time.perf_counter()
                build_archive(a.corpus, n, archive)
                print(f"(built {archive} in {time.perf_counter() - t:.0f} s, {archive.stat().st_size / 2**20:.0f} MB)")
            for mode in [m for _ in range(max(1, a.rounds)) for m in modes]:
                for dbkind in dbs:
                    if dbkind == "sqlite":
                        path = a.workdir / f"bench-{n}-{mode}.db"
                        for p in a.workdir.glob(path.name + "*"):
                            p.unlink()
                        db = str(path)
                    else:
                        db = pg.new_db()
                    r = run_one(archive, db, mode, dask if mode == "dask" else None, a.partition_size)
                    results.setdefault((n, mode, dbkind), []).append(r)
                    print(f"{r['messages']:9d} {mode:5} {dbkind:10} {r['msg_s']:7.0f} {r['wall_s']:7.1f} "
                          f"{r['first_s']:6.1f} {r['cpu_ms_msg']:10.2f} {r['scan_ms_msg']:6.2f} {r['hunt_ms_msg']:6.2f} "
                          f"{r['driver_cpu_ms_msg']:6.2f} {r['warm_s']:6.1f} {r['busy']:5.2f} {r['peak_single_mb']:12.0f} {r['peak_total_mb']:11.0f} "
                          f"{os.getloadavg()[0]:5.1f}", flush=True)
        print(f"load average at end: {os.getloadavg()[0]:.1f} ({time.strftime('%H:%M', time.gmtime())} UTC)")
        _ratios(results, sizes, dbs)
    finally:
        if dask:
            dask.stop()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
