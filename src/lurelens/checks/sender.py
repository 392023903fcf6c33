"""Who the message says it is from, and whether its own headers agree.

A display name that holds another address ("service@paypal.com" <x@evil.example>), several From
addresses, a Reply-To that sends answers elsewhere, and encoded words that hide control
characters or a second address from a reader.
"""

from __future__ import annotations

import re

from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import Finding, Message
from lurelens.parse.headers import decode_value, has_encoded_word
from lurelens.parse.urls import registrable_domain

SYMBOLS = (
    Symbol("FROM_MISSING", "The message has no From address"),
    Symbol("FROM_MULTIPLE", "The message has several From headers or addresses"),
    Symbol("FROM_NAME_HAS_ADDRESS", "The From display name holds an address other than the real sender"),
    Symbol("FROM_MALFORMED", "The From header breaks the address syntax (unquoted specials) that real mail clients never write"),
    Symbol("FROM_NAME_HAS_ADDRESS_RELAYED", "The From name holds another address whose domain also serves the content: a forwarding or masking service"),
    Symbol("FROM_FREEMAIL", "The sender uses a free-mail provider"),
    Symbol("REPLYTO_MISMATCH", "Replies go to a different domain than the sender's"),
    Symbol("REPLYTO_FREEMAIL", "Replies go to a free-mail address while the sender is not free mail"),
    Symbol("SENDER_MISMATCH", "The Sender header names a different domain than From"),
    Symbol("RETURN_PATH_MISMATCH", "Bounces go to a different domain than From"),
    Symbol("HEADER_ENCODED_TRICK", "An encoded word hides control characters or a second address"),
    Symbol("MAILING_LIST", "The message came through a mailing list (List-Id)"),
)

_ADDR_IN_NAME = re.compile(r"[\w.+\-]+@([\w\-]+(?:\.[\w\-]+)+)", re.U)
_CONTROL = re.compile(r"[\x00\r\n]")


def run(msg: Message, ctx: Context):
    from_headers = [v for k, v in msg.headers if k.lower() == "from"]
    if not msg.from_ or not any(a.addr for a in msg.from_):
        if msg.headers:
            yield Finding("FROM_MISSING", "no From address")
        return
    if len(from_headers) > 1 or len([a for a in msg.from_ if "@" in a.addr]) > 1:
        yield Finding("FROM_MULTIPLE", "; ".join(a.addr for a in msg.from_)[:200])
    frm = next(a for a in msg.from_ if a.addr)
    fdom = registrable_domain(frm.domain) if frm.domain else ""
    if any(d.kind == "unquoted_specials_in_display_name" for d in msg.defects):
        yield Finding("FROM_MALFORMED", from_headers[0][:120] if from_headers else "")
    m = _ADDR_IN_NAME.search(frm.display_name)
    if m:
        shown = registrable_domain(m.group(1).lower())
        if shown and shown != fdom:
            content_domains = {r.domain for r in msg.resources} | {lk.domain for lk in msg.links}
            if shown in content_domains:
                # An impostor does not serve the content from the domain it pretends to be.
                yield Finding("FROM_NAME_HAS_ADDRESS_RELAYED", f"name shows {m.group(0)}, address {frm.addr}, content from {shown}")
            else:
                yield Finding("FROM_NAME_HAS_ADDRESS", f"name shows {m.group(0)} but the address is {frm.addr}")
    if fdom and ctx.data.is_freemail(frm.domain):
        yield Finding("FROM_FREEMAIL", frm.addr)
    list_post = (msg.header("List-Post") or "").lower()
    # A list that rewrites From to its own address (DMARC mitigation) puts the author in Reply-To.
    list_rewrote_from = bool(list_post) and frm.addr.lower() in list_post
    for rt in ([] if list_rewrote_from else msg.reply_to[:3]):
        rdom = registrable_domain(rt.domain) if rt.domain else ""
        if rdom and fdom and rdom != fdom and rt.addr.lower() not in list_post:
            if ctx.data.is_freemail(rt.domain) and not ctx.data.is_freemail(frm.domain):
                yield Finding("REPLYTO_FREEMAIL", f"From {frm.addr}, Reply-To {rt.addr}")
            else:
                yield Finding("REPLYTO_MISMATCH", f"From {fdom}, Reply-To {rdom}")
            break
    if msg.sender and msg.sender.domain and fdom and registrable_domain(msg.sender.domain) != fdom:
        yield Finding("SENDER_MISMATCH", f"From {fdom}, Sender {msg.sender.domain}")
    if msg.return_path and "@" in msg.return_path and fdom:
        rpd = registrable_domain(msg.return_path.rpartition("@")[2].lower())
        if rpd and rpd != fdom:
            yield Finding("RETURN_PATH_MISMATCH", f"From {fdom}, Return-Path {rpd}")
    for name in ("From", "Reply-To", "Sender", "To", "Subject"):
        for raw in msg.header_all(name)[:3]:
            if not has_encoded_word(raw):
                continue
            dec = decode_value(raw)
            if _CONTROL.search(dec):
                yield Finding("HEADER_ENCODED_TRICK", f"{name}: encoded word decodes to control characters")
                break
            if name != "Subject" and dec.count("@") > raw.count("@"):
                yield Finding("HEADER_ENCODED_TRICK", f"{name}: encoded word hides an address: {dec[:120]!r}")
                break
    if msg.header("List-Id"):
        yield Finding("MAILING_LIST", msg.header("List-Id")[:120])


CHECK = Check("sender", SYMBOLS, run)
