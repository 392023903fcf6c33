"""Proof in a real browser: lures whose every fetch points at a loopback HTTP server that counts hits
are rendered (original and defused copy) in headless Chromium. The original's requests are recorded
and aborted; the defused copy makes none; the server sees no hit at all; the words stay.

Skipped when Playwright or Chromium is missing, unless LURELENS_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import threading

import pytest

from defuse_lures import KINDS, TOKEN, apt31_lure, everything_lure, newsletter_lure, page
from lurelens.render.merge import displayed_html
from lurelens.defuse import defuse, visible_words, word_retention
from lurelens.testing import MessageBuilder

pytestmark = pytest.mark.browser


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed"
    from lurelens.render.browser import BrowserNotAvailable, find_chromium

    try:
        find_chromium()
    except BrowserNotAvailable as exc:
        return str(exc)
    return None


class HitCounter:
    """A loopback HTTP server (random port) that counts every connection and request it gets."""

    def __init__(self) -> None:
        self.hits = 0
        self.paths: list[str] = []
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    outer.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_HEAD = do_OPTIONS = do_GET

            def log_message(self, *args) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address) -> bool:  # every connection counts
                with lock:
                    outer.hits += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def server():
    srv = HitCounter()
    yield srv
    srv.stop()
    assert srv.hits == 0, f"the loopback server was reached: {srv.paths}"


@pytest.fixture(scope="module")
def renderer():
    reason = _missing()
    if reason:
        if os.environ.get("LURELENS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LURELENS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from lurelens.render.browser import BrowserRenderer

    with BrowserRenderer() as r:
        yield r


def _render(renderer, raw: bytes):
    html, cids = displayed_html(raw)
    result = renderer.render(html, cid=cids, timeout=15)
    assert result.error is None and not result.timed_out
    return html, result.requests


def _check(renderer, server, raw: bytes, must: set[str] | None = None) -> None:
    """Original: the paths in ``must`` are requested (recorded, aborted). Copy: no request at all."""
    html = displayed_html(raw)[0]
    if must is not None:
        _html, original = _render(renderer, raw)
        ours = {r.url[len(server.base):] for r in original if r.url.startswith(server.base)}
        assert must <= ours, sorted(must - ours)
    res = defuse(raw)
    html2, defused = _render(renderer, res.data)
    assert defused == [], [r.url for r in defused]
    assert server.hits == 0, server.paths
    assert word_retention(visible_words(html), visible_words(html2)) >= 0.95


def test_apt31_lure(renderer, server):
    _check(renderer, server, apt31_lure(server.base), must={"/inline.png", "/o.gif?u=" + TOKEN})


def test_newsletter_lure(renderer, server):
    _check(renderer, server, newsletter_lure(server.base), must={"/big.png", "/w-big.png", "/font.woff2"})


def test_everything_lure(renderer, server):
    # What Chromium fetches (dns-prefetch, preconnect, icons, tracks and print or dark-mode CSS it
    # does not; the defused copy is checked for those statically in test_defuse.py).
    must = {"/base/rel.png", "/body-bg.png", "/data-import.png", "/escaped.png", "/font.woff2", "/frame.html",
            "/import.css", "/import2.css", "/link.css", "/noscript.png", "/obj.png", "/embed.png", "/poster.png",
            "/prefetch.png", "/preload.png", "/refresh.html", "/s1.png", "/set1.png", "/srcdoc.png", "/svg.png",
            "/svgx.png", "/tbg.png", "/tdbg.png", "/input.png", "/lazy.png", "/v.mp4", "/a.mp3", "/img.png"}
    _check(renderer, server, everything_lure(server.base), must=must)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_defused_makes_no_request(renderer, server, kind):
    _check(renderer, server, MessageBuilder().html(page(KINDS[kind], server.base)).build())


def test_scan_render_json_merges_requests_into_leaks(run_cli, renderer, server, tmp_path):
    p = tmp_path / "lure.eml"
    hidden = '<div style="display:none"><style>.q{background:url({B}/only-css.png)}</style></div><p class="q">q</p>'
    p.write_bytes(MessageBuilder().html(page(hidden + KINDS["pixel"], server.base)).build())
    code, out, err = run_cli(["scan", "--render", "--json", p])
    assert code in (0, 1), err
    d = json.loads(out)
    assert {r["type"] for r in d["requests"]} >= {"image"}
    leak = next(h for h in d["open_leaks"] if h["host"] == "127.0.0.1")
    assert "browser" in leak["seen_by"] and any("User-Agent" in x for x in leak["learns"])
    code, out, err = run_cli(["render", "--json", p])
    assert code == 0, err
    row = json.loads(out)
    assert row["file"] == str(p) and {"url", "host", "type"} <= set(row["requests"][0])
    assert server.hits == 0
