"""The site's own allow lists (``allowed_senders.txt``, ``allowed_hosts.txt`` in the data overlay),
written by analysts from the web page or the API. A listed sender counts only when its From domain
is authenticated (DMARC pass, from the trusted receiver or our own verification), so a forged From
of an allowed sender gains nothing; the credit is the ``LOCAL_ALLOWED_SENDER`` composite in
scores.toml, which other failures cancel. Allowed hosts are not counted as beacons (checks/trackers.py).
"""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("LOCAL_ALLOW_SENDER", "The From address or its domain is on this site's allow list (analyst feedback) and the From domain is authenticated (DMARC pass)"),
    Symbol("LOCAL_ALLOW_SENDER_UNAUTHENTICATED", "The From address or its domain is on this site's allow list, but the From domain is not authenticated: no credit"),
    Symbol("LOCAL_ALLOW_HOST", "Content fetched on open comes from a host on this site's allow list (analyst feedback): not counted as a beacon"),
)


def _dmarc_pass(msg: Message, domain: str) -> str | None:
    """How the From domain is authenticated (evidence), or None."""
    v = msg.verification
    if v is not None:  # our own verification replaces the receiver's word
        d = getattr(v, "dmarc", None)
        ok = d is not None and d.result == "pass" and (d.from_domain or "").lower() == domain
        return "dmarc=pass (verified by lurelens)" if ok else None
    r = msg.auth.get("results", {}).get("dmarc") if msg.auth.get("present") else None
    if r is None or r.result != "pass":
        return None
    hfrom = (r.props.get("header.from") or domain).lower()
    return f"dmarc=pass header.from={hfrom}" if hfrom == domain else None


def run(msg: Message, ctx: Context):
    lists = ctx.data.local
    froms = [a for a in msg.from_ if a.addr]
    for a in froms[:1] if len(froms) == 1 else ():  # several From addresses: nobody to vouch for
        entry = lists.sender_entry(a.addr)
        if entry:
            how = _dmarc_pass(msg, (a.domain or "").lower())
            if how:
                yield Finding("LOCAL_ALLOW_SENDER", f"{a.addr} (listed as {entry}); {how}")
            else:
                yield Finding("LOCAL_ALLOW_SENDER_UNAUTHENTICATED", f"{a.addr} (listed as {entry}); no DMARC pass for {a.domain}")
    allowed = sorted({r.host for r in msg.resources if lists.host_entry(r.host)})
    if allowed:
        yield Finding("LOCAL_ALLOW_HOST", ", ".join(allowed[:6]) + (f" and {len(allowed) - 6} more" if len(allowed) > 6 else ""))


CHECK = Check("local", SYMBOLS, run)
