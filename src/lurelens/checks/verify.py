"""Findings from lurelens's own authentication (SPF, DKIM, ARC, DMARC checked against DNS), computed
by the Scanner's verification stage before the checks run (``msg.verification``). Silent when
verification is off. temperror, permerror and "not checked" are never read as a pass."""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol, known_domain
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("VERIFY_SPF_FAIL", "Our SPF check: the sending host is not allowed to send for the envelope domain"),
    Symbol("VERIFY_SPF_SOFTFAIL", "Our SPF check: the sending host is probably not allowed to send for the envelope domain"),
    Symbol("VERIFY_SPF_NEUTRAL", "Our SPF check: the envelope domain says nothing about this host"),
    Symbol("VERIFY_SPF_NONE", "Our SPF check: the envelope domain publishes no SPF policy"),
    Symbol("VERIFY_SPF_TEMPERROR", "Our SPF check could not finish (DNS failure): not a pass"),
    Symbol("VERIFY_SPF_PERMERROR", "Our SPF check: the policy is broken (syntax, too many lookups): not a pass"),
    Symbol("VERIFY_SPF_NOT_CHECKED", "SPF was not checked: no client IP (give --client-ip or a trusted Received hop)"),
    Symbol("VERIFY_DKIM_FAIL", "Our DKIM check: a signature does not verify (body or signed headers changed)"),
    Symbol("VERIFY_DKIM_PERMERROR", "Our DKIM check: a signature cannot be verified (no key, revoked key, bad syntax)"),
    Symbol("VERIFY_DKIM_TEMPERROR", "Our DKIM check: a key could not be fetched (DNS failure): not a pass"),
    Symbol("VERIFY_DKIM_NONE", "The message carries no DKIM signature"),
    Symbol("VERIFY_DKIM_PARTIAL_BODY", "A valid DKIM signature covers only part of the body (l=): the rest was added by anyone"),
    Symbol("VERIFY_DMARC_FAIL", "Our DMARC check fails and the From domain asks to reject or quarantine such mail"),
    Symbol("VERIFY_DMARC_FAIL_NOPOLICY", "Our DMARC check fails; the From domain only monitors (p=none)"),
    Symbol("VERIFY_DMARC_NONE", "The From domain publishes no DMARC policy (checked in DNS)"),
    Symbol("VERIFY_DMARC_TEMPERROR", "Our DMARC check could not finish (DNS failure): not a pass"),
    Symbol("VERIFY_DMARC_PERMERROR", "Our DMARC check: no single From domain, or a broken DMARC record: not a pass"),
    Symbol("VERIFY_DMARC_PASS", "Our DMARC check passes: the From domain is authenticated by an aligned SPF or DKIM pass"),
    Symbol("VERIFY_ARC_BROKEN", "The ARC chain does not validate"),
    Symbol("VERIFY_ARC_PASS", "The ARC chain validates (who sealed it is in the evidence)"),
    Symbol("VERIFY_DISAGREES_WITH_AR", "Our result differs from the trusted Authentication-Results"),
    Symbol("VERIFY_MAILFROM_NXDOMAIN", "The envelope sender's domain does not exist in DNS"),
    Symbol("VERIFY_IDENTITY_NXDOMAIN", "A domain the trusted Authentication-Results vouches for does not exist in DNS"),
    Symbol("VERIFY_DNS_BUDGET", "Verification hit its per-message DNS budget; later checks were not completed"),
    Symbol("VERIFY_ERROR", "Verification itself failed on this message (reported, not scored)"),
)

_SPF = {"fail": "VERIFY_SPF_FAIL", "softfail": "VERIFY_SPF_SOFTFAIL", "neutral": "VERIFY_SPF_NEUTRAL",
        "none": "VERIFY_SPF_NONE", "temperror": "VERIFY_SPF_TEMPERROR", "permerror": "VERIFY_SPF_PERMERROR"}
_DKIM = {"fail": "VERIFY_DKIM_FAIL", "permerror": "VERIFY_DKIM_PERMERROR", "temperror": "VERIFY_DKIM_TEMPERROR"}
_DMARC = {"none": "VERIFY_DMARC_NONE", "temperror": "VERIFY_DMARC_TEMPERROR", "permerror": "VERIFY_DMARC_PERMERROR"}
_GOOD = {"pass"}


def run(msg: Message, ctx: Context):
    v = msg.verification
    if v is None:
        return
    for e in v.errors[:1]:
        if not e.startswith("DMARC needs"):
            yield Finding("VERIFY_ERROR", e, strength=0.0)
    if v.budget_exhausted:
        yield Finding("VERIFY_DNS_BUDGET", f"{v.dns_queries} DNS queries")
    yield from _spf(v)
    yield from _dkim(v)
    yield from _arc(v)
    yield from _dmarc(v, msg, ctx)
    yield from _identities(v)
    yield from _disagreements(v, msg)


def _spf(v):
    spf = v.spf
    if spf is None:
        return
    if not v.inputs.client_ip:
        yield Finding("VERIFY_SPF_NOT_CHECKED", f"inputs from {v.inputs.source}: no client IP")
        return
    sym = _SPF.get(spf.result)
    if sym:
        yield Finding(sym, f"spf={spf.result} {spf.scope}={spf.identity} ip={v.inputs.client_ip}"
                      + (f" ({spf.reason})" if spf.reason else ""))


def _dkim(v):
    if not v.dkim:
        yield Finding("VERIFY_DKIM_NONE", "no DKIM-Signature header")
        return
    for sig in v.dkim:
        ev = f"d={sig.d} s={sig.s} dkim={sig.result}" + (f" ({sig.failure}: {sig.reason})" if sig.failure else "")
        sym = _DKIM.get(sig.result)
        if sym:
            yield Finding(sym, ev[:300])
        if sig.result == "pass" and sig.unsigned_body > 0:
            yield Finding("VERIFY_DKIM_PARTIAL_BODY",
                          f"d={sig.d} l={sig.length}: {sig.unsigned_body} bytes of the body are not signed")


def _arc(v):
    arc = v.arc
    if arc is None or arc.cv == "none":
        return
    ev = f"cv={arc.cv} instances={arc.instances} sealed by {', '.join(arc.sealers) or '?'}"
    if arc.cv == "pass":
        yield Finding("VERIFY_ARC_PASS", ev)
    else:
        yield Finding("VERIFY_ARC_BROKEN", f"{ev}: {arc.reason}"[:300], strength=0.5 if arc.cv == "temperror" else 1.0)


def _dmarc(v, msg: Message, ctx: Context):
    d = v.dmarc
    if d is None:
        return
    ev = f"dmarc={d.result} from={d.from_domain or '?'}"
    if d.policy:
        ev += f" p={d.policy} pct={d.pct} (record at _dmarc.{d.policy_domain})"
    if d.result == "pass":
        how = f"aligned {'DKIM d=' + d.aligned_dkim_domain if d.dkim_aligned else 'SPF ' + (v.spf.domain if v.spf else '')}"
        if known_domain(d.from_domain, ctx):
            yield Finding("VERIFY_DMARC_PASS", f"{ev} {how}")
        else:
            yield Finding("VERIFY_DMARC_PASS", f"{ev} {how} (no credit: the domain is in no registry)", strength=0.0)
    elif d.result == "fail":
        sym = "VERIFY_DMARC_FAIL" if d.policy in ("reject", "quarantine") else "VERIFY_DMARC_FAIL_NOPOLICY"
        yield Finding(sym, f"{ev}: {d.reason}")
    elif d.result in _DMARC:
        yield Finding(_DMARC[d.result], f"{ev}" + (f": {d.reason}" if d.reason else ""))


def _identities(v):
    for which, state in v.identities.items():
        dom, _, rcode = state.partition(" ")
        if rcode != "NXDOMAIN":
            continue
        if which in ("mail_from", "smtp.mailfrom", "helo", "smtp.helo"):
            yield Finding("VERIFY_MAILFROM_NXDOMAIN", f"{which}={dom}: NXDOMAIN")
        else:
            yield Finding("VERIFY_IDENTITY_NXDOMAIN", f"{which}={dom}: NXDOMAIN")


def _disagreements(v, msg: Message):
    """The trusted header against our own result, where both exist. The receiver saying pass where
    we say otherwise is the dangerous direction (injected or fooled results)."""
    results = (msg.auth or {}).get("results", {})
    ours = {
        "spf": v.spf.result if v.spf is not None and v.inputs.client_ip else None,
        "dkim": ("pass" if any(s.result == "pass" for s in v.dkim) else (v.dkim[0].result if v.dkim else "none")),
        "dmarc": v.dmarc.result if v.dmarc is not None else None,
    }
    for method, mine in ours.items():
        r = results.get(method)
        if r is None or mine is None:
            continue
        theirs = r.result
        if (theirs in _GOOD) == (mine in _GOOD):
            continue
        strength = 1.0 if theirs in _GOOD else 0.25
        yield Finding("VERIFY_DISAGREES_WITH_AR", f"{method}: header says {theirs}, lurelens found {mine}", strength=strength)


CHECK = Check("verify", SYMBOLS, run)
