"""DNS for authentication: one small ``Resolver`` interface, a dnspython implementation that asks
a given server directly (never /etc/resolv.conf when a server is given), a TTL cache, a per-message
session that enforces a query and time budget and records every answer as evidence, and a static
resolver that answers from recorded evidence (``reverify``) or from a test's zone dict."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "TEMP_RCODES",
    "DnsAnswer",
    "DnsPythonResolver",
    "DnsSession",
    "Resolver",
    "StaticResolver",
    "parse_server",
]

# rcodes that mean "we could not find out": callers turn them into temperror, never into a pass
# or into "no record". NOT_RECORDED: reverify asked for something the evidence does not hold.
TEMP_RCODES = frozenset({"SERVFAIL", "TIMEOUT", "REFUSED", "BUDGET", "NOT_RECORDED", "ERROR"})
RTYPES = ("A", "AAAA", "MX", "TXT", "PTR", "SPF")


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One DNS answer as the verification used it. ``records`` are text: an address (A/AAAA),
    "pref exchange" (MX), a target name (PTR), or the concatenated strings of one TXT record."""

    name: str
    rtype: str
    rcode: str  # NOERROR, NXDOMAIN, or one of TEMP_RCODES
    records: tuple[str, ...] = ()
    ttl: int = 0
    at: float = 0.0  # unix time the answer was received from the server

    @property
    def temporary(self) -> bool:
        return self.rcode in TEMP_RCODES

    @property
    def void(self) -> bool:
        """NXDOMAIN or an empty answer (RFC 7208 4.6.4 'void lookup')."""
        return not self.temporary and not self.records

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.rtype, "rcode": self.rcode, "data": list(self.records),
                "ttl": self.ttl, "time": round(self.at, 3)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DnsAnswer:
        return cls(str(d["name"]).lower(), str(d["type"]).upper(), str(d.get("rcode", "NOERROR")),
                   tuple(str(x) for x in d.get("data", ())), int(d.get("ttl", 0)), float(d.get("time", 0.0)))


class Resolver(Protocol):
    """What verification needs from DNS: one question, one answer (never raises)."""

    def query(self, name: str, rtype: str) -> DnsAnswer: ...


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


class DnsPythonResolver:
    """Queries one server directly with dnspython (UDP, TCP when truncated), follows CNAMEs,
    and caches answers for their TTL. ``server`` is "host" or "host:port"; ``None`` means the
    system's nameservers (read from resolv.conf once, only then). Thread-safe."""

    MAX_CNAME = 8
    NEG_TTL = 300  # when a negative answer carries no SOA
    MAX_TTL = 86400

    def __init__(self, server: str | None = None, *, timeout: float = 2.0, cache_size: int = 20000):
        self.timeout = timeout
        self.cache_size = cache_size
        if server:
            self.servers = [parse_server(server)]
        else:
            import dns.resolver

            # resolv.conf gives addresses (str); dnspython also allows Nameserver objects, never read from it
            self.servers = [(ns, 53) for ns in dns.resolver.Resolver().nameservers if isinstance(ns, str)]
        self._cache: dict[tuple[str, str], tuple[float, DnsAnswer]] = {}
        self._lock = threading.Lock()

    def query(self, name: str, rtype: str) -> DnsAnswer:
        name, rtype = _norm(name), rtype.upper()
        key = (name, rtype)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        answer = self._resolve(name, rtype)
        if not answer.temporary:
            with self._lock:
                if len(self._cache) >= self.cache_size:
                    # Forget the older half: cheap, and keeps the cache bounded.
                    for k in list(self._cache)[: self.cache_size // 2]:
                        del self._cache[k]
                self._cache[key] = (now + min(answer.ttl, self.MAX_TTL), answer)
        return answer

    def _ask(self, name: str, rtype: str):
        import dns.exception
        import dns.message
        import dns.query
        import dns.rdatatype

        q = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
        last = "TIMEOUT"
        for host, port in self.servers:
            try:
                resp, _tcp = dns.query.udp_with_fallback(q, host, timeout=self.timeout, port=port)
                return resp
            except dns.exception.Timeout:
                last = "TIMEOUT"
            except (OSError, dns.exception.DNSException):
                last = "ERROR"
        return last

    def _resolve(self, name: str, rtype: str) -> DnsAnswer:
        import dns.rcode
        import dns.rdatatype

        at = time.time()
        target = name
        for _ in range(self.MAX_CNAME):
            resp = self._ask(target, rtype)
            if isinstance(resp, str):
                return DnsAnswer(name, rtype, resp, (), 0, at)
            rcode = dns.rcode.to_text(resp.rcode())
            if rcode not in ("NOERROR", "NXDOMAIN"):
                return DnsAnswer(name, rtype, rcode if rcode in TEMP_RCODES else "SERVFAIL", (), 0, at)
            # Follow the CNAME chain inside this answer; re-ask when it leaves the server's data.
            want = dns.rdatatype.from_text(rtype)
            records: list[str] = []
            ttl = self.MAX_TTL
            cur = target
            for _hop in range(self.MAX_CNAME):
                moved = False
                for rrset in resp.answer:
                    if _norm(rrset.name.to_text()) != cur:
                        continue
                    if rrset.rdtype == want:
                        records.extend(_rdata_text(rtype, rd) for rd in rrset)
                        ttl = min(ttl, rrset.ttl)
                    elif rrset.rdtype == dns.rdatatype.CNAME:
                        cur = _norm(rrset[0].target.to_text())
                        ttl = min(ttl, rrset.ttl)
                        moved = True
                if not moved or records:
                    break
            if not records and rcode == "NOERROR" and _is_referral(resp):
                # The server is neither authoritative for the name nor recursive: it does not know.
                return DnsAnswer(name, rtype, "SERVFAIL", (), 0, at)
            if records or cur == target or rcode == "NXDOMAIN":
                if not records:
                    ttl = self._negative_ttl(resp)
                return DnsAnswer(name, rtype, rcode if not records else "NOERROR", tuple(records), ttl, at)
            target = cur
        return DnsAnswer(name, rtype, "SERVFAIL", (), 0, at)

    def _negative_ttl(self, resp) -> int:
        import dns.rdatatype

        for rrset in resp.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                return min(rrset.ttl, rrset[0].minimum)
        return self.NEG_TTL


def _is_referral(resp) -> bool:
    import dns.flags
    import dns.rdatatype

    if resp.flags & (dns.flags.AA | dns.flags.RA):
        return False
    return any(rr.rdtype == dns.rdatatype.NS for rr in resp.authority)


def parse_server(server: str) -> tuple[str, int]:
    """"127.0.0.1:5353", "[::1]:5353", "::1" or "10.0.0.1" -> (host, port); port 53 by default."""
    server = server.strip()
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        return host, int(rest.lstrip(":") or 53)
    if server.count(":") == 1:
        host, _, port = server.partition(":")
        return host, int(port)
    return server, 53


def _rdata_text(rtype: str, rd) -> str:
    if rtype in ("A", "AAAA"):
        return rd.address
    if rtype == "MX":
        return f"{rd.preference} {_norm(rd.exchange.to_text())}"
    if rtype == "PTR":
        return _norm(rd.target.to_text())
    if rtype in ("TXT", "SPF"):
        # One TXT record may hold several character-strings; SPF and DKIM concatenate them.
        return b"".join(rd.strings).decode("utf-8", "surrogateescape")
    return rd.to_text()


class StaticResolver:
    """Answers from a fixed set of answers: the DNS evidence recorded with a verdict (reverify)
    or a zone dict in unit tests. A question it holds no answer for gets ``missing`` (by default
    NOT_RECORDED, a temporary failure: absence of evidence is not evidence of absence)."""

    def __init__(self, answers: Iterable[DnsAnswer], *, missing: str = "NOT_RECORDED"):
        self.answers = {(a.name, a.rtype): a for a in answers}
        self.missing = missing

    @classmethod
    def from_evidence(cls, evidence: Iterable[dict[str, Any]]) -> StaticResolver:
        return cls(DnsAnswer.from_dict(d) for d in evidence)

    def query(self, name: str, rtype: str) -> DnsAnswer:
        name, rtype = _norm(name), rtype.upper()
        a = self.answers.get((name, rtype))
        if a is not None:
            return a
        return DnsAnswer(name, rtype, self.missing, (), 0, time.time())


@dataclass
class DnsSession:
    """The DNS view of one message: a budget of queries and seconds, and the evidence of every
    answer used. Over budget, questions get BUDGET (temporary) without reaching the resolver."""

    resolver: Resolver
    max_queries: int = 60
    max_seconds: float = 8.0
    queries: int = 0
    evidence: dict[tuple[str, str], DnsAnswer] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    exhausted: bool = False

    def query(self, name: str, rtype: str) -> DnsAnswer:
        key = (_norm(name), rtype.upper())
        seen = self.evidence.get(key)
        if seen is not None:
            return seen
        if self.queries >= self.max_queries or time.monotonic() - self.started > self.max_seconds:
            self.exhausted = True
            return DnsAnswer(key[0], key[1], "BUDGET", (), 0, time.time())
        self.queries += 1
        answer = self.resolver.query(*key)
        self.evidence[key] = answer
        return answer

    def txt(self, name: str) -> DnsAnswer:
        return self.query(name, "TXT")

    def evidence_list(self) -> list[dict[str, Any]]:
        return [a.to_dict() for a in self.evidence.values()]
