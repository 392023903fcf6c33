"""SPF (RFC 7208) with pyspf's check_host, its DNS redirected to our per-message session.

pyspf implements the mechanisms, macros and the 10-lookup / 2-void-lookup limits (RFC 7208
4.6.4) faithfully and passes the RFC 7208 test suite; it has no resolver parameter, so a subclass
replaces its one DNS method. ``exp=`` is not fetched: the explanation string is never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import spf as pyspf

from lurelens.auth.resolver import DnsSession

__all__ = ["SpfResult", "check_spf"]

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")


@dataclass(slots=True)
class SpfResult:
    result: str  # one of RESULTS
    domain: str  # the domain whose policy was checked
    scope: str  # "mailfrom" or "helo"
    identity: str  # the MAIL FROM address (or postmaster@helo)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"result": self.result, "domain": self.domain, "scope": self.scope,
                "identity": self.identity, "reason": self.reason}


class _Query(pyspf.query):
    """pyspf's query with DNS answered by a DnsSession (budget, cache, evidence)."""

    def __init__(self, session: DnsSession, **kw: Any):
        self._session = session
        super().__init__(**kw)

    def get_explanation(self, spec):  # exp= is never shown to anyone: no DNS query for it
        return None

    def dns(self, name, qtype, cnames=None, ignore_void=False):
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []  # RFC 7208 4.3: a malformed name gives no result
        ans = self._session.query(name, qtype)
        if ans.temporary:
            raise pyspf.TempError(f"DNS {ans.rcode} for {name} {qtype}")
        out: list[Any] = []
        for rec in ans.records:
            if qtype in ("TXT", "SPF"):
                out.append([rec.encode("utf-8", "surrogateescape")])
            elif qtype == "MX":
                pref, _, exch = rec.partition(" ")
                out.append((int(pref or 0), exch))
            else:
                out.append(rec)
        if not out and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > pyspf.MAX_VOID_LOOKUPS:
                raise pyspf.PermError(f"Void lookup limit of {pyspf.MAX_VOID_LOOKUPS} exceeded")
        return out


def check_spf(session: DnsSession, client_ip: str, mail_from: str, helo: str) -> SpfResult:
    """check_host() for the MAIL FROM identity, or for the HELO identity when MAIL FROM is empty
    (RFC 7208 2.4: the null reverse-path is checked as postmaster@HELO)."""
    mail_from = (mail_from or "").strip().strip("<>")
    helo = (helo or "").strip().rstrip(".")
    if mail_from and "@" in mail_from:
        identity, scope = mail_from, "mailfrom"
    elif mail_from:
        identity, scope = f"postmaster@{mail_from}", "mailfrom"
    elif helo:
        identity, scope = f"postmaster@{helo}", "helo"
    else:
        return SpfResult("none", "", "mailfrom", "", "no MAIL FROM and no HELO identity")
    domain = identity.rpartition("@")[2].lower()
    if not client_ip:
        return SpfResult("none", domain, scope, identity, "no client IP to check")
    try:
        q = _Query(session, i=client_ip, s=identity, h=helo or domain, timeout=session.max_seconds)
        res, _code, expl = q.check()
    except Exception as exc:  # noqa: BLE001 - a bad address or a library error is not a pass
        return SpfResult("permerror", domain, scope, identity, f"{type(exc).__name__}: {exc}"[:200])
    res = {"error": "temperror", "unknown": "permerror"}.get(res, res)
    if res not in RESULTS:
        res = "permerror"
    return SpfResult(res, domain, scope, identity, str(expl or "")[:200] if res != "pass" else "")
