#!/usr/bin/env python3
"""Evaluate lurelens on the dev corpus: label counts per set, targets, and (with --browser) how
well the static inventory of remote fetches agrees with what headless Chromium requests.

    .venv/bin/python bench/eval.py                 # labels per set
    .venv/bin/python bench/eval.py --browser       # plus browser agreement (needs Chromium)
    .venv/bin/python bench/eval.py --symbols docs/symbol-hit-rates.md
    .venv/bin/python bench/eval.py --cv 5          # grouped 5-fold CV: mean, min, max over held-out folds

Reads ../shared/corpus by path (or $LURELENS_CORPUS); nothing from it is copied anywhere.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens import Scanner  # noqa: E402
from lurelens.model.verdict import LABELS, SEVERITY  # noqa: E402

# (kind, bound, which issue asks for it); issue 3's ham bound (0.3%) implies issue 2's (0.5%).
TARGETS = {
    "phishing_pot": [("min_bad", 0.90, "issue 2"), ("min_bad", 0.95, "issue 3")],
    "easy_ham": [("max_bad", 0.003, "issues 2-3")],
    "usrp-users": [("max_bad", 0.003, "issues 2-3")],
    "hard_ham": [("never", ("recon", "phishing"), "issues 2-3")],
    "unspy": [("never", ("recon", "phishing"), "issues 2-3")],
}


def evaluate(corpus: Path, sets: list[str] | None, symbol_table: Path | None, show: int, browser: bool,
             browser_limit: int | None) -> int:
    scanner = Scanner()
    failed = 0
    hit_rates: dict[str, Counter] = {}
    set_sizes: dict[str, int] = {}
    agreement_rows = []
    renderer = None
    if browser:
        from lurelens.render.browser import BrowserRenderer
        from lurelens.render.merge import NOT_OBSERVABLE_KINDS, html_and_cids

        renderer = BrowserRenderer()
        renderer.__enter__()
    try:
        for name, kind, files in iter_sets(corpus, sets):
            labels: Counter = Counter()
            syms: Counter = Counter()
            bad_examples = []
            static_hosts_total = browser_hosts_total = listed_and_contacted = contacted_and_listed = 0
            rendered = 0
            conditional_hosts = 0
            unlisted_msgs = 0
            for i, f in enumerate(files):
                raw = f.read_bytes()
                v = scanner.scan(raw, file=str(f))
                labels[v.label] += 1
                for s in {x.symbol for x in v.findings}:
                    syms[s] += 1
                if kind in ("ham", "ham-tracked") and v.suspicious_or_worse and len(bad_examples) < show:
                    bad_examples.append((f.name, v.label, v.score, [x.symbol for x in v.findings if x.score > 0][:6]))
                if kind == "phish" and not v.suspicious_or_worse and len(bad_examples) < show:
                    bad_examples.append((f.name, v.label, v.score, [x.symbol for x in v.findings if x.score][:6]))
                if renderer is not None and (browser_limit is None or rendered < browser_limit):
                    html, cids = html_and_cids(raw, scanner)
                    if html:
                        rendered += 1
                        res = renderer.render(html, cid=cids, timeout=10.0)
                        # Protocol-relative URLs with no <base> resolve to nothing in a document
                        # opened as about:blank (Chromium, desktop clients) and to https in most
                        # webmail: listed with that condition, left out of the comparison.
                        static = {r.host for r in v.message.resources if r.kind not in NOT_OBSERVABLE_KINDS
                                  and not (r.condition or "").startswith("protocol-relative")}
                        conditional_hosts += len({r.host for r in v.message.resources} - static)
                        dyn = {r.host for r in res.requests if r.host}
                        missed = dyn - {r.host for r in v.message.resources}
                        if missed:
                            unlisted_msgs += 1
                        static_hosts_total += len(static)
                        browser_hosts_total += len(dyn)
                        listed_and_contacted += len(static & dyn)
                        contacted_and_listed += len(dyn & static)
                        if (dyn - static or static - dyn) and len(agreement_rows) < show * 4:
                            agreement_rows.append((name, f.name, sorted(dyn - static)[:3], sorted(static - dyn)[:3]))
            n = len(files)
            set_sizes[name] = n
            hit_rates[name] = syms
            bad = sum(c for lbl, c in labels.items() if SEVERITY.get(lbl, 0) >= SEVERITY["suspicious"])
            counts = "  ".join(f"{lbl}={labels.get(lbl, 0)}" for lbl in LABELS)
            line = f"{name:14} n={n:5}  {counts}  suspicious-or-worse={bad / n:.1%}"
            for kind_, bound, who in TARGETS.get(name, []):
                if kind_ == "min_bad":
                    ok = bad / n >= bound
                    line += f"  >= {bound:.0%} ({who}): {'ok' if ok else 'MISSED'}"
                elif kind_ == "max_bad":
                    ok = bad / n <= bound
                    line += f"  <= {bound:.1%} ({who}): {'ok' if ok else 'MISSED'}"
                else:
                    ok = sum(labels.get(lbl, 0) for lbl in bound) == 0
                    line += f"  never {'/'.join(bound)} ({who}): {'ok' if ok else 'MISSED'}"
                failed += 0 if ok else 1
            print(line)
            if renderer is not None and rendered:
                recall = contacted_and_listed / browser_hosts_total if browser_hosts_total else 1.0
                precision = listed_and_contacted / static_hosts_total if static_hosts_total else 1.0
                print(f"{'':14} browser agreement on {rendered} HTML messages: hosts contacted by Chromium that are "
                      f"listed {recall:.2%} ({contacted_and_listed}/{browser_hosts_total}); listed hosts Chromium "
                      f"contacted {precision:.2%} ({listed_and_contacted}/{static_hosts_total}); left out of the comparison: "
                      f"{conditional_hosts} hosts only fetched by some clients (protocol-relative, preconnect, icon)")
                print(f"{'':14} RENDER_UNLISTED_FETCH (browser contacted a host the static inventory missed): "
                      f"{unlisted_msgs} of {rendered} messages")
            for ex in bad_examples:
                print(f"{'':16}{ex}")
        for row in agreement_rows:
            print("  disagreement:", row)
    finally:
        if renderer is not None:
            renderer.close()
    if symbol_table:
        write_symbol_table(symbol_table, hit_rates, set_sizes)
    return failed


def write_symbol_table(path: Path, hit_rates: dict[str, Counter], sizes: dict[str, int]) -> None:
    from lurelens.checks import all_symbols
    from lurelens.scoring import load_scoring

    cfg = load_scoring()
    names = sorted(set(all_symbols()) | {c.name for c in cfg.composites})
    sets = list(hit_rates)
    lines = [
        "# Symbol hit rates on the dev corpus",
        "",
        "Share of messages in each dev set on which a symbol fired (as SpamAssassin publishes for its rules),",
        "so a rule author sees what each symbol costs in false alarms. Regenerate with",
        f"`.venv/bin/python bench/eval.py --symbols {path}`.",
        "",
        "| symbol | weight | " + " | ".join(f"{s} (n={sizes[s]})" for s in sets) + " |",
        "|---|---|" + "---|" * len(sets),
    ]
    for name in names:
        w = cfg.symbols.get(name, {}).get("weight")
        if w is None:
            w = next((c.weight for c in cfg.composites if c.name == name), 0)
        cells = [f"{hit_rates[s].get(name, 0) / sizes[s]:.1%}" if hit_rates[s].get(name) else "" for s in sets]
        lines.append(f"| {name} | {w:+g} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def cross_validate(corpus: Path, sets: list[str] | None, k: int, cache: Path | None,
                   scoring: Path | None) -> int:
    """The scoring file's figures per held-out fold. The weights in scores.toml are not refitted
    per fold here (scripts/fit_weights.py --cv does that), so this measures their spread across
    campaigns and months; the targets are checked on the pooled held-out figures."""
    from cv import assign_folds, cv_figures, extract, print_cv_table

    from lurelens.scoring import load_scoring

    if k < 2:
        print("--cv needs K >= 2", file=sys.stderr)
        return 2
    records = extract(corpus, sets, cache)
    assign_folds(records, k)
    cfg = load_scoring(scoring)
    figs = cv_figures(records, k, lambda _fold: cfg)
    print_cv_table(figs, k, f"weights from {cfg.source}")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets", help="only this set (repeatable)")
    ap.add_argument("--symbols", type=Path, help="write the symbol hit-rate table (Markdown) here")
    ap.add_argument("--show", type=int, default=0, help="print up to N misclassified examples per set")
    ap.add_argument("--browser", action="store_true", help="also compare with headless Chromium")
    ap.add_argument("--browser-limit", type=int, default=None, help="render at most N messages per set")
    ap.add_argument("--cv", type=int, nargs="?", const=5, default=None, metavar="K",
                    help="grouped K-fold cross-validation (default K=5): figures on held-out folds only")
    ap.add_argument("--cache", type=Path, default=None, help="findings cache for --cv (default under /tmp)")
    ap.add_argument("--scoring", type=Path, default=None, help="score with this scoring file instead of scores.toml")
    a = ap.parse_args()
    if not a.corpus.is_dir():
        print(f"corpus not found: {a.corpus} (set LURELENS_CORPUS)", file=sys.stderr)
        sys.exit(2)
    if a.cv:
        sys.exit(cross_validate(a.corpus, a.sets, a.cv, a.cache, a.scoring))
    failed = evaluate(a.corpus, a.sets, a.symbols, a.show, a.browser, a.browser_limit)
    print(f"targets missed: {failed}")


if __name__ == "__main__":
    main()
