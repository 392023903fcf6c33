#!/usr/bin/env python3
"""Render and defuse throughput per dev set: messages per second rendered in headless Chromium with
one reused browser (network locked, every request aborted), and messages per second defused in pure
Python (with the scan rate on the same messages for comparison).

    .venv/bin/python bench/render_throughput.py --limit 30
    .venv/bin/python bench/render_throughput.py --no-render            # defuse and scan only

Only messages with an HTML body are counted. Files are read into memory first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens import Scanner  # noqa: E402
from lurelens.render.merge import displayed_html  # noqa: E402
from lurelens.defuse import defuse  # noqa: E402


def _rate(fn, items, repeat: int) -> tuple[float, float]:
    """(messages per second by wall time, CPU ms per message), best of ``repeat`` runs."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        for it in items:
            fn(it)
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    n = max(len(items), 1)
    return n / wall if wall else float("inf"), cpu * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--limit", type=int, default=None, help="at most N messages with HTML per set")
    ap.add_argument("--repeat", type=int, default=3, help="defuse/scan repeats; the best run is kept")
    ap.add_argument("--timeout", type=float, default=10.0, help="render time limit per message (s)")
    ap.add_argument("--no-render", action="store_true")
    a = ap.parse_args()
    scanner = Scanner()
    renderer = None
    if not a.no_render:
        from lurelens.render.browser import BrowserRenderer

        t0 = time.perf_counter()
        renderer = BrowserRenderer().start()
        print(f"browser start: {time.perf_counter() - t0:.2f} s (once, reused for every message)")
    print(f"{'set':14} {'msgs':>5} {'render msg/s':>12} {'defuse msg/s':>12} {'defuse CPU ms':>13} "
          f"{'scan msg/s':>10} {'scan CPU ms':>11}")
    try:
        for name, _kind, files in iter_sets(a.corpus, a.sets):
            datas, pages = [], []
            for f in files:
                raw = f.read_bytes()
                html, cids = displayed_html(raw)
                if html:
                    datas.append(raw)
                    pages.append((html, cids))
                if a.limit is not None and len(datas) >= a.limit:
                    break
            if not datas:
                continue
            defuse(datas[0])
            scanner.scan(datas[0])
            d_rate, d_cpu = _rate(defuse, datas, a.repeat)
            s_rate, s_cpu = _rate(scanner.scan, datas, a.repeat)
            r_col = "-"
            if renderer is not None:
                r_rate, _ = _rate(lambda p: renderer.render(p[0], cid=p[1], timeout=a.timeout), pages, 1)
                r_col = f"{r_rate:.2f}"
            print(f"{name:14} {len(datas):5d} {r_col:>12} {d_rate:12.0f} {d_cpu:13.2f} {s_rate:10.0f} {s_cpu:11.2f}")
    finally:
        if renderer is not None:
            print(f"browser launches: {renderer.launch_count}")
            renderer.close()


if __name__ == "__main__":
    main()
