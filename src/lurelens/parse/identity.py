"""Who the sender is, and which hosts learn that the message was opened: the one definition every
check, renderer and the cluster features use (they used to be written in several checks)."""

from __future__ import annotations

from lurelens.model import Message
from lurelens.parse.urls import registrable_domain

__all__ = ["CSS_KINDS", "IMAGE_KINDS", "beacon_hosts", "is_beacon", "is_open_beacon", "sender_domains", "sender_identity"]

# Resource kinds that fetch an image (a hidden one is a beacon).
IMAGE_KINDS = frozenset({"img", "srcset", "background", "css-url", "poster"})
# Fetches a client makes on open without showing anything: a stylesheet, an @import, a web font.
CSS_KINDS = frozenset({"css-import", "font", "stylesheet"})
_ID_BEACON_KINDS = CSS_KINDS | {"background", "css-url", "poster"}


def sender_domains(msg: Message) -> set[str]:
    """Registrable domains the sender controls: From, Return-Path, and a passing DKIM signature's d=."""
    doms = {registrable_domain(a.domain) for a in msg.from_ if a.domain}
    if msg.return_path and "@" in msg.return_path:
        doms.add(registrable_domain(msg.return_path.rpartition("@")[2]))
    dkim = msg.auth.get("results", {}).get("dkim")
    if dkim is not None and dkim.result == "pass" and dkim.props.get("header.d"):
        doms.add(registrable_domain(dkim.props["header.d"]))
    doms.discard("")
    return doms


def sender_identity(msg: Message) -> tuple[set[str], str, float]:
    """Registrable domains that speak for the sender, how they were established, and a weight."""
    frm = next((a for a in msg.from_ if "@" in a.addr), None)
    fdom = registrable_domain(frm.domain) if frm and frm.domain else ""
    res = msg.auth.get("results", {})
    dmarc, dkim = res.get("dmarc"), res.get("dkim")
    doms: set[str] = set()
    if dmarc is not None and dmarc.result == "pass" and fdom:
        doms.add(fdom)
        how, weight = "DMARC-aligned From domain", 1.0
    elif dkim is not None and dkim.result == "pass" and dkim.props.get("header.d"):
        doms.add(registrable_domain(dkim.props["header.d"].lower()))
        how, weight = "DKIM signing domain", 1.0
    else:
        how, weight = "unauthenticated From domain", 0.6
    if fdom:
        doms.add(fdom)
    return doms, how, weight


def is_open_beacon(res) -> bool:
    """An open-time beacon, whatever makes the request: a hidden or 0-2 px image, background or
    poster, or a CSS (@import, @font-face, stylesheet), background or poster fetch whose URL
    carries a per-recipient identifier. (A visible <img> with an identifier is how newsletters
    serve images, and a shared stylesheet identifies nobody: neither counts.)"""
    return bool(res.hidden and res.kind in IMAGE_KINDS) or (bool(res.recipient_token) and res.kind in _ID_BEACON_KINDS)


def is_beacon(res) -> bool:
    """A fetch that tells its host the message was opened: an open-time beacon, or a URL naming the recipient."""
    return is_open_beacon(res) or (res.recipient_token or "").startswith("email:")


def beacon_hosts(msg: Message) -> set[str]:
    """Hosts that learn the message was opened: hidden images, or URLs naming the recipient."""
    return {r.host for r in msg.resources if is_beacon(r)}
