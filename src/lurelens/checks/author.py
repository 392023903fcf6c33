"""From-header ambiguity: where implementations disagree on who wrote the message.

Reads ``Message.author`` (parse/author.py: Python's parsers, an RFC 5322 reading, the receiver's
DMARC identity and a mail client's display) and reports each syntax trick and each disagreement
with the readings as evidence. The receiver authenticates one identity; if the reader is shown
another, authentication vouches for nobody the reader sees ("Composition Kills"; Mailsploit).
"""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import AuthorReading, Finding, Message
from lurelens.parse.author import readings_disagree
from lurelens.parse.urls import registrable_domain

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("FROM_MULTIPLE_HEADERS", "The message has several From header fields (RFC 5322 allows one): receivers and clients pick different ones"),
    Symbol("FROM_MULTIPLE_ADDRESSES", "One From header holds several addresses: receivers and clients pick different ones"),
    Symbol("FROM_HEADER_WHITESPACE", "A From field name with leading space, space before the colon or a fold: some readers take it for the From header, others not"),
    Symbol("FROM_SENDER_MISMATCH", "No From header every reader finds, and a Sender of another domain a client may show instead"),
    Symbol("FROM_RESENT_MISMATCH", "No From header every reader finds, and a Resent-From of another domain a client may show instead"),
    Symbol("FROM_ENCODED_ADDRESS", "An encoded word in From hides an address or control characters (NUL, CR, LF): clients show what the receiver never checked"),
    Symbol("FROM_ROUTE_ADDR", "The From address carries an obsolete source route (@a,@b:user@c): readers disagree on its domain"),
    Symbol("FROM_QUOTED_PAIR_TRICK", "A backslash-escaped character outside quotes in From: readers disagree on where addresses begin"),
    Symbol("FROM_COMMENT_TRICK", "A comment inside the From address, or holding another address: readers disagree on the domain"),
    Symbol("FROM_PARSERS_DISAGREE", "Mail parsers read different author domains from the same From header"),
    Symbol("FROM_READINGS_DISAGREE", "The domain the receiver authenticated (DMARC identity) is not the one a mail client displays"),
)

# parse-stage trick kind -> symbol
_TRICK_SYMBOL = {
    "encoded_address": "FROM_ENCODED_ADDRESS",
    "encoded_control": "FROM_ENCODED_ADDRESS",
    "encoded_in_address": "FROM_ENCODED_ADDRESS",
    "control": "FROM_ENCODED_ADDRESS",
    "route": "FROM_ROUTE_ADDR",
    "quoted_pair": "FROM_QUOTED_PAIR_TRICK",
    "comment_in_address": "FROM_COMMENT_TRICK",
    "comment_address": "FROM_COMMENT_TRICK",
}
_PARSERS = ("python-compat32", "python-getaddresses-lenient", "python-default", "rfc5322", "display")


def _doms(r: AuthorReading | None) -> set[str]:
    return {registrable_domain(d) for d in r.domains if d} - {""} if r else set()


def _show(r: AuthorReading) -> str:
    return f"{r.reader}={','.join(r.addrs) or '-'}"


def run(msg: Message, ctx: Context):
    a = msg.author
    froms = [f for f in a.fields if f.name == "from"]
    if len(froms) > 1:
        yield Finding("FROM_MULTIPLE_HEADERS", " | ".join(f"{f.raw_name.strip() or 'From'}: {f.value[:80]}" for f in froms[:4]))
    elif froms:
        counts = {r.reader: len(set(r.addrs)) for r in a.readings if r.reader in _PARSERS and r.reader != "display"}
        if max(counts.values(), default=0) > 1:
            yield Finding("FROM_MULTIPLE_ADDRESSES", froms[0].value[:160])
    for f in froms:
        if f.issue:
            yield Finding("FROM_HEADER_WHITESPACE", f"{f.issue.replace('_', ' ')}: {f.raw_name!r}: {f.value[:80]}")
            break
    seen: set[str] = set()
    for kind, evidence in a.tricks:
        sym = _TRICK_SYMBOL.get(kind)
        if sym and sym not in seen:
            seen.add(sym)
            yield Finding(sym, evidence[:200])

    dmarc = a.reading("dmarc")
    display = a.reading("display")
    dmarc_d, display_d = _doms(dmarc), _doms(display)
    plain_from = any(not f.issue and f.value for f in froms) and bool(_doms(a.reading("python-compat32")))
    if not plain_from:
        for name, sym in (("sender", "FROM_SENDER_MISMATCH"), ("resent-from", "FROM_RESENT_MISMATCH")):
            for f in a.fields:
                if f.name != name:
                    continue
                dom = registrable_domain(f.value.rpartition("@")[2].strip(" >").lower())
                if dom and dom not in dmarc_d:
                    yield Finding(sym, f"no From every reader finds; {name.title()}: {f.value[:80]}; authenticated: {','.join(sorted(dmarc_d)) or 'nothing'}")
                break

    readings = [r for r in a.readings if r.reader in _PARSERS and r.addrs]
    parsed = {frozenset(_doms(r)) for r in readings if r.reader != "display"} - {frozenset()}
    # The client shows one address; it must be one the parsers found.
    shown_elsewhere = bool(display_d and parsed and not display_d <= set().union(*parsed))
    if len(parsed) > 1 or shown_elsewhere:
        yield Finding("FROM_PARSERS_DISAGREE", "; ".join(_show(r) for r in readings)[:300])
    if readings_disagree(a, msg.auth, msg.header("List-Id")):
        assert dmarc is not None and display is not None
        yield Finding(
            "FROM_READINGS_DISAGREE",
            f"authenticated {','.join(sorted(dmarc_d))} ({dmarc.source}); displayed {','.join(display.addrs)} ({display.source})"[:300],
        )


CHECK = Check("author", SYMBOLS, run)
