"""The Postfix/Sendmail milter: scan each message in the mail flow, stamp it with the verdict and a
scan receipt, then accept, tag, hold, reject or defuse it before delivery. It fails safe: when the
scanner errors, stalls or is overloaded the message is deferred (4xx), never passed unscanned.

The protocol is implemented here (:mod:`milter_protocol`) rather than through libmilter, so that
every failure path (timeouts, a dead worker, a peer that breaks the protocol) is our own code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import hashlib
import logging
import os
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lurelens.adapters import milter_protocol as mp
from lurelens.model.verdict import LABELS
from lurelens.report.headers import top_symbols, verdict_header_values
from lurelens.settings import ScannerSettings

__all__ = ["ACTIONS", "DEFAULT_ACTIONS", "MilterConfig", "MilterServer", "parse_socket", "run"]

log = logging.getLogger("lurelens.milter")

ACTIONS = ("accept", "tag", "quarantine", "reject", "defuse")
DEFAULT_ACTIONS = {"clean": "accept", "incomplete": "accept", "tracked": "accept", "suspicious": "tag",
                   "phishing": "quarantine", "recon": "quarantine"}
HEADER_PREFIX = "x-lurelens-"
# Test-only: a file holding a number of seconds every scan sleeps first (the fault tests stall the
# scanner past its deadline with it, without restarting the milter). Unset in production.
STALL_ENV = "LURELENS_MILTER_TEST_STALL_FILE"


@dataclass(slots=True)
class MilterConfig:
    actions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    on_error: str = "tempfail"  # or "accept" (logged, and the message says it was not scanned)
    timeout: float = 20.0  # seconds a scan may take before the message is deferred
    workers: int = 2  # scanner processes
    max_pending: int = 0  # scans queued or running before new ones are deferred; 0: 4 per worker
    spool_bytes: int = 1024 * 1024  # a message larger than this is buffered in a temporary file
    keep_originals: str | None = None  # directory where the original of a defused message is kept
    tag: str = "[lurelens:{label}] "

    def __post_init__(self) -> None:
        if self.on_error not in ("tempfail", "accept"):
            raise ValueError("on_error must be tempfail or accept")
        for label, action in self.actions.items():
            if label not in LABELS or action not in ACTIONS:
                raise ValueError(f"bad action {label}={action}: labels {LABELS}, actions {ACTIONS}")
        if self.workers < 1 or self.timeout <= 0:
            raise ValueError("workers must be >= 1 and timeout > 0")
        if self.max_pending <= 0:
            self.max_pending = 4 * self.workers


class ScanFailed(Exception):
    """A scan that gave no verdict; ``reason`` labels the tempfail counter."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# ---- the worker side (runs in the scanner processes) ----------------------------------------

_SCANNER: Any = None


def _init_worker(settings: ScannerSettings) -> None:
    global _SCANNER
    from lurelens.scanner import Scanner

    # The parent handles SIGINT/SIGTERM; a worker must not die of the terminal's Ctrl-C first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SCANNER = Scanner.from_settings(settings).warm()


def _scan_job(raw: bytes, envelope: dict[str, Any], want_defuse: bool) -> dict[str, Any]:
    stall = os.environ.get(STALL_ENV)
    if stall:
        try:
            time.sleep(float(Path(stall).read_text().strip() or 0))
        except (OSError, ValueError):
            pass
    auth_inputs = None
    if _SCANNER.verify_auth:
        # With --verify-auth, SPF checks the real SMTP client, not a Received header's claim.
        from lurelens.auth import AuthInputs

        auth_inputs = AuthInputs(envelope.get("client_address") or None, envelope.get("helo") or None,
                                 envelope.get("mail_from"), source="smtp")
    verdict = _SCANNER.scan(raw, envelope=envelope, auth_inputs=auth_inputs)
    out: dict[str, Any] = {
        "label": verdict.label,
        "score": verdict.score,
        "symbols": top_symbols(verdict.findings),
        "errors": list(verdict.errors),
        "defused": None,
    }
    if want_defuse:
        out["defused"] = _SCANNER.defuse(raw).data
    return out


# ---- the scan service (runs in the milter process) -------------------------------------------


class ScanService:
    """A bounded pool of scanner processes. ``scan`` raises ScanFailed("timeout"|"overload"|"error")."""

    def __init__(self, settings: ScannerSettings, cfg: MilterConfig, metrics: Metrics):
        self.settings, self.cfg, self.metrics = settings, cfg, metrics
        self.pending = 0  # submitted and not finished, including scans we stopped waiting for
        self.abandoned: set[cf.Future] = set()
        self.pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.cfg.workers, initializer=_init_worker, initargs=(self.settings,))

    def warm(self) -> None:
        """Start every worker now (each builds and warms its Scanner) instead of on the first mail."""
        list(self.pool.map(_noop, range(self.cfg.workers)))

    def _finished(self, fut: cf.Future) -> None:
        self.pending -= 1
        self.abandoned.discard(fut)
        self.metrics.in_flight(self.pending)

    async def scan(self, raw: bytes, envelope: dict[str, Any], want_defuse: bool) -> dict[str, Any]:
        if self.pending >= self.cfg.max_pending:
            raise ScanFailed("overload", f"{self.pending} scans pending")
        pool = self.pool
        try:
            fut = pool.submit(_scan_job, raw, envelope, want_defuse)
        except (cf.BrokenExecutor, RuntimeError) as exc:
            self._recycle(f"pool unusable: {exc}")
            raise ScanFailed("error", "scanner pool restarted") from exc
        self.pending += 1
        self.metrics.in_flight(self.pending)
        loop = asyncio.get_running_loop()
        fut.add_done_callback(lambda f: loop.call_soon_threadsafe(self._finished, f))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), self.cfg.timeout)
        except TimeoutError:
            self.abandoned.add(fut)
            # Every worker busy on a scan we gave up on: nothing would ever be scanned again.
            if sum(1 for f in self.abandoned if not f.done()) >= self.cfg.workers:
                self._recycle("every worker is stuck past the deadline")
            raise ScanFailed("timeout", f"no verdict within {self.cfg.timeout:g}s") from None
        except cf.BrokenExecutor as exc:
            if pool is self.pool:  # not a scan of a pool already replaced (and killed)
                self._recycle(f"a worker died: {exc}")
            raise ScanFailed("error", "a scanner process died") from exc
        except asyncio.CancelledError:
            if not fut.cancelled():
                raise  # our own task was cancelled (shutdown): not a scan failure
            # Still queued when the pool was replaced (cancel_futures): it never ran.
            raise ScanFailed("error", "scanner pool restarted before the scan ran") from None
        except Exception as exc:
            raise ScanFailed("error", f"{type(exc).__name__}: {exc}"[:200]) from exc

    def _recycle(self, why: str) -> None:
        log.warning("restarting the scanner processes: %s", why)
        old, self.pool = self.pool, self._new_pool()
        self.abandoned.clear()  # they die with the old pool
        for _ in range(self.cfg.workers):  # start the new workers (and warm them) now, not on the next mail
            self.pool.submit(_noop, 0)
        # ProcessPoolExecutor cannot stop one running task; kill the old workers outright.
        procs = list(getattr(old, "_processes", {}).values())
        old.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            try:
                p.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _noop(_: int) -> None:
    return None


# ---- metrics ---------------------------------------------------------------------------------


class Metrics:
    """Counters kept in the process (``snapshot()``) and, with prometheus-client, exported."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.prom: dict[str, Any] | None = None

    def enable_prometheus(self, host: str, port: int) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            start_http_server,
        )

        reg = CollectorRegistry()
        self.prom = {
            "messages": Counter("lurelens_milter_messages", "Messages scanned, by verdict and action",
                                ["verdict", "action"], registry=reg),
            "tempfail": Counter("lurelens_milter_tempfail", "Messages deferred (4xx), by reason",
                                ["reason"], registry=reg),
            "error_accepted": Counter("lurelens_milter_error_accepted",
                                      "Messages passed unscanned under --on-error accept, by reason",
                                      ["reason"], registry=reg),
            "protocol_errors": Counter("lurelens_milter_protocol_errors", "Connections dropped for a protocol error",
                                       registry=reg),
            "seconds": Histogram("lurelens_milter_scan_seconds", "Scan time as the milter waits for it",
                                 registry=reg, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)),
            "in_flight": Gauge("lurelens_milter_scans_in_flight", "Scans queued or running", registry=reg),
        }
        start_http_server(port, addr=host, registry=reg)

    def _inc(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def message(self, verdict: str, action: str, seconds: float) -> None:
        self._inc(f"messages{{verdict={verdict},action={action}}}")
        if self.prom:
            self.prom["messages"].labels(verdict, action).inc()
            self.prom["seconds"].observe(seconds)

    def tempfail(self, reason: str) -> None:
        self._inc(f"tempfail{{reason={reason}}}")
        if self.prom:
            self.prom["tempfail"].labels(reason).inc()

    def error_accepted(self, reason: str) -> None:
        self._inc(f"error_accepted{{reason={reason}}}")
        if self.prom:
            self.prom["error_accepted"].labels(reason).inc()

    def protocol_error(self) -> None:
        self._inc("protocol_errors")
        if self.prom:
            self.prom["protocol_errors"].inc()

    def in_flight(self, n: int) -> None:
        if self.prom:
            self.prom["in_flight"].set(n)

    def snapshot(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))


# ---- one milter connection -------------------------------------------------------------------


class _Message:
    """What the MTA has sent of the current message. Reset on ABORT and on a new MAIL."""

    def __init__(self, spool_bytes: int, max_bytes: int):
        self.sender = ""
        self.recipients: list[str] = []
        self.lurelens_headers: list[tuple[str, int]] = []  # (name, occurrence index) to delete
        self.occurrences: dict[str, int] = {}
        self.has_subject = False
        self.subject = ""
        self.headers_raw: dict[str, str] = {}  # first value of each header we may rewrite
        self.data = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
        self.size = 0
        self.max_bytes = max_bytes
        self.truncated = False
        self.in_body = False

    def write(self, b: bytes) -> None:
        room = self.max_bytes + 1 - self.size  # one byte over tells the scanner it was cut
        if room <= 0:
            self.truncated = True
            return
        if len(b) > room:
            b, self.truncated = b[:room], True
        self.data.write(b)
        self.size += len(b)

    def close(self) -> None:
        self.data.close()


def _crlf(b: bytes) -> bytes:
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class MilterServer:
    def __init__(self, settings: ScannerSettings, cfg: MilterConfig | None = None):
        self.settings = settings
        self.cfg = cfg or MilterConfig()
        self.metrics = Metrics()
        self.scans = ScanService(settings, self.cfg, self.metrics)
        self.max_bytes = settings.limits.max_bytes

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        try:
            await conn.run()
        except mp.ProtocolError as exc:
            self.metrics.protocol_error()
            log.warning("milter protocol error, dropping the connection: %s", exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the MTA went away; it applies its own milter_default_action
        except Exception:
            log.exception("milter connection failed")
        finally:
            conn.reset_message()
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:  # noqa: BLE001
                pass


class _Connection:
    def __init__(self, server: MilterServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.s, self.cfg, self.r, self.w = server, server.cfg, reader, writer
        self.leadspc = False
        self.actions = 0  # what the MTA lets us do (SMFIF_*), from OPTNEG
        self.no_reply = 0  # steps the MTA sends without waiting for CONTINUE (SMFIP_NR_*)
        self.conn: dict[str, str] = {}
        self.helo = ""
        self.macros: dict[str, str] = {}
        self.msg: _Message | None = None

    def reset_message(self) -> None:
        if self.msg is not None:
            self.msg.close()
        self.msg = None

    def message(self) -> _Message:
        if self.msg is None:  # headers without MAIL (a minimal client): still a message
            self.msg = _Message(self.cfg.spool_bytes, self.s.max_bytes)
        return self.msg

    async def cont(self, no_reply_flag: int) -> None:
        """CONTINUE, unless the MTA agreed not to wait for it at this step."""
        if not self.no_reply & no_reply_flag:
            await self.send(mp.frame(mp.R_CONTINUE))

    async def send(self, *frames: bytes) -> None:
        self.w.write(b"".join(frames))
        await self.w.drain()

    async def run(self) -> None:
        while True:
            got = await mp.read_frame(self.r)
            if got is None:
                return
            cmd, data = got
            if cmd == mp.C_OPTNEG:
                await self.optneg(data)
            elif cmd == mp.C_MACRO:
                self.macros.update(mp.decode_macros(data))
            elif cmd == mp.C_CONNECT:
                self.conn = mp.decode_connect(data)
                await self.cont(mp.P_NR_CONN)
            elif cmd == mp.C_HELO:
                self.helo = mp.text(data.split(b"\0", 1)[0])
                await self.cont(mp.P_NR_HELO)
            elif cmd == mp.C_MAIL:
                self.reset_message()
                m = self.message()
                args = mp.decode_strs(data)
                m.sender = mp.text(args[0]).strip("<>") if args else ""
                await self.cont(mp.P_NR_MAIL)
            elif cmd == mp.C_RCPT:
                args = mp.decode_strs(data)
                if args:
                    self.message().recipients.append(mp.text(args[0]).strip("<>"))
                await self.cont(mp.P_NR_RCPT)
            elif cmd == mp.C_HEADER:
                self.header(data)
                await self.cont(mp.P_NR_HDR)
            elif cmd == mp.C_EOH:
                m = self.message()
                m.write(b"\r\n")
                m.in_body = True
                await self.cont(mp.P_NR_EOH)
            elif cmd == mp.C_BODY:
                m = self.message()
                if not m.in_body:  # no EOH seen (headers skipped): keep the message well-formed
                    m.write(b"\r\n")
                    m.in_body = True
                m.write(data)
                await self.cont(mp.P_NR_BODY)
            elif cmd == mp.C_BODYEOB:
                if data:
                    self.message().write(data)
                await self.end_of_message()
                self.reset_message()
            elif cmd == mp.C_ABORT:
                self.reset_message()
            elif cmd == mp.C_QUIT_NC:
                self.reset_message()
                self.conn, self.helo, self.macros = {}, "", {}
            elif cmd == mp.C_QUIT:
                return
            elif cmd == mp.C_DATA:
                await self.cont(mp.P_NR_DATA)
            elif cmd == mp.C_UNKNOWN:
                await self.cont(mp.P_NR_UNKN)
            else:
                raise mp.ProtocolError(f"unknown command {cmd!r}")

    async def optneg(self, data: bytes) -> None:
        version, actions, protocol = mp.decode_optneg(data)
        if version < 2:
            raise mp.ProtocolError(f"milter protocol version {version} is too old")
        want = mp.F_ADDHDRS | mp.F_CHGHDRS | mp.F_CHGBODY | mp.F_QUARANTINE
        self.actions = actions & want
        ours = protocol & (mp.P_NOUNKNOWN | mp.P_NODATA | mp.P_HDR_LEADSPC | mp.P_NO_REPLY)
        self.leadspc = bool(ours & mp.P_HDR_LEADSPC)
        self.no_reply = ours & mp.P_NO_REPLY
        await self.send(mp.encode_optneg(self.actions, ours))

    def header(self, data: bytes) -> None:
        m = self.message()
        name_b, _, value_b = data.partition(b"\0")
        value_b = value_b[:-1] if value_b.endswith(b"\0") else value_b
        name = mp.text(name_b)
        key = name.lower()
        m.occurrences[key] = m.occurrences.get(key, 0) + 1
        if key.startswith(HEADER_PREFIX):
            # Headers claiming a verdict that arrived from outside are removed, and not scanned:
            # only the receipt this milter adds may be trusted downstream.
            m.lurelens_headers.append((name, m.occurrences[key]))
            return
        sep = b":" if self.leadspc else b": "
        m.write(name_b + sep + _crlf(value_b) + b"\r\n")
        if key not in m.headers_raw:
            m.headers_raw[key] = mp.text(value_b[1:] if self.leadspc and value_b[:1] == b" " else value_b)

    def envelope(self, m: _Message) -> dict[str, Any]:
        env: dict[str, Any] = {
            "client_address": self.conn.get("client_address") or self.macros.get("client_addr", ""),
            "client_name": self.conn.get("client_name") or self.macros.get("client_name", ""),
            "helo": self.helo,
            "mail_from": m.sender,
            "rcpt_to": list(m.recipients),
        }
        if self.macros.get("i"):
            env["queue_id"] = self.macros["i"]
        return env

    def hv(self, value: str) -> str:
        """A header value as the MTA wants it: with the leading space when values keep theirs."""
        return (" " + value) if self.leadspc else value

    async def end_of_message(self) -> None:
        m = self.message()
        scan_id = str(uuid.uuid4())
        m.data.seek(0)
        raw = m.data.read()
        env = self.envelope(m)
        t0 = time.monotonic()
        missing = [n for n, f in (("add headers", mp.F_ADDHDRS), ("change headers", mp.F_CHGHDRS))
                   if not self.actions & f]
        want_defuse = "defuse" in self.cfg.actions.values() and not m.truncated
        try:
            if missing:
                raise ScanFailed("misconfigured", f"the MTA does not allow: {', '.join(missing)}")
            result = await self.scan_with_progress(raw, env, want_defuse)
        except ScanFailed as exc:
            await self.failed(m, scan_id, exc, env)
            return
        label = result["label"]
        action = self.cfg.actions.get(label, "accept")
        if action == "defuse" and (result["defused"] is None or not self.actions & mp.F_CHGBODY):
            action = "quarantine"  # could not defuse (message cut at the size limit): hold it instead
        if action == "quarantine" and not self.actions & mp.F_QUARANTINE:
            action = "reject"
        frames = self.strip_frames(m)
        frames += self.stamp_frames(scan_id, result, raw)
        final = mp.frame(mp.R_ACCEPT)
        if action == "tag":
            subject = m.headers_raw.get("subject")
            tagged = self.cfg.tag.format(label=label) + (subject or "")
            frames.append(mp.reply_change_header(1, "Subject", self.hv(tagged)) if subject is not None
                          else mp.reply_add_header("Subject", self.hv(tagged.strip())))
        elif action == "quarantine":
            frames.append(mp.reply_quarantine(f"lurelens {label} score={result['score']} id={scan_id}"))
        elif action == "reject":
            frames = [mp.reply_code(f"550 5.7.1 lurelens: message refused ({label}); scan id {scan_id}")]
            final = b""
        elif action == "defuse":
            frames += self.defuse_frames(m, result["defused"], raw, scan_id)
        await self.send(*frames, *([final] if final else []))
        self.s.metrics.message(label, action, time.monotonic() - t0)
        log.info("scanned id=%s queue_id=%s verdict=%s score=%s action=%s from=%s client=%s",
                 scan_id, env.get("queue_id", "-"), label, result["score"], action, env["mail_from"],
                 env["client_address"])

    async def scan_with_progress(self, raw: bytes, env: dict[str, Any], want_defuse: bool) -> dict[str, Any]:
        """Scan, telling the MTA we are alive (SMFIR_PROGRESS) so a slow scan is not cut by its
        timeout before ours decides."""
        task = asyncio.ensure_future(self.s.scans.scan(raw, env, want_defuse))
        while True:
            done, _ = await asyncio.wait({task}, timeout=5.0)
            if done:
                return task.result()
            await self.send(mp.frame(mp.R_PROGRESS))

    def strip_frames(self, m: _Message) -> list[bytes]:
        # Highest occurrence first, so deleting one never renumbers the next.
        return [mp.reply_change_header(i, n, "") for n, i in sorted(m.lurelens_headers, key=lambda x: -x[1])]

    def stamp_frames(self, scan_id: str, result: dict[str, Any], raw: bytes) -> list[bytes]:
        from lurelens import __version__

        receipt = f"id={scan_id}; sha256={hashlib.sha256(raw).hexdigest()[:32]}; lurelens={__version__}"
        values = verdict_header_values(result["label"], result["score"], result["symbols"])
        values["X-Lurelens-Scan"] = receipt
        return [mp.reply_add_header(name, self.hv(value)) for name, value in values.items()]

    def defuse_frames(self, m: _Message, defused: bytes, raw: bytes, scan_id: str) -> list[bytes]:
        from email import policy
        from email.parser import BytesHeaderParser

        head, _, body = _crlf(defused).partition(b"\r\n\r\n")
        new = BytesHeaderParser(policy=policy.compat32).parsebytes(head + b"\r\n\r\n")
        frames: list[bytes] = []
        # The defused body may need other MIME headers (a part turned into text).
        for name in ("MIME-Version", "Content-Type", "Content-Transfer-Encoding"):
            value = new.get(name)
            old = m.headers_raw.get(name.lower())
            if value is not None and " ".join(str(value).split()) != " ".join((old or "").split()):
                frames.append(mp.reply_change_header(1, name, self.hv(" ".join(str(value).split())))
                              if old is not None else mp.reply_add_header(name, self.hv(str(value))))
        if new.get("X-Lurelens-Defused"):
            frames.append(mp.reply_add_header("X-Lurelens-Defused", self.hv(" ".join(str(new["X-Lurelens-Defused"]).split()))))
        if self.cfg.keep_originals:
            path = Path(self.cfg.keep_originals) / f"{scan_id}.eml"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
        return frames + mp.reply_replace_body(body)

    async def failed(self, m: _Message, scan_id: str, exc: ScanFailed, env: dict[str, Any]) -> None:
        reason = exc.reason
        if self.cfg.on_error == "accept" and reason != "misconfigured":
            self.s.metrics.error_accepted(reason)
            log.warning("NOT SCANNED (--on-error accept) id=%s reason=%s: %s; from=%s client=%s; %s",
                        scan_id, reason, exc, env["mail_from"], env["client_address"], self.s.metrics.snapshot())
            frames = self.strip_frames(m) + [
                mp.reply_add_header("X-Lurelens-Verdict", self.hv("unscanned")),
                mp.reply_add_header("X-Lurelens-Scan", self.hv(f"id={scan_id}; error={reason}")),
            ]
            await self.send(*frames, mp.frame(mp.R_ACCEPT))
            return
        self.s.metrics.tempfail(reason)
        log.warning("tempfail id=%s reason=%s: %s; from=%s client=%s; %s", scan_id, reason, exc,
                    env["mail_from"], env["client_address"], self.s.metrics.snapshot())
        await self.send(mp.reply_code(f"451 4.7.1 lurelens: message not scanned ({reason}), try again later"))


# ---- running it ------------------------------------------------------------------------------


def parse_socket(spec: str) -> tuple[str, Any]:
    """``inet:PORT@HOST``, ``inet6:PORT@HOST`` or ``unix:/path`` (Postfix/Sendmail spelling)."""
    kind, _, rest = spec.partition(":")
    if kind in ("inet", "inet6", "tcp") and rest:
        port, _, host = rest.partition("@")
        return "inet", (host or "127.0.0.1", int(port))
    if kind in ("unix", "local") and rest:
        return "unix", rest
    raise ValueError(f"socket must be inet:PORT@HOST or unix:/PATH, not {spec!r}")


async def serve(server: MilterServer, spec: str, ready: asyncio.Event | None = None) -> None:
    kind, where = parse_socket(spec)
    if kind == "inet":
        srv = await asyncio.start_server(server.handle, where[0], where[1], backlog=256)
    else:
        if os.path.exists(where):
            os.unlink(where)
        srv = await asyncio.start_unix_server(server.handle, where, backlog=256)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("lurelens milter listening on %s (%d workers, timeout %gs, on error: %s, actions: %s)", spec,
             server.cfg.workers, server.cfg.timeout, server.cfg.on_error,
             ", ".join(f"{k}={v}" for k, v in server.cfg.actions.items()))
    if ready is not None:
        ready.set()
    async with srv:
        await stop.wait()
    log.info("lurelens milter stopping; %s", server.metrics.snapshot())


def run(settings: ScannerSettings, cfg: MilterConfig, spec: str, metrics: str | None = None) -> None:
    server = MilterServer(settings, cfg)
    try:
        if metrics:
            host, _, port = metrics.rpartition(":")
            server.metrics.enable_prometheus(host or "127.0.0.1", int(port))
        server.scans.warm()
        asyncio.run(serve(server, spec))
    finally:
        server.scans.close()
