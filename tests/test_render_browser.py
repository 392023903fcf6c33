"""Real-Chromium tests for lurelens.render.browser.

Every page points at a loopback HTTP server that counts connections. The
renderer must record the requests a browser makes for each kind of reference
and the server must never see a single connection.

Skipped when Playwright or Chromium is missing, unless LURELENS_REQUIRE_BROWSER=1
(CI sets it so a missing browser fails loudly instead of skipping).
"""

from __future__ import annotations

import base64
import http.server
import importlib.util
import os
import threading

import pytest

from lurelens.render import (
    BrowserNotAvailable,
    BrowserRenderer,
    RenderResult,
    find_chromium,
    inline_cid,
)

pytestmark = pytest.mark.browser

# 1x1 transparent PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def _missing_browser_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install 'lurelens[render]')"
    try:
        find_chromium()
    except BrowserNotAvailable as exc:
        return f"no Chromium: {exc}"
    return None


MISSING = _missing_browser_reason()


@pytest.fixture(scope="module")
def browser_available() -> None:
    if MISSING is None:
        return
    if os.environ.get("LURELENS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LURELENS_REQUIRE_BROWSER=1 but {MISSING}")
    pytest.skip(MISSING)


class CountingServer:
    """Loopback HTTP server that counts every accepted connection."""

    def __init__(self) -> None:
        counter = self
        self.connections = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                with counter._lock:
                    counter.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_HEAD = do_GET

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address) -> bool:  # type: ignore[override]
                with counter._lock:
                    counter.connections += 1
                return True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.connections = 0
            self.paths.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def server():
    srv = CountingServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def renderer(browser_available):
    with BrowserRenderer() as r:
        yield r


@pytest.fixture
def quiet_server(server):
    """The counting server, reset, asserted untouched after the test."""
    server.reset()
    yield server
    assert server.connections == 0, f"server was reached: {server.paths}"


# kind -> (markup, path the browser requests or None, expected resource type).
# Established empirically on Chromium 156, JavaScript disabled, incognito context.
KINDS: dict[str, tuple[str, str | None, str | None]] = {
    "img_src": ('<img src="{B}/img-src.png">', "/img-src.png", "image"),
    "img_srcset": ('<img srcset="{B}/img-srcset.png 1x">', "/img-srcset.png", "image"),
    "style_background": (
        '<style>.x{{background:url("{B}/style-bg.png")}}</style><div class=x>x</div>',
        "/style-bg.png",
        "image",
    ),
    "inline_style": (
        "<div style=\"background-image:url('{B}/inline-style.png')\">x</div>",
        "/inline-style.png",
        "image",
    ),
    "css_import": ('<style>@import url("{B}/import.css");</style>', "/import.css", "stylesheet"),
    "font_face": (
        '<style>@font-face{{font-family:T;src:url("{B}/font.woff2")}} p{{font-family:T}}</style>'
        "<p>text in the web font</p>",
        "/font.woff2",
        "font",
    ),
    "link_stylesheet": ('<link rel=stylesheet href="{B}/link.css">', "/link.css", "stylesheet"),
    # Only CDP sees this one (see browser.py); routing never does.
    "link_prefetch": ('<link rel=prefetch href="{B}/prefetch.png">', "/prefetch.png", "other"),
    "link_preload": ('<link rel=preload as=image href="{B}/preload.png">', "/preload.png", "image"),
    # Chromium performs no DNS prefetch or preconnect in incognito contexts, so
    # there is nothing to record and nothing reaches the network.
    "link_dns_prefetch": ('<link rel=dns-prefetch href="{B}/">', None, None),
    "link_preconnect": ('<link rel=preconnect href="{B}/">', None, None),
    "video_poster": ('<video poster="{B}/poster.png"></video>', "/poster.png", "image"),
    "iframe": ('<iframe src="{B}/frame.html"></iframe>', "/frame.html", "document"),
    "input_image": ('<input type=image src="{B}/input.png">', "/input.png", "image"),
    "meta_refresh": (
        '<meta http-equiv=refresh content="0;url={B}/refresh.html">',
        "/refresh.html",
        "document",
    ),
    "object_data": ('<object data="{B}/object.png" type="image/png"></object>', "/object.png", "image"),
    "embed_src": ('<embed src="{B}/embed.png" type="image/png">', "/embed.png", "image"),
    "body_background": (
        '<!doctype html><html><body background="{B}/body-bg.png">x</body></html>',
        "/body-bg.png",
        "image",
    ),
    "lazy_img_far_below": (
        '<img loading=lazy src="{B}/lazy.png" style="margin-top:40000px">',
        "/lazy.png",
        "image",
    ),
}


def _page(markup: str, base: str) -> str:
    markup = markup.format(B=base)
    if markup.lstrip().lower().startswith("<!doctype"):
        return markup
    return f"<!doctype html><html><head><title>t</title></head><body>{markup}</body></html>"


def _urls(result: RenderResult) -> list[str]:
    return [r.url for r in result.requests]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_is_recorded_and_never_fetched(kind, renderer, quiet_server):
    markup, path, rtype = KINDS[kind]
    result = renderer.render(_page(markup, quiet_server.base))

    assert result.error is None
    assert not result.timed_out
    ours = [r for r in result.requests if r.url.startswith(quiet_server.base)]
    if path is None:
        assert ours == []
    else:
        assert [r.url for r in ours] == [quiet_server.base + path]
        assert ours[0].type == rtype
        assert ours[0].host == "127.0.0.1"


def test_all_kinds_together_exact(renderer, quiet_server):
    head = "".join(m for m, _, _ in KINDS.values() if not m.startswith("<!doctype"))
    html = _page(
        '<!doctype html><html><head></head><body background="{B}/body-bg.png">' + head + "</body></html>",
        quiet_server.base,
    )
    result = renderer.render(html)

    expected = {quiet_server.base + p for _, p, _ in KINDS.values() if p is not None}
    assert result.error is None
    assert set(_urls(result)) == expected
    assert len(_urls(result)) == len(expected)  # deduplicated


def test_prefetch_comes_from_cdp(renderer, quiet_server):
    html = _page('<link rel=prefetch href="{B}/p.png">', quiet_server.base)
    [req] = renderer.render(html).requests
    assert req.initiator == "preload/prefetch"


def test_remote_hosts_recorded_without_resolution(renderer, quiet_server):
    html = _page(
        '<img src="https://tracker.example.invalid/open.gif?id=42">'
        "<img src=\"//protocol-relative.example.invalid/x.gif\">"
        '<img src="relative.gif">',
        quiet_server.base,
    )
    result = renderer.render(html)
    # Relative and protocol-relative URLs have no base in about:blank.
    assert _urls(result) == ["https://tracker.example.invalid/open.gif?id=42"]
    assert result.requests[0].host == "tracker.example.invalid"


def test_base_href_is_honoured(renderer, quiet_server):
    html = '<!doctype html><html><head><base href="{B}/dir/"></head><body><img src="x.png"></body></html>'
    result = renderer.render(html.format(B=quiet_server.base))
    assert _urls(result) == [quiet_server.base + "/dir/x.png"]


def test_cid_image_is_not_a_request(renderer, quiet_server):
    html = _page('<img src="cid:logo@mail"><div style="background:url(cid:bg@mail)">x</div>', "")
    result = renderer.render(
        html, cid={"logo@mail": ("image/png", PNG), "<bg@mail>": ("image/png", PNG)}
    )
    assert result.error is None
    assert result.requests == []


def test_unknown_cid_is_not_a_request(renderer, quiet_server):
    result = renderer.render(_page('<img src="cid:missing@mail">', ""), cid={})
    assert result.requests == []


def test_inline_cid_builds_data_uris():
    html = '<img src="cid:a%40b"><img src="CID:A@B"><img src="cid:other">'
    out = inline_cid(html, {"a@b": ("image/png; name=x.png", b"\x89PNG")})
    uri = "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    assert out == f'<img src="{uri}"><img src="{uri}"><img src="cid:other">'


def test_data_image_is_not_a_request(renderer, quiet_server):
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    result = renderer.render(_page(f'<img src="{uri}"><div style="background:url({uri})">x</div>', ""))
    assert result.error is None
    assert result.requests == []


def test_one_browser_serves_many_messages(browser_available, quiet_server):
    with BrowserRenderer() as r:
        results = [
            r.render(_page(f'<img src="{{B}}/reuse-{i}.png">', quiet_server.base)) for i in range(3)
        ]
        assert r.launch_count == 1
    for i, result in enumerate(results):
        # Fresh context per message: nothing carries over from the previous one.
        assert _urls(result) == [f"{quiet_server.base}/reuse-{i}.png"]


def test_tiny_timeout_returns_timed_out(renderer, quiet_server):
    result = renderer.render(_page('<img src="{B}/t.png">', quiet_server.base), timeout=0.001)
    assert result.timed_out
    assert result.error is None


def test_huge_page_times_out_and_renderer_survives(renderer, quiet_server):
    imgs = "".join(f'<img src="{{B}}/huge-{i}.png">' for i in range(20000))
    result = renderer.render(_page(imgs, quiet_server.base), timeout=0.5)
    assert result.timed_out
    # Partial results are allowed, but only real references.
    assert all(u.startswith(quiet_server.base + "/huge-") for u in _urls(result))

    after = renderer.render(_page('<img src="{B}/after.png">', quiet_server.base))
    assert _urls(after) == [quiet_server.base + "/after.png"]


def test_restarts_after_browser_crash(browser_available, quiet_server):
    with BrowserRenderer() as r:
        assert _urls(r.render(_page('<img src="{B}/before.png">', quiet_server.base)))
        try:
            r._browser.new_browser_cdp_session().send("Browser.crash")
        except Exception:
            pass  # the crash takes the CDP connection with it
        result = r.render(_page('<img src="{B}/after-crash.png">', quiet_server.base))
        assert result.error is None
        assert _urls(result) == [quiet_server.base + "/after-crash.png"]
        assert r.launch_count == 2


def test_close_is_idempotent_and_final(browser_available):
    r = BrowserRenderer().start()
    r.close()
    r.close()
    with pytest.raises(RuntimeError):
        r.render("<p>x</p>")


def test_missing_executable_raises_helpful_error(tmp_path):
    missing = str(tmp_path / "no-such-chromium")
    with pytest.raises(BrowserNotAvailable) as info:
        with BrowserRenderer(executable_path=missing):
            pass
    message = str(info.value)
    assert missing in message
    assert "scripts/install-browser.sh" in message
    assert "apt-get install chromium" in message


def test_missing_executable_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LURELENS_CHROMIUM", str(tmp_path / "nope"))
    with pytest.raises(BrowserNotAvailable, match="install-browser.sh"):
        BrowserRenderer().start()
