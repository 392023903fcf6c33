"""MIME structure: parser defects, limits reached, nested messages, HTML without a text part.

Malformed mail is data: a defect the parser recorded is a signal (phishing kits and bulk tools
write broken MIME that real clients never do), and a limit reached is reported, not hidden.
"""

from __future__ import annotations


from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("NOT_MAIL", "The input has no header fields: it does not look like an e-mail message"),
    Symbol("MIME_DEFECT", "The MIME structure is malformed (defects recorded by the parser)"),
    Symbol("MIME_NESTED_MESSAGE", "The message carries another message (message/rfc822), scanned too"),
    Symbol("MIME_HTML_ONLY", "The message has HTML and no plain-text alternative"),
    Symbol("PARSE_LIMIT_SIZE", "The message is larger than the size limit: only the first part was read"),
    Symbol("PARSE_LIMIT_DEPTH", "MIME nesting is deeper than the limit: deeper parts were not read"),
    Symbol("PARSE_LIMIT_PARTS", "The message has more parts than the limit: later parts were not read"),
    Symbol("PARSE_LIMIT_HTML", "The HTML is larger than the limit: the rest was not read"),
    Symbol("PARSE_LIMIT_TEXT", "The text is larger than the limit: the rest was not read"),
    Symbol("PARSE_LIMIT_HEADERS", "The message has more header fields than the limit"),
    Symbol("PARSE_LIMIT_LINKS", "The message has more links than the limit"),
    Symbol("PARSE_LIMIT_RESOURCES", "The message has more remote resources than the limit"),
    Symbol("PARSE_LIMIT_TIME", "Scanning took longer than the time limit: the rest was skipped"),
)

_BENIGN_DEFECTS = {"MissingHeaderBodySeparatorDefect"}  # common in hand-edited samples, too weak alone


def run(msg: Message, ctx: Context):
    if not msg.headers:
        yield Finding("NOT_MAIL", "no header fields found")
    for name in msg.limits_hit:
        yield Finding(name, "limit reached; verdict covers what was read")
    kinds = sorted({d.kind for d in msg.defects if d.kind not in _BENIGN_DEFECTS})
    if kinds:
        yield Finding("MIME_DEFECT", ", ".join(kinds)[:200], strength=min(1.0, 0.5 + 0.25 * (len(kinds) - 1)))
    if msg.nested:
        yield Finding("MIME_NESTED_MESSAGE", f"{len(msg.nested)} attached message(s)")
    types = {p.content_type for p in msg.parts if p.displayed}
    if "text/html" in types and not any(p.content_type == "text/plain" for p in msg.parts):
        yield Finding("MIME_HTML_ONLY", "no text/plain part")


CHECK = Check("structure", SYMBOLS, run)
