"""Authentication outcomes (SPF, DKIM, DMARC, ARC) from the trusted Authentication-Results.

"Not checked" is its own outcome and is never read as a pass: a message with no trusted results
gets AUTH_NOT_CHECKED, and a method the receiver did not report gets nothing in its favour.
Live DNS verification comes later; this check reads what the receiving host concluded.
"""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("AUTH_NOT_CHECKED", "No trusted Authentication-Results: SPF, DKIM and DMARC were not checked"),
    Symbol("AUTH_SPF_FAIL", "SPF fail: the sending host is not allowed to send for the envelope domain"),
    Symbol("AUTH_SPF_SOFTFAIL", "SPF softfail: the sending host is probably not allowed to send for the domain"),
    Symbol("AUTH_SPF_NONE", "SPF none: the envelope domain publishes no SPF policy"),
    Symbol("AUTH_SPF_ERROR", "SPF could not be evaluated (temporary or permanent error): not a pass"),
    Symbol("AUTH_DKIM_FAIL", "DKIM signature failed to verify"),
    Symbol("AUTH_DKIM_NONE", "The message carries no DKIM signature"),
    Symbol("AUTH_DKIM_ERROR", "DKIM could not be evaluated: not a pass"),
    Symbol("AUTH_DMARC_FAIL", "DMARC fail: the From domain is not authenticated by an aligned SPF or DKIM pass"),
    Symbol("AUTH_DMARC_NONE", "The From domain publishes no DMARC policy"),
    Symbol("AUTH_DMARC_ERROR", "DMARC could not be evaluated: not a pass"),
    Symbol("AUTH_DMARC_PASS", "DMARC pass: the From domain is authenticated"),
    Symbol("AUTH_ARC_FAIL", "ARC chain failed to validate"),
    Symbol("AUTH_ARC_PASS", "ARC chain validated: a forwarder vouches for earlier authentication"),
    Symbol("AUTH_COMPAUTH_FAIL", "Microsoft composite authentication failed"),
    Symbol("AUTH_RESULTS_FORGED", "A lower Authentication-Results header claims to be from the trusted receiver: ignored"),
)

_ERR = ("temperror", "permerror")
# (method, outcome) -> symbol; an outcome with no entry (neutral, policy, a pass other than
# DMARC's and ARC's) earns nothing either way.
_SYMBOL_FOR = {
    ("spf", "fail"): "AUTH_SPF_FAIL",
    ("spf", "softfail"): "AUTH_SPF_SOFTFAIL",
    ("spf", "none"): "AUTH_SPF_NONE",
    ("spf", "error"): "AUTH_SPF_ERROR",
    ("dkim", "fail"): "AUTH_DKIM_FAIL",
    ("dkim", "none"): "AUTH_DKIM_NONE",
    ("dkim", "error"): "AUTH_DKIM_ERROR",
    ("dmarc", "fail"): "AUTH_DMARC_FAIL",
    ("dmarc", "none"): "AUTH_DMARC_NONE",
    ("dmarc", "error"): "AUTH_DMARC_ERROR",
    ("dmarc", "pass"): "AUTH_DMARC_PASS",
    ("dmarc", "bestguesspass"): "AUTH_DMARC_PASS",
    ("arc", "fail"): "AUTH_ARC_FAIL",
    ("arc", "pass"): "AUTH_ARC_PASS",
    ("compauth", "fail"): "AUTH_COMPAUTH_FAIL",
}
# Which properties each method's evidence quotes.
_EVIDENCE = {
    "spf": ("smtp.mailfrom",),
    "dkim": ("header.d", "header.i"),
    "dmarc": ("header.from", "action"),
    "arc": (),
    "compauth": ("reason",),
}


def run(msg: Message, ctx: Context):
    auth = msg.auth
    for forged in auth.get("forged", [])[:1]:
        yield Finding("AUTH_RESULTS_FORGED", f"ignored header claiming {forged['authserv_id']}: {forged['raw'][:160]}")
    if not auth.get("present"):
        yield Finding("AUTH_NOT_CHECKED", "no Authentication-Results header from the receiving host")
        return
    results = auth["results"]
    for method, evidence_props in _EVIDENCE.items():
        r = results.get(method)
        if r is None:
            continue
        result = "error" if r.result in _ERR else r.result
        symbol = _SYMBOL_FOR.get((method, result))
        if symbol is None:
            continue
        ev = " ".join([f"{method}={r.result}"] + [f"{p}={r.props[p]}" for p in evidence_props if p in r.props])
        strength = 0.5 if r.result == "bestguesspass" else 1.0
        if symbol == "AUTH_DMARC_PASS" and not _known_domain(r.props.get("header.from") or _from_domain(msg), ctx):
            # A pass proves who controls the domain, not that they deserve trust: bulk scammers
            # pass DMARC on domains of their own. Credit goes to domains the registries know.
            strength = 0.0
            ev += " (no credit: the domain is in no registry)"
        yield Finding(symbol, ev, strength=strength)


def _from_domain(msg: Message) -> str:
    frm = next((a for a in msg.from_ if a.addr), None)
    return frm.domain if frm else ""


def _known_domain(domain: str, ctx: Context) -> bool:
    """A free-mail provider, or a domain a news outlet, brand or protected organisation uses."""
    domain = (domain or "").lower().strip()
    if not domain:
        return False
    if ctx.data.free_hosting_suffix(domain) or ctx.data.tenant_platform(domain):
        return False  # the platform is known; its tenants, anyone, are not
    return ctx.data.is_freemail(domain) or ctx.data.entities.entity_for_domain(domain) is not None

CHECK = Check("auth", SYMBOLS, run)
