"""Threat-intel matches: the sender, the relays, the links, what opening fetches and the attachments
against local indicator lists (lurelens.registry.intel; the shipped APT31 list and the user's own).

A listed indicator is the one finding here that does not infer intent: someone has already seen
this host, address or file in an attack. Evidence names the indicator, where the message carries
it, and the file (and comment) it is listed in.

The store is the Scanner's (``ctx.intel``: the shipped files, the directories in its settings and
``<data overlay>/iocs/``); a Context without one (a check run on its own) uses a process-wide store
of the shipped files and the registry's overlay.

Attachments are matched by SHA-256 only: the message model keeps ``Attachment.sha256`` but not the
attachment bytes, so MD5 and SHA-1 indicators cannot be compared with attachments here.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from lurelens.checks.base import Check, Context, Symbol, first_time, limits_of, sender_addresses, text_limit_finding
from lurelens.model import Finding, Message
from lurelens.parse.text import email_matches
from lurelens.parse.urls import split_url
from lurelens.registry.intel import IntelHit, IntelStore, default_store

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol(
        "INTEL_DOMAIN_LISTED",
        "The sender's domain (From, Reply-To, Sender, Return-Path) or a relay in the Received headers is on a threat-intel list",
    ),
    Symbol("INTEL_IP_LISTED", "An IP address the message came through, links to or fetches from is on a threat-intel list"),
    Symbol("INTEL_URL_LISTED", "A link or a URL fetched on open is on a threat-intel list"),
    Symbol("INTEL_LINK_DOMAIN_LISTED", "A link goes to a host on a threat-intel list"),
    Symbol("INTEL_RESOURCE_DOMAIN_LISTED", "Opening the message fetches content from a host on a threat-intel list"),
    Symbol("INTEL_ATTACHMENT_HASH_LISTED", "An attachment's SHA-256 is on a threat-intel list"),
    Symbol("INTEL_EMAIL_LISTED", "A sender, reply or contact address in the message is on a threat-intel list"),
)

_EVIDENCE = 300

# Received: hosts after "from" and "by", the reverse-DNS name in "(name [ip])", and HELO names.
_RCV_FROM = re.compile(r"\bfrom\s+([^\s();\[\]]+)", re.I)
_RCV_BY = re.compile(r"\bby\s+([^\s();\[\]]+)", re.I)
_RCV_RDNS = re.compile(r"\(\s*([A-Za-z0-9_.-]+\.[A-Za-z0-9-]{2,})\.?\s+\[", re.I)
_RCV_HELO = re.compile(r"\bhelo[=\s]+([A-Za-z0-9_.-]+\.[A-Za-z0-9-]{2,})", re.I)
# [1.2.3.4], [IPv6:2001:db8::1], (1.2.3.4), and bare dotted quads (qmail, exim "from [ip]:port").
_RCV_BRACKET = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]")
_RCV_V4 = re.compile(r"(?<![\w.:-])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.-])")
_HOSTNAME = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$")
# The same four host patterns for an ASCII header read lower-cased (what nearly every Received
# header is): case-sensitive, and with the word boundary checked after the literal ("from(?<!\wfrom)"
# is "\bfrom"), so the engine jumps from one "from" to the next instead of trying every position.
_RCV_HOSTS_ASCII = (
    re.compile(r"from(?<!\wfrom)\s+([^\s();\[\]]+)"),
    re.compile(r"\(\s*([a-z0-9_.-]+\.[a-z0-9-]{2,})\.?\s+\["),
    re.compile(r"helo(?<!\whelo)[=\s]+([a-z0-9_.-]+\.[a-z0-9-]{2,})"),
    re.compile(r"by(?<!\wby)\s+([^\s();\[\]]+)"),
)
# _RCV_V4 with its look-behind after the first digit, so the engine jumps from digit to digit.
_RCV_V4_FAST = re.compile(r"(\d(?<![\w.:-]\d)\d{0,2}(?:\.\d{1,3}){3})(?![\w.-])")


def store_for(ctx: Context) -> IntelStore:
    store = (ctx.extras.get("intel") if ctx.extras else None) or ctx.intel
    if store is None:
        store = default_store(getattr(ctx.data, "extra_dir", None))
    return store


def _addr_domain(addr: str) -> str:
    return addr.rpartition("@")[2].strip().strip(">").lower() if "@" in addr else ""


@lru_cache(maxsize=4096)
def _ip(text: str):
    # Cached: relays and hosts recur from message to message, and ipaddress parsing is slow;
    # the address objects are immutable, so sharing them between scans and threads is safe.
    if not text or not (text[-1].isdigit() or ":" in text or text.endswith("]")):
        return None  # a host name, not an address literal
    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Hops through localhost or link-local addresses say nothing and a sloppy feed may list them.
    if ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast:
        return None
    return ip


def received_hosts_and_ips(value: str) -> tuple[list[str], list]:
    """Host names and IP addresses a Received header names (the part before the date)."""
    head = value.rsplit(";", 1)[0] if ";" in value else value
    hosts: list[str] = []
    if head.isascii():
        # Lower-cased ASCII read case-sensitively finds the same spans as the case-blind patterns.
        text, patterns, v4 = head.lower(), _RCV_HOSTS_ASCII, _RCV_V4_FAST
    else:
        text, patterns, v4 = head, (_RCV_FROM, _RCV_RDNS, _RCV_HELO, _RCV_BY), _RCV_V4
    for rx in patterns:
        for m in rx.finditer(text):
            h = m.group(1).strip().rstrip(".").lower()
            if _HOSTNAME.match(h) and not h.replace(".", "").isdigit() and h not in hosts:
                hosts.append(h)
    ips = []
    for m in list(_RCV_BRACKET.finditer(head)) + list(v4.finditer(head)):
        ip = _ip(m.group(1))
        if ip is not None and ip not in ips:
            ips.append(ip)
    return hosts, ips


def _ev(value: str, where: str, hit: IntelHit) -> str:
    covered = "is listed" if value == hit.indicator else f"is covered by listed {hit.type} {hit.indicator}"
    src = hit.source_file.rsplit("/", 1)[-1] + (f":{hit.line}" if hit.line else "")
    text = f"{where} {value} {covered} [{src}]"
    if hit.comment:
        text += f": {hit.comment}"
    return text[: _EVIDENCE - 1] + "…" if len(text) > _EVIDENCE else text


def run(msg: Message, ctx: Context):
    store = store_for(ctx)
    store.refresh()  # re-reads changed files, at most once per recheck_seconds
    if len(store) == 0:
        return
    once = first_time()

    def ip_finding(ip, where: str):
        hit = store.match_ip(ip)
        if hit is not None and once("INTEL_IP_LISTED", str(ip)):
            return Finding("INTEL_IP_LISTED", _ev(str(ip), where, hit))
        return None

    # Sender addresses and their domains.
    for where, addr in sender_addresses(msg):
        hit = store.match_email(addr)
        if hit is not None and once("INTEL_EMAIL_LISTED", hit.indicator):
            yield Finding("INTEL_EMAIL_LISTED", _ev(addr.lower(), f"{where} address", hit))
        dom = _addr_domain(addr)
        if dom:
            hit = store.match_domain(dom)
            if hit is not None and once("INTEL_DOMAIN_LISTED", dom):
                yield Finding("INTEL_DOMAIN_LISTED", _ev(dom, f"{where} domain", hit))

    # Relays.
    limits = limits_of(ctx)
    received = msg.header_all("Received")
    if len(received) > limits.check_received:
        yield Finding("CHECK_LIMIT_ITEMS", f"intel: read {limits.check_received} of {len(received)} Received "
                      "headers (Limits.check_received), the topmost first")
    for n, value in enumerate(received[: limits.check_received], 1):
        hosts, ips = received_hosts_and_ips(value)
        for h in hosts:
            hit = store.match_domain(h)
            if hit is not None and once("INTEL_DOMAIN_LISTED", h):
                yield Finding("INTEL_DOMAIN_LISTED", _ev(h, f"Received hop {n} host", hit))
        for ip in ips:
            f = ip_finding(ip, f"Received hop {n} IP")
            if f is not None:
                yield f

    # Links (and where a redirect link really goes).
    for link in msg.links:
        href = link.href or ""
        if href.lower().startswith("mailto:"):
            addr = href[7:].split("?", 1)[0]
            hit = store.match_email(addr)
            if hit is not None and once("INTEL_EMAIL_LISTED", hit.indicator):
                yield Finding("INTEL_EMAIL_LISTED", _ev(addr.lower(), "mailto link to", hit))
            continue
        targets = [("link", href, link.host)]
        if link.final_url:
            targets.append(("link destination", link.final_url, link.final_host or ""))
        targets += [("link via", "", h) for h in link.via]
        for where, url, host in targets:
            if url:
                hit = store.match_url(url)
                if hit is not None and once("INTEL_URL_LISTED", url):
                    yield Finding("INTEL_URL_LISTED", _ev(url[:160], where, hit))
            if not host and url:
                info = split_url(url)
                host = info.host if info else ""
            if not host:
                continue
            ip = _ip(host)
            if ip is not None:
                f = ip_finding(ip, f"{where} host")
                if f is not None:
                    yield f
                continue
            hit = store.match_domain(host)
            if hit is not None and once("INTEL_LINK_DOMAIN_LISTED", host):
                yield Finding("INTEL_LINK_DOMAIN_LISTED", _ev(host, f"{where} host", hit))

    # Remote content fetched on open.
    for r in msg.resources:
        hit = store.match_url(r.url)
        if hit is not None and once("INTEL_URL_LISTED", r.url):
            yield Finding("INTEL_URL_LISTED", _ev(r.url[:160], f"{r.kind} fetched on open", hit))
        ip = _ip(r.host) if r.host else None
        if ip is not None:
            f = ip_finding(ip, f"{r.kind} fetched on open from")
            if f is not None:
                yield f
            continue
        hit = store.match_domain(r.host)
        if hit is not None and once("INTEL_RESOURCE_DOMAIN_LISTED", r.host):
            yield Finding("INTEL_RESOURCE_DOMAIN_LISTED", _ev(r.host, f"{r.kind} fetched on open from", hit))

    # Attachments: SHA-256 only (the model keeps no attachment bytes for MD5 or SHA-1).
    for a in msg.attachments:
        hit = store.match_hash(a.sha256)
        if hit is not None and once("INTEL_ATTACHMENT_HASH_LISTED", a.sha256):
            yield Finding("INTEL_ATTACHMENT_HASH_LISTED", _ev(a.sha256, f"attachment {a.filename or a.path!r} sha256", hit))

    # Contact addresses written in the text.
    full = msg.visible_text or msg.text or ""
    if len(full) > limits.intel_text_chars:
        yield text_limit_finding("intel (addresses in the text)", limits.intel_text_chars, len(full), "intel_text_chars")
    body = full[: limits.intel_text_chars]
    if "@" in body:
        for _start, addr, _dom in email_matches(body, 1):
            hit = store.match_email(addr)
            if hit is not None and once("INTEL_EMAIL_LISTED", hit.indicator):
                yield Finding("INTEL_EMAIL_LISTED", _ev(addr.lower(), "address in the text", hit))


CHECK = Check("intel", SYMBOLS, run)
