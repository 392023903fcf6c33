"""Campaign clustering benchmark: synthetic lure campaigns mixed with real legitimate mail and real
phishing from ../shared/corpus, hunted into a temporary store, then clustered. Most campaigns share
beacon infrastructure (one beacon host, rotating senders, subjects, recipients, per-recipient
tokens); every fourth is tied by its text alone (a new sender domain and beacon host per message,
its teaser drawn from one vocabulary that all such campaigns share, two of them claiming the same
outlet: the case TLSH merged). Prints pairwise precision and recall of the recovered lure campaigns,
legitimate and real phishing messages in a lure campaign, recipients not listed, clustering time,
who-else latency, and the HTML report's build time, size and Chromium open time.

``--scale-to N`` then copies the stored rows (new locators, recipients renamed per copy) until the
store holds N messages, and measures clustering from scratch, who-else and the report again: the
copies of a lure belong to its campaign, so precision and recall are measured there too.

    .venv/bin/python bench/campaigns.py --campaigns 8 --per-campaign 40 --legit 300 --phish 100
    .venv/bin/python bench/campaigns.py --total 10000 --scale-to 100000 -j 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from campaign_mail import lure_k, lure_text_only  # noqa: E402
from common import DEFAULT_CORPUS, message_files  # noqa: E402

LEGIT = ["spamassassin/easy_ham", "spamassassin/hard_ham", "newsletters/unspy", "mailinglists/usrp-users"]
PHISH = ["phishing_pot"]
_SIDE = ("recipients", "hosts", "claims", "attachments", "text_minhash", "minhash_bands")


def lure(k: int, i: int, recipients: list[str]) -> bytes:
    return lure_text_only(k, i, recipients) if k % 4 == 3 else lure_k(k, i, recipients)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def quality(store, camps, truth: dict[str, str]) -> dict[str, float | int]:
    """Pairwise precision and recall over the lures (from contingency counts, so 100,000 messages
    cost no more than 10,000), legitimate and real phishing messages in a lure campaign, and the
    recipients of a lure campaign's members that its summary does not list."""
    from sqlalchemy import select

    from lurelens.campaigns.schema import Campaign, CampaignMember
    from lurelens.store.schema import Recipient, StoredMessage

    m, cm, r, t = StoredMessage.__table__, CampaignMember.__table__, Recipient.__table__, Campaign.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(select(m.c.id, m.c.locator, cm.c.campaign).outerjoin(cm, cm.c.message == m.c.id)).all()
        kind = {i: truth.get(loc.split("#copy", 1)[0], "?") for i, loc, _c in rows}
        found = {i: c for i, _loc, c in rows}
        lures = [i for i in kind if kind[i].startswith("K")]
        cells = Counter((kind[i], found[i] or f"none-{i}") for i in lures)
        true_n = Counter(kind[i] for i in lures)
        found_n = Counter(found[i] or f"none-{i}" for i in lures)
        tp = sum(_pairs(n) for n in cells.values())
        same_found, same_true = sum(_pairs(n) for n in found_n.values()), sum(_pairs(n) for n in true_n.values())
        threat = {found[i] for i in lures if found[i]}
        legit_in = sum(1 for i, k in kind.items() if k == "legit" and found[i] in threat)
        phish_in = sum(1 for i, k in kind.items() if k == "phish" and found[i] in threat)
        legit_hits = sum(1 for i, k in kind.items() if k == "legit" and found[i] is not None)
        rcpt: dict[str, set[str]] = {}
        lure_set = set(lures)
        for mid, addr in conn.execute(select(r.c.message, r.c.address)):
            if mid in lure_set and found[mid]:
                rcpt.setdefault(found[mid], set()).add(addr)
        missing = 0
        for cid, summary in conn.execute(select(t.c.id, t.c.summary).where(t.c.id.in_(sorted(threat)))):
            missing += len(rcpt.get(cid, set()) - set(summary["recipients"]))
    return {"lures": len(lures), "campaigns_found": len(threat), "precision": tp / same_found if same_found else 1.0,
            "recall": tp / same_true if same_true else 1.0, "legit_in_lure_campaign": legit_in,
            "phish_in_lure_campaign": phish_in, "legit_hits": legit_hits, "recipients_not_listed": missing}


def who_else(store, recipients: list[str], campaigns: int) -> tuple[float, float, bool]:
    """Median seconds of the in-process who-else path (scan, campaigns up to date, match, the
    campaign's summary) over a few new lures, with the data lists loaded once, the median of its
    match step alone, and whether each found its campaign."""
    from lurelens.campaigns import Campaigns
    from lurelens.store.neardup import text_minhash
    from lurelens.testing.builder import scan

    total, matching, ok = [], [], True
    camps = Campaigns(store)
    camps.keymaker.keys({"features": {"beacon_hosts": ["warm.example.net"]}}, [])  # load the data lists once, as a long-running process would
    for k in range(min(campaigns, 4)):
        raw = lure(k, 100_000 + k, recipients)
        t0 = time.perf_counter()
        v = scan(raw)
        d = v.to_dict()
        camps.update()
        t1 = time.perf_counter()
        msg = v.message
        found = camps.match(d, list(d["features"]["recipients"]), list(d["features"]["claimed"]),
                            minhash=text_minhash(msg.visible_text or msg.text) if msg is not None else None)
        matching.append(time.perf_counter() - t1)
        s = camps.get(found[0]["campaign"]) if found else None
        total.append(time.perf_counter() - t0)
        ok = ok and s is not None and any(x["locator"].rsplit("/", 1)[-1].startswith(f"k{k:02d}-") for x in s["messages"][:50])
    return statistics.median(total), statistics.median(matching), ok


def report(store, out: Path) -> tuple[float, int, float | None]:
    """Build the HTML report: seconds, bytes, and seconds for Chromium to open it (None without one)."""
    from lurelens.report.campaign_html import build_report

    t0 = time.perf_counter()
    page = build_report(store)
    build_s = time.perf_counter() - t0
    out.write_text(page, encoding="utf-8")
    return build_s, out.stat().st_size, chromium_open(out)


def chromium_open(path: Path) -> float | None:
    try:
        from playwright.sync_api import sync_playwright

        from lurelens.render import find_chromium

        exe = find_chromium()
    except Exception:  # noqa: BLE001 - no browser here: the figure is left out
        return None
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, chromium_sandbox=False)
        page = b.new_page(viewport={"width": 1280, "height": 900})
        t0 = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # painted
        took = time.perf_counter() - t0
        b.close()
    return took


def scale(store, target: int) -> int:
    """Copy the stored rows (and their side rows) until the store holds ``target`` messages; returns
    how many it holds. Copy j gets locator ``...#copyj`` and recipients ``name.cj@domain``."""
    from sqlalchemy import func, select, text

    from lurelens.store.schema import StoredMessage

    m = StoredMessage.__table__
    with store.engine.connect() as conn:
        base_max = conn.execute(select(func.max(m.c.id))).scalar_one()
        base_n = conn.execute(select(func.count()).select_from(m)).scalar_one()
        cols = [c.name for c in m.columns if c.name not in ("id", "locator", "run_id")]
        side_cols = {name: [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({name})")] for name in _SIDE}
    n, j = base_n, 0
    while n < target:
        j += 1
        off = base_max * j
        limit = min(base_n, target - n)
        with store.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO messages (id, locator, {', '.join(cols)}) SELECT id + :off, locator || :suf, "
                              f"{', '.join(cols)} FROM messages WHERE id <= :base ORDER BY id LIMIT :lim"),
                         {"off": off, "suf": f"#copy{j}", "base": base_max, "lim": limit})
            top = conn.execute(text("SELECT max(id) FROM messages")).scalar_one()
            for name in _SIDE:
                c = side_cols[name]
                vals = ", ".join("message + :off" if x == "message" else
                                 ("replace(address, '@', :tag)" if x == "address" else x) for x in c)
                conn.execute(text(f"INSERT INTO {name} ({', '.join(c)}) SELECT {vals} FROM {name} "
                                  f"WHERE message <= :base AND message + :off <= :top"),
                             {"off": off, "base": base_max, "top": top, "tag": f".c{j}@"})
        n += limit
    return n


def reset_campaigns(store) -> None:
    with store.engine.begin() as conn:
        for t in ("campaigns", "campaign_members", "campaign_near", "campaign_keys"):
            conn.exec_driver_sql(f"DELETE FROM {t}")


def measure(store, truth: dict[str, str], recipients: list[str], campaigns: int, tmp: Path, label: str) -> None:
    from lurelens.campaigns import Campaigns

    camps = Campaigns(store)
    t0, c0 = time.perf_counter(), time.process_time()
    up = camps.update()
    cluster_s, cluster_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    camps.update()
    again_s = time.perf_counter() - t0
    q = quality(store, camps, truth)
    total_s, match_s, ok = who_else(store, recipients, campaigns)
    cli_s, cli_cpu = who_else_cli(store, recipients, tmp)
    build_s, size, open_s = report(store, tmp / f"report-{label}.html")
    print(f"--- {label}: {store.count()} stored messages ---")
    print(f"campaigns                  {up.campaigns} ({up.linked} of 2+ messages); indexed {up.indexed}; near pairs {up.near_pairs}")
    print(f"lures                      {q['lures']} in {q['campaigns_found']} recovered campaigns ({campaigns} planted)")
    print(f"pairwise precision         {q['precision']:.4f}")
    print(f"pairwise recall            {q['recall']:.4f}")
    print(f"legit in a lure campaign   {q['legit_in_lure_campaign']} (legit messages that are hits at all: {q['legit_hits']})")
    print(f"phishing in a lure campaign {q['phish_in_lure_campaign']}")
    print(f"recipients not listed      {q['recipients_not_listed']}")
    print(f"cluster from scratch       {cluster_s:.1f} s wall ({cluster_cpu:.1f} s CPU); update with nothing new {again_s:.2f} s")
    print(f"who-else (in process)      {total_s * 1000:.0f} ms median (scan + update + match + summary; match alone "
          f"{match_s * 1000:.0f} ms); found the right campaign: {ok}")
    print(f"who-else (CLI)             {cli_s:.2f} s wall, {cli_cpu:.2f} s CPU (a new process: start-up, scanner load, store)")
    print(f"report                     built in {build_s:.1f} s, {size / 1e6:.2f} MB; Chromium opens it in "
          f"{'n/a' if open_s is None else f'{open_s:.2f} s'}")
    sys.stdout.flush()


def who_else_cli(store, recipients: list[str], tmp: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``lurelens who-else`` in a new process (CPU: on a loaded machine the
    wall time is mostly waiting for a core)."""
    import resource

    path = tmp / "reported.eml"
    path.write_bytes(lure(0, 200_000, recipients))
    db = store.url.split("sqlite:///", 1)[-1]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lurelens.adapters.cli", "who-else", str(path), "--db", db, "--json"],
                   capture_output=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaigns", type=int, default=20)
    ap.add_argument("--per-campaign", type=int, default=None, help="default: fill up to --total")
    ap.add_argument("--total", type=int, default=10_000, help="stored messages to aim for (lures fill the gap)")
    ap.add_argument("--legit", type=int, default=3000, help="at most this many legitimate corpus messages")
    ap.add_argument("--phish", type=int, default=2000, help="at most this many real phishing messages")
    ap.add_argument("--scale-to", type=int, default=0, help="then copy rows up to this many stored messages and measure again")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (store, reports)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="work here (kept); a store.db already there is reused as it is (no hunt), its campaigns rebuilt")
    args = ap.parse_args()

    from lurelens import ScannerSettings
    from lurelens.adapters.hunt import run_hunt
    from lurelens.store import Store

    if args.workdir:
        args.keep = True
        args.workdir.mkdir(parents=True, exist_ok=True)
    tmp = args.workdir or Path(tempfile.mkdtemp(prefix="lurelens-campaigns-"))
    reuse = (tmp / "store.db").exists()
    legit = [f for folder in LEGIT for f in message_files(args.corpus, folder)][: args.legit]
    phish = [f for folder in PHISH for f in message_files(args.corpus, folder)][: args.phish]
    if not legit:
        print(f"corpus absent at {args.corpus}: only synthetic lures")
    per = args.per_campaign or max(2, (args.total - len(legit) - len(phish)) // args.campaigns)
    lures = tmp / "lures"
    lures.mkdir(exist_ok=True)
    recipients = [f"user{n}@corp.example.org" for n in range(60)] + [f"staff{n}@ministry.example.gov" for n in range(40)]
    truth: dict[str, str] = {}
    for k in range(args.campaigns):
        for i in range(per):
            p = lures / f"k{k:02d}-{i:05d}.eml"
            if not reuse:
                p.write_bytes(lure(k, i, recipients))
            truth[str(p)] = f"K{k}"
    for f in legit:
        truth[str(f)] = "legit"
    for f in phish:
        truth[str(f)] = "phish"
    listing = tmp / "list.txt"
    listing.write_text("\n".join([str(p) for p in sorted(lures.iterdir())] + [str(f) for f in legit + phish]) + "\n")

    store = Store(str(tmp / "store.db")).migrate()
    if reuse:
        reset_campaigns(store)
        print(f"reusing                    {tmp / 'store.db'} ({store.count()} messages; campaigns rebuilt from scratch)")
        measure(store, truth, recipients, args.campaigns, tmp, "reused")
        store.close()
        return
    t0 = time.perf_counter()
    old_stdin = sys.stdin
    sys.stdin = open(listing)  # '-' reads a list of paths on standard input
    try:
        res = run_hunt(["-"], store, ScannerSettings(), jobs=args.jobs)
    finally:
        sys.stdin.close()
        sys.stdin = old_stdin
    hunt_s = time.perf_counter() - t0
    print(f"hunt                       {store.count()} messages in {hunt_s:.0f} s (-j {args.jobs}): {res.to_dict()['verdicts']}")
    print(f"planted                    {args.campaigns} campaigns x {per} lures ({sum(1 for k in range(args.campaigns) if k % 4 == 3)} "
          f"tied by text alone); legit {len(legit)}; real phishing {len(phish)}")
    measure(store, truth, recipients, args.campaigns, tmp, "hunted")
    if args.scale_to > store.count():
        t0 = time.perf_counter()
        n = scale(store, args.scale_to)
        reset_campaigns(store)
        print(f"scaled                     to {n} stored messages by copying rows in {time.perf_counter() - t0:.0f} s")
        measure(store, truth, recipients, args.campaigns, tmp, "scaled")
    store.close()
    print(f"files in {tmp}" if args.keep else "")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
