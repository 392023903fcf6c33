"""The engine: ``Scanner.scan(raw_bytes) -> Verdict``. Every front end (CLI, API, milter, hunter)
constructs a Scanner and renders its verdicts; none of them imports a check.

Thread safety: one Scanner may serve several threads at once. A scan builds its own Message and
Verdict; what the Scanner shares between scans (scoring, data registries, the lookalike index and
its caches, the indicator store) is read-only once loaded, or guarded by a lock where it caches or
reloads. Call :meth:`Scanner.warm` before starting the threads so no two of them build a registry.

Shipping: a Scanner pickles (its registries and indexes with it, its caches left behind), so
``client.map(scanner.scan, ...)`` works on Dask; building one per process from a
:class:`~lurelens.settings.ScannerSettings` (:meth:`Scanner.from_settings`) sends less.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lurelens.checks import CHECKS, Check, Context, all_symbols
from lurelens.checks.base import LIMIT_SYMBOLS
from lurelens.errors import ConfigError, InputError
from lurelens.model import Finding, Message, Verdict
from lurelens.parse import Limits, parse_message
from lurelens.parse.enrich import enrich
from lurelens.registry.data import DataRegistry
from lurelens.registry.intel import IntelStore
from lurelens.parse.leaks import open_leaks
from lurelens.scoring import ScoringConfig, load_scoring, score
from lurelens.scoring.explain import explain
from lurelens.settings import ScannerSettings

__all__ = ["Scanner"]

if TYPE_CHECKING:
    from lurelens.defuse import DefuseResult
    from lurelens.render.merge import RenderStage

_ANY_CHECK = frozenset(s.name for s in LIMIT_SYMBOLS)  # symbols every check may emit


class Scanner:
    """Parses, checks and scores messages. Build one and reuse it (``warm()`` loads every
    registry now). ``scan(raw)`` never raises for bad mail; it raises :class:`lurelens.ConfigError`
    when a data or overlay file is invalid.

    ``limits``: size and time limits. ``scoring``: a loaded ScoringConfig or the path of a
    scores.toml (None: the shipped one). ``data``: the data registries (None: the shipped lists
    with no overlay). ``checks``: the checks to run, in order. ``trusted_authserv_ids``: whose
    Authentication-Results to trust (None: the topmost header). ``intel``: the indicator store
    (None: the shipped files and ``<data overlay>/iocs``). ``render``: a render stage
    (lurelens.render.merge.RenderStage) run on every verdict: the message is rendered in a locked
    down browser and what it fetched is merged into the verdict before it is returned.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        scoring: ScoringConfig | str | Path | None = None,
        data: DataRegistry | None = None,
        checks: tuple[Check, ...] = CHECKS,
        trusted_authserv_ids: list[str] | None = None,
        intel: IntelStore | None = None,
        render: "RenderStage | None" = None,
        verify_auth: bool = False,
        resolver: Any = None,
        dns_server: str | None = None,
        dns_timeout: float = 2.0,
        trusted_hop: int = 1,
        trusted_hop_host: str | None = None,
        auth_inputs: Any = None,
    ):
        self.limits = limits or Limits()
        self.render = render
        self.scoring = scoring if isinstance(scoring, ScoringConfig) else load_scoring(scoring)
        self.data = data or DataRegistry()
        self.checks = checks
        self.trusted_authserv_ids = trusted_authserv_ids
        if intel is None:
            intel = IntelStore(overlay=self.data.extra_dir)
        self.context = Context(data=self.data, intel=intel, limits=self.limits, strengths=self.scoring.strengths)
        self.settings: ScannerSettings | None = None  # set by from_settings
        # Own authentication (lurelens.auth, imported only when on: a plain scan needs no DNS).
        # ``resolver`` is any lurelens.auth.Resolver; without one, dnspython asks ``dns_server``.
        # ``auth_inputs`` (AuthInputs) fills what a stored file's Received hop does not say.
        self.verify_auth = verify_auth
        self.dns_budget = max(1.0, 4 * dns_timeout)  # seconds of DNS per message
        self.trusted_hop, self.trusted_hop_host = trusted_hop, trusted_hop_host
        self.auth_inputs = auth_inputs
        self.resolver = resolver
        if verify_auth and resolver is None:
            from lurelens.auth import DnsPythonResolver

            self.resolver = DnsPythonResolver(dns_server, timeout=dns_timeout)
        self.symbols = all_symbols(checks)
        self.descriptions = {n: s.description for n, s in self.symbols.items()}
        for c in self.scoring.composites:
            self.descriptions[c.name] = c.description

    @classmethod
    def from_settings(cls, settings: ScannerSettings, *, render: "RenderStage | None" = None) -> "Scanner":
        """The Scanner these settings describe; any process given the same settings builds the same one."""
        scanner = cls(
            limits=settings.limits,
            scoring=settings.scoring_file,
            data=DataRegistry(settings.data_dir),
            trusted_authserv_ids=list(settings.trusted_authserv_ids) or None,
            intel=IntelStore(settings.intel_dirs, overlay=settings.data_dir),
            render=render,
            verify_auth=settings.verify_auth,
            dns_server=settings.dns_server,
            dns_timeout=settings.dns_timeout,
            trusted_hop=settings.trusted_hop,
            trusted_hop_host=settings.trusted_hop_host,
        )
        scanner.settings = settings
        return scanner

    @property
    def intel(self) -> IntelStore | None:
        """The indicator store the intel check reads."""
        return self.context.intel

    @intel.setter
    def intel(self, store: IntelStore | None) -> None:
        self.context.intel = store

    def warm(self) -> "Scanner":
        """Load every registry and index now, so the first scan is as fast as the others (the
        registries load lazily otherwise: a worker's first message would pay for them)."""
        self.data.load_all()
        if self.context.intel is not None:
            self.context.intel.refresh(force=False)
        if self.verify_auth:
            # Load the verification libraries too (no DNS is asked).
            import lurelens.auth.dkim
            import lurelens.auth.dmarc
            import lurelens.auth.spf  # noqa: F401
        return self

    def trusting(self, authserv_ids: list[str] | tuple[str, ...] | None) -> Scanner:
        """A Scanner like this one but trusting the Authentication-Results of other authserv-ids,
        sharing its registries, scoring and resolver (cheap: the API's per-request ``authserv_id``)."""
        ids = [t for t in (authserv_ids or []) if t]
        other = copy.copy(self)  # the context (registries, intel) is read-only and shared
        other.trusted_authserv_ids = ids or None
        if self.settings is not None:
            other.settings = self.settings.with_(trusted_authserv_ids=tuple(ids))
        return other
    def defuse(self, raw: bytes, *, links: str = "visible") -> "DefuseResult":
        """A copy of ``raw`` safe to open (lurelens.defuse), with this Scanner's registries."""
        from lurelens.defuse import defuse

        return defuse(raw, links=links, data=self.data)

    def parse(self, raw: bytes, deadline: float | None = None) -> Message:
        """The parsed and enriched message (with its ``cid:`` parts kept when a render stage needs them)."""
        limits = self.limits
        if self.render is not None and not limits.keep_cids:
            limits = dataclasses.replace(limits, keep_cids=True)
        msg = parse_message(raw, limits, trusted_authserv=self.trusted_authserv_ids, deadline=deadline)
        enrich(msg, self.data)
        return msg

    def _run_checks(self, msg: Message, deadline: float, nested: str | None) -> list[Finding]:
        findings: list[Finding] = []
        for check in self.checks:
            if time.monotonic() > deadline:
                if "PARSE_LIMIT_TIME" not in msg.limits_hit:
                    msg.limits_hit.append("PARSE_LIMIT_TIME")
                if not any(f.symbol == "PARSE_LIMIT_TIME" for f in findings):
                    findings.append(Finding("PARSE_LIMIT_TIME", f"time limit reached; skipped checks from {check.name} on"))
                break
            try:
                for f in check.run(msg, self.context):
                    if f.symbol not in check.symbol_names and f.symbol not in _ANY_CHECK:
                        raise ValueError(f"check {check.name} emitted undeclared symbol {f.symbol}")
                    f.nested = nested
                    findings.append(f)
            except ConfigError:
                # A bad data or overlay file is the operator's to fix: stop, naming the file,
                # rather than quietly turning the check that loaded it into a 0-point finding.
                raise
            except Exception as exc:  # noqa: BLE001 - one crashing check must not stop the scan
                tb = traceback.extract_tb(exc.__traceback__)
                where = f"{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else "?"
                findings.append(Finding("CHECK_ERROR", f"{check.name}: {type(exc).__name__}: {exc} ({where})"[:300]))
        for i, sub in enumerate(msg.nested):
            findings.extend(self._run_checks(sub, deadline, f"{nested}.{i + 1}" if nested else str(i + 1)))
        return findings

    def verify(self, raw: bytes, msg: Message, auth_inputs: Any = None) -> None:
        """The verification stage: sets ``msg.verification`` before the checks read it. Inputs
        given by the mail flow win; gaps are filled from the trusted Received hop."""
        from lurelens.auth import AuthInputs, AuthVerification, inputs_from_headers, verify_message

        given = auth_inputs or self.auth_inputs or AuthInputs(source="none")
        try:
            from_file = inputs_from_headers(msg.headers, hop=self.trusted_hop, by_host=self.trusted_hop_host)
            msg.verification = verify_message(raw, msg, self.resolver, given.merged(from_file),
                                              max_seconds=self.dns_budget)
        except Exception as exc:  # noqa: BLE001 - reported as VERIFY_ERROR; never a pass, never a crash
            msg.verification = AuthVerification(given, "", errors=[f"verification: {type(exc).__name__}: {exc}"[:300]])

    def scan(self, raw: bytes, *, file: str | None = None, auth_inputs: Any = None,
             envelope: dict[str, Any] | None = None) -> Verdict:
        """The verdict on one message given as its bytes (any bytes: malformed mail is a finding,
        never an exception; InputError only for something that is not bytes). ``auth_inputs``
        (lurelens.auth.AuthInputs): the SMTP client IP, HELO and MAIL FROM, when the caller saw the
        mail flow (milter, API). ``envelope``: what only the mail flow knows (the milter's
        client_address, client_name, helo, mail_from, rcpt_to, queue_id); kept on the verdict
        (``envelope`` in the JSON) so a verdict can be traced to its SMTP transaction."""
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise InputError(f"scan() takes the message's bytes, not {type(raw).__name__}")
        raw = bytes(raw)
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.limits.timeout
        msg = self.parse(raw, deadline)
        if self.verify_auth and msg.headers:
            t_dns = time.monotonic()
            self.verify(raw, msg, auth_inputs)
            # The per-message time limit bounds CPU work; DNS waits have their own budget
            # (4 query timeouts), so they must not starve the checks.
            deadline += time.monotonic() - t_dns
        findings = self._run_checks(msg, deadline, None)
        verdict = score(findings, self.scoring, self.descriptions)
        verdict.file = file
        if envelope is not None:
            verdict.extra["envelope"] = dict(envelope)
        verdict.message = msg
        if not msg.headers:
            verdict.errors.append("not an e-mail message: no header fields found")
        verdict.open_leaks = open_leaks(msg)
        verdict.reasons = explain(verdict, self.scoring.labels)
        if self.render is not None:
            self.render.apply(self, verdict)
        verdict.elapsed_ms = (time.perf_counter() - t0) * 1000
        return verdict
