"""lurelens's own authentication: SPF, DKIM (every signature), ARC and DMARC checked against DNS
through one injected resolver, instead of believing the receiver's Authentication-Results.

``verify_message(raw, msg, resolver, inputs)`` returns an ``AuthVerification`` that keeps every DNS
answer it used; ``reverify`` repeats the check against that recorded evidence alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from lurelens.auth.inputs import AuthInputs, inputs_from_headers, parse_received
from lurelens.auth.resolver import (
    DnsAnswer,
    DnsPythonResolver,
    DnsSession,
    Resolver,
    StaticResolver,
)

__all__ = [
    "AuthInputs",
    "AuthVerification",
    "DnsAnswer",
    "DnsPythonResolver",
    "DnsSession",
    "Resolver",
    "StaticResolver",
    "inputs_from_headers",
    "parse_received",
    "reverify",
    "reverify_report",
    "verify_message",
]


@dataclass(slots=True)
class AuthVerification:
    """What lurelens itself concluded, with the DNS answers it used."""

    inputs: AuthInputs
    from_domain: str
    spf: Any = None  # SpfResult
    dkim: list[Any] = field(default_factory=list)  # DkimSignature, header order
    arc: Any = None  # ArcResult
    dmarc: Any = None  # DmarcResult
    identities: dict[str, str] = field(default_factory=dict)  # "smtp.mailfrom" etc. -> NXDOMAIN/NOERROR
    dns: list[dict[str, Any]] = field(default_factory=list)
    dns_queries: int = 0
    budget_exhausted: bool = False
    verified_at: float = 0.0
    mode: str = "live"  # or "reverify"
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "verified_at": round(self.verified_at, 3),
            "inputs": self.inputs.to_dict(),
            "from_domain": self.from_domain,
            "spf": self.spf.to_dict() if self.spf else None,
            "dkim": [s.to_dict() for s in self.dkim],
            "arc": self.arc.to_dict() if self.arc else None,
            "dmarc": self.dmarc.to_dict() if self.dmarc else None,
            "identities": dict(self.identities),
            "dns_queries": self.dns_queries,
            "budget_exhausted": self.budget_exhausted,
            "errors": list(self.errors),
            "dns": list(self.dns),
        }


def _from_domain(msg: Any) -> tuple[str, str]:
    """(domain, problem): the single RFC5322.From domain DMARC evaluates."""
    addrs = [a for a in msg.from_ if a.addr]
    if len(msg.header_all("From")) != 1:
        return "", f"{len(msg.header_all('From'))} From header fields"
    if len(addrs) != 1:
        return "", f"{len(addrs)} From addresses"
    return addrs[0].domain, ""


def _identity_domains(msg: Any, inputs: AuthInputs, from_domain: str) -> dict[str, str]:
    """Identities that should exist in DNS: the From domain, the MAIL FROM domain we were given,
    and the ones the trusted Authentication-Results names (an injected smtp.mailfrom or header.d
    may not exist)."""
    out: dict[str, str] = {"from": from_domain} if from_domain else {}
    if inputs.mail_from and "@" in inputs.mail_from:
        out["mail_from"] = inputs.mail_from.rpartition("@")[2]
    elif inputs.mail_from == "" and inputs.helo:
        out["helo"] = inputs.helo
    results = (msg.auth or {}).get("results", {})
    for method, prop in (("spf", "smtp.mailfrom"), ("spf", "smtp.helo"), ("dkim", "header.d"),
                         ("dkim", "header.i"), ("dmarc", "header.from")):
        r = results.get(method)
        v = r.props.get(prop) if r is not None else None
        if v:
            out[prop] = v.rpartition("@")[2]
    clean: dict[str, str] = {}
    for k, v in out.items():
        v = v.strip().strip("<>\"'").rstrip(".").lower()
        # Only syntactically plausible names are asked; junk is the header checks' business.
        if v and len(v) <= 253 and "." in v and all(0 < len(x) < 64 for x in v.split(".")) and \
                all(c.isalnum() or c in "-._" for c in v):
            clean[k] = v
    return clean


def verify_message(raw: bytes, msg: Any, resolver: Resolver, inputs: AuthInputs | None = None,
                   *, max_queries: int = 60, max_seconds: float = 8.0, mode: str = "live") -> AuthVerification:
    """SPF for the given inputs, every DKIM signature, ARC and DMARC for ``raw`` (``msg`` is its
    parsed form). Never raises: what could not be checked is a temperror/permerror result."""
    from lurelens.auth.dkim import ArcResult, check_arc, check_dkim, parse
    from lurelens.auth.dmarc import check_dmarc
    from lurelens.auth.spf import check_spf

    inputs = inputs or AuthInputs(source="none")
    session = DnsSession(resolver, max_queries=max_queries, max_seconds=max_seconds)
    from_domain, problem = _from_domain(msg)
    v = AuthVerification(inputs, from_domain, verified_at=time.time(), mode=mode)
    if problem:
        v.errors.append(f"DMARC needs exactly one From address: {problem}")
    # The parsed headers say whether there is anything to verify; the libraries parse again.
    names = {k.lower() for k, _ in msg.headers}
    present = {h: h in names for h in ("dkim-signature", "arc-seal", "arc-message-signature")}
    parsed = None
    if any(present.values()):
        try:
            parsed = parse(raw)
        except Exception as exc:  # noqa: BLE001 - each check reports its own failure below
            v.errors.append(f"parse: {type(exc).__name__}: {exc}"[:300])
    for step in ("spf", "dkim", "arc", "dmarc", "identities"):
        try:
            if step == "spf":
                v.spf = check_spf(session, inputs.client_ip or "", inputs.mail_from or "", inputs.helo or "")
            elif step == "dkim":
                v.dkim = check_dkim(raw, session, parsed) if present["dkim-signature"] else []
            elif step == "arc":
                v.arc = check_arc(raw, session, parsed) if present["arc-seal"] or present["arc-message-signature"] \
                    else ArcResult("none", 0, "no ARC sets")
            elif step == "dmarc":
                v.dmarc = check_dmarc(session, from_domain, v.spf, v.dkim)
            else:
                for k, dom in _identity_domains(msg, inputs, from_domain).items():
                    v.identities[k] = f"{dom} {session.txt(dom).rcode}"
        except Exception as exc:  # noqa: BLE001 - a library bug is reported, the others still run
            v.errors.append(f"{step}: {type(exc).__name__}: {exc}"[:300])
    v.dns = session.evidence_list()
    v.dns_queries = session.queries
    v.budget_exhausted = session.exhausted
    return v


def reverify(raw: bytes, msg: Any, recorded: dict[str, Any]) -> AuthVerification:
    """Verify again from the DNS answers recorded in ``recorded`` (an ``auth_verification``
    object): any question the evidence does not answer is a temperror, never a guess. A DKIM
    signature that passes here but fails live means the key was withdrawn since; one that fails
    here too was never valid."""
    inp = recorded.get("inputs") or {}
    inputs = AuthInputs(inp.get("client_ip"), inp.get("helo"), inp.get("mail_from"), inp.get("source", "recorded"))
    return verify_message(raw, msg, StaticResolver.from_evidence(recorded.get("dns") or []), inputs,
                          max_seconds=60.0, mode="reverify")


def reverify_report(recorded: dict[str, Any], again: AuthVerification, live: AuthVerification | None) -> dict[str, Any]:
    """Per method: the recorded result, the result from the recorded evidence, the live one (if
    asked), and per DKIM signature what the difference means."""
    def results(d: dict[str, Any] | None) -> dict[str, Any]:
        if not d:
            return {}
        return {"spf": (d.get("spf") or {}).get("result"), "dmarc": (d.get("dmarc") or {}).get("result"),
                "arc": (d.get("arc") or {}).get("cv"),
                "dkim": [f"{x.get('d')}/{x.get('s')}={x.get('result')}" for x in d.get("dkim") or []]}

    notes = []
    live_sigs = {(x.d, x.s): x for x in live.dkim} if live else {}
    for sig in again.dkim:
        now = live_sigs.get((sig.d, sig.s))
        if sig.result == "pass" and now is not None and now.result != "pass":
            why = "key withdrawn or replaced since" if now.failure in ("no_key", "key_revoked", "bad_key") else now.failure
            notes.append(f"d={sig.d} s={sig.s}: valid against the DNS as recorded; now {now.result} ({why})")
        elif sig.result == "pass":
            notes.append(f"d={sig.d} s={sig.s}: valid against the DNS as recorded")
        elif sig.result in ("fail", "permerror"):
            body = {True: "body as signed", False: "body changed", None: "body unknown"}[sig.body_hash_ok]
            notes.append(f"d={sig.d} s={sig.s}: {sig.result} even against the DNS as recorded "
                         f"({sig.failure}; {body}): never validly signed, or changed since it was recorded")
        else:
            notes.append(f"d={sig.d} s={sig.s}: {sig.result} ({sig.reason})")
    return {"recorded": results(recorded), "from_evidence": results(again.to_dict()),
            "live": results(live.to_dict()) if live else None, "notes": notes}
