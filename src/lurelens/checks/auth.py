"""Authentication outcomes (SPF, DKIM, DMARC, ARC) from the trusted Authentication-Results.

"Not checked" is its own outcome and is never read as a pass: a message with no trusted results
gets AUTH_NOT_CHECKED, and a method the receiver did not report gets nothing in its favour.
This check reads what the receiving host concluded, and distrusts a pass whose identities carry
the injection tricks that fooled real receivers ("Composition Kills": quotes, parentheses, NUL,
routes, an empty MAIL FROM passed on HELO) or that its own SPF and DKIM results do not support;
checks/verify.py reports lurelens's own verification (``--verify-auth``).
"""

from __future__ import annotations

import re

from lurelens.checks.base import Check, Context, Symbol, known_domain
from lurelens.model import AuthResult, Finding, Message
from lurelens.parse.auth import parse_auth_results
from lurelens.parse.author import readings_disagree
from lurelens.parse.urls import registrable_domain

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
    Symbol("AUTH_RESULT_INJECTION", "An identity in the trusted Authentication-Results (smtp.mailfrom, header.d, header.from) carries quotes, parentheses, NUL, a route or an empty MAIL FROM passed on HELO: the receiver's modules read different domains, so its pass earns nothing"),
    Symbol("AUTH_DKIM_TAG_INJECTION", "A DKIM-Signature d= or s= tag holds characters no domain or selector has (NUL, quotes, parentheses, a _domainkey path): made to make the key lookup and the alignment check read different domains"),
    Symbol("AUTH_KNOWN_DOMAIN_UNAUTHENTICATED", "The From domain belongs to a known news outlet or brand, and the receiver's results hold no DMARC pass and no aligned SPF or DKIM pass for it"),
    Symbol("AUTH_DMARC_UNSUPPORTED", "DMARC pass, but no SPF or DKIM pass in the same results is aligned with the From domain: the pass earns nothing"),
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


_IDENT = re.compile(r"\b(smtp\.mailfrom|smtp\.helo|header\.d|header\.i|header\.from)[ \t]*=[ \t]*(\"(?:[^\"\\]|\\.)*\"|[^\s;]*)", re.I)
_ROUTE = re.compile(r"^@|,@|@[^@]*:")
_DKIM_TAG = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)", re.I)
_DOMAIN_OK = re.compile(r"^[A-Za-z0-9.\-]+$")
_SELECTOR_OK = re.compile(r"^[A-Za-z0-9._\-]+$")


def _value_tricks(prop: str, value: str) -> list[str]:
    inner = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    out = []
    if "\x00" in inner or "\\0" in inner or "\\x00" in inner:
        out.append("NUL")
    if "'" in inner or '"' in inner:
        out.append("quote")
    if "(" in inner or ")" in inner:
        out.append("parenthesis")
    if "\\" in inner and "NUL" not in out:
        out.append("backslash")
    if prop in ("smtp.mailfrom", "header.from") and _ROUTE.search(inner):
        out.append("routing address")
    if inner.count("@") > 1 and "routing address" not in out:
        out.append("several @")
    return out


def _injections(msg: Message, results: dict[str, AuthResult]) -> list[str]:
    """Evidence of identities written to fool the receiver, in the trusted results and the signatures."""
    found: list[str] = []
    for raw in msg.auth.get("raw", [])[:4]:
        for m in _IDENT.finditer(raw):
            prop, value = m.group(1).lower(), m.group(2)
            tricks = _value_tricks(prop, value)
            if tricks:
                found.append(f"{prop}={value[:80]!r}: {', '.join(tricks)}")
    spf, dmarc = results.get("spf"), results.get("dmarc")
    if spf and spf.result == "pass" and dmarc and dmarc.result == "pass":
        mailfrom = spf.props.get("smtp.mailfrom", "").strip().strip("<>")
        helo = spf.props.get("smtp.helo", "").strip().lower()
        hfrom = _dom(dmarc.props.get("header.from", ""))
        if helo and not re.fullmatch(r"[^@\s]*@?[\w\-]+(?:\.[\w\-]+)+", mailfrom or "-") and hfrom and registrable_domain(helo) != hfrom:
            found.append(f"SPF passed on the HELO identity {helo} (MAIL FROM {mailfrom or 'empty'!r}) while DMARC passed for {hfrom}")
    return found


def _dkim_tag_injections(msg: Message) -> list[str]:
    found = []
    for sig in msg.header_all("DKIM-Signature")[:5]:
        tags = {k.lower(): v.strip() for k, v in _DKIM_TAG.findall(sig)}
        d, sel = tags.get("d", ""), tags.get("s", "")
        if d and not _DOMAIN_OK.match(d):
            found.append(f"d={d[:80]!r}")
        if sel and (not _SELECTOR_OK.match(sel) or "._domainkey" in sel.lower()):
            found.append(f"s={sel[:80]!r}")
    return found


def _every_result(msg: Message) -> list[AuthResult]:
    """Every result in the trusted header(s), not only the first per method (several DKIM signatures)."""
    return [r for raw in msg.auth.get("raw", [])[:4] for r in parse_auth_results(raw)["results"]]


def _dom(value: str) -> str:
    return registrable_domain(value.strip().strip('"<>').rpartition("@")[2].lower())


def _dmarc_unsupported(msg: Message, results: dict[str, AuthResult]) -> str | None:
    """Evidence when the trusted DMARC pass has SPF/DKIM results beside it and none is an aligned pass."""
    dmarc = results.get("dmarc")
    hfrom = _dom(dmarc.props.get("header.from", "")) if dmarc else ""
    if not dmarc or dmarc.result != "pass" or not hfrom:
        return None
    every = _every_result(msg)
    checked = [r for r in every if r.method in ("spf", "dkim")]
    if not checked:
        return None  # the receiver did not say what the pass rests on
    for r in checked:
        if r.result != "pass":
            continue
        if r.method == "spf":
            ident = r.props.get("smtp.mailfrom", "").strip().strip("<>") or r.props.get("smtp.helo", "")
        else:
            ident = r.props.get("header.d", "") or r.props.get("header.i", "")
        if ident and _dom(ident) == hfrom:
            return None
    return f"dmarc=pass header.from={hfrom}; " + " ".join(
        f"{r.method}={r.result} {r.props.get('smtp.mailfrom') or r.props.get('header.d') or ''}".strip() for r in checked[:4]
    )


def _known_domain_unauthenticated(msg: Message, results: dict[str, AuthResult], ctx: Context) -> str | None:
    """A known outlet's or brand's own domain in From, checked by the receiver and not authenticated:
    such organisations sign their mail, so this is either a forgery or a receiver that was fooled."""
    fdom = _from_domain(msg)
    if not fdom or ctx.data.is_freemail(fdom) or not _known_domain(fdom, ctx):
        return None
    dmarc = results.get("dmarc")
    if dmarc and dmarc.result in ("pass", "bestguesspass"):
        return None
    every = _every_result(msg)
    if not any(r.method in ("spf", "dkim", "dmarc") for r in every):
        return None
    rd = registrable_domain(fdom)
    for r in every:
        ident = r.props.get("smtp.mailfrom", "") if r.method == "spf" else r.props.get("header.d", "") if r.method == "dkim" else ""
        if r.result == "pass" and ident and _dom(ident) == rd:
            return None
    return f"From {fdom}: " + " ".join(f"{r.method}={r.result}" for r in every[:5])


def run(msg: Message, ctx: Context):
    auth = msg.auth
    for forged in auth.get("forged", [])[:1]:
        yield Finding("AUTH_RESULTS_FORGED", f"ignored header claiming {forged['authserv_id']}: {forged['raw'][:160]}")
    tag_injections = _dkim_tag_injections(msg)
    if tag_injections:
        yield Finding("AUTH_DKIM_TAG_INJECTION", "; ".join(tag_injections)[:200])
    if not auth.get("present"):
        yield Finding("AUTH_NOT_CHECKED", "no Authentication-Results header from the receiving host")
        return
    results = auth["results"]
    injections = _injections(msg, results)
    if injections:
        yield Finding("AUTH_RESULT_INJECTION", "; ".join(injections)[:300])
    unsupported = _dmarc_unsupported(msg, results)
    if unsupported:
        yield Finding("AUTH_DMARC_UNSUPPORTED", unsupported[:200])
    unauth = _known_domain_unauthenticated(msg, results, ctx)
    if unauth:
        yield Finding("AUTH_KNOWN_DOMAIN_UNAUTHENTICATED", unauth)
    distrust = bool(injections or tag_injections or unsupported) or readings_disagree(msg.author, auth, msg.header("List-Id")) is not None
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
        if symbol == "AUTH_DMARC_PASS" and distrust:
            # The receiver was fooled or its result does not hold together: no credit.
            strength = 0.0
            ev += " (no credit: see the injection, alignment or From readings findings)"
        elif symbol == "AUTH_DMARC_PASS" and msg.verification is not None:
            # With our own verification on, the credit comes from VERIFY_DMARC_PASS only: a
            # receiver's pass can be fooled or injected (docs/auth.md).
            strength = 0.0
            ev += " (no credit: lurelens verified DMARC itself)"
        elif symbol == "AUTH_DMARC_PASS" and not _known_domain(r.props.get("header.from") or _from_domain(msg), ctx):
            # A pass proves who controls the domain, not that they deserve trust: bulk scammers
            # pass DMARC on domains of their own. Credit goes to domains the registries know.
            strength = 0.0
            ev += " (no credit: the domain is in no registry)"
        yield Finding(symbol, ev, strength=strength)


def _from_domain(msg: Message) -> str:
    frm = next((a for a in msg.from_ if a.addr), None)
    return frm.domain if frm else ""


_known_domain = known_domain  # shared with the verify check through checks/base

CHECK = Check("auth", SYMBOLS, run)
