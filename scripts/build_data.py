#!/usr/bin/env python3
"""Build lurelens' shipped data registries (src/lurelens/data/*) from their sources.

Inputs
  * hand-curated sources under ``data-src/`` (CC0-1.0, written by the lurelens maintainers):
      news_outlets.psv, brands.psv, shorteners.txt, freemail.txt, redirectors.json
  * third-party lists under the development corpus (``--corpus``, default ``../shared/corpus``):
      lists/email-trackers/mailtrackerblocker/{trackers.json,LICENSE}          BSD-3-Clause
      lists/email-trackers/jannikarndt-emailtrackerblocker/{HOSTS.txt,LICENSE} Apache-2.0
      lists/news-outlets/fundus/{supported_publishers.md,LICENSE}              MIT
      lists/news-outlets/yang3kc-list_of_news_domains/{news_domains.csv,raw/} no licence (Zenodo DOI)

Outputs (deterministic: same inputs + same --date + same publicsuffixlist snapshot -> same bytes)
  src/lurelens/data/trackers.json, redirectors.json, news_outlets.json, brands.json,
  shorteners.txt, freemail.txt, LICENSES/*

Usage
  python scripts/build_data.py                 # regenerate
  python scripts/build_data.py --check         # exit 1 if the shipped files are stale
  python scripts/build_data.py --brand-freq    # print the phishing-corpus brand frequency table (markdown)

Only the standard library and lurelens itself (its Public Suffix List, the bundled snapshot of
``publicsuffixlist``) are needed.  Nothing is fetched from the network. One module per source
under ``scripts/builders/``; this script runs them and writes the outputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/ is not a package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # lurelens, installed or not

from builders import common  # noqa: E402
from builders.brands import brand_frequency, build_brands  # noqa: E402
from builders.common import DATA_SRC, DEFAULT_CORPUS, DEFAULT_OUT, Report, write_outputs  # noqa: E402, F401 (write_outputs: build_iocs.py imports it from here)
from builders.lists import build_redirectors, read_list, render_list  # noqa: E402
from builders.news import build_news  # noqa: E402
from builders.trackers import build_trackers  # noqa: E402


def build_all(corpus: Path, out: Path, rep: Report):
    files = {}
    brands_json, brands = build_brands(rep)
    freemail_secs, freemail = read_list(DATA_SRC / "freemail.txt", "freemail", rep)
    short_secs, shorteners = read_list(DATA_SRC / "shorteners.txt", "shortener", rep)
    brand_domains = {d for b in brands for d in b["domains"] + b["mail_domains"]}
    files["brands.json"] = brands_json
    files["trackers.json"], tstats = build_trackers(corpus, rep)
    files["redirectors.json"], _ = build_redirectors(rep)
    files["news_outlets.json"], _ = build_news(corpus, rep, set(freemail), brand_domains)
    files["freemail.txt"] = render_list(
        "freemail.txt", "free / consumer mailbox provider domains (incl. a few ISP mailboxes and disposable-mail services)",
        "hand-curated by the lurelens maintainers from general knowledge (data-src/freemail.txt)", "CC0-1.0",
        freemail_secs, len(freemail))
    files["shorteners.txt"] = render_list(
        "shorteners.txt", "URL-shortener hosts (an entry also covers its subdomains)",
        "hand-curated by the lurelens maintainers from general knowledge (data-src/shorteners.txt)", "CC0-1.0",
        short_secs, len(shorteners))
    rep(f"freemail: {len(freemail)}  shorteners: {len(shorteners)}")
    lic = {
        "LICENSES/mailtrackerblocker-LICENSE": corpus / "lists/email-trackers/mailtrackerblocker/LICENSE",
        "LICENSES/jannikarndt-emailtrackerblocker-LICENSE": corpus / "lists/email-trackers/jannikarndt-emailtrackerblocker/LICENSE",
        "LICENSES/fundus-LICENSE": corpus / "lists/news-outlets/fundus/LICENSE",
    }
    for k, p in lic.items():
        files[k] = p.read_text(encoding="utf-8")
    return files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="development corpus root (containing lists/), or its lists/ directory (default: ../shared/corpus)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: src/lurelens/data)")
    ap.add_argument("--date", default=None, help=f"date for meta blocks (default {common.DATA_DATE})")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if any output differs")
    ap.add_argument("--brand-freq", action="store_true", help="print the phishing_pot brand frequency table and exit")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.date:
        common.DATA_DATE = a.date
    corpus = a.corpus.resolve()
    if corpus.name == "lists":
        corpus = corpus.parent
    if not (corpus / "lists").is_dir():
        raise SystemExit(f"corpus lists not found under {corpus}")

    if a.brand_freq:
        total, n_any, n_dn, names = brand_frequency(corpus)
        print(f"phishing_pot messages scanned: {total}\n")
        print("| # | brand | category | messages (display name or subject) | of which in display name |")
        print("|---|---|---|---|---|")
        for i, (bid, k) in enumerate(sorted(n_any.items(), key=lambda x: (-x[1], x[0])), 1):
            nm, cat = names[bid]
            print(f"| {i} | {nm} | {cat} | {k} | {n_dn[bid]} |")
        return 0

    rep = Report()
    files = build_all(corpus, a.out, rep)
    if not a.quiet:
        print("\n".join(rep.lines))
    stale = write_outputs(files, a.out, check=a.check)
    if a.check:
        if stale:
            print("stale:", ", ".join(stale))
            return 1
        print("data files up to date")
        return 0
    print(("updated: " + ", ".join(stale)) if stale else "no changes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
