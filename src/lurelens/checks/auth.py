"""Authentication outcomes (SPF, DKIM, DMARC, ARC) from the trusted Authentication-Results.

"Not checked" is its own outcome and is never read as a pass: a message with no trusted results
gets AUTH_NOT_CHECKED, and a method the receiver did not report gets nothing in its favour.
Live DNS verification comes later; this check reads what the receiving host concluded.
"""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import Finding, Message

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


def run(msg: Message, ctx: Context):
    auth = msg.auth
    for forged in auth.get("forged", [])[:1]:
        yield Finding("AUTH_RESULTS_FORGED", f"ignored header claiming {forged['authserv_id']}: {forged['raw'][:160]}")
    if not auth.get("present"):
        yield Finding("AUTH_NOT_CHECKED", "no Authentication-Results header from the receiving host")
        return
    results = auth["results"]
    spf = results.get("spf")
    if spf:
        ev = f"spf={spf.result} smtp.mailfrom={spf.props.get('smtp.mailfrom', '?')}"
        if spf.result == "fail":
            yield Finding("AUTH_SPF_FAIL", ev)
        elif spf.result == "softfail":
            yield Finding("AUTH_SPF_SOFTFAIL", ev)
        elif spf.result == "none":
            yield Finding("AUTH_SPF_NONE", ev)
        elif spf.result in _ERR:
            yield Finding("AUTH_SPF_ERROR", ev)
    dkim = results.get("dkim")
    if dkim:
        ev = f"dkim={dkim.result} header.d={dkim.props.get('header.d', dkim.props.get('header.i', '?'))}"
        if dkim.result == "fail":
            yield Finding("AUTH_DKIM_FAIL", ev)
        elif dkim.result == "none":
            yield Finding("AUTH_DKIM_NONE", ev)
        elif dkim.result in _ERR:
            yield Finding("AUTH_DKIM_ERROR", ev)
    dmarc = results.get("dmarc")
    if dmarc:
        ev = f"dmarc={dmarc.result} header.from={dmarc.props.get('header.from', '?')}"
        if dmarc.props.get("action"):
            ev += f" action={dmarc.props['action']}"
        if dmarc.result == "fail":
            yield Finding("AUTH_DMARC_FAIL", ev)
        elif dmarc.result == "none":
            yield Finding("AUTH_DMARC_NONE", ev)
        elif dmarc.result in _ERR:
            yield Finding("AUTH_DMARC_ERROR", ev)
        elif dmarc.result in ("pass", "bestguesspass"):
            yield Finding("AUTH_DMARC_PASS", ev, strength=1.0 if dmarc.result == "pass" else 0.5)
    arc = results.get("arc")
    if arc:
        if arc.result == "fail":
            yield Finding("AUTH_ARC_FAIL", f"arc={arc.result}")
        elif arc.result == "pass":
            yield Finding("AUTH_ARC_PASS", f"arc=pass")
    comp = results.get("compauth")
    if comp and comp.result == "fail":
        yield Finding("AUTH_COMPAUTH_FAIL", f"compauth=fail reason={comp.props.get('reason', '?')}")


CHECK = Check("auth", SYMBOLS, run)
