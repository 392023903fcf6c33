"""Benchmark for lurelens.registry.lookalike: index build time and lookups per second.

    .venv/bin/python bench/lookalike_bench.py [--protected 5000] [--queries 40000]
        [--lookalike-share 0.05] [--repeat 5] [--seed 7] [--show 10]

Protected set: a fixed list of major outlets and brands plus a seeded sample of the news-domain
list in ../shared/corpus (read in place, never copied into the repo); without it, synthetic
outlet names. Queries: benign hosts (half other news domains not in the index, a third
popular web and mail services with subdomains, the rest made-up company names) plus, by
default, 5% lookalikes generated from protected entries (homoglyph, punycode, typo,
combosquat, TLD swap, subdomain tricks). Throughput for benign-only and lookalike-only
queries is printed too, so any other mix can be worked out.

Prints build time, uncached lookups/s (``LookalikeIndex._lookup``, no LRU), cached lookups/s
(``check`` over a stream in which each distinct host recurs, as in a mailbox), plus how many
benign hosts were flagged and how many generated lookalikes were caught.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    from lurelens.registry.lookalike import LookalikeIndex
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT / "src"))
    from lurelens.registry.lookalike import LookalikeIndex

_NEWS = "corpus/lists/news-outlets/yang3kc-list_of_news_domains/news_domains.csv"
NEWS_CSV = ROOT.parent / "shared" / _NEWS  # the shared/ folder beside the checkout
if not NEWS_CSV.exists():
    NEWS_CSV = Path("/work/shared") / _NEWS

MAJOR = """
nytimes.com nyt.com reuters.com washingtonpost.com theguardian.com bbc.co.uk bbc.com apnews.com
ap.org cnn.com cnbc.com ft.com dw.com nhk.or.jp wsj.com bloomberg.com economist.com
npr.org politico.com axios.com aljazeera.com lemonde.fr spiegel.de elpais.com corriere.it
nikkei.com scmp.com abc.net.au cbc.ca time.com forbes.com theatlantic.com newyorker.com
usatoday.com latimes.com foxnews.com nbcnews.com cbsnews.com abcnews.go.com thetimes.co.uk
telegraph.co.uk independent.co.uk dailymail.co.uk afp.com euronews.com france24.com
microsoft.com google.com apple.com amazon.com paypal.com linkedin.com
""".split()

BENIGN_WEB = """
google.com mail.google.com gmail.com yahoo.com github.com amazon.com apple.com icloud.com
outlook.com live.com office.com microsoftonline.com zoom.us slack.com dropbox.com box.com
salesforce.com mailchimp.com list-manage.com sendgrid.net mandrillapp.com hubspot.com
facebook.com instagram.com twitter.com x.com t.co youtube.com wikipedia.org reddit.com
medium.com substack.com wordpress.com blogspot.com cloudflare.com akamaihd.net fastly.net
amazonaws.com cloudfront.net doubleclick.net googleapis.com gstatic.com bit.ly tinyurl.com
shopify.com stripe.com ebay.com netflix.com spotify.com adobe.com docusign.net
""".split()

SUBS = ["", "", "www.", "mail.", "news.", "cdn.", "click.", "links.", "email.", "static."]
WORDS = ("acme nova river stone bright harbor summit pixel cedar maple orbit vector lumen "
         "falcon granite meadow copper willow atlas beacon ember quartz").split()
TLDS = ["com", "net", "org", "io", "co", "de", "co.uk", "fr", "info"]
CYR = {"a": "\u0430", "o": "\u043e", "e": "\u0435", "c": "\u0441", "p": "\u0440", "i": "\u0456"}
COMBO = ["news", "media", "press", "-news", "-secure", "-login", "-alerts", "daily", "-world"]


def load_news() -> list[str]:
    if not NEWS_CSV.exists():
        return []
    rows = NEWS_CSV.read_text(encoding="utf-8").splitlines()[1:]
    return [r.strip().lower() for r in rows if r.strip() and "." in r]


def synth_outlets(n: int, rng: random.Random) -> list[str]:
    """Made-up outlet domains: random syllables, sometimes a newspaper word; one TLD each."""
    syll = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    parts = ("herald tribune gazette courier times post journal chronicle observer record "
             "sentinel ledger star sun beacon press review bulletin dispatch").split()
    labels: set[str] = set()
    while len(labels) < n:
        name = "".join(rng.choice(syll) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.4:
            name += rng.choice(parts)
        labels.add(name)
    return [f"{label}.{rng.choice(TLDS)}" for label in sorted(labels)]


def make_lookalike(domain: str, rng: random.Random) -> str:
    """A lookalike of a registrable ``domain`` by one randomly chosen technique."""
    label, _, suffix = domain.partition(".")
    for _ in range(20):
        kind = rng.randrange(7)
        spots = [k for k, c in enumerate(label) if c in CYR]
        if kind == 0 and spots:
            i = rng.choice(spots)
            out = label[:i] + CYR[label[i]] + label[i + 1:] + "." + suffix
        elif kind == 1 and spots:
            i = rng.choice(spots)
            u = label[:i] + CYR[label[i]] + label[i + 1:]
            out = u.encode("idna").decode() + "." + suffix
        elif kind == 2 and len(label) >= 5:
            i = rng.randrange(len(label))
            out = label[:i] + label[i + 1:] + "." + suffix  # omission
        elif kind == 3:
            out = label + rng.choice(COMBO) + "." + rng.choice(TLDS)
        elif kind == 4:
            out = label + "." + rng.choice([t for t in TLDS if t != suffix])
        elif kind == 5:
            out = f"{domain}.{rng.choice(WORDS)}-{rng.choice(WORDS)}.{rng.choice(TLDS)}"
        elif kind == 6 and len(label) >= 5:
            i = rng.randrange(len(label) - 1)
            out = label[:i] + label[i + 1] + label[i] + label[i + 2:] + "." + suffix
        else:
            continue
        if out != domain:
            return out
    return label + "-news." + suffix


def rate(fn, count: int, repeat: int, setup=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()  # untimed: e.g. empty the index's caches so every run starts cold
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return count / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protected", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=40000)
    ap.add_argument("--lookalike-share", type=float, default=0.05,
                    help="fraction of queries that are lookalikes (mail is mostly benign)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5, help="timing runs; the best is kept")
    ap.add_argument("--show", type=int, default=10, help="flagged benign hosts to print")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    news = load_news()
    source = "news list" if news else "synthetic"
    pool = news or synth_outlets(args.protected * 3, rng)
    rng.shuffle(pool)
    protected = list(dict.fromkeys(MAJOR + pool))[: args.protected]
    prot_set = set(protected)
    rest = [d for d in pool if d not in prot_set]

    t0 = time.process_time()
    index = LookalikeIndex((d, d.split(".")[0]) for d in protected)
    build = time.process_time() - t0
    t0 = time.perf_counter()
    index._lookup("warm-up.\u0435xample.com")  # first non-ASCII host loads the confusables
    warm = time.perf_counter() - t0

    n_bad = int(args.queries * args.lookalike_share)
    n_good = args.queries - n_bad
    # Benign hosts in three kinds: other news outlets (not protected, often named much like
    # protected ones), popular web and mail services, and made-up company names.
    kinds: dict[str, list[str]] = {"news": [], "web": [], "synthetic": []}
    for _ in range(n_good):
        r = rng.random()
        if r < 0.5 and rest:
            kinds["news"].append(rng.choice(SUBS) + rng.choice(rest))
        elif r < 0.8:
            kinds["web"].append(rng.choice(SUBS) + rng.choice(BENIGN_WEB))
        else:
            kinds["synthetic"].append(f"{rng.choice(SUBS)}{rng.choice(WORDS)}{rng.choice(WORDS)}"
                                      f"{rng.randrange(100)}.{rng.choice(TLDS)}")
    benign = [q for qs in kinds.values() for q in qs]
    # Lookalikes are made of protected registrable domains (not of hosts like
    # news.example.com, whose siblings are the owner's own subdomains).
    from publicsuffixlist import PublicSuffixList

    psl = PublicSuffixList()
    registrable = [d for d in protected if psl.privatesuffix(d) == d]
    bad = [make_lookalike(rng.choice(registrable), rng) for _ in range(n_bad)]
    queries = benign + bad
    rng.shuffle(queries)

    # Uncached: every query goes through the full lookup. Best of --repeat runs, CPU time of
    # this process (the machine is shared; wall time would measure the neighbours). The
    # index's caches (the LRU and the lookup's own per-label candidate cache) are emptied
    # before each run, so a run never profits from the runs before it.
    lookup = index._lookup
    clear = index.cache_clear
    uncached = rate(lambda: [lookup(q) for q in queries], len(queries), args.repeat, clear)
    uncached_benign = rate(lambda: [lookup(q) for q in benign], len(benign), args.repeat, clear)
    uncached_bad = rate(lambda: [lookup(q) for q in bad], len(bad), args.repeat, clear)

    # Cached: a mail stream where hosts recur; distinct hosts = len(queries) // 10.
    distinct = queries[: max(1, len(queries) // 10)]
    stream = [rng.choice(distinct) for _ in range(len(queries) * 2)]
    check = index.check

    def cached_run() -> None:
        index.cache_clear()
        for q in stream:
            check(q)

    cached = rate(cached_run, len(stream), args.repeat)

    flagged_benign = [q for q in benign if index.check(q)]
    caught = sum(1 for q in bad if index.check(q))
    print(f"protected domains: {len(index)} ({source}); queries: {len(queries)} "
          f"({n_good} benign, {n_bad} lookalike)")
    print(f"build: {build * 1000:.0f} ms CPU (+ first non-ASCII lookup, loading the "
          f"confusables table: {warm * 1000:.0f} ms)")
    print(f"uncached: {uncached:,.0f} lookups/s  ({1e6 / uncached:.1f} us/lookup); "
          f"benign only {uncached_benign:,.0f}/s, lookalikes only {uncached_bad:,.0f}/s")
    print(f"cached (LRU, each host seen ~20x): {cached:,.0f} lookups/s")
    print(f"benign flagged: {len(flagged_benign)}/{n_good} "
          f"({100 * len(flagged_benign) / n_good:.2f}%); lookalikes caught: {caught}/{n_bad} "
          f"({100 * caught / n_bad:.1f}%)")
    for kind, qs in kinds.items():
        if qs:
            hit = sum(1 for q in qs if index.check(q))
            print(f"  benign {kind}: {hit}/{len(qs)} flagged ({100 * hit / len(qs):.2f}%)")
    for q in sorted(set(flagged_benign))[: args.show]:
        m = index.check(q)
        print(f"  benign flagged: {q} -> {m.imitates} [{m.technique}] {m.detail}")


if __name__ == "__main__":
    main()
