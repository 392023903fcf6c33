"""Load on the HTTP API: starts ``lurelens serve --workers 2`` on a loopback port and posts phishing
mail from ../shared/corpus/phishing_pot.

Three phases, each printing throughput, p50/p99/max latency, the status codes and the server's CPU
time per request (from /proc, all its processes):

* closed loop: ``--clients`` connections, each sending its next request when the last is answered
  (the maximum throughput);
* open loop: requests start on a fixed schedule of ``--rate`` per second whatever the server does
  (each request its own task, connections from a pool), latency measured from the scheduled start,
  so queueing anywhere (client pool, server) counts: the latency a mail flow at that rate would see;
* overload: ``--overload-clients`` connections flat out (how many 503s, RSS before and after).

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams, so that on a small machine
the load generator takes little of the CPU the server needs (``--client httpx`` for httpx).
Prints its figures; asserts nothing.

    .venv/bin/python bench/api_load.py [--clients 8] [--seconds 20] [--rate 150] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import DEFAULT_CORPUS, message_files  # noqa: E402 - after the path insert

CLK = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


class RawConnection:
    """One keep-alive HTTP/1.1 connection: POST a body, read status and Content-Length body."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: message/rfc822\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            self.writer.write(head + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionError("closed")
            status = int(status_line.split()[1])
            length, close = 0, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await self.reader.readexactly(length)
            if close:
                self.close()
            return status
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class HttpxConnection:
    def __init__(self, http) -> None:
        self.http = http

    async def post(self, path: str, body: bytes) -> int:
        r = await self.http.post(path, content=body, headers={"Content-Type": "message/rfc822"})
        return r.status_code

    def close(self) -> None:
        pass


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK


async def run_phase(url: str, messages: list[bytes], conns: int, seconds: float, rate: float | None,
                    client: str) -> dict:
    """``conns`` connections for ``seconds``. Without ``rate``: closed loop (each connection sends when
    answered). With ``rate``: open loop, a request scheduled every 1/rate s, each taking a free
    connection (waiting for one counts in its latency)."""
    u = urlsplit(url)
    http = None
    if client == "httpx":
        import httpx

        http = httpx.AsyncClient(base_url=url, timeout=60,
                                 limits=httpx.Limits(max_connections=conns, max_keepalive_connections=conns))
        pool = [HttpxConnection(http) for _ in range(conns)]
    else:
        pool = [RawConnection(u.hostname, u.port) for _ in range(conns)]
    free: asyncio.Queue = asyncio.Queue()
    for c in pool:
        free.put_nowait(c)
    lat: list[float] = []
    codes: dict[int, int] = {}
    errors = 0
    t_start = time.perf_counter()
    t_end = t_start + seconds

    async def one(i: int, t0: float) -> None:
        nonlocal errors
        conn = await free.get()
        try:
            code = await conn.post("/v1/scan", messages[i % len(messages)])
            codes[code] = codes.get(code, 0) + 1
            if code == 200:
                lat.append(time.perf_counter() - t0)
        except Exception:  # noqa: BLE001 - counted
            errors += 1
        finally:
            free.put_nowait(conn)

    if rate:
        tasks = []
        i = 0
        while True:
            scheduled = t_start + i / rate
            if scheduled >= t_end:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
            i += 1
        await asyncio.gather(*tasks)
    else:
        counter = iter(range(10**9))

        async def loop() -> None:
            while (t0 := time.perf_counter()) < t_end:
                await one(next(counter), t0)

        await asyncio.gather(*(loop() for _ in range(conns)))
    elapsed = time.perf_counter() - t_start
    for c in pool:
        c.close()
    if http is not None:
        await http.aclose()
    ok = codes.get(200, 0)
    return {"ok": ok, "codes": codes, "errors": errors, "elapsed": elapsed, "rate": ok / elapsed,
            "p50": pct(lat, 50) * 1000, "p90": pct(lat, 90) * 1000, "p99": pct(lat, 99) * 1000,
            "max": max(lat) * 1000 if lat else float("nan"),
            "mean": (statistics.fmean(lat) * 1000 if lat else float("nan"))}


def measured(srv, fn) -> dict:
    """Run a phase, adding the server's and this client's CPU per answered request."""
    s0, c0 = cpu_seconds(srv.pids()), time.process_time()
    r = fn()
    s1, c1 = cpu_seconds(srv.pids()), time.process_time()
    n = max(1, sum(r["codes"].values()))
    r["server_cpu_ms"] = (s1 - s0) / n * 1000
    r["client_cpu_ms"] = (c1 - c0) / n * 1000
    return r


def show(name: str, r: dict) -> None:
    other = {k: v for k, v in r["codes"].items() if k not in (200, 503)}
    print(f"{name:24} {r['ok']:6d} ok in {r['elapsed']:5.1f} s = {r['rate']:6.1f} scans/s  "
          f"p50 {r['p50']:6.1f}  p90 {r['p90']:6.1f}  p99 {r['p99']:6.1f}  max {r['max']:7.1f} ms  "
          f"503: {r['codes'].get(503, 0)}  other: {other or '-'}  errors: {r['errors']}  "
          f"CPU/request: server {r['server_cpu_ms']:.2f} ms, client {r['client_cpu_ms']:.2f} ms", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--clients", type=int, default=8, help="closed loop: connections")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=150, help="open loop: requests per second")
    ap.add_argument("--pool", type=int, default=32, help="open loop: connections the requests share")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overload-clients", type=int, default=64)
    ap.add_argument("--limit", type=int, default=500, help="messages from the corpus to cycle through")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw")
    ap.add_argument("--phases", default="closed,open,overload", help="comma-separated: closed, open, overload")
    ap.add_argument("--server-arg", action="append", default=[], help="extra argument for lurelens serve (repeatable)")
    args = ap.parse_args()

    files = message_files(args.corpus, "phishing_pot")[: args.limit]
    if not files:
        print(f"no phishing_pot messages under {args.corpus}; nothing to measure")
        return 1
    messages = [f.read_bytes() for f in files]
    phases = set(args.phases.split(","))

    from lurelens.testing.server import ApiServer
    print(f"lurelens serve --workers {args.workers} {' '.join(args.server_arg)}; {len(messages)} phishing_pot messages "
          f"(mean {statistics.fmean(map(len, messages)) / 1024:.1f} KiB); {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f} at start; {args.client} client on the same machine", flush=True)
    with ApiServer(["--workers", str(args.workers), *args.server_arg]) as srv:
        asyncio.run(run_phase(srv.url, messages, args.clients, 3, None, args.client))  # warm connections and caches
        rss0 = srv.rss_kib()
        if "closed" in phases:
            show(f"closed, {args.clients} conns", measured(srv, lambda: asyncio.run(
                run_phase(srv.url, messages, args.clients, args.seconds, None, args.client))))
        if "open" in phases:
            show(f"open loop at {args.rate:g}/s", measured(srv, lambda: asyncio.run(
                run_phase(srv.url, messages, args.pool, args.seconds, args.rate, args.client))))
        if "overload" in phases:
            show(f"overload, {args.overload_clients} conns", measured(srv, lambda: asyncio.run(
                run_phase(srv.url, messages, args.overload_clients, args.seconds / 2, None, args.client))))
        rss1 = srv.rss_kib()
        print(f"server RSS (all processes): {rss0 / 1024:.0f} MiB before, {rss1 / 1024:.0f} MiB after; "
              f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
