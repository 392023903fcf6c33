"""Messages per second end to end through a real Postfix and ``lurelens milter``: smtplib clients ->
Postfix smtpd (milter) -> queue -> smtp -> smtp-sink, until every accepted message is delivered
(or held, for the quarantined ones). Needs root and Debian's postfix (scripts/install-postfix.sh).

    sudo .venv/bin/python bench/milter_load.py --messages 1000 --clients 8 --workers 2
    sudo .venv/bin/python bench/milter_load.py --no-milter      # Postfix alone, for comparison
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, message_files

from lurelens.testing.builder import MessageBuilder
from lurelens.testing.postfix import (
    Load,
    MilterProcess,
    PostfixInstance,
    SmtpSink,
    delivered,
    free_port,
    instance_dir,
    postfix_problem,
)

CORPUS_SETS = ("phishing_pot", "spamassassin/hard_ham", "newsletters/unspy")


def corpus_messages(corpus: Path, per_set: int) -> list[bytes]:
    out: list[bytes] = []
    for folder in CORPUS_SETS:
        for p in message_files(corpus, folder)[:per_set]:
            raw = p.read_bytes()
            if len(raw) < 5 * 1024 * 1024:
                out.append(raw)
    return out


def builtin_messages() -> list[bytes]:
    lure = (Path(__file__).resolve().parent.parent / "examples" / "apt31-style-lure.eml").read_bytes()
    news = (MessageBuilder().subject("This week").html('<p>Hi <a href="https://example.com/a">read</a></p>'
                                                       '<img src="https://t.example.net/o.gif" width=1 height=1>').build())
    plain = MessageBuilder().subject("Lunch").text("Noon?\n").build()
    return [plain, news, lure, news]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8, help="concurrent SMTP clients")
    ap.add_argument("--workers", type=int, default=2, help="milter scanner processes")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="mix phishing_pot, hard_ham and unspy from here")
    ap.add_argument("--per-set", type=int, default=100, help="messages taken from each corpus set")
    ap.add_argument("--builtin", action="store_true", help="use the built-in lure/newsletter/plain mix, not the corpus")
    ap.add_argument("--no-milter", action="store_true", help="Postfix alone (smtpd_milters empty)")
    args = ap.parse_args()

    problem = postfix_problem()
    if problem:
        print(f"cannot run: {problem}")
        return 2
    msgs = [] if args.builtin else corpus_messages(args.corpus, args.per_set)
    source = f"corpus ({len(msgs)} distinct: {', '.join(CORPUS_SETS)})" if msgs else "built-in mix (lure, newsletter, plain)"
    msgs = msgs or builtin_messages()

    base = instance_dir("lurelens-bench-")
    sink = SmtpSink(base).start()
    milter = None
    mport = free_port()
    if not args.no_milter:
        milter = MilterProcess(mport, base / "milter.log", ("--workers", str(args.workers), "--max-pending", "64")).start()
    pf = PostfixInstance(base, mport, sink.port)
    try:
        pf.start()
        if args.no_milter:
            pf.postconf("smtpd_milters =", "non_smtpd_milters =")
            pf._run("reload")
            time.sleep(1)
        t0 = time.perf_counter()
        load = Load(pf.smtp_port, msgs, clients=args.clients).start(args.messages)
        load.finish(args.messages)
        t_smtp = time.perf_counter() - t0
        expected = set(load.accepted)
        while True:
            got = set(delivered(sink))
            held = [q for q in pf.queue_entries() if q["queue_name"] == "hold"]
            active = [q for q in pf.queue_entries() if q["queue_name"] != "hold"]
            if len(got & expected) + len(held) >= len(expected) and not active:
                break
            if time.perf_counter() - t0 > 1800:
                print("gave up waiting for delivery after 30 minutes")
                break
            time.sleep(0.2)
        t_all = time.perf_counter() - t0
        c = load.counts()
        lat = sorted(load.latency)
        print(f"messages: {source}; {args.clients} clients; milter: "
              f"{'none' if args.no_milter else f'{args.workers} workers'}")
        print(f"sent {c['sent']}: accepted {c['accepted']}, refused 4xx {c['refused']}, 5xx {c['failed']}, "
              f"uncertain {c['uncertain']}; delivered {len(got & expected)}, held {len(held)}")
        print(f"SMTP acceptance: {c['accepted'] / t_smtp:.1f} msg/s ({t_smtp:.1f} s)")
        print(f"end to end (accepted -> delivered or held): {c['accepted'] / t_all:.1f} msg/s ({t_all:.1f} s)")
        if lat:
            print(f"SMTP transaction latency: p50 {statistics.median(lat) * 1000:.0f} ms, "
                  f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms")
    finally:
        pf.stop()
        if milter:
            milter.stop()
        sink.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
