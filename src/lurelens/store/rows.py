"""From a verdict to the compact row a worker sends back to the hunt's driver (never the message's
bytes): the stored columns, the side-table rows and the full verdict JSON.

:func:`cluster_features` is the one place that decides what clustering values are stored (hosts,
recipients, claimed entities, origin IP, fingerprints); it reads the engine's features when the
model carries them and falls back to reading the parsed message itself."""

from __future__ import annotations

import ipaddress
import re
from email.utils import parsedate_to_datetime
from typing import Any

from lurelens.model import Verdict
from lurelens.report.jsonout import dumps, error_to_dict

__all__ = ["message_row", "error_row", "cluster_features", "clean_text"]

# Column widths that bound what one hostile header can put in a row.
_MAX_TEXT = 2000
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;@]+@[^\s<>;]+?)>?\s*;", re.I)
_RECEIVED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]")


# A NUL escape in JSON text, not preceded by an escaped backslash (PostgreSQL refuses \u0000).
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def clean_text(s: str) -> str:
    """Text every database accepts: lone surrogates (from undecodable bytes) and NUL replaced."""
    if s.isascii():
        return s.replace("\x00", "\ufffd") if "\x00" in s else s
    return s.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _cut(s: str | None, n: int = _MAX_TEXT) -> str | None:
    return clean_text(s[:n]) if s else s


def _json(d: dict[str, Any]) -> str:
    text = clean_text(dumps(d))
    return _JSON_NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def _domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[1].lower() if "@" in addr else ""


def _public_ip(s: str) -> str | None:
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None
    return None if (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                    or ip.is_unspecified or ip.is_multicast) else str(ip)


def cluster_features(verdict: Verdict) -> dict[str, Any]:
    """The values a hunt stores for clustering and pivoting, with the field names of the engine's
    ``ClusterFeatures``. Until the engine provides them, they are read from the parsed message here;
    ``claimed`` and the two fingerprints stay empty in that case (no second implementation)."""
    features = getattr(verdict.message, "features", None)
    if features is not None:  # the engine's own (lurelens.model.ClusterFeatures)
        from dataclasses import asdict

        return asdict(features)
    from lurelens.parse.urls import registrable_domain

    msg = verdict.message
    resources = msg.resources if msg is not None else []
    links = msg.links if msg is not None else []
    headers = msg.headers if msg is not None else []
    recipients: list[tuple[str, str]] = []
    for kind, addrs in (("to", msg.to if msg else []), ("cc", msg.cc if msg else [])):
        recipients.extend((kind, a.addr.lower()) for a in addrs if a.addr)
    origin_ip = None
    for name, value in headers:
        lname = name.lower()
        if lname in ("delivered-to", "x-original-to"):
            recipients.extend((lname, a.strip().strip("<>").lower()) for a in value.split(",") if "@" in a)
        elif lname == "received":
            recipients.extend(("received-for", a.lower()) for a in _RECEIVED_FOR.findall(value))
            if origin_ip is None:
                # The first public address a Received header names is where the message entered
                # the receiving organisation's mail system from outside.
                origin_ip = next((ip for ip in map(_public_ip, _RECEIVED_IP.findall(value.split(" by ")[0])) if ip), None)
    link_hosts = sorted({h for lk in links for h in (lk.host, lk.final_host) if h})
    return {
        "sender_domains": sorted({_domain_of(a.addr) for a in (msg.from_ if msg else []) if a.addr}
                                 | ({_domain_of(msg.sender.addr)} if msg and msg.sender and msg.sender.addr else set())),
        "reply_to_domains": sorted({_domain_of(a.addr) for a in (msg.reply_to if msg else []) if a.addr}),
        "return_path_domain": _domain_of(msg.return_path or "") or None if msg else None,
        "beacon_hosts": sorted({r.host for r in resources if r.host and (r.hidden or r.tiny or r.tracker)}),
        "beacon_domains": sorted({r.domain for r in resources if r.domain and (r.hidden or r.tiny or r.tracker)}),
        "resource_hosts": sorted({r.host for r in resources if r.host}),
        "link_hosts": link_hosts,
        "link_domains": sorted({registrable_domain(h) for h in link_hosts}),
        "origin_ip": origin_ip,
        "recipients": sorted(set(recipients)),
        "claimed": [],
        "attachment_sha256": sorted({a.sha256 for a in (msg.attachments if msg else []) if a.sha256}),
        "text_fingerprint": None,
        "html_skeleton_fingerprint": None,
    }


def _date_utc(date: str | None):
    if not date:
        return None
    try:
        d = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if d is None or d.tzinfo is None:
        return None
    return d


def message_row(source: str, locator: str, sha256: str, size: int, verdict: Verdict) -> dict[str, Any]:
    """The row stored for a scanned message: columns, side-table rows and the full verdict JSON."""
    msg = verdict.message
    f = cluster_features(verdict)
    # Serialised here, in the worker: a JSON string pickles and crosses processes far cheaper than
    # the nested dict, and the store writes it as it is.
    report = _json(verdict.to_dict())
    frm = msg.from_[0] if msg is not None and msg.from_ else None
    hosts: dict[tuple[str, str], str | None] = {}
    domain_of = {r.host: r.domain for r in (msg.resources if msg else [])}
    for h in f["resource_hosts"]:
        hosts[("fetch", h)] = domain_of.get(h)
    for h in f["beacon_hosts"]:
        hosts[("beacon", h)] = domain_of.get(h)
    if f["link_hosts"]:
        from lurelens.parse.urls import registrable_domain

        for h in f["link_hosts"]:
            hosts[("link", h)] = registrable_domain(h)
    recipients = {(kind, _cut(addr, 500)) for kind, addr in f["recipients"]}
    return {
        "source": clean_text(source),
        "locator": clean_text(locator),
        "sha256": sha256,
        "verdict": verdict.label,
        "score": verdict.score,
        "error": "; ".join(verdict.errors) or None,
        "size": size,
        "message_id": _cut(msg.message_id if msg else None, 1000),
        "date": _cut(msg.date if msg else None, 200),
        "date_utc": _date_utc(msg.date if msg else None),
        "from_addr": _cut(frm.addr if frm else None, 500),
        "from_name": _cut(frm.display_name if frm else None, 500),
        "from_domain": _cut(_domain_of(frm.addr) if frm and frm.addr else None, 255),
        "sender_addr": _cut(msg.sender.addr if msg and msg.sender else None, 500),
        "reply_to": _cut(", ".join(a.addr for a in msg.reply_to if a.addr) if msg else None),
        "return_path": _cut(msg.return_path if msg else None, 500),
        "subject": _cut(msg.subject if msg else None),
        "origin_ip": f["origin_ip"],
        "text_fingerprint": f["text_fingerprint"],
        "html_fingerprint": f["html_skeleton_fingerprint"],
        "report": report,
        "recipients": [{"kind": k, "address": a} for k, a in sorted(recipients) if a],
        "findings": [{"symbol": x.symbol, "score": round(x.score, 3), "evidence": _cut(x.evidence),
                      "group": x.group or None, "nested": x.nested} for x in verdict.findings],
        "hosts": [{"role": role, "host": _cut(h, 255), "domain": _cut(d, 255)} for (role, h), d in sorted(hosts.items())],
        "claims": [{"entity": _cut(e, 500)} for e in sorted(set(f["claimed"]))],
        "attachments": _attachments(msg),
    }


def _attachments(msg) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for a in msg.attachments if msg is not None else []:
        if a.sha256 and a.sha256 not in seen:
            seen[a.sha256] = {"sha256": a.sha256, "filename": _cut(a.filename, 500),
                              "content_type": _cut(a.content_type, 255), "size": a.size}
    return list(seen.values())


def error_row(source: str, locator: str, sha256: str | None, error: str, size: int | None = None) -> dict[str, Any]:
    """The row stored for an item that could not be read or scanned: never a clean verdict."""
    return {
        "source": clean_text(source),
        "locator": clean_text(locator),
        "sha256": sha256 or "",
        "verdict": "error",
        "score": None,
        "error": _cut(error),
        "size": size,
        "report": _json(error_to_dict(locator, error)),
    }
