"""Bytes to Message: MIME walk, display-part choice, decoding, limits. Never raises for bad mail.

Parsing gives the standard library's compat32 tree: it keeps header values as raw text (checks
need the undecoded form). Well-formed mail is split by ``fastmime`` into that same tree at a
fraction of the cost; anything unusual goes to ``BytesParser(policy=compat32)`` itself. Part bodies are decoded only where a check needs them: displayed text and
HTML, and a hash of each attachment.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Callable
from email import policy
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser, BytesParser

from lurelens.model import Address, Attachment, Defect, Link, Message, Part
from lurelens.parse.auth import select_trusted
from lurelens.parse.author import read_author
from lurelens.parse.fastmime import parse_fast
from lurelens.parse.headers import decode_bytes, decode_value, fix_8bit, parse_addresses, parse_mailbox_header, unfold
from lurelens.parse.html import inventory
from lurelens.parse.urls import split_url

__all__ = ["Limits", "parse_message", "raw_header_pairs", "recipient_addresses"]


@dataclass(slots=True)
class Limits:
    """Bounds on the work one message may cause. Past a bound the message gets a PARSE_LIMIT_*
    finding and a verdict on what was read."""

    max_bytes: int = 25 * 1024 * 1024
    max_depth: int = 10
    max_parts: int = 500
    max_html_bytes: int = 2 * 1024 * 1024
    max_text_bytes: int = 1024 * 1024
    max_links: int = 2000
    max_resources: int = 2000
    max_headers: int = 2000
    timeout: float = 10.0  # seconds of wall time per message
    keep_cids: bool = False  # keep the bytes of Content-ID parts (for rendering and defusing)
    # Per-check caps. Past one, the check says so (CHECK_LIMIT_ITEMS, CHECK_LIMIT_TEXT, with the
    # count) and has looked at the riskiest items first (hosts unrelated to the sender).
    check_links: int = 500  # links the links check examines
    check_link_hosts: int = 200  # distinct link hosts the lookalike and free-hosting checks look up
    check_resource_hosts: int = 100  # distinct hosts fetched on open the lookalike check looks up
    check_received: int = 30  # Received headers the intel check reads
    check_text_chars: int = 20_000  # characters of visible text the content and byline checks read
    lure_text_chars: int = 8_000  # characters read for lure phrases (a lure states its demand near the top)
    intel_text_chars: int = 50_000  # characters of text the intel check searches for addresses


_TEXT_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'\]\)]{3,2000}", re.I)
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;@]+@[^\s<>;]+?)>?\s*;", re.I)
_BOUNDARY_DEPTH_GUARD = 200  # nesting the stdlib parser itself may recurse through


def recipient_addresses(to_cc: list[Address], values: Callable[[str], list[str]]) -> list[str]:
    """The addresses a message was delivered to, as trackers may encode them: To and Cc,
    Delivered-To, X-Original-To, (X-)Envelope-To and Received ``for``. ``values(name)`` gives a
    header's raw values. Defuse uses it too, so both find the same recipient tokens."""
    recipients = [a.addr for a in to_cc if a.addr]
    for h in ("Delivered-To", "X-Original-To", "X-Envelope-To", "Envelope-To"):
        recipients += [v.strip().strip("<>") for v in values(h)]
    for rcv in values("Received")[:30]:
        mm = _RECEIVED_FOR.search(rcv)
        if mm:
            recipients.append(mm.group(1))
    return list(dict.fromkeys(r for r in recipients if "@" in r))


class _State:
    def __init__(self, limits: Limits, deadline: float, trusted_authserv: list[str] | None):
        self.limits = limits
        self.deadline = deadline
        self.trusted_authserv = trusted_authserv
        self.limits_hit: list[str] = []
        self.part_count = 0

    def hit(self, name: str) -> None:
        if name not in self.limits_hit:
            self.limits_hit.append(name)

    def out_of_time(self) -> bool:
        if time.monotonic() > self.deadline:
            self.hit("PARSE_LIMIT_TIME")
            return True
        return False


def parse_message(
    raw: bytes,
    limits: Limits | None = None,
    *,
    trusted_authserv: list[str] | None = None,
    deadline: float | None = None,
) -> Message:
    limits = limits or Limits()
    state = _State(limits, deadline or (time.monotonic() + limits.timeout), trusted_authserv)
    size = len(raw)
    if size > limits.max_bytes:
        raw = raw[: limits.max_bytes]
        state.hit("PARSE_LIMIT_SIZE")
    defects: list[Defect] = []
    msg = parse_fast(raw)  # the same tree for well-formed mail, by string searches; else None
    try:
        if msg is None:
            msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    except RecursionError:
        defects.append(Defect("nesting_too_deep", "MIME structure nests deeper than the parser can follow"))
        state.hit("PARSE_LIMIT_DEPTH")
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        msg.set_payload("")
    except Exception as exc:  # noqa: BLE001 - the stdlib parser is not supposed to raise; be sure
        defects.append(Defect("parser_error", f"{type(exc).__name__}: {exc}"[:200]))
        msg = EmailMessage()
    m = _build(msg, state, defects, depth=0, path="", raw=raw)
    m.size = size
    return m


def raw_header_pairs(msg: EmailMessage) -> list[tuple[str, str]]:
    """The (name, raw value) pairs of a compat32 message, in order and undecoded: the list the
    ``email`` package keeps as ``_headers`` (``items()`` would decode 8-bit values into Header
    objects). Typeshed does not declare the private attribute, hence ``getattr``."""
    return getattr(msg, "_headers")


def _headers(msg: EmailMessage, state: _State) -> list[tuple[str, str]]:
    items = raw_header_pairs(msg)
    if len(items) > state.limits.max_headers:
        state.hit("PARSE_LIMIT_HEADERS")
        items = items[: state.limits.max_headers]
    out = []
    for k, v in items:
        if not isinstance(v, str):
            v = str(v)
        out.append((fix_8bit(k), unfold(v)))
    return out


def _build(msg: EmailMessage, state: _State, defects: list[Defect], depth: int, path: str, raw: bytes | None = None) -> Message:
    headers = _headers(msg, state)

    by_name: dict[str, list[str]] = {}
    for k, v in headers:
        by_name.setdefault(k.lower(), []).append(v)

    def values(name: str) -> list[str]:
        return by_name.get(name.lower(), [])

    for d in getattr(msg, "defects", []) or []:
        defects.append(Defect(type(d).__name__, str(d)[:200], path or "headers"))

    from_ = parse_mailbox_header(values("From"), defects, "From")
    sender_l = parse_addresses(values("Sender")[:1])
    reply_to = parse_addresses(values("Reply-To"))
    to = parse_addresses(values("To"))
    cc = parse_addresses(values("Cc"))
    rp = values("Return-Path")
    return_path = None
    if rp:
        rp_addrs = parse_addresses(rp[:1])
        return_path = rp_addrs[0].addr if rp_addrs else rp[0].strip().strip("<>")
    subj_raw = (values("Subject") or [""])[0]
    auth = select_trusted(headers, state.trusted_authserv)
    auth["arc"] = values("ARC-Authentication-Results")[:5]

    recipients = recipient_addresses(to + cc, values)

    model = Message(
        headers=headers,
        from_=from_,
        sender=sender_l[0] if sender_l else None,
        reply_to=reply_to,
        to=to,
        cc=cc,
        return_path=return_path,
        subject=decode_value(subj_raw),
        subject_raw=subj_raw,
        message_id=next(iter(values("Message-ID")), None),
        date=next(iter(values("Date")), None),
        parts=[],
        text="",
        html="",
        visible_text="",
        resources=[],
        links=[],
        attachments=[],
        auth=auth,
        defects=defects,
        limits_hit=state.limits_hit,
        recipients=recipients,
        author=read_author(raw, headers, auth["results"]),
    )
    texts: list[str] = []
    htmls: list[tuple[str, str]] = []
    _walk(msg, state, model, defects, depth, path, texts, htmls, displayed=True)

    text_total = 0
    kept = []
    for t in texts:
        if text_total + len(t) > state.limits.max_text_bytes:
            t = t[: max(0, state.limits.max_text_bytes - text_total)]
            state.hit("PARSE_LIMIT_TEXT")
        text_total += len(t)
        kept.append(t)
    model.text = "\n".join(kept)

    html_total = 0
    visible = []
    all_html = []
    for part_path, h in htmls:
        if state.out_of_time():
            break
        if html_total + len(h) > state.limits.max_html_bytes:
            h = h[: max(0, state.limits.max_html_bytes - html_total)]
            state.hit("PARSE_LIMIT_HTML")
        html_total += len(h)
        if not h:
            continue
        all_html.append(h)
        model.html_parts.append((part_path, h))
        inv = inventory(h, part_path)
        model.resources.extend(inv.resources)
        model.links.extend(inv.links)
        visible.append(inv.visible_text)
        model.alt_texts.extend(inv.alt_texts[:50])
        model.srcset_choices.update(inv.srcset_choices)
        model.hidden_text_chars += inv.hidden_text_chars
        model.html_title = model.html_title or inv.title
    model.html = "\n".join(all_html)
    model.has_html = bool(all_html)
    model.visible_text = " ".join(visible) if visible else " ".join(model.text.split())

    if model.text:
        seen = {lk.href for lk in model.links}
        for mm in _TEXT_URL.finditer(model.text):
            url = mm.group(0).rstrip(".,;:!?")
            if url in seen:
                continue
            seen.add(url)
            info = split_url(url)
            if info:
                model.links.append(Link(href=url, text=url, host=info.host, domain=info.domain, kind="text"))
            if len(model.links) >= state.limits.max_links:
                state.hit("PARSE_LIMIT_LINKS")
                break
    if len(model.links) > state.limits.max_links:
        model.links = model.links[: state.limits.max_links]
        state.hit("PARSE_LIMIT_LINKS")
    if len(model.resources) > state.limits.max_resources:
        model.resources = model.resources[: state.limits.max_resources]
        state.hit("PARSE_LIMIT_RESOURCES")
    return model


def _param(part: EmailMessage, name: str) -> str | None:
    try:
        v = part.get_param(name)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(v, tuple):  # RFC 2231 (charset, language, value)
        try:
            from email.utils import collapse_rfc2231_value

            v = collapse_rfc2231_value(v)
        except Exception:  # noqa: BLE001
            v = v[2]
    return v if isinstance(v, str) else None


def _filename(part: EmailMessage) -> str | None:
    try:
        fn = part.get_filename()
    except Exception:  # noqa: BLE001
        fn = None
    return decode_value(fn) if fn else None


def _disposition(part: EmailMessage) -> str | None:
    cd = part.get("Content-Disposition")
    if not cd:
        return None
    return str(cd).split(";")[0].strip().lower() or None


def _payload_bytes(part: EmailMessage, defects: list[Defect], path: str) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        defects.append(Defect("undecodable_payload", f"{type(exc).__name__}", path))
        return b""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    if isinstance(data, bytes):
        return data
    return b""  # None: nothing to decode (a multipart container)


def _content_type(part: EmailMessage) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _walk(part: EmailMessage, state: _State, model: Message, defects: list[Defect], depth: int,
          path: str, texts: list[str], htmls: list[tuple[str, str]], displayed: bool,
          alternative: bool = False) -> None:
    if state.out_of_time():
        return
    if depth > state.limits.max_depth:
        state.hit("PARSE_LIMIT_DEPTH")
        return
    ct = _content_type(part)
    if path and getattr(part, "defects", None):
        for d in part.defects:
            defects.append(Defect(type(d).__name__, str(d)[:200], path))

    try:
        payload = part.get_payload()
    except Exception as exc:  # noqa: BLE001 - e.g. a charset parameter holding a NUL byte
        defects.append(Defect("undecodable_payload", f"{type(exc).__name__}", path))
        raw_payload = getattr(part, "_payload", None)
        payload = raw_payload if isinstance(raw_payload, list) else ""
    if isinstance(payload, list):
        if ct == "message/rfc822" or ct.startswith("message/"):
            for i, sub in enumerate(payload[:1]):
                sub_path = f"{path}.{i + 1}" if path else f"{i + 1}"
                if depth + 1 > state.limits.max_depth:
                    state.hit("PARSE_LIMIT_DEPTH")
                    return
                nested = _build(sub, state, [], depth + 1, sub_path)
                model.nested.append(nested)
            return
        children = payload
        chosen = set(range(len(children)))
        if ct == "multipart/alternative" and displayed:
            # RFC 2046: alternatives come in increasing faithfulness; a client shows the last one
            # it can display, preferring HTML (alone or inside related/mixed) over plain text.
            best, best_rank = None, 0
            for i, c in enumerate(children):
                cct = _content_type(c)
                rank = 3 if cct == "text/html" or cct in ("multipart/related", "multipart/mixed") else (
                    2 if cct.startswith("multipart/") else 1 if cct.startswith("text/") else 0)
                if rank and rank >= best_rank:
                    best, best_rank = i, rank
            chosen = {best} if best is not None else set()
        elif ct == "multipart/related" and displayed:
            start = _param(part, "start")
            root = 0
            if start:
                for i, c in enumerate(children):
                    if (c.get("Content-ID") or "").strip() == start.strip():
                        root = i
                        break
            chosen = {root}
        for i, child in enumerate(children):
            state.part_count += 1
            if state.part_count > state.limits.max_parts:
                state.hit("PARSE_LIMIT_PARTS")
                return
            sub_path = f"{path}.{i + 1}" if path else f"{i + 1}"
            _walk(child, state, model, defects, depth + 1, sub_path, texts, htmls,
                  displayed and i in chosen, alternative=ct == "multipart/alternative" or (alternative and i not in chosen))
        return

    leaf_path = path or "1"
    disp = _disposition(part)
    filename = _filename(part)
    charset = _param(part, "charset")
    cid = part.get("Content-ID")
    cid = str(cid).strip().strip("<>") if cid else None
    is_text = ct in ("text/html", "text/plain") or (ct.startswith("text/") and not filename)
    show = displayed and is_text and disp != "attachment" and not (filename and disp != "inline")
    data = _payload_bytes(part, defects, leaf_path)
    model.parts.append(Part(leaf_path, ct, charset, disp, filename, len(data), cid, show))
    if show and ct in ("text/html", "text/plain", "text/enriched") or (show and ct.startswith("text/")):
        text = decode_bytes(data, charset, defects, leaf_path)
        if ct == "text/html" or (ct != "text/plain" and "<html" in text[:2000].lower()):
            htmls.append((leaf_path, text))
        else:
            texts.append(text)
        return
    if alternative and is_text and not filename:
        return  # another rendering of the displayed body (the text/plain beside the HTML)
    if cid and state.limits.keep_cids:
        model.cid_parts[cid] = (ct, data)
    model.attachments.append(
        Attachment(
            filename=filename,
            content_type=ct,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            path=leaf_path,
            content_id=cid,
            inline=disp == "inline" or (cid is not None and disp != "attachment"),
        )
    )
