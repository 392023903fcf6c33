#!/usr/bin/env python3
"""Proof for ``lurelens defuse`` on the dev corpus: every message with HTML is defused, the copy is
parsed back (valid MIME, same structure), re-inventoried, and rendered in headless Chromium. Target:
zero requests from every defused copy, and at least 95% of the original's visible words kept.

    .venv/bin/python bench/defuse_eval.py --limit 50          # 50 messages per set
    .venv/bin/python bench/defuse_eval.py --no-render         # static checks only (no Chromium)

Reads ../shared/corpus by path (or $LURELENS_CORPUS); sets that are absent are skipped. Nothing in
the corpus is fetched: the renderer aborts every request and the browser's network is dead.
"""

from __future__ import annotations

import argparse
import email
import statistics
import sys
import time
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS, iter_sets  # noqa: E402

from lurelens.parse import Limits  # noqa: E402
from lurelens.render.merge import displayed_html  # noqa: E402
from lurelens.defuse import defuse, visible_words, word_retention  # noqa: E402
from lurelens.defuse.html import remote_references  # noqa: E402


def _shape(raw: bytes) -> list[str]:
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    return [p.get_content_type() for p in msg.walk()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--set", action="append", dest="sets", help="only this set (repeatable)")
    ap.add_argument("--limit", type=int, default=None, help="at most N messages with HTML per set")
    ap.add_argument("--links", default="visible", choices=("visible", "defang", "warn"))
    ap.add_argument("--no-render", action="store_true", help="skip Chromium; static re-inventory only")
    ap.add_argument("--timeout", type=float, default=10.0, help="render time limit per message (s)")
    ap.add_argument("--show", type=int, default=3, help="list the N worst messages per set")
    a = ap.parse_args()
    limits = Limits(timeout=30.0)
    renderer = None
    if not a.no_render:
        from lurelens.render.browser import BrowserRenderer

        renderer = BrowserRenderer().start()
    failed = False
    print(f"{'set':14} {'html':>5} {'had':>5} {'mime ok':>7} {'static 0':>8} {'render 0':>8} {'words min':>9} "
          f"{'median':>7} {'>=95%':>7} {'text':>4} {'ms/msg':>7}")
    try:
        for name, _kind, files in iter_sets(a.corpus, a.sets):
            n = had = mime_ok = static_zero = render_zero = rendered = fallback = 0
            rets: list[tuple[float, str]] = []
            bad: list[str] = []
            spent = 0.0
            for f in files:
                if a.limit is not None and n >= a.limit:
                    break
                raw = f.read_bytes()
                html, _ = displayed_html(raw, limits)
                if not html:
                    continue
                n += 1
                had += "http" in html.lower() and bool(remote_references(html))
                t0 = time.perf_counter()
                try:
                    res = defuse(raw, links=a.links)
                except Exception as exc:  # noqa: BLE001 - count it and go on
                    bad.append(f"{f.name}: defuse raised {type(exc).__name__}: {exc}")
                    continue
                spent += time.perf_counter() - t0
                fallback += bool(res.report.text_fallback)
                try:
                    mime_ok += _shape(res.data) == _shape(raw)
                except Exception as exc:  # noqa: BLE001
                    bad.append(f"{f.name}: copy does not parse: {exc}")
                html2, cids2 = displayed_html(res.data, limits)
                left = remote_references(html2)
                static_zero += not left
                if left:
                    bad.append(f"{f.name}: static residue {left[:3]}")
                if renderer is not None:
                    r = renderer.render(html2, cid=cids2, timeout=a.timeout)
                    rendered += 1
                    render_zero += not r.requests
                    if r.requests:
                        bad.append(f"{f.name}: {len(r.requests)} requests, e.g. {r.requests[0].url[:100]}")
                rets.append((word_retention(visible_words(html), visible_words(html2)), f.name))
            if not n:
                print(f"{name:14} {0:5d} (no message with HTML)")
                continue
            vals = sorted(v for v, _ in rets)
            share95 = sum(v >= 0.95 for v in vals) / len(vals) if vals else 0.0
            render_col = f"{render_zero}/{rendered}" if renderer is not None else "-"
            print(f"{name:14} {n:5d} {had:5d} {mime_ok:7d} {static_zero:8d} {render_col:>8} "
                  f"{(vals[0] if vals else 0):9.3f} {(statistics.median(vals) if vals else 0):7.3f} "
                  f"{share95:7.1%} {fallback:4d} {spent * 1000 / n:7.2f}")
            failed |= bool(bad) or (renderer is not None and render_zero != rendered)
            for line in bad[: a.show]:
                print(f"    ! {line}")
            for v, fname in sorted(rets)[: a.show]:
                if v < 0.95:
                    print(f"    low word retention {v:.3f}: {fname}")
    finally:
        if renderer is not None:
            renderer.close()
    print("columns: html = messages with an HTML body; had = of which with remote fetches; mime ok = copy "
          "parses with the same MIME structure; static 0 = no remote reference left (inventory + sweep); "
          "render 0 = zero requests in Chromium; words = visible-word retention; text = parts reduced to text")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
