#!/usr/bin/env python3
"""Where a hunt's CPU goes around the scan, phase by phase, in one process: reading and splitting
the mbox, sha256, ``Scanner.scan``, building the row (verdict JSON, clustering values), pickling
the partition's rows (worker side) and unpickling them (driver side), and the store's write.

    .venv/bin/python bench/hunt_phases.py ARCHIVE.mbox [--db PATH] [--limit N]

In a hunt whose workers write their own rows (as many workers as cores) there is no pickle or
unpickle step, and "write" is on the workers' clock; with a core to spare (or Dask) the driver
unpickles and writes, as timed here.

ARCHIVE is any mbox, e.g. one bench/hunt.py built (.bench-hunt/mix-10000.mbox). Figures are CPU
milliseconds per message (``time.process_time``), one pass, so the first reads include the page
cache being filled; ``lurelens hunt --json`` gives the same split (scan against the rest) for a
real run with its processes.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import tempfile
import time
from pathlib import Path

from lurelens.adapters.hunt import _scanner
from lurelens.settings import ScannerSettings
from lurelens.sources import open_source
from lurelens.store import Store
from lurelens.store.rows import message_row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("archive")
    ap.add_argument("--db", help="SQLite file or PostgreSQL URL (default: a temporary SQLite file)")
    ap.add_argument("--limit", type=int, default=2000, help="messages to time (default 2000)")
    a = ap.parse_args()
    scanner = _scanner(ScannerSettings())
    tmp = tempfile.TemporaryDirectory()
    store = Store(a.db or str(Path(tmp.name) / "phases.db")).migrate()
    run = store.begin_run([a.archive], {})
    phases = dict.fromkeys(("read", "sha256", "scan", "row", "pickle", "unpickle", "write"), 0.0)
    clock, n = time.process_time, 0
    for part in open_source(a.archive).partitions(1000):
        rows: list[dict] = []
        items = part.read()
        while n < a.limit:
            t = clock()
            item = next(items, None)
            phases["read"] += clock() - t
            if item is None:
                break
            if item.data is None:
                continue
            n += 1
            t = clock()
            sha = hashlib.sha256(item.data).hexdigest()
            phases["sha256"] += clock() - t
            t = clock()
            verdict = scanner.scan(item.data, file=item.locator)
            phases["scan"] += clock() - t
            t = clock()
            rows.append(message_row(item.source, item.locator, sha, len(item.data), verdict))
            phases["row"] += clock() - t
        t = clock()
        packed = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
        phases["pickle"] += clock() - t
        t = clock()
        rows = pickle.loads(packed)
        phases["unpickle"] += clock() - t
        t = clock()
        store.write(rows, run_id=run, partition=(part.source, part.key, part.fingerprint))
        phases["write"] += clock() - t
        if n >= a.limit:
            break
    store.close()
    print(f"{n} messages of {a.archive}; CPU ms per message:")
    for name, s in phases.items():
        print(f"  {name:9} {s * 1000 / max(n, 1):7.3f}")
    around = sum(phases.values()) - phases["scan"]
    print(f"  {'scan':9} {phases['scan'] * 1000 / max(n, 1):7.3f}   around the scan {around * 1000 / max(n, 1):.3f}")


if __name__ == "__main__":
    main()
