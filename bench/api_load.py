"""Load on the HTTP API: starts ``lurelens serve --workers 2`` on a loopback port and posts phishing
mail from ../shared/corpus/phishing_pot with N concurrent httpx clients (default 8).

Three phases: as fast as the clients go (throughput, p50/p99), paced at ``--rate`` scans/s (the
latency at the target rate), and an overload with ``--overload-clients`` clients (how many 503s,
server RSS before and after). Prints its figures; asserts nothing.

    .venv/bin/python bench/api_load.py [--clients 8] [--seconds 20] [--rate 150] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import DEFAULT_CORPUS, message_files


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def run_phase(url: str, messages: list[bytes], clients: int, seconds: float, rate: float | None) -> dict:
    """``clients`` concurrent clients for ``seconds``; with ``rate``, requests start on a fixed schedule
    (rate per second over all clients) and latency is measured from that scheduled start."""
    import httpx

    lat: list[float] = []
    codes: dict[int, int] = {}
    errors = 0
    t_start = time.perf_counter()
    t_end = t_start + seconds
    counter = {"i": 0}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        async def client() -> None:
            nonlocal errors
            while True:
                i = counter["i"]
                counter["i"] += 1
                if rate:
                    scheduled = t_start + i / rate
                    if scheduled >= t_end:
                        return
                    delay = scheduled - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    t0 = scheduled
                else:
                    t0 = time.perf_counter()
                    if t0 >= t_end:
                        return
                try:
                    r = await http.post("/v1/scan", content=messages[i % len(messages)],
                                        headers={"Content-Type": "message/rfc822"})
                    codes[r.status_code] = codes.get(r.status_code, 0) + 1
                    if r.status_code == 200:
                        lat.append(time.perf_counter() - t0)
                except httpx.HTTPError:
                    errors += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - t_start
    ok = codes.get(200, 0)
    return {"ok": ok, "codes": codes, "errors": errors, "elapsed": elapsed, "rate": ok / elapsed,
            "p50": pct(lat, 50) * 1000, "p99": pct(lat, 99) * 1000, "mean": (statistics.fmean(lat) * 1000 if lat else float("nan"))}


def show(name: str, r: dict) -> None:
    print(f"{name:26} {r['ok']:6d} ok in {r['elapsed']:5.1f} s = {r['rate']:6.1f} scans/s   "
          f"p50 {r['p50']:6.1f} ms  p99 {r['p99']:7.1f} ms  503: {r['codes'].get(503, 0):5d}  "
          f"other: {({k: v for k, v in r['codes'].items() if k not in (200, 503)} or '-')}  "
          f"transport errors: {r['errors']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=150, help="paced phase: scans per second over all clients")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overload-clients", type=int, default=64)
    ap.add_argument("--limit", type=int, default=500, help="messages from the corpus to cycle through")
    args = ap.parse_args()

    files = message_files(args.corpus, "phishing_pot")[: args.limit]
    if not files:
        print(f"no phishing_pot messages under {args.corpus}; nothing to measure")
        return 1
    messages = [f.read_bytes() for f in files]

    import os

    from lurelens.testing.server import ApiServer
    print(f"lurelens serve --workers {args.workers}; {len(messages)} phishing_pot messages "
          f"(mean {statistics.fmean(map(len, messages)) / 1024:.1f} KiB); {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f} at start (the client runs on the same machine)")
    with ApiServer(["--workers", str(args.workers)]) as srv:
        asyncio.run(run_phase(srv.url, messages, args.clients, 3, None))  # warm the connections and caches
        rss0 = srv.rss_kib()
        show(f"{args.clients} clients, flat out", asyncio.run(run_phase(srv.url, messages, args.clients, args.seconds, None)))
        show(f"paced at {args.rate:g}/s", asyncio.run(run_phase(srv.url, messages, args.clients, args.seconds, args.rate)))
        over = asyncio.run(run_phase(srv.url, messages, args.overload_clients, args.seconds / 2, None))
        show(f"overload, {args.overload_clients} clients", over)
        rss1 = srv.rss_kib()
        print(f"server RSS (all processes): {rss0 / 1024:.0f} MiB before, {rss1 / 1024:.0f} MiB after the overload; "
              f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
