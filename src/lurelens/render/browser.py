"""Render an HTML mail body in headless Chromium and list what it tries to fetch.

Static parsing misses fetches that only a real engine performs (CSS cascade,
``@import`` chains, srcset selection, fonts that are actually used, ...). This
module loads the body in a real Chromium with JavaScript off and records every
network request the page makes, without letting any of them leave the machine:

* every request that reaches Playwright routing is recorded and aborted;
* requests Chromium issues outside the interceptable loader (``<link
  rel=prefetch>``) are recorded from CDP ``Network.requestWillBeSent``;
* the browser's own network is dead anyway: all traffic is forced through a
  proxy on a closed loopback port and the host resolver resolves nothing, so
  even a request both recorders missed (favicons, browser start-up pings)
  fails locally.

One browser process serves many messages; each message gets a fresh incognito
context. The API is synchronous (Playwright sync API) and not thread-safe:
create, use and close a ``BrowserRenderer`` on one thread.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from lurelens.errors import BrowserNotAvailable

__all__ = [
    "BrowserNotAvailable",
    "BrowserRenderer",
    "LOCKDOWN_ARGS",
    "RenderResult",
    "RenderedRequest",
    "find_chromium",
    "inline_cid",
]

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# Port 9 (discard) on loopback: nothing listens there, so the proxy is dead.
DEAD_PROXY = "http://127.0.0.1:9"

LOCKDOWN_ARGS: tuple[str, ...] = (
    # Without a bypass entry Chromium sends loopback hosts directly; "<-loopback>"
    # removes that implicit bypass so even 127.0.0.1 goes to the dead proxy.
    f"--proxy-server={DEAD_PROXY}",
    "--proxy-bypass-list=<-loopback>",
    # Resolve nothing. Verified on Chromium 156: this also fails IP literals
    # (127.0.0.1 -> ERR_NAME_NOT_RESOLVED), including the proxy's own address, so
    # it is a second wall behind the proxy rather than a complement to it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-quic",
    # Debian's Chromium still POSTs to the component updater and connects to
    # accounts.google.com at start-up despite these flags; the two walls above
    # are what actually stops that. These just reduce the noise.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-first-run",
)

BASE_ARGS: tuple[str, ...] = (
    "--headless",
    # We run as root in CI/containers where the setuid/userns sandbox is not
    # available. JavaScript is off and the network is dead, which limits what a
    # hostile body can do inside the renderer.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--mute-audio",
)

# Requests with these schemes never touch the network. Anything else that reaches
# routing (http, https, ws, wss, ftp, gopher, ...) is recorded.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
# For CDP-only records we are stricter: CDP also reports cid:, file:, mailto:,
# javascript: and friends, which Chromium refuses without any network activity.
_NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})

# After "load" and network idle, a short pause catches late starters: meta
# refresh with delay 0 and browser-side prefetches whose CDP event trails.
_SETTLE_SECONDS = 0.25

_INSTALL_HINT = (
    "Install Chromium with `sudo scripts/install-browser.sh` "
    "(or `apt-get install chromium` on Debian/Ubuntu), or point the "
    "LURELENS_CHROMIUM environment variable at a Chromium executable."
)


@dataclass(frozen=True)
class RenderedRequest:
    """One network request the rendered message tried to make."""

    url: str
    host: str
    #: Playwright resource type: image, stylesheet, font, media, document, other, ...
    type: str
    #: Best effort: URL of the frame that issued it (about:blank for the body,
    #: about:srcdoc for srcdoc iframes), or "preload/prefetch" for the
    #: browser-side fetches only CDP sees.
    initiator: str | None


@dataclass
class RenderResult:
    requests: list[RenderedRequest] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False


def find_chromium(explicit: str | None = None) -> str:
    """Return the Chromium executable to use or raise BrowserNotAvailable.

    Order: *explicit*, $LURELENS_CHROMIUM, /usr/bin/chromium, ``chromium`` on
    PATH. An explicit or environment path that does not exist is an error, not
    a reason to fall back: the caller asked for that binary.
    """
    requested = explicit or os.environ.get("LURELENS_CHROMIUM")
    if requested:
        if os.path.isfile(requested) and os.access(requested, os.X_OK):
            return requested
        raise BrowserNotAvailable(
            f"Chromium executable {requested!r} does not exist or is not executable. "
            + _INSTALL_HINT
        )
    if os.path.isfile(DEFAULT_CHROMIUM) and os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    found = shutil.which("chromium")
    if found:
        return found
    raise BrowserNotAvailable("No Chromium executable found. " + _INSTALL_HINT)


_CID_REF = re.compile(r"cid:([^\s\"'()<>,\\]+)", re.IGNORECASE)
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[\w.+-]+")


def inline_cid(html: str, cid: dict[str, tuple[str, bytes]]) -> str:
    """Replace ``cid:`` references that name a known part by ``data:`` URIs.

    Keys are Content-IDs without angle brackets. Unknown references are left
    alone: Chromium refuses the ``cid:`` scheme locally, so they never count as
    fetches either.
    """
    if not cid:
        return html
    exact = {key.strip().strip("<>"): value for key, value in cid.items()}
    folded = {key.lower(): value for key, value in exact.items()}
    cache: dict[str, str] = {}

    def data_uri(part: tuple[str, bytes]) -> str:
        content_type = (part[0] or "").split(";", 1)[0].strip()
        if not _MIME_TYPE.fullmatch(content_type):
            content_type = "application/octet-stream"
        return f"data:{content_type};base64,{base64.b64encode(part[1]).decode('ascii')}"

    def replace(match: re.Match[str]) -> str:
        ref = unquote(match.group(1))  # RFC 2392: cid URLs are %-encoded
        part = exact.get(ref) or folded.get(ref.lower())
        if part is None:
            return match.group(0)
        if ref not in cache:
            cache[ref] = data_uri(part)
        return cache[ref]

    return _CID_REF.sub(replace, html)


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


class _Recorder:
    """Collects one message's requests from routing and from CDP."""

    def __init__(self) -> None:
        self._seen: dict[str, RenderedRequest] = {}  # insertion-ordered, URL-deduped
        self._cdp: dict[str, dict[str, Any]] = {}

    def on_route(self, route: Any) -> None:
        request = route.request
        url = request.url
        if _scheme(url) in _LOCAL_SCHEMES:
            route.fallback()
            return
        try:
            self._add(RenderedRequest(url, _host(url), request.resource_type, _frame_url(request)))
        finally:
            try:
                route.abort()
            except Exception:  # page already gone; the request dies with it
                pass

    def on_cdp_request(self, event: dict[str, Any]) -> None:
        request = event.get("request", {})
        url = request.get("url", "") + request.get("urlFragment", "")
        if _scheme(url) in _NETWORK_SCHEMES:
            rtype = str(event.get("type") or "other").lower()
            # rel=prefetch is the one kind that lands here in practice (CDP type
            # "Other"); anything else is a routed request whose handler had not
            # run yet when the deadline hit.
            initiator = "preload/prefetch" if rtype == "other" else event.get("documentURL")
            self._cdp.setdefault(
                event.get("requestId", url),
                {"url": url, "type": rtype, "initiator": initiator},
            )

    def on_cdp_failed(self, event: dict[str, Any]) -> None:
        entry = self._cdp.get(event.get("requestId", ""))
        # blockedReason means Blink refused the load itself (cross-origin SVG <use>
        # or filter, <track> without CORS, script preloads with JS off): verified
        # not to produce any network traffic even with the lockdown off.
        if entry is not None and event.get("blockedReason"):
            entry["blocked"] = True

    def requests(self) -> list[RenderedRequest]:
        result = dict(self._seen)
        for entry in self._cdp.values():
            url = entry["url"]
            if not entry.get("blocked") and url not in result:
                result[url] = RenderedRequest(url, _host(url), entry["type"], entry["initiator"])
        return list(result.values())

    def _add(self, item: RenderedRequest) -> None:
        self._seen.setdefault(item.url, item)


def _frame_url(request: Any) -> str | None:
    try:
        frame = request.frame
    except Exception:
        return None
    # A subframe's own navigation request belongs to a frame that has no URL
    # yet; what issued it is the parent document.
    while frame is not None and not frame.url:
        frame = frame.parent_frame
    return frame.url if frame is not None else None


class BrowserRenderer:
    """Headless Chromium that renders mail bodies with the network locked down.

    Use as a context manager; the browser starts once and is reused::

        with BrowserRenderer() as renderer:
            result = renderer.render(html, cid=parts, timeout=10)
    """

    def __init__(self, executable_path: str | None = None) -> None:
        self._requested_executable = executable_path
        self._playwright: Any = None
        self._browser: Any = None
        self._launches = 0
        self._closed = False

    @property
    def launch_count(self) -> int:
        """How many browser processes this renderer has started (restarts included)."""
        return self._launches

    def __enter__(self) -> BrowserRenderer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> BrowserRenderer:
        """Launch the browser now instead of on the first render."""
        if self._closed:
            raise RuntimeError("BrowserRenderer is closed")
        if self._browser is None:
            try:
                self._launch()
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        """Stop the browser and the Playwright driver. Safe to call repeatedly."""
        self._closed = True
        self._discard_browser()
        if self._playwright is not None:
            _release_playwright()
            self._playwright = None

    def render(
        self,
        html: str,
        *,
        cid: dict[str, tuple[str, bytes]] | None = None,
        timeout: float = 10.0,
    ) -> RenderResult:
        """Load *html* and return every network request it attempted.

        Nothing is actually fetched. *timeout* bounds the page work (load, idle
        wait, settle); on expiry the result has ``timed_out=True`` and whatever
        was recorded so far. Page or browser failures come back in ``error``;
        a dead browser is restarted on the next call, and BrowserNotAvailable is
        raised only when it cannot be started at all.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        html = inline_cid(html, cid) if cid else html
        browser = self._ensure_browser()
        recorder = _Recorder()
        result = RenderResult()
        context = None
        try:
            context = browser.new_context(
                java_script_enabled=False,
                service_workers="block",
                accept_downloads=False,
            )
            context.set_default_timeout(_ms_left(deadline))
            context.route(lambda url: True, recorder.on_route)
            page = context.new_page()
            self._attach_cdp(context, page, recorder)
            if _ms_left(deadline) <= 1:
                raise _Expired
            # set_content writes into the about:blank document: relative and
            # protocol-relative URLs have no base and resolve to nothing (a real
            # <base href> in the mail still works, as it would in a mail client),
            # and there is no origin for cookies or same-origin loads.
            page.set_content(html, wait_until="load", timeout=_ms_left(deadline))
            # No scrolling needed: with scripting disabled Chromium ignores
            # loading=lazy (images and iframes 40000px down are requested at
            # parse time; covered by the tests).
            # Every request is aborted at once, so "network idle" (500 ms without traffic) only
            # adds a fixed wait; a short settle catches fetches started after load (prefetch,
            # late stylesheets' imports), which CDP reports within a few milliseconds.
            settle = min(_SETTLE_SECONDS, deadline - time.monotonic())
            if settle > 0:
                page.wait_for_timeout(settle * 1000)
        except _Expired:
            result.timed_out = True
        except Exception as exc:
            if _is_timeout(exc):
                result.timed_out = True
            else:
                result.error = _describe(exc)
                if not browser.is_connected():
                    result.error = "browser crashed: " + result.error
        finally:
            if context is not None:
                try:
                    context.close()
                except Exception:
                    pass
        result.requests = recorder.requests()
        return result

    def _ensure_browser(self) -> Any:
        if self._closed:
            raise RuntimeError("BrowserRenderer is closed")
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        # First use, or the previous browser died: (re)start it once for this
        # message. A failure here propagates; the next render tries again.
        self._discard_browser()
        self._launch()
        return self._browser

    def _launch(self) -> None:
        executable = find_chromium(self._requested_executable)
        if self._playwright is None:
            self._playwright = _acquire_playwright()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                chromium_sandbox=False,
                args=[*BASE_ARGS, *LOCKDOWN_ARGS],
            )
        except Exception as exc:
            raise BrowserNotAvailable(
                f"Could not start Chromium at {executable!r}: {_describe(exc)} " + _INSTALL_HINT
            ) from exc
        self._launches += 1

    def _discard_browser(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:
                pass
            self._browser = None

    @staticmethod
    def _attach_cdp(context: Any, page: Any, recorder: _Recorder) -> None:
        # Routing (Fetch domain) never sees <link rel=prefetch>: Chromium hands
        # it to the browser process, and without the lockdown it reached our
        # test server un-intercepted. CDP Network events still report it.
        try:
            session = context.new_cdp_session(page)
            session.on("Network.requestWillBeSent", recorder.on_cdp_request)
            session.on("Network.loadingFailed", recorder.on_cdp_failed)
            session.send("Network.enable")
        except Exception:
            pass  # routing alone still records everything but prefetches


class _Expired(Exception):
    pass


# The sync API allows one running Playwright per thread, so renderers on the
# same thread share it (each still has its own browser process).
_thread_state = threading.local()


def _acquire_playwright() -> Any:
    shared = getattr(_thread_state, "playwright", None)
    if shared is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserNotAvailable(
                "The Playwright Python package is missing: "
                "`pip install 'lurelens[render]'` (or `pip install playwright`). "
                "Do not run `playwright install`; lurelens uses the system "
                "Chromium. " + _INSTALL_HINT
            ) from exc
        shared = _thread_state.playwright = [sync_playwright().start(), 0]
    shared[1] += 1
    return shared[0]


def _release_playwright() -> None:
    shared = getattr(_thread_state, "playwright", None)
    if shared is None:
        return
    shared[1] -= 1
    if shared[1] <= 0:
        _thread_state.playwright = None
        try:
            shared[0].stop()
        except Exception:
            pass


def _ms_left(deadline: float) -> float:
    # Playwright treats timeout=0 as "no timeout"; never pass it.
    return max(1.0, (deadline - time.monotonic()) * 1000)


def _is_timeout(exc: BaseException) -> bool:
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
    except ImportError:
        return False
    return isinstance(exc, PlaywrightTimeout)


def _describe(exc: BaseException) -> str:
    # Playwright appends the whole browser log to some messages; keep line one.
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
