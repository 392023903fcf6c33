#!/usr/bin/env python3
"""Reading speed and memory of the archive readers (lurelens.sources), without scanning: messages per
second and peak memory (RSS high-water mark of a fresh process) to read every message of an mbox
(plain, partitioned by byte ranges), the same mbox gzipped (streamed), a Maildir and a directory of
.eml files, at two sizes, so that memory independent of archive size shows as equal peaks.

    .venv/bin/python bench/sources.py                      # 10,000 and 100,000 messages
    .venv/bin/python bench/sources.py --sizes 2000 20000   # quicker

Messages are sampled with replacement from ../shared/corpus when present (synthetic otherwise), written
to a temporary directory, and read back in a child process per measurement.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS  # noqa: E402


def samples(corpus: Path, n: int = 2000) -> list[bytes]:
    files = sorted(p for p in corpus.rglob("*.eml") if p.is_file())[:20000] if corpus.is_dir() else []
    rng = random.Random(1)
    if files:
        return [f.read_bytes().replace(b"\r\n", b"\n") for f in rng.sample(files, min(n, len(files)))]
    return [(f"From: s{i}@example.com\nTo: r@example.org\nSubject: message {i}\n\n" + "body line\n" * 200).encode()
            for i in range(n)]


def build(root: Path, pool: list[bytes], n: int) -> dict[str, Path]:
    rng = random.Random(n)
    picks = [rng.choice(pool) for _ in range(n)]
    mbox = root / "archive.mbox"
    with open(mbox, "wb") as fh:
        for m in picks:
            body = b"\n".join((b">" + ln) if ln.startswith(b"From ") else ln for ln in m.split(b"\n"))
            fh.write(b"From bench@example.com Mon Jan  1 00:00:00 2024\n" + body.rstrip(b"\n") + b"\n\n")
    gz = root / "archive.mbox.gz"
    with open(mbox, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    md = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    d = root / "dir"
    for i, m in enumerate(picks):
        (md / "cur" / f"{1700000000 + i}.M{i}P1.bench:2,S").write_bytes(m)
        (d / f"{i // 1000:04d}").mkdir(parents=True, exist_ok=True)
        (d / f"{i // 1000:04d}" / f"{i:07d}.eml").write_bytes(m)
    return {"mbox": mbox, "mbox.gz": gz, "Maildir": md, "directory": d}


CHILD = """
import json, resource, sys, time
from lurelens.sources import open_source
t0, c0 = time.perf_counter(), time.process_time()
n = errors = size = 0
for part in open_source(sys.argv[1]).partitions(1000):
    for it in part.read():
        n += 1
        errors += it.error is not None
        size += len(it.data or b"")
print(json.dumps({"n": n, "errors": errors, "bytes": size, "wall": time.perf_counter() - t0,
                  "cpu": time.process_time() - c0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    a = ap.parse_args()
    pool = samples(a.corpus)
    print(f"{'source':10} {'messages':>9} {'MB':>7} {'msg/s':>8} {'MB/s':>7} {'CPU us/msg':>10} {'peak RSS MB':>11}")
    for n in a.sizes:
        root = Path(tempfile.mkdtemp(prefix="lurelens-bench-sources-"))
        try:
            paths = build(root, pool, n)
            for kind, path in paths.items():
                out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, check=True, text=True)
                r = json.loads(out.stdout)
                print(f"{kind:10} {r['n']:>9} {r['bytes'] / 1e6:>7.0f} {r['n'] / r['wall']:>8.0f} "
                      f"{r['bytes'] / 1e6 / r['wall']:>7.1f} {r['cpu'] / r['n'] * 1e6:>10.0f} {r['rss_mb']:>11.0f}"
                      + (f"  ({r['errors']} errors)" if r["errors"] else ""), flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; figures are indicative on a shared machine)")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t:.0f}s")
