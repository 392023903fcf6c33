"""DMARC (RFC 7489): policy discovery at the From domain then its organisational domain (the
Public Suffix List, as everywhere else in lurelens), relaxed or strict alignment of the SPF and
DKIM passes with the From domain, and the policy that applies (p, sp for subdomains, pct)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lurelens.auth.dkim import DkimSignature
from lurelens.auth.resolver import DnsSession
from lurelens.auth.spf import SpfResult
from lurelens.parse.urls import registrable_domain

__all__ = ["DmarcResult", "check_dmarc", "org_domain"]

POLICIES = ("none", "quarantine", "reject")


def org_domain(domain: str) -> str:
    return registrable_domain(domain.rstrip(".").lower())


@dataclass(slots=True)
class DmarcResult:
    result: str  # pass, fail, none, temperror, permerror
    from_domain: str
    policy_domain: str = ""  # where the record was found
    policy: str = ""  # the policy that applies to this From domain (p, or sp for a subdomain)
    pct: int = 100
    adkim: str = "r"
    aspf: str = "r"
    spf_aligned: bool = False
    dkim_aligned: bool = False
    aligned_dkim_domain: str = ""
    record: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _parse(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        k, sep, v = part.partition("=")
        if sep:
            tags.setdefault(k.strip().lower(), v.strip())
    return tags


def _aligned(a: str, b: str, mode: str) -> bool:
    a, b = a.rstrip(".").lower(), b.rstrip(".").lower()
    if not a or not b:
        return False
    return a == b if mode == "s" else org_domain(a) == org_domain(b)


def _discover(session: DnsSession, domain: str) -> tuple[str, list[str]]:
    """('ok'|'temperror', DMARC records at _dmarc.domain)."""
    ans = session.txt(f"_dmarc.{domain}")
    if ans.temporary:
        return "temperror", []
    return "ok", [r for r in ans.records if r.strip().lower().replace(" ", "").startswith("v=dmarc1")]


def check_dmarc(session: DnsSession, from_domain: str, spf: SpfResult | None,
                dkim: list[DkimSignature]) -> DmarcResult:
    from_domain = (from_domain or "").rstrip(".").lower()
    if not from_domain:
        return DmarcResult("permerror", "", reason="no single From domain to evaluate")
    org = org_domain(from_domain)
    found_at = from_domain
    status, records = _discover(session, from_domain)
    if status == "ok" and not records and org and org != from_domain:
        found_at = org
        status, records = _discover(session, org)
    if status == "temperror":
        return DmarcResult("temperror", from_domain, found_at, reason=f"DNS failure at _dmarc.{found_at}")
    if not records:
        return DmarcResult("none", from_domain, reason="no DMARC record at the From domain or its organisational domain")
    if len(records) > 1:
        # RFC 7489 6.6.3: more than one record ends discovery with no policy.
        return DmarcResult("none", from_domain, found_at, reason="several DMARC records: no policy applies")
    tags = _parse(records[0])
    res = DmarcResult("none", from_domain, found_at, record=records[0][:300])
    p = tags.get("p", "").lower()
    sp = tags.get("sp", "").lower()
    if tags.get("v") != "DMARC1" or p not in POLICIES or (sp and sp not in POLICIES):
        res.result, res.reason = "permerror", "invalid DMARC record (v=DMARC1 first, and a valid p= and sp=)"
        return res
    res.policy = sp if (found_at != from_domain and sp) else p
    try:
        res.pct = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        res.pct = 100
    res.adkim = "s" if tags.get("adkim", "r").lower() == "s" else "r"
    res.aspf = "s" if tags.get("aspf", "r").lower() == "s" else "r"
    if spf is not None and spf.result == "pass":
        res.spf_aligned = _aligned(spf.domain, from_domain, res.aspf)
    for sig in dkim:
        if sig.result == "pass" and _aligned(sig.d, from_domain, res.adkim):
            res.dkim_aligned, res.aligned_dkim_domain = True, sig.d
            break
    if res.spf_aligned or res.dkim_aligned:
        res.result = "pass"
        return res
    # Not aligned. A temporary failure of an identifier that could have aligned leaves the
    # outcome open: temperror, never fail and never pass.
    temp = (spf is not None and spf.result == "temperror" and _aligned(spf.domain, from_domain, res.aspf)) or any(
        s.result == "temperror" and _aligned(s.d, from_domain, res.adkim) for s in dkim)
    res.result = "temperror" if temp else "fail"
    res.reason = "no aligned SPF or DKIM pass" if not temp else "an aligned identifier could not be checked (DNS)"
    return res
