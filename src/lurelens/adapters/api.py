"""The HTTP API and analyst web page (``lurelens serve``): FastAPI on uvicorn.

Each worker process builds one warm Scanner from a ``ScannerSettings`` at startup and runs scans in a
small executor of its own, so the event loop stays responsive; past a fixed number of scans in
progress it answers 503 with Retry-After instead of queueing without limit. ``POST /checkv2`` speaks
rspamd's protocol so MTAs and tools that already talk to rspamd can use lurelens unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as Path_
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from pydantic import BaseModel, Field

from lurelens import Limits, Scanner, ScannerSettings, __version__
from lurelens.model import Verdict

__all__ = ["CONFIG_ENV", "ServeConfig", "app_from_env", "check_bind", "check_listen", "create_app", "load_tokens", "verdict_headers"]

log = logging.getLogger("lurelens.api")

CONFIG_ENV = "LURELENS_SERVE_CONFIG"  # how `lurelens serve` hands its config to uvicorn's worker processes
TOKENS_ENV = "LURELENS_API_TOKENS"
# Test-only: seconds each scan sleeps in its worker thread before scanning, to saturate the server.
STALL_ENV = "LURELENS_API_TEST_STALL"

VERDICT_HEADERS = ("X-Lurelens-Verdict", "X-Lurelens-Score", "X-Lurelens-Reasons")
# rspamd's actions, per verdict label: the MTA (or rspamd's proxy) applies them.
# "incomplete" (part of the message could not be checked) is delivered tagged, never as clean.
RSPAMD_ACTIONS = {"recon": "reject", "phishing": "reject", "suspicious": "add header",
                  "incomplete": "add header", "tracked": "no action", "clean": "no action"}

# The page and its assets: nothing from outside the server, no inline script, frames only from srcdoc.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
# The defused copy's HTML: no script, no fetch, and a sandbox even if opened on its own.
PREVIEW_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
WEB_DIR = "web"
WEB_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
             "style.css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class ServeConfig:
    """What every worker process needs: the scanner settings and the server's limits.

    ``max_pending``: scans running or waiting in one worker; one more is answered 503.
    ``request_timeout``: seconds a request waits for its scan (the scanner's own deadline is
    ``settings.limits.timeout``). ``max_body``: request bodies larger than this are answered 413.
    """

    settings: ScannerSettings = field(default_factory=ScannerSettings)
    tokens: tuple[str, ...] = ()
    max_body: int = 25 * 1024 * 1024
    scan_threads: int = 1
    max_pending: int = 8
    request_timeout: float = 15.0
    retry_after: int = 2
    db: str | None = None
    test_stall: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        d = json.loads(text)
        s = d.pop("settings")
        settings = ScannerSettings(
            limits=Limits(**s.pop("limits")),
            intel_dirs=tuple(s.pop("intel_dirs")),
            trusted_authserv_ids=tuple(s.pop("trusted_authserv_ids")),
            **s,
        )
        return cls(settings=settings, tokens=tuple(d.pop("tokens")), **d)


def load_tokens(tokens_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Bearer tokens: one a line in the file (``#`` comments), plus ``LURELENS_API_TOKENS``
    (comma or whitespace separated)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    tokens: list[str] = []
    if tokens_file:
        for line in Path(tokens_file).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                tokens.append(line)
    tokens += environ.get(TOKENS_ENV, "").replace(",", " ").split()
    return tuple(dict.fromkeys(tokens))


def check_bind(host: str, tokens: tuple[str, ...]) -> str | None:
    """Why the server must not start on this address (None: it may). Without tokens, only loopback."""
    if tokens:
        return None
    name = host.strip("[]")
    if name == "localhost":
        return None
    try:
        if ipaddress.ip_address(name).is_loopback:
            return None
    except ValueError:
        pass
    return (f"refusing to listen on {host} without API tokens: give --tokens-file or {TOKENS_ENV}, "
            "or listen on a loopback address")


def check_listen(host: str, port: int) -> str | None:
    """Why the server cannot listen on ``host:port`` (None: it can), found before uvicorn starts by
    binding each address the host resolves to, as asyncio does (SO_REUSEADDR, an address family
    this machine lacks skipped), and letting go at once: a port in use is then one error line, not
    uvicorn's log and its own exit status. A process that takes the port in between still meets uvicorn's."""
    import errno
    import socket

    shown = f"[{host.strip('[]')}]:{port}" if ":" in host else f"{host}:{port}"

    def why(exc: OSError) -> str:
        text = exc.strerror or str(exc)
        return f"cannot listen on {shown}: {text[:1].lower()}{text[1:]}"

    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return why(exc)
    addresses = list(dict.fromkeys(infos))  # getaddrinfo may list one address twice
    errors: list[OSError] = []
    for family, kind, proto, _name, addr in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                if exc.errno != errno.EADDRNOTAVAIL:
                    return why(exc)
                errors.append(exc)
    return why(errors[0]) if errors and len(errors) == len(addresses) else None


def verdict_headers(verdict: Verdict) -> dict[str, str]:
    """The header fields a mail flow adds for a verdict (the same values as the milter's)."""
    from lurelens.report.headers import top_symbols, verdict_header_values

    return verdict_header_values(verdict.label, verdict.score, top_symbols(verdict.findings))


# What a feedback value may be, in the spec (pydantic checks these patterns; the feedback module
# then normalises the value and refuses what still is not one, with 400).
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST = rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.?"
_IPV4 = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LOCAL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
_NOTE = Field(None, max_length=500, description="Free text kept in the log")
_HIT = Field(None, ge=1, description="The stored message (GET /v1/hits) the action is about")


class FalsePositive(BaseModel):
    """Log that a stored message was wrongly flagged (nothing else changes)."""

    action: Literal["false_positive"]
    hit: int = Field(ge=1, description="The stored message (GET /v1/hits)")
    note: str | None = _NOTE


class SenderAction(BaseModel):
    """Allow a sender (``allowed_senders.txt``: credit when its From domain is authenticated) or
    block it (an e-mail or domain indicator in ``iocs/lurelens-feedback.txt``)."""

    action: Literal["allow_sender", "block_sender"]
    value: str = Field(max_length=320, pattern=rf"^(?:{_LOCAL}@)?{_HOST}$", description="An address or a domain")
    hit: int | None = _HIT
    note: str | None = _NOTE


class AllowHost(BaseModel):
    """Allow a host (``allowed_hosts.txt``: its fetches are not counted as beacons)."""

    action: Literal["allow_host"]
    value: str = Field(max_length=253, pattern=rf"^{_HOST}$", description="A host name; covers its subdomains")
    hit: int | None = _HIT
    note: str | None = _NOTE


class BlockHost(BaseModel):
    """Block a host (a domain or IP indicator in ``iocs/lurelens-feedback.txt``)."""

    action: Literal["block_host"]
    value: str = Field(max_length=253, pattern=rf"^(?:{_HOST}|{_IPV4})$", description="A host name or an IPv4 address")
    hit: int | None = _HIT
    note: str | None = _NOTE


FeedbackIn = Annotated[FalsePositive | SenderAction | AllowHost | BlockHost, Field(discriminator="action")]


_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                     (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """Pure ASGI middleware: the page's CSP (unless the route set its own), no sniffing, no referrer,
    no framing and no caching (unless set) on every response, and the in-flight gauge. (Starlette's
    ``@app.middleware("http")`` runs each request through an extra task and memory stream.)"""

    def __init__(self, app: Any, gauge: Any):
        self.app = app
        self.gauge = gauge

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in (b"x-content-type-options", b"referrer-policy", b"x-frame-options")]
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers += _SECURITY_HEADERS
                message = {**message, "headers": headers}
            await send(message)

        self.gauge.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.gauge.dec()


class Overloaded(Exception):
    """Every scan slot of this worker is taken."""


class ScanTimeout(Exception):
    """The request's time limit passed before its scan finished."""


class ScanPool:
    """A worker's scan executor with a fixed number of slots. A slot is freed when the work really
    ends, not when the request gives up waiting, so a stalled scanner cannot pile up threads."""

    def __init__(self, threads: int, max_pending: int):
        self.executor = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="lurelens-scan")
        self.max_pending = max(1, max_pending)
        self.pending = 0  # only touched on the event loop's thread

    @property
    def full(self) -> bool:
        return self.pending >= self.max_pending

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        if self.full:
            raise Overloaded()
        loop = asyncio.get_running_loop()
        self.pending += 1
        fut = loop.run_in_executor(self.executor, fn, *args)
        fut.add_done_callback(self._done)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            raise ScanTimeout() from None

    def _done(self, fut: asyncio.Future) -> None:
        self.pending -= 1
        if not fut.cancelled():
            fut.exception()  # retrieved, so an abandoned (timed-out) failure is not logged as lost

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Metrics:
    """Prometheus metrics. Under several uvicorn workers ``lurelens serve`` sets
    PROMETHEUS_MULTIPROC_DIR before the workers start, and /metrics aggregates their files."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiproc = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # Our own registry, so several apps in one process (tests) do not collide. In multiprocess
        # mode the values live in the directory's files whatever the registry; /metrics reads them.
        self.registry = CollectorRegistry()
        kw: dict[str, Any] = {"registry": self.registry}
        self.scans = Counter("lurelens_scans", "Messages scanned, by verdict and endpoint", ["verdict", "endpoint"], **kw)
        self.latency = Histogram("lurelens_scan_seconds", "Scan time per message, seconds", ["endpoint"],
                                 buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30), **kw)
        self.errors = Counter("lurelens_errors", "Requests that got no verdict, by reason", ["reason"], **kw)
        self.in_flight = Gauge("lurelens_in_flight_requests", "Requests being served", multiprocess_mode="livesum", **kw)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import (
            CONTENT_TYPE_LATEST,
            CollectorRegistry,
            generate_latest,
        )

        if self.multiproc:
            from prometheus_client import multiprocess

            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            return generate_latest(reg), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class Engine:
    """One worker's warm Scanner, its variants per trusted authserv-id, and the optional renderer."""

    def __init__(self, config: ServeConfig):
        from lurelens.adapters.feedback import Feedback

        self.config = config
        self.scanner = Scanner.from_settings(config.settings).warm()
        self._variants: dict[tuple[str, ...], Scanner] = {}
        self._render_stage: Any = None
        # Analyst feedback lands in the data overlay; any worker's action changes the log, and every
        # worker re-reads the lists before its next scan when it sees the log change.
        self.feedback = Feedback(config.settings.data_dir) if config.settings.data_dir else None
        self._feedback_stamp = self.feedback.stamp() if self.feedback else None

    def sync(self) -> None:
        """Pick up analyst feedback written since the last scan (by this or another worker): a stat
        of the log per scan; the lists swap in new snapshots, so scans running meanwhile are safe."""
        if self.feedback is None:
            return
        stamp = self.feedback.stamp()
        if stamp != self._feedback_stamp:
            self._feedback_stamp = stamp
            self.scanner.refresh_local()

    def for_authserv(self, ids: tuple[str, ...]) -> Scanner:
        """A Scanner trusting these authserv-ids, sharing the warm one's registries (a handful kept)."""
        if not ids:
            return self.scanner
        sc = self._variants.get(ids)
        if sc is None:
            sc = self.scanner.trusting(ids)
            if len(self._variants) >= 16:
                self._variants.pop(next(iter(self._variants)))
            self._variants[ids] = sc
        return sc

    def scan(self, raw: bytes, scanner: Scanner, file: str | None, envelope: dict[str, Any] | None = None) -> Verdict:
        if self.config.test_stall:
            time.sleep(self.config.test_stall)
        self.sync()
        auth_inputs = None
        if scanner.verify_auth and envelope and envelope.get("client_address"):
            # With --verify-auth, SPF checks the SMTP client the MTA saw (rspamd's IP/Helo/From
            # headers), as the milter does, not a Received header's claim.
            from lurelens.auth import AuthInputs

            auth_inputs = AuthInputs(envelope.get("client_address"), envelope.get("helo") or None,
                                     envelope.get("mail_from"), source="smtp")
        return scanner.scan(raw, file=file, envelope=envelope, auth_inputs=auth_inputs)

    def scan_and(self, raw: bytes, scanner: Scanner, file: str | None, envelope: dict[str, Any] | None,
                 finish: Callable[[Verdict], Any] | None) -> tuple[Verdict, Any]:
        verdict = self.scan(raw, scanner, file, envelope)
        return verdict, (finish(verdict) if finish else None)

    def render(self, scanner: Scanner, verdict: Verdict, raw: bytes) -> None:
        """Merge what headless Chromium fetched into the verdict (one browser per worker, started on
        first use, always driven from the render pool's one thread as Playwright's sync API needs)."""
        if self._render_stage is None:
            from lurelens.render.merge import RenderStage

            self._render_stage = RenderStage(timeout=min(10.0, self.config.request_timeout))
        self._render_stage.apply(scanner, verdict, raw)

    def close(self, render_pool: ScanPool | None) -> None:
        if render_pool is not None and self._render_stage is not None:
            try:
                render_pool.executor.submit(self._render_stage.close).result(timeout=10)
            except Exception:  # noqa: BLE001 - shutting down: a stuck browser is killed with the process
                log.warning("the browser did not close cleanly")


def _defuse(scanner: Scanner, raw: bytes, links: str) -> tuple[bytes, dict[str, Any]]:
    """The engine's defuse (as ``lurelens defuse``), with the worker's registries."""
    result = scanner.defuse(raw, links=links)
    return result.data, result.report.to_dict()


def _preview(scanner: Scanner, raw: bytes, links: str) -> str:
    """The HTML a mail client would show of the defused copy, ``cid:`` parts inlined as data: URIs."""
    from lurelens.render import inline_cid
    from lurelens.render.merge import displayed_html

    data, _report = _defuse(scanner, raw, links)
    html, cids = displayed_html(data, scanner.limits)
    if not html:
        return ""
    return inline_cid(html, cids)


def _web_file(name: str) -> bytes:
    return resources.files("lurelens.adapters").joinpath(WEB_DIR, name).read_bytes()


def app_from_env():
    """The app of one uvicorn worker, configured by ``lurelens serve`` through the environment."""
    # Read once and dropped, so processes this worker starts (Chromium for render=true) never
    # inherit the tokens; uvicorn's supervisor keeps its copy for the workers it restarts.
    # The scan runs in a thread next to the event loop; when the loop wakes (a request arrives, a scan
    # ends) it waits for the scan thread to drop the GIL, by default up to 5 ms each time. 1 ms keeps
    # those waits out of the latency at little cost (a switch happens only when the loop asks).
    sys.setswitchinterval(0.001)
    text = os.environ.pop(CONFIG_ENV, None)
    config = ServeConfig.from_json(text) if text else ServeConfig()
    stall = os.environ.get(STALL_ENV)
    if stall:
        config = replace(config, test_stall=float(stall))
    return create_app(config)


def create_app(config: ServeConfig):
    state: dict[str, Any] = {}
    metrics = Metrics()
    token_bytes = [t.encode() for t in config.tokens]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # Build and warm the Scanner off the loop (it takes about a second).
        state["engine"] = await loop.run_in_executor(None, Engine, config)
        state["pool"] = ScanPool(config.scan_threads, config.max_pending)
        # Rendering (render=true) has its own thread and slots: a browser is slower than a scan.
        state["render_pool"] = ScanPool(1, 2)
        log.info("lurelens worker %d ready", os.getpid())
        try:
            yield
        finally:
            state["engine"].close(state["render_pool"])
            state["pool"].close()
            state["render_pool"].close()
            if metrics.multiproc:
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(os.getpid())

    app = FastAPI(
        title="lurelens",
        version=__version__,
        description="Scan e-mail for reconnaissance spear-phishing: the verdict and why, what opening a "
                    "message would fetch, a defused copy. The scanner never fetches a URL from a message.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load from CDNs; the spec is at /openapi.json
        redoc_url=None,
    )

    async def authorize(request: Request) -> None:
        # async: FastAPI runs a sync dependency in a thread pool, a thread hop on every request.
        if not token_bytes:
            return
        given = ""
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        elif request.headers.get("password"):  # rspamc -P TOKEN
            given = request.headers["password"].strip()
        ok = False
        for t in token_bytes:  # compare with every token, in constant time each
            ok |= hmac.compare_digest(t, given.encode("utf-8", "replace"))
        if not ok:
            metrics.errors.labels("unauthorized").inc()
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    def fail(status: int, reason: str, detail: str, retry: bool = False) -> HTTPException:
        metrics.errors.labels(reason).inc()
        return HTTPException(status, detail, headers={"Retry-After": str(config.retry_after)} if retry else None)

    async def read_message(request: Request) -> tuple[bytes, str | None]:
        """The message from the body: raw (message/rfc822 or anything not multipart) or the first file
        (or a ``message`` field) of a multipart/form-data upload. Larger than max_body: 413. When every
        scan slot is taken: 503 before the body is read, so waiting bodies cannot pile up in memory."""
        if state["pool"].full:
            raise fail(503, "overloaded", "all scan slots are busy; retry later", retry=True)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > config.max_body:
            raise fail(413, "too_large", f"request body larger than {config.max_body} bytes")
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > config.max_body:
                raise fail(413, "too_large", f"request body larger than {config.max_body} bytes")
        body = bytes(buf)
        if not body:
            raise fail(400, "bad_request", "empty body: send the message (message/rfc822) or a multipart upload")
        ctype = request.headers.get("content-type", "").lower()
        if not ctype.startswith("multipart/form-data"):
            return body, None
        request._body = body  # Starlette's form parser reads the body already read (and limited)
        try:
            form = await request.form(max_files=4, max_fields=16, max_part_size=config.max_body)
        except Exception as exc:  # noqa: BLE001 - a malformed upload is the client's error
            raise fail(400, "bad_request", f"cannot read the multipart upload: {exc}") from None
        for key in ("file", "message"):
            item = form.get(key)
            if item is None:
                continue
            if isinstance(item, str):
                return item.encode("utf-8", "replace"), None
            data = await item.read()
            return data, (item.filename or None)
        for item in form.values():
            if not isinstance(item, str):
                return await item.read(), (item.filename or None)
        raise fail(400, "bad_request", "multipart upload without a file or 'message' field")

    async def scan(raw: bytes, file: str | None, authserv_id: list[str], render: bool, endpoint: str,
                   envelope: dict[str, Any] | None = None,
                   finish: Callable[[Verdict], Any] | None = None) -> tuple[Verdict, Any]:
        """The verdict, and ``finish(verdict)`` (the response body) computed in the scan thread, so
        the event loop only moves bytes: a verdict's JSON costs as much as a fifth of a scan."""
        engine: Engine = state["engine"]
        pool: ScanPool = state["pool"]
        scanner = engine.for_authserv(tuple(a.lower() for a in authserv_id if a))
        t0 = time.perf_counter()
        try:
            if render:
                verdict = await pool.run(engine.scan, raw, scanner, file, envelope, timeout=config.request_timeout)
                left = max(0.5, config.request_timeout - (time.perf_counter() - t0))
                await state["render_pool"].run(engine.render, scanner, verdict, raw, timeout=left)
                out = finish(verdict) if finish else None
            else:
                verdict, out = await pool.run(engine.scan_and, raw, scanner, file, envelope, finish,
                                              timeout=config.request_timeout)
        except Overloaded:
            raise fail(503, "overloaded", "all scan slots are busy; retry later", retry=True) from None
        except ScanTimeout:
            raise fail(503, "timeout", f"no verdict within {config.request_timeout:g} s; retry later", retry=True) from None
        except HTTPException:
            raise
        except Exception as exc:
            log.exception("scan failed")
            name = type(exc).__name__
            reason = "render_unavailable" if name == "BrowserNotAvailable" else "internal"
            raise fail(503 if reason == "render_unavailable" else 500, reason, f"{name}: {exc}"[:500]) from None
        metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
        metrics.scans.labels(verdict.label, endpoint).inc()
        return verdict, out

    raw_body = {
        "requestBody": {
            "required": True,
            "content": {
                "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
            },
        },
    }
    errors: dict[int | str, dict[str, Any]] = {400: {"description": "Empty body or unreadable multipart upload"},
              401: {"description": "Missing or wrong bearer token"},
              413: {"description": "Body larger than the server's limit"},
              503: {"description": "Overloaded or past the time limit: retry after Retry-After seconds"}}
    verdict_schema = json.loads(resources.files("lurelens").joinpath("schema/verdict.schema.json").read_text("utf-8")) \
        if resources.files("lurelens").joinpath("schema/verdict.schema.json").is_file() else {"type": "object"}
    verdict_schema = {k: v for k, v in verdict_schema.items() if not k.startswith("$")}

    @app.post("/v1/scan", dependencies=[Depends(authorize)], tags=["scan"],
              openapi_extra=raw_body,
              responses={200: {"description": "The verdict, as `lurelens scan --json`",
                               "content": {"application/json": {"schema": verdict_schema}}}, **errors})
    async def scan_message(
        request: Request,
        # A default value, not `default_factory=list`: pydantic inspects a default factory's signature
        # on every request, which cost 15% of a small scan's CPU. (An empty list is copied per request.)
        authserv_id: Annotated[list[str], Query(description="Trust only Authentication-Results from this host (repeatable)")] = [],  # noqa: B006
        render: Annotated[bool, Query(description="Also render the message in headless Chromium (network locked) and merge what it fetched")] = False,
    ) -> Response:
        """Scan one message: the verdict and why, what opening it would fetch, links, sender."""
        raw, name = await read_message(request)
        _verdict, body = await scan(raw, name, authserv_id or [], render, "scan", finish=_verdict_json)
        return Response(body, media_type="application/json")

    @app.post("/v1/defuse", dependencies=[Depends(authorize)], tags=["scan"], openapi_extra=raw_body,
              response_class=Response,
              responses={200: {"description": "The defused message", "content": {"message/rfc822": {}}}, **errors})
    async def defuse_message(
        request: Request,
        links: Annotated[str, Query(pattern="^(visible|defang|warn)$",
                                    description="visible: destination shown next to each link; defang: not clickable; warn: replaced by a warning")] = "visible",
    ) -> Response:
        """A copy of the message that is safe to open in any mail client: no remote fetch, links shown."""
        raw, name = await read_message(request)
        data, report = await _offload(raw, partial(_defuse, state["engine"].scanner, raw, links), "defuse")
        fname = (Path(name).stem if name else "message") + ".defused.eml"
        headers = {"Content-Disposition": f'attachment; filename="{_ascii(fname)}"'}
        summary = base64.b64encode(json.dumps(report, default=str).encode()).decode()
        if len(summary) <= 8000:  # what was changed, as base64 JSON; left out rather than cut
            headers["X-Lurelens-Defuse-Report"] = summary
        return Response(data, media_type="message/rfc822", headers=headers)

    @app.post("/v1/preview", dependencies=[Depends(authorize)], tags=["scan"], openapi_extra=raw_body,
              response_class=Response,
              responses={200: {"description": "HTML of the defused copy", "content": {"text/html": {}}}, **errors})
    async def preview_message(request: Request) -> Response:
        """The HTML of the defused copy, for the page's sandboxed preview (no script, no remote fetch)."""
        raw, _name = await read_message(request)
        html = await _offload(raw, partial(_preview, state["engine"].scanner, raw, "visible"), "preview")
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": PREVIEW_CSP})

    async def _offload(raw: bytes, fn: Callable[[], Any], endpoint: str) -> Any:
        try:
            return await state["pool"].run(fn, timeout=config.request_timeout)
        except Overloaded:
            raise fail(503, "overloaded", "all scan slots are busy; retry later", retry=True) from None
        except ScanTimeout:
            raise fail(503, "timeout", f"no result within {config.request_timeout:g} s; retry later", retry=True) from None
        except Exception as exc:
            log.exception("%s failed", endpoint)
            raise fail(422, "unprocessable", f"cannot {endpoint} this message: {type(exc).__name__}: {exc}"[:500]) from None

    @app.get("/v1/symbols", dependencies=[Depends(authorize)], tags=["info"])
    async def symbols() -> list[dict[str, Any]]:
        """Every symbol a check can emit (and every composite), with weight, group and description."""
        sc: Scanner = state["engine"].scanner
        cfg = sc.scoring
        out = [{"name": n, "weight": cfg.symbols.get(n, {}).get("weight", 0), "group": cfg.symbols.get(n, {}).get("group"),
                "description": s.description, "composite": False} for n, s in sorted(sc.symbols.items())]
        out += [{"name": c.name, "weight": c.weight, "group": "composite", "description": c.description,
                 "composite": True} for c in cfg.composites]
        return out

    @app.post("/checkv2", dependencies=[Depends(authorize)], tags=["rspamd"], openapi_extra=raw_body,
              responses={200: {"description": "rspamd-shaped reply"}, 400: errors[400], 401: errors[401], 413: errors[413]})
    async def checkv2(request: Request) -> Response:
        """rspamd's scan protocol: the envelope in request headers (From, Rcpt, IP, Helo, Queue-Id), the
        message as the body; the reply has action, score, required_score, symbols and milter headers.
        When no verdict can be had (overload, time limit, error) the action is ``soft reject``, so a
        client that applies actions defers the mail instead of passing it unscanned."""
        h = request.headers
        # rspamd's envelope headers, under the names the milter gives the same facts.
        envelope = {"client_address": h.get("ip"), "client_name": h.get("hostname"), "helo": h.get("helo"),
                    "mail_from": h.get("from"), "rcpt_to": h.getlist("rcpt"), "queue_id": h.get("queue-id")}
        required = state["engine"].scanner.scoring.thresholds["phishing"]
        t0 = time.perf_counter()
        try:
            raw, _ = await read_message(request)
            verdict, _ = await scan(raw, h.get("queue-id"), [], False, "checkv2", envelope)
        except HTTPException as exc:
            if exc.status_code in (400, 401, 413):
                raise
            return _json({
                "is_skipped": False, "action": "soft reject", "score": 0.0, "required_score": required,
                "symbols": {"LURELENS_UNAVAILABLE": {"name": "LURELENS_UNAVAILABLE", "score": 0.0, "metric_score": 0.0,
                                                     "description": "No verdict: the message was not scanned",
                                                     "options": [str(exc.detail)]}},
                "messages": {"smtp_message": "4.7.1 Message not scanned, try again later"},
                "time_real": time.perf_counter() - t0, "message-id": "", "lurelens": {"envelope": envelope, "error": exc.detail},
            })
        syms: dict[str, dict[str, Any]] = {}
        for f in verdict.findings:
            s = syms.get(f.symbol)
            if s is None:
                syms[f.symbol] = {"name": f.symbol, "score": round(f.score, 3), "metric_score": round(f.score, 3),
                                  "description": f.description, "options": [f.evidence[:200]] if f.evidence else []}
            elif f.evidence and len(s["options"]) < 10:
                s["options"].append(f.evidence[:200])
        headers = verdict_headers(verdict)
        msg = verdict.message
        reply = {
            "is_skipped": False,
            "score": verdict.score,
            "required_score": required,
            "action": RSPAMD_ACTIONS.get(verdict.label, "no action"),
            "symbols": syms,
            "messages": {},
            "message-id": (msg.message_id or "").strip("<>") if msg is not None else "",
            "time_real": round(time.perf_counter() - t0, 6),
            "milter": {
                "add_headers": {k: {"value": v, "order": 0} for k, v in headers.items()},
                "remove_headers": {k: 0 for k in VERDICT_HEADERS},
            },
            "lurelens": {"verdict": verdict.label, "reasons": verdict.reasons[:5], "envelope": envelope},
        }
        return _json(reply)

    @app.get("/healthz", tags=["info"])
    async def healthz() -> dict[str, Any]:
        """200 when this worker's scanner is warm."""
        pool: ScanPool | None = state.get("pool")
        return {"status": "ok" if "engine" in state else "starting", "version": __version__,
                "pid": os.getpid(), "pending": pool.pending if pool else 0,
                "max_pending": config.max_pending, "store": bool(state.get("store")),
                "feedback": bool(config.settings.data_dir)}

    @app.get("/metrics", dependencies=[Depends(authorize)], tags=["info"], response_class=PlainTextResponse)
    async def prometheus() -> Response:
        """Prometheus metrics: scans by verdict, scan latency, errors by reason, in-flight requests."""
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    def web(name: str) -> Response:
        return Response(_web_file(name), media_type=WEB_FILES[name], headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return web("index.html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in WEB_FILES:
            return PlainTextResponse("not found", status_code=404)
        return web(name)

    query = _add_store_routes(app, config, authorize) if config.db else None
    state["store"] = query is not None
    _add_feedback_routes(app, config, authorize, lambda: state["engine"], query)

    def openapi() -> dict[str, Any]:
        # Declare the bearer token, so clients (and schemathesis) know every /v1 route needs it.
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            if token_bytes:
                spec.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                for path, ops in spec["paths"].items():
                    for op in ops.values():
                        if path != "/healthz":
                            op["security"] = [{"bearer": []}]
                            op.setdefault("responses", {}).setdefault("401", {"description": "Missing or wrong bearer token"})
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(SecurityHeaders, gauge=metrics.in_flight)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; a path served
            # by several routes (GET and POST /v1/feedback) allows them all.
            from starlette.routing import Match

            allowed = sorted({m for r in app.router.routes if isinstance(r, APIRoute)
                              and r.matches({"type": "http", "path": request.url.path, "method": ""})[0] != Match.NONE
                              for m in (r.methods or ())})
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        metrics.errors.labels("internal").inc()
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    return app


def _add_store_routes(app: FastAPI, config: ServeConfig, authorize: Callable[[Request], Awaitable[None]]) -> Callable | None:
    """``GET /v1/hits``, ``/v1/hits/{id}`` and ``/v1/campaigns`` from the hunt's store, when this
    install has it. Returns the store query function (None without a store)."""
    db = config.db
    if db is None:  # called only when --db was given
        return None
    try:
        from lurelens.store import Store
    except ImportError as exc:
        log.warning("--db given but the hunt's store is not available (%s); /v1/hits is not served", exc)
        return None
    held: dict[str, Any] = {}

    async def query(fn: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            if "store" not in held:  # one per worker, opened on first use (not migrated)
                held["store"] = Store(db)
            return fn(held["store"])
        try:
            return await asyncio.get_running_loop().run_in_executor(None, run)
        except HTTPException:
            raise
        except Exception as exc:
            log.exception("store query failed")
            raise HTTPException(503, f"the store cannot be read: {type(exc).__name__}",
                                headers={"Retry-After": str(config.retry_after)}) from None

    store_errors: dict[int | str, dict[str, Any]] = {503: {"description": "The store cannot be read"}}

    @app.get("/v1/hits", dependencies=[Depends(authorize)], tags=["store"], responses=store_errors)
    async def hits(
        verdict: Annotated[list[str], Query(description="Only these verdicts (default: suspicious or worse; 'error' for unreadable input)")] = [],  # noqa: B006
        all_: Annotated[bool, Query(alias="all", description="Every stored message")] = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        sender: Annotated[str | None, Query(max_length=200, description="From address or name contains this text (any case)")] = None,
        recipient: Annotated[str | None, Query(max_length=200, description="A recipient address contains this text")] = None,
        subject: Annotated[str | None, Query(max_length=200, description="Subject contains this text")] = None,
        since: Annotated[date | None, Query(description="Date header on or after this day (UTC)")] = None,
        until: Annotated[date | None, Query(description="Date header on or before this day (UTC)")] = None,
    ) -> Response:
        """Stored hits of ``lurelens hunt``, highest score first: each its ``scan --json`` object plus
        ``id``, ``source`` and ``locator``."""
        lo = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        hi = datetime(until.year, until.month, until.day, 23, 59, 59, tzinfo=UTC) if until else None
        rows = await query(lambda st: list(st.hits(verdict or None, all=all_, limit=limit, sender=sender,
                                                   recipient=recipient, subject=subject, since=lo, until=hi)))
        return _json({"hits": rows})

    @app.get("/v1/hits/{hit_id}", dependencies=[Depends(authorize)], tags=["store"],
             responses={404: {"description": "No such stored message"}, **store_errors})
    async def hit(hit_id: int) -> Response:
        """One stored message's report, with its recipients."""
        row = await query(lambda st: st.get(hit_id))
        if row is None:
            raise HTTPException(404, f"no stored message {hit_id}")
        return _json(row)

    def campaigns_of(st: Any) -> Any:
        from lurelens.campaigns import Campaigns

        return Campaigns(st, data_dir=config.settings.data_dir)

    @app.get("/v1/campaigns", dependencies=[Depends(authorize)], tags=["store"], responses=store_errors)
    async def campaigns(min_messages: Annotated[int, Query(ge=1, le=100_000, description="Only campaigns of at least this many messages")] = 1) -> Response:
        """Campaigns (as ``lurelens campaigns --json``), most threatening first: stored lures grouped by
        shared infrastructure and near-duplicate text. As clustered by the last ``lurelens campaigns``
        or ``POST /v1/campaigns/refresh``."""
        rows = await query(lambda st: campaigns_of(st).list(min_messages=min_messages))
        return _json({"campaigns": rows})

    @app.post("/v1/campaigns/refresh", dependencies=[Depends(authorize)], tags=["store"], responses=store_errors)
    async def campaigns_refresh() -> Response:
        """Cluster what hunts stored since the last time (writes the store's campaign tables, as
        ``lurelens campaigns`` does): messages indexed, pairs, campaigns."""
        async with held.setdefault("refresh_lock", asyncio.Lock()):  # one at a time per worker
            done = await query(lambda st: campaigns_of(st).update())
        return _json(done.to_dict())

    @app.get("/v1/campaigns/{campaign_id}", dependencies=[Depends(authorize)], tags=["store"],
             responses={404: {"description": "No such campaign"}, **store_errors})
    async def campaign(campaign_id: Annotated[str, Path_(max_length=80)]) -> Response:
        """One campaign in full (as ``lurelens campaign ID --json``): its messages, recipients,
        senders, infrastructure and why they are linked. An unambiguous id prefix is accepted."""
        row = await query(lambda st: campaigns_of(st).get(campaign_id))
        if row is None:
            raise HTTPException(404, f"no campaign {campaign_id}")
        return _json(row)

    return query


def _add_feedback_routes(app: FastAPI, config: ServeConfig, authorize: Callable[[Request], Awaitable[None]],
                         engine: Callable[[], Engine], query: Callable | None) -> None:
    """``POST /v1/feedback`` and ``GET /v1/feedback``: analyst actions, written into the data overlay."""
    from lurelens.adapters.feedback import FeedbackError

    no_overlay: dict[int | str, dict[str, Any]] = {400: {"description": "The value is not an address, domain or host, or the action lacks it"},
                  409: {"description": "No data overlay directory configured (serve --data-dir), or no store for a hit"},
                  404: {"description": "No such stored message"}}

    def feedback_or_409():
        fb = engine().feedback
        if fb is None:
            raise HTTPException(409, "analyst actions need a data overlay directory: start the server with "
                                     "--data-dir DIR (or LURELENS_DATA_DIR)")
        return fb

    @app.post("/v1/feedback", dependencies=[Depends(authorize)], tags=["feedback"], responses=no_overlay)
    async def add_feedback(body: FeedbackIn) -> Response:
        """Record an analyst's action. Allow and block entries are added to files in the data overlay
        (``allowed_senders.txt``, ``allowed_hosts.txt``, ``iocs/lurelens-feedback.txt``) that every
        worker re-reads before its next scan; every action is appended to ``feedback.jsonl``.
        Returns the log entry (``added`` is false when the value was listed already)."""
        fb = feedback_or_409()
        message = None
        if body.hit is not None:
            if query is None:
                raise HTTPException(409, "a hit needs the store: start the server with --db URL")
            row = await query(lambda st: st.get(body.hit))
            if row is None:
                raise HTTPException(404, f"no stored message {body.hit}")
            snd = row.get("sender") or {}
            message = {"sha256": row.get("sha256"), "verdict": row.get("verdict"), "score": row.get("score"),
                       "symbols": sorted({f["symbol"] for f in row.get("findings") or [] if f.get("score")}),
                       "from": [a.get("addr") for a in snd.get("from") or []], "subject": snd.get("subject")}
        loop = asyncio.get_running_loop()
        try:
            entry = await loop.run_in_executor(None, partial(fb.record, body.action, getattr(body, "value", None),
                                                             hit=body.hit, note=body.note, message=message))
        except FeedbackError as exc:
            raise HTTPException(400, str(exc)) from None
        log.info("feedback: %s %s", body.action, entry.get("value") or entry.get("hit"))
        return _json(entry)

    @app.get("/v1/feedback", dependencies=[Depends(authorize)], tags=["feedback"], responses={409: no_overlay[409]})
    async def list_feedback(limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
        """The latest analyst actions, newest first (the tail of ``feedback.jsonl``), and ``skipped``:
        one problem per log line that could not be read (not JSON, longer than 1 MiB)."""
        fb = feedback_or_409()
        rows, skipped = await asyncio.get_running_loop().run_in_executor(None, fb.read, limit)
        for problem in skipped:
            log.warning("%s", problem)
        return _json({"feedback": rows, "skipped": skipped})


def _json_bytes(d: dict[str, Any]) -> bytes:
    from lurelens.report.jsonout import dumps

    # Text the engine decoded with surrogateescape may hold lone surrogates: JSON-escape them.
    return dumps(d).encode("utf-8", "backslashreplace")


def _json(d: dict[str, Any]) -> Response:
    return Response(_json_bytes(d), media_type="application/json")


def _verdict_json(verdict: Verdict) -> bytes:
    return _json_bytes(verdict.to_dict())


def _ascii(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "message.eml"


def run_server(config: ServeConfig, host: str, port: int, workers: int = 1, log_level: str = "info",
               access_log: bool = False) -> None:
    """Run uvicorn with ``workers`` processes, each building its own warm Scanner from ``config``.
    uvicorn uses uvloop and httptools when installed (the serve extra installs them); ``access_log``
    logs a line per request (off by default: at 150 requests/s it costs more than it tells)."""
    import shutil
    import tempfile

    import uvicorn

    problem = check_bind(host, config.tokens) or check_listen(host, port)
    if problem:
        raise ValueError(problem)
    os.environ[CONFIG_ENV] = config.to_json()
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics to files here; /metrics in any worker sums them all.
        metrics_dir = tempfile.mkdtemp(prefix="lurelens-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run("lurelens.adapters.api:app_from_env", factory=True, host=host, port=port,
                    workers=workers if workers > 1 else None, log_level=log_level,
                    timeout_graceful_shutdown=5, server_header=False, access_log=access_log)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
