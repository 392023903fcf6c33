"""Who the message says it is from, and whether its own headers agree.

A display name that holds another address ("service@paypal.com" <x@evil.example>), a Reply-To
that sends answers elsewhere, and encoded words that hide control characters or a second address
in the other address headers (the From header's ambiguities are checks/author.py's).
"""

from __future__ import annotations

import re

from lurelens.checks.base import ADDR_IN_NAME, Check, Context, Symbol, limits_of, text_limit_finding
from lurelens.model import Finding, Message
from lurelens.parse.headers import decode_value, has_encoded_word, is_feed_gateway_local
from lurelens.parse.text import email_matches
from lurelens.parse.urls import has_known_suffix, is_ip_literal, registrable_domain
from lurelens.registry.entities import normalize_name

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("FROM_MISSING", "The message has no From address"),
    Symbol("FROM_NAME_HAS_ADDRESS", "The From display name holds an address other than the real sender"),
    Symbol("FROM_MALFORMED", "The From header breaks the address syntax (unquoted specials) that real mail clients never write"),
    Symbol("FROM_NAME_HAS_ADDRESS_RELAYED", "The From name holds another address whose domain also serves the content: a forwarding or masking service"),
    Symbol("FROM_FREEMAIL", "The sender uses a free-mail provider"),
    Symbol("REPLYTO_MISMATCH", "Replies go to a different domain than the sender's"),
    Symbol("REPLYTO_FREEMAIL", "Replies go to a free-mail address while the sender is not free mail"),
    Symbol("REPLYTO_OTHER_FREEMAIL", "A free-mail sender asks for replies at another free-mail mailbox: the sending account is a throwaway, the answers go to the one the scammer reads"),
    Symbol("SENDER_MISMATCH", "The Sender header names a different domain than From"),
    Symbol("RETURN_PATH_MISMATCH", "Bounces go to a different domain than From"),
    Symbol("HEADER_ENCODED_TRICK", "An encoded word in Reply-To, Sender, To or Subject hides control characters or a second address"),
    Symbol("MAILING_LIST", "The message came through a discussion mailing list (List-Id and List-Post)"),
    Symbol("FROM_NAME_UNRELATED_ORG", "The From name is an organisation, role or offer that shares nothing with the sender's domain"),
    Symbol("FROM_NAME_DECORATED", "The From name is padded with spaces, dots or stray punctuation, a bulk-mailer trick no person's mail client writes"),
    Symbol("FROM_ABUSED_TLD", "The sender's domain sits under a top-level domain much abused for spam and phishing"),
    Symbol("BODY_FREEMAIL_CONTACT", "The text asks for replies to a free-mail address other than the sender's"),
    Symbol("FROM_LOCAL_RANDOM", "The sender's mailbox name is random letters (mixed case, or no vowels), as bulk-sending tools mint"),
    Symbol("FROM_DOMAIN_INVALID", "The From domain cannot exist (no public suffix)"),
    Symbol("FROM_FREE_HOSTING", "The sender's domain is a tenant of a free hosting platform"),
)

_CONTROL = re.compile(r"[\x00\r\n]")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2705\u2B06\u2194-\u21FF]")
_DECORATED = re.compile(r"^\s{2,}|\s{2,}$|\.{2,}|^[\-~_.,]|[\-~_,(]$")
_LABEL_SPLIT = re.compile(r"[.\-_]+")


def _quoted_inner(name: str) -> str | None:
    """The inside of a name wholly wrapped in matching quotes ('Smith, John' as Outlook writes it)."""
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        return name[1:-1]
    return None


def _decoration(name: str) -> str | None:
    inner = _quoted_inner(name.strip())
    if inner is not None and inner != inner.strip():
        return "spaces inside the quotes"
    m = _DECORATED.search(name if inner is None else inner)
    return f"'{m.group(0)}'" if m else None


def _org_marker(name: str, words: list[str], ctx: Context) -> str | None:
    m = _EMOJI.search(name)
    if m:
        return f"emoji {m.group(0)}"
    vocab = ctx.data.sender_name_words
    return next((w for w in words if w in vocab), None)


def _name_matches_sender(words: list[str], named: list, local: str, domain: str, generic: frozenset[str]) -> bool:
    """Whether a display name shares a word with the sender's domain or mailbox, or names
    (``named``: entities found in it) an organisation whose registered domains include the sender's.
    ``generic``: words too common to tie a name to a domain (data/words/sender_generic_words.txt)."""
    labels = [x for x in _LABEL_SPLIT.split(domain.lower()) if x]
    squashed = "".join(labels)
    name_sq = "".join(words)
    if any(len(w) >= 3 and w not in generic and w in squashed for w in words):
        return True
    if any(len(x) >= 4 and x not in generic and x in name_sq for x in labels):
        return True
    loc = re.sub(r"[^a-z0-9]", "", local.lower())
    if len(loc) >= 3 and (loc in name_sq or name_sq in loc):
        return True
    if len(words) >= 3:
        initials = "".join(w[0] for w in words)
        if initials in labels:
            return True
    dom = registrable_domain(domain)
    return any(dom in e.domains for e, _alias, _amb in named)


def _content_is_named_org(words: list[str], named: list, msg: Message, ctx: Context) -> bool:
    """Most links and images come from the organisation the name gives (its registered domains,
    or a domain spelling one of the name's words): the sender is then its mail provider."""
    # Every link and resource (Limits.max_links/max_resources bound them): a sample would let
    # links placed first decide the share.
    doms = [lk.domain for lk in msg.links if lk.domain] + [r.domain for r in msg.resources if r.domain]
    if not doms:
        return False
    own: set[str] = set()
    for e, _alias, _amb in named:
        own |= e.domains
    keys = [w for w in words if len(w) >= 4 and w not in ctx.data.words("sender_generic_words") and w not in ctx.data.sender_name_words]
    hits = sum(1 for d in doms if d in own or any(k in d.replace("-", "") for k in keys))
    return hits >= 0.4 * len(doms)


def _headers(msg: Message, ctx: Context):
    if not msg.from_ or not any(a.addr for a in msg.from_):
        if msg.headers:
            yield Finding("FROM_MISSING", "no From address")
        return
    frm = next(a for a in msg.from_ if a.addr)
    fdom = registrable_domain(frm.domain) if frm.domain else ""
    if any(d.kind == "unquoted_specials_in_display_name" for d in msg.defects):
        from_headers = [v for k, v in msg.headers if k.lower() == "from"]  # only here: every header lower-cased
        yield Finding("FROM_MALFORMED", from_headers[0][:120] if from_headers else "")
    m = ADDR_IN_NAME.search(frm.display_name)
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
    from_free = bool(fdom) and ctx.data.is_freemail(frm.domain)
    for rt in ([] if list_rewrote_from else msg.reply_to[:3]):
        rdom = registrable_domain(rt.domain) if rt.domain else ""
        # The same mailbox name at a sibling provider (gmail.com / googlemail.com) is one person.
        if (from_free and rdom and rt.local.lower() != frm.local.lower() and rt.addr.lower() not in list_post
                and ctx.data.is_freemail(rt.domain)):
            yield Finding("REPLYTO_OTHER_FREEMAIL", f"From {frm.addr}, Reply-To {rt.addr}")
            break
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
    for name in ("Reply-To", "Sender", "To", "Subject"):  # From: FROM_ENCODED_ADDRESS (checks/author.py)
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
    # A discussion list gives a List-Post address to write to; bulk senders' List-Id alone
    # (Mailchimp, Marketing Cloud) names a campaign, not a list of people.
    discussion = bool(msg.header("List-Id")) and bool(msg.header("List-Post"))
    if discussion:
        yield Finding("MAILING_LIST", (msg.header("List-Id") or "")[:120])
    name = frm.display_name
    if name and "@" not in name and not discussion and not is_feed_gateway_local(frm.local):
        deco = _decoration(name)
        if deco:
            yield Finding("FROM_NAME_DECORATED", f"{name!r}: {deco}")
        words = normalize_name(name).split()
        marker = _org_marker(name, words, ctx) if words else None
        named = ctx.data.entities.find(" ".join(words), standalone=True) if marker and frm.domain else []
        if (marker and frm.domain and not _name_matches_sender(words, named, frm.local, frm.domain, ctx.data.words("sender_generic_words"))
                and not _content_is_named_org(words, named, msg, ctx)):
            yield Finding("FROM_NAME_UNRELATED_ORG", f"'{name.strip()[:60]}' ({marker}) sent from {frm.domain}")
    if frm.domain:
        tld = ctx.data.abused_tld(frm.domain)
        if tld:
            yield Finding("FROM_ABUSED_TLD", f"{frm.domain} is under .{tld}")



_CONTACT_CUE = re.compile(
    r"(?:contact|reply|respond|write|e-?mail|send|reach)\w*\s+(?:me|us|him|her|to|directly|back|via|at)\b|"
    r"(?:contate|responda|escreva|contacte|kontaktieren|antworten|[ée]crivez|contactez)\w*",
    re.I,
)
_DOMAIN_OK = re.compile(r"^[a-z0-9](?:[a-z0-9\-_]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-_]*[a-z0-9])?)+$|^xn--")
_CAMEL_WORDS = re.compile(r"^(?:[A-Z][a-z]+|[A-Z]{2,}(?![a-z]))+$|^[a-z]+(?:[A-Z][a-z]+)+$")


_NO_VOWELS = re.compile(r"[bcdfghjklmnpqrstvwxz]{7}", re.I)


def _random_local(local: str) -> bool:
    """Mixed-case letter salad (xHtFjdALEqNMlfk), or letters no language would spell in any case,
    seven consonants in a row (uqfkxgpz, dvgvKKB; SpamAssassin's FROM_LOCAL_NOVOWEL). CamelCase
    names (JohnSmith) and names with a few consonants together (rwmcgwier) are not."""
    if not re.fullmatch(r"[A-Za-z0-9]{7,40}", local):
        return False
    letters = "".join(c for c in local if c.isalpha())
    if len(letters) < 6:
        return False
    if letters.islower() or letters.isupper():
        return bool(re.fullmatch(r"[A-Za-z]+[0-9]{0,4}", local)) and bool(_NO_VOWELS.search(letters))
    # Seven consonants in a row spell no word in any case: 'xxLJGPm', 'dvgvKKB' (a camel-cased
    # name such as 'FOXSportsFLASH' has at most five).
    if _NO_VOWELS.search(letters):
        return True
    if _CAMEL_WORDS.match(letters):
        return False
    return sum(1 for a, b in zip(letters, letters[1:]) if a.isupper() != b.isupper()) >= 3


def _from_address(msg: Message, ctx: Context):
    """The From mailbox and domain themselves: random local parts, domains that cannot exist,
    tenants of free hosting platforms."""
    data = ctx.data
    frm = next((a for a in msg.from_ if a.addr), None)
    if frm and _random_local(frm.local):
        yield Finding("FROM_LOCAL_RANDOM", frm.addr)
    if frm and frm.domain:
        dom = frm.domain
        if not is_ip_literal(dom.strip("[]")) and (not _DOMAIN_OK.match(dom) or not has_known_suffix(dom)):
            yield Finding("FROM_DOMAIN_INVALID", f"{frm.addr}")
        fh = data.free_hosting_suffix(dom)
        if fh:
            yield Finding("FROM_FREE_HOSTING", f"{dom} is a {fh} tenant")
        else:
            tp = data.tenant_platform(dom)
            if tp:
                yield Finding("FROM_FREE_HOSTING", f"{dom} is a customer account on the {tp} help-desk platform, open to anyone",
                              strength=0.5)


def _freemail_contact(msg: Message, ctx: Context):
    """A free-mail address the text asks the reader to write to, other than the sender's own."""
    frm = next((a for a in msg.from_ if a.addr), None)
    if frm is None:
        return
    data = ctx.data
    max_text = limits_of(ctx).check_text_chars
    if len(msg.visible_text) > max_text:
        yield text_limit_finding("sender (free-mail contact)", max_text, len(msg.visible_text), "check_text_chars")
    body = msg.visible_text[:max_text]
    known: set[str] | None = None  # built at the first address found (most texts have none)
    for start, addr, domain in email_matches(body, 2):
        addr = addr.lower()
        if known is None:
            known = {a.addr.lower() for a in msg.from_ + msg.reply_to + msg.to + msg.cc} | set(msg.recipients)
        if addr in known or not data.is_freemail(domain.lower()):
            continue
        # Only an address the reader is asked to write to; quoted "X <x@gmail.com> wrote:" lines are not.
        if _CONTACT_CUE.search(body[max(0, start - 80) : start]):
            yield Finding("BODY_FREEMAIL_CONTACT", f"{addr} (From is {frm.addr})")
            break


def run(msg: Message, ctx: Context):
    yield from _headers(msg, ctx)
    yield from _from_address(msg, ctx)
    yield from _freemail_contact(msg, ctx)


CHECK = Check("sender", SYMBOLS, run)
