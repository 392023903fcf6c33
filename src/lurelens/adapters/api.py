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
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from lurelens import Limits, Scanner, ScannerSettings, __version__
from lurelens.model import Verdict

__all__ = ["CONFIG_ENV", "ServeConfig", "app_from_env", "check_bind", "create_app", "load_tokens", "verdict_headers"]

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


def verdict_headers(verdict: Verdict) -> dict[str, str]:
    """The header fields a mail flow adds for a verdict (the same values as the milter's)."""
    from lurelens.report.headers import top_symbols, verdict_header_values

    return verdict_header_values(verdict.label, verdict.score, top_symbols(verdict.findings))


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
        self.config = config
        self.scanner = Scanner.from_settings(config.settings).warm()
        self._variants: dict[tuple[str, ...], Scanner] = {}
        self._render_stage: Any = None

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
        return scanner.scan(raw, file=file, envelope=envelope)

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

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        metrics.in_flight.inc()
        try:
            response = await call_next(request)
        finally:
            metrics.in_flight.dec()
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def authorize(request: Request) -> None:
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
                   envelope: dict[str, Any] | None = None) -> Verdict:
        engine: Engine = state["engine"]
        pool: ScanPool = state["pool"]
        scanner = engine.for_authserv(tuple(a.lower() for a in authserv_id if a))
        t0 = time.perf_counter()
        try:
            verdict = await pool.run(engine.scan, raw, scanner, file, envelope, timeout=config.request_timeout)
            if render:
                left = max(0.5, config.request_timeout - (time.perf_counter() - t0))
                await state["render_pool"].run(engine.render, scanner, verdict, raw, timeout=left)
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
        return verdict

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
        authserv_id: Annotated[list[str], Query(default_factory=list, description="Trust only Authentication-Results from this host (repeatable)")],
        render: Annotated[bool, Query(description="Also render the message in headless Chromium (network locked) and merge what it fetched")] = False,
    ) -> Response:
        """Scan one message: the verdict and why, what opening it would fetch, links, sender."""
        raw, name = await read_message(request)
        verdict = await scan(raw, name, authserv_id or [], render, "scan")
        return _json(verdict.to_dict())

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
            verdict = await scan(raw, h.get("queue-id"), [], False, "checkv2", envelope)
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
                "max_pending": config.max_pending, "store": bool(state.get("store"))}

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

    if config.db:
        state["store"] = _add_store_routes(app, config, authorize)

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

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        metrics.errors.labels("internal").inc()
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    return app


def _add_store_routes(app: FastAPI, config: ServeConfig, authorize: Callable[[Request], None]) -> bool:
    """``GET /v1/hits`` and ``/v1/hits/{id}`` from the hunt's store, when this install has it (True)."""
    db = config.db
    if db is None:  # called only when --db was given
        return False
    try:
        from lurelens.store import Store
    except ImportError as exc:
        log.warning("--db given but the hunt's store is not available (%s); /v1/hits is not served", exc)
        return False
    held: dict[str, Any] = {}

    async def query(fn: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            if "store" not in held:  # one per worker, opened on first use (not migrated: read only)
                held["store"] = Store(db)
            return fn(held["store"])
        try:
            return await asyncio.get_running_loop().run_in_executor(None, run)
        except Exception as exc:
            log.exception("store query failed")
            raise HTTPException(503, f"the store cannot be read: {type(exc).__name__}",
                                headers={"Retry-After": str(config.retry_after)}) from None

    @app.get("/v1/hits", dependencies=[Depends(authorize)], tags=["store"],
             responses={503: {"description": "The store cannot be read"}})
    async def hits(
        verdict: Annotated[list[str], Query(default_factory=list, description="Only these verdicts (default: suspicious or worse; 'error' for unreadable input)")],
        all_: Annotated[bool, Query(alias="all", description="Every stored message")] = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> Response:
        """Stored hits of ``lurelens hunt``, highest score first: each its ``scan --json`` object plus
        ``id``, ``source`` and ``locator``."""
        rows = await query(lambda st: list(st.hits(verdict or None, all=all_, limit=limit)))
        return _json({"hits": rows})

    @app.get("/v1/hits/{hit_id}", dependencies=[Depends(authorize)], tags=["store"],
             responses={404: {"description": "No such stored message"}, 503: {"description": "The store cannot be read"}})
    async def hit(hit_id: int) -> Response:
        """One stored message's report, with its recipients."""
        row = await query(lambda st: st.get(hit_id))
        if row is None:
            raise HTTPException(404, f"no stored message {hit_id}")
        return _json(row)

    return True


def _json(d: dict[str, Any]) -> Response:
    from lurelens.report.jsonout import dumps

    # Text the engine decoded with surrogateescape may hold lone surrogates: JSON-escape them.
    return Response(dumps(d).encode("utf-8", "backslashreplace"), media_type="application/json")


def _ascii(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "message.eml"


def run_server(config: ServeConfig, host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    """Run uvicorn with ``workers`` processes, each building its own warm Scanner from ``config``."""
    import shutil
    import tempfile

    import uvicorn

    problem = check_bind(host, config.tokens)
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
                    timeout_graceful_shutdown=5, server_header=False)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
