#!/usr/bin/env python3
"""Where ``Scanner.scan`` spends its CPU: a sampling profile (the standard library's CPU timer
signal, no extra tool) of scanning the same files several times in one process, printed as a
table of stages (each sample is charged to the innermost stage on its stack, so the rows add up
to 100%), then the functions with the most samples of their own and in all.

    .venv/bin/python bench/profile_scan.py                                  # phishing_pot, first 600
    .venv/bin/python bench/profile_scan.py --set easy_ham --set usrp-users
    .venv/bin/python bench/profile_scan.py --dir ../shared/corpus/phishing_pot --limit 300 --repeat 5

A deterministic profiler (cProfile) multiplies the cost of small Python functions several times
and so points at the wrong places; a sampler at 1 kHz of CPU time barely slows the scan.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets, message_files  # noqa: E402

from lurelens import Scanner  # noqa: E402

# (file name ending, function qualname) -> stage; a sample goes to the innermost stage on its stack.
STAGES: list[tuple[str, str, str]] = [
    ("lurelens/scanner.py", "Scanner.scan", "scan (rest)"),
    ("lurelens/parse/mime.py", "parse_message", "parse: MIME tree and headers"),
    ("email/parser.py", "BytesParser.parsebytes", "parse: stdlib email parser"),
    ("lurelens/parse/mime.py", "_walk", "parse: parts, decoding, hashes"),
    ("lurelens/parse/author.py", "read_author", "parse: author readings"),
    ("lurelens/parse/html.py", "inventory", "parse: HTML inventory"),
    ("lurelens/parse/css.py", "parse_sheet", "parse: style sheets"),
    ("lurelens/parse/css.py", "_parse_simple", "parse: style sheets"),
    ("lurelens/parse/css.py", "_parse_tokens", "parse: style sheets"),
    ("lurelens/parse/enrich.py", "enrich", "enrich: trackers, redirects"),
    ("lurelens/parse/features.py", "compute_features", "enrich: cluster features"),
    ("lurelens/scoring/engine.py", "score", "scoring"),
    ("lurelens/scoring/explain.py", "explain", "reasons"),
    ("lurelens/parse/leaks.py", "open_leaks", "open leaks"),
]


def _stage_of(stack: tuple, cache: dict) -> str:
    for code in stack:  # innermost first
        st = cache.get(code)
        if st is None:
            st = ""
            for suffix, qualname, stage in STAGES:
                if code.co_qualname == qualname and code.co_filename.endswith(suffix):
                    st = stage
            if code.co_name == "run" and "/lurelens/checks/" in code.co_filename:
                st = "check: " + code.co_filename.rsplit("/", 1)[-1][:-3]
            cache[code] = st
        if st:
            return st
    return "outside scan"


def _label(code) -> str:
    path = code.co_filename
    short = path.split("/site-packages/")[-1].split("/src/")[-1].split("/lib/python3")[-1]
    return f"{code.co_qualname} ({short}:{code.co_firstlineno})"


def profile(datas: list[bytes], repeat: int, hz: int) -> tuple[Counter, float]:
    samples: Counter = Counter()

    def on_tick(_sig, frame):
        stack = []
        while frame is not None:
            stack.append(frame.f_code)
            frame = frame.f_back
        samples[tuple(stack)] += 1

    scanner = Scanner().warm()
    for d in datas[:20]:
        scanner.scan(d)
    old = signal.signal(signal.SIGPROF, on_tick)
    signal.setitimer(signal.ITIMER_PROF, 1 / hz, 1 / hz)
    c0 = time.process_time()
    try:
        for _ in range(repeat):
            for d in datas:
                scanner.scan(d)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, old)
    cpu_ms = (time.process_time() - c0) * 1000 / (len(datas) * repeat)
    return samples, cpu_ms


def report(samples: Counter, cpu_ms: float, top: int) -> None:
    total = sum(samples.values()) or 1
    cache: dict = {}
    stages: Counter = Counter()
    own: Counter = Counter()
    incl: Counter = Counter()
    for stack, n in samples.items():
        stages[_stage_of(stack, cache)] += n
        own[_label(stack[0])] += n
        for code in set(stack):
            incl[_label(code)] += n
    print(f"{cpu_ms:.2f} ms CPU per message (profiler on); {total} samples")
    print(f"\n{'stage (innermost on the stack)':40} {'share':>6} {'ms/msg':>7}")
    for st, n in stages.most_common():
        print(f"{st:40} {n / total:6.1%} {cpu_ms * n / total:7.3f}")
    print(f"\nfunctions by own samples (top {top})")
    for name, n in own.most_common(top):
        print(f"{n / total:6.1%}  {name}")
    print(f"\nfunctions by samples in all (top {top})")
    for name, n in incl.most_common(top + 5)[5:]:  # the first few are the loop and scan itself
        print(f"{n / total:6.1%}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets", help="a dev set (repeatable; default phishing_pot)")
    ap.add_argument("--dir", type=Path, help="scan the *.eml files under this folder instead")
    ap.add_argument("--limit", type=int, default=600, help="the first N files (sorted) of each set")
    ap.add_argument("--repeat", type=int, default=3, help="scan the files this many times")
    ap.add_argument("--hz", type=int, default=1000, help="samples per second of CPU time")
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    if a.dir:
        files = message_files(a.dir, ".")[: a.limit]
    else:
        files = [f for _n, _k, fs in iter_sets(a.corpus, a.sets or ["phishing_pot"]) for f in fs[: a.limit]]
    if not files:
        sys.exit("no messages found")
    datas = [f.read_bytes() for f in files]
    print(f"{len(datas)} messages, {sum(map(len, datas)) / len(datas) / 1024:.1f} KiB on average, scanned {a.repeat} times")
    samples, cpu_ms = profile(datas, a.repeat, a.hz)
    report(samples, cpu_ms, a.top)


if __name__ == "__main__":
    main()
