"""Compute a message's cluster features (lurelens.model.features) from the parsed and enriched
model: one pass over what parsing already found, plus two TLSH digests."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import TYPE_CHECKING

import tlsh

from lurelens.model import Message
from lurelens.model.features import ClusterFeatures
from lurelens.parse.identity import is_beacon
from lurelens.parse.urls import registrable_domain

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry

__all__ = ["compute_features", "fuzzy_hash", "html_skeleton", "origin_ip"]

_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]{0,15})")
_MAX_FINGERPRINT = 200_000  # bytes hashed at most (the text and HTML are bounded by Limits anyway)
# The "from" clause of a Received header: up to " by ", " with ", " id " or the date.
_FROM_CLAUSE = re.compile(r"^\s*from\s+(.{0,400}?)(?:\s(?:by|with|id|via)\s|;|$)", re.I | re.S)
_IP_IN_CLAUSE = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]|(?<![\w.:-])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.-])")
_MAX_HOPS = 30
# Networks a receiver's own relays use (RFC 1918, shared address space, unique local IPv6).
# Documentation ranges count as outside, so examples and tests read like real mail.
_INTERNAL = tuple(ipaddress.ip_network(n) for n in
                  ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "0.0.0.0/8", "fc00::/7"))


def fuzzy_hash(data: bytes) -> str | None:
    """The TLSH digest of ``data``, or None when TLSH cannot hash it (too short or too uniform)."""
    h = tlsh.hash(data[:_MAX_FINGERPRINT])
    return None if not h or h == "TNULL" else h


def html_skeleton(html: str) -> str:
    """The sequence of tag names in ``html``, lower-cased, one space apart."""
    return " ".join(_TAG.findall(html)).lower()


def origin_ip(msg: Message) -> str | None:
    """The connecting address of the first Received hop, from the top, whose address is outside
    a private network (the receiver's own relays hand the message on over private addresses)."""
    for value in msg.header_all("Received")[:_MAX_HOPS]:
        m = _FROM_CLAUSE.match(value)
        if not m:
            continue
        for im in _IP_IN_CLAUSE.finditer(m.group(1)):
            ip = _outside(im.group(1) or im.group(2))
            if ip is not None:
                return ip
    return None


@lru_cache(maxsize=4096)
def _outside(text: str) -> str | None:
    """The address, normalised, when it is outside private networks; else None."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast or any(ip in net for net in _INTERNAL):
        return None
    return str(ip)


def _domain(addr: str) -> str:
    return addr.rpartition("@")[2].strip().strip("<>").rstrip(".").lower() if "@" in addr else ""


def _sorted(items) -> tuple[str, ...]:
    return tuple(sorted({i for i in items if i}))


def _claimed(msg: Message, data: "DataRegistry") -> tuple[str, ...]:
    names = [a.display_name for a in msg.from_ if a.display_name]
    if not names:
        return ()
    ents = data.entities
    return _sorted(e.id for name in names for e, _matched, _alone in ents.find(name, standalone=True))


def _from_identity(msg: Message) -> set[str]:
    """Registrable domains that speak for the From identity: the From domain and a passing DKIM d=.
    (Not the Return-Path: an impostor chooses it, and its beacons are what a clusterer wants.)"""
    doms = {registrable_domain(a.domain) for a in msg.from_ if a.domain}
    dkim = msg.auth.get("results", {}).get("dkim")
    if dkim is not None and dkim.result == "pass" and dkim.props.get("header.d"):
        doms.add(registrable_domain(dkim.props["header.d"]))
    doms.discard("")
    return doms


def compute_features(msg: Message, data: "DataRegistry") -> ClusterFeatures:
    own = _from_identity(msg)
    beacons = [r.host for r in msg.resources if is_beacon(r) and r.domain not in own]
    link_hosts = [lk.host for lk in msg.links if lk.host] + [lk.final_host for lk in msg.links if lk.final_host]
    senders = [a.domain for a in msg.from_] + ([msg.sender.domain] if msg.sender is not None else [])
    text = " ".join((msg.visible_text or msg.text).lower().split())  # faster than a regex here
    return ClusterFeatures(
        sender_domains=_sorted(senders),
        reply_to_domains=_sorted(a.domain for a in msg.reply_to),
        return_path_domain=_domain(msg.return_path or "") or None,
        beacon_hosts=_sorted(beacons),
        beacon_domains=_sorted(registrable_domain(h) for h in beacons),
        resource_hosts=_sorted(r.host for r in msg.resources),
        link_hosts=_sorted(h.lower() for h in link_hosts),
        link_domains=_sorted(registrable_domain(h) for h in link_hosts),
        origin_ip=origin_ip(msg),
        recipients=_sorted(r.lower() for r in msg.recipients),
        claimed=_claimed(msg, data),
        attachment_sha256=_sorted(a.sha256 for a in msg.attachments),
        text_fingerprint=fuzzy_hash(text.encode("utf-8", "surrogatepass")) if text else None,
        html_skeleton_fingerprint=fuzzy_hash(html_skeleton(msg.html).encode()) if msg.html else None,
    )
