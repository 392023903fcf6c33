"""Campaign clustering benchmark: synthetic lure campaigns (rotating senders, subjects, recipients,
per-recipient tokens, one beacon host per campaign) mixed with real legitimate mail and real
phishing from ../shared/corpus, hunted into a temporary store, then clustered. Prints pairwise
precision and recall of the recovered lure campaigns, legitimate messages in a threat campaign,
recipient coverage, clustering time and who-else (match) time.

    .venv/bin/python bench/campaigns.py --campaigns 6 --per-campaign 40
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from campaign_mail import lure_k  # noqa: E402
from common import DEFAULT_CORPUS, message_files  # noqa: E402

LEGIT = ["spamassassin/easy_ham", "spamassassin/hard_ham", "newsletters/unspy", "mailinglists/usrp-users"]
PHISH = ["phishing_pot"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaigns", type=int, default=6)
    ap.add_argument("--per-campaign", type=int, default=40)
    ap.add_argument("--legit", type=int, default=1000, help="at most this many legitimate corpus messages")
    ap.add_argument("--phish", type=int, default=200, help="at most this many real phishing messages")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = ap.parse_args()

    from lurelens import ScannerSettings
    from lurelens.adapters.hunt import run_hunt
    from lurelens.campaigns import Campaigns
    from lurelens.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="lurelens-campaigns-"))
    lures = tmp / "lures"
    lures.mkdir()
    recipients = [f"user{n}@corp.example.org" for n in range(60)]
    truth: dict[str, str] = {}  # locator -> campaign or 'legit' / 'phish'
    for k in range(args.campaigns):
        for i in range(args.per_campaign):
            p = lures / f"k{k:02d}-{i:04d}.eml"
            p.write_bytes(lure_k(k, i, recipients))
            truth[str(p)] = f"K{k}"
    legit = [f for folder in LEGIT for f in message_files(args.corpus, folder)][: args.legit]
    phish = [f for folder in PHISH for f in message_files(args.corpus, folder)][: args.phish]
    if not legit:
        print(f"corpus absent at {args.corpus}: only synthetic lures")
    for f in legit:
        truth[str(f)] = "legit"
    for f in phish:
        truth[str(f)] = "phish"
    listing = tmp / "list.txt"
    listing.write_text("\n".join([str(lures / p.name) for p in sorted(lures.iterdir())] + [str(f) for f in legit + phish]) + "\n")

    store = Store(str(tmp / "store.db")).migrate()
    t0 = time.monotonic()
    old_stdin = sys.stdin
    sys.stdin = open(listing)  # '-' reads a list of paths on standard input
    try:
        res = run_hunt(["-"], store, ScannerSettings(), jobs=args.jobs)
    finally:
        sys.stdin.close()
        sys.stdin = old_stdin
    hunt_s = time.monotonic() - t0
    camps = Campaigns(store)
    t0 = time.monotonic()
    up = camps.update()
    cluster_s = time.monotonic() - t0
    t0 = time.monotonic()
    again = camps.update()
    recluster_s = time.monotonic() - t0

    rows = store.table("messages")
    found = {r["locator"]: camps.of_message(r["id"]) for r in rows}
    by_loc = {r["locator"]: r for r in rows}
    lure_locs = sorted(loc for loc, t in truth.items() if t.startswith("K") and loc in found)
    tp = fp = fn = 0
    for i, a in enumerate(lure_locs):
        for b in lure_locs[i + 1:]:
            same_true = truth[a] == truth[b]
            same_found = found[a] is not None and found[a] == found[b]
            tp += same_true and same_found
            fp += (not same_true) and same_found
            fn += same_true and not same_found
    threat = {found[loc] for loc in lure_locs if found[loc]}
    legit_in_threat = sum(1 for loc, t in truth.items() if t == "legit" and found.get(loc) in threat)
    phish_in_lure = sum(1 for loc, t in truth.items() if t == "phish" and found.get(loc) in threat)
    missing = 0
    members = defaultdict(list)
    for loc in lure_locs:
        members[found[loc]].append(loc)
    rcpt_of = defaultdict(set)
    for r in store.table("recipients"):
        rcpt_of[r["message"]].add(r["address"])
    for cid, locs in members.items():
        listed = set(camps.get(cid)["recipients"]) if cid else set()
        missing += len(set().union(*(rcpt_of[by_loc[loc]["id"]] for loc in locs)) - listed)
    from lurelens.testing.builder import scan

    v = scan(lure_k(0, 10_000, recipients)).to_dict()
    t0 = time.monotonic()
    match = camps.match(v, list(v["features"]["recipients"]), list(v["features"]["claimed"]))
    match_s = time.monotonic() - t0

    print(f"stored messages            {len(rows)} ({res.to_dict()['verdicts']})")
    print(f"hunt                       {hunt_s:.1f} s (-j {args.jobs})")
    print(f"lures                      {len(lure_locs)} in {args.campaigns} campaigns; legit {len(legit)}; phishing {len(phish)}")
    print(f"campaigns                  {up.campaigns} ({up.linked} of 2+ messages); indexed {up.indexed}; near pairs {up.near_pairs}")
    print(f"pairwise precision         {tp / (tp + fp) if tp + fp else 1.0:.4f}")
    print(f"pairwise recall            {tp / (tp + fn) if tp + fn else 1.0:.4f}")
    print(f"legit in a lure campaign   {legit_in_threat}")
    print(f"phishing in a lure campaign {phish_in_lure}")
    print(f"recipients not listed      {missing}")
    print(f"cluster (index + link)     {cluster_s:.2f} s; re-link with nothing new {recluster_s:.2f} s (indexed {again.indexed})")
    print(f"who-else match             {match_s * 1000:.1f} ms -> {match[0]['campaign'] if match else None} "
          f"(K0 is {found[lure_locs[0]] if lure_locs else None})")
    store.close()


if __name__ == "__main__":
    main()
