"""From a verdict to the compact row a worker sends back to the hunt's driver (never the message's
bytes): the stored columns, the side-table rows and the full verdict JSON.

:func:`cluster_features` is the one place that decides what clustering values are stored; they
are the engine's (``message.features``), with only how each recipient was named added here."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import Any

from lurelens.model import Verdict
from lurelens.parse.urls import registrable_domain
from lurelens.report.jsonout import dumps, error_to_dict

__all__ = ["message_row", "error_row", "cluster_features", "clean_text"]

# Column widths that bound what one hostile header can put in a row.
_MAX_TEXT = 2000
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;@]+@[^\s<>;]+?)>?\s*;", re.I)


# A NUL escape in JSON text, not preceded by an escaped backslash (PostgreSQL refuses \u0000).
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def clean_text(s: str) -> str:
    """Text every database accepts: lone surrogates (from undecodable bytes) and NUL replaced."""
    if s.isascii():
        return s.replace("\x00", "\ufffd") if "\x00" in s else s
    return s.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _cut(s: str | None, n: int = _MAX_TEXT) -> str | None:
    return clean_text(s[:n]) if s else s


try:  # lurelens[hunt]: the verdict JSON of every stored row, about ten times faster than json
    import orjson
except ImportError:  # pragma: no cover - the plain json module writes the same JSON
    orjson = None  # type: ignore[assignment]
# What orjson writes natively but json would pass to default=str: left to default=str as well.
_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS) if orjson else 0


def _json(d: dict[str, Any]) -> str:
    """The verdict as JSON text: the same JSON as ``report.jsonout.dumps`` (the ``scan --json``
    object), valid UTF-8, without NUL escapes (PostgreSQL refuses them). orjson writes it when it can;
    what orjson refuses (lone surrogates from undecodable bytes, integers beyond 64 bits, non-string
    keys) goes the json module's way."""
    text = None
    if orjson is not None:
        try:
            text = orjson.dumps(d, default=str, option=_ORJSON_OPTIONS).decode("utf-8")
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            text = None
    if text is None:
        text = clean_text(dumps(d))
    return _JSON_NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def _domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[1].lower() if "@" in addr else ""


def _recipient_kinds(msg, addresses: tuple[str, ...]) -> list[tuple[str, str]]:
    """(kind, address) for every recipient: how each of the engine's recipients was named (to, cc,
    delivered-to, x-original-to, envelope-to, received-for; 'other' when none of these says)."""
    pairs: set[tuple[str, str]] = set()
    if msg is not None:
        for kind, addrs in (("to", msg.to), ("cc", msg.cc)):
            pairs.update((kind, a.addr.lower()) for a in addrs if a.addr)
        for name, value in msg.headers:
            lname = name.lower()
            if lname in ("delivered-to", "x-original-to", "envelope-to"):
                pairs.update((lname, a.strip().strip("<>").lower()) for a in value.split(",") if "@" in a)
            elif lname == "received":
                pairs.update(("received-for", a.lower()) for a in _RECEIVED_FOR.findall(value))
    named = {a for _, a in pairs}
    pairs.update(("other", a) for a in addresses if a not in named)
    return sorted(pairs)


def cluster_features(verdict: Verdict, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values a hunt stores for clustering and pivoting: the engine's ``ClusterFeatures``
    (``message.features``: hosts, domains, origin IP, claimed entities, attachment hashes, TLSH
    fingerprints), plus ``recipient_kinds``, how each recipient was named. ``report`` is the
    verdict's ``to_dict()`` when the caller has it already (its ``features`` are reused)."""
    from lurelens.model.features import ClusterFeatures

    msg = verdict.message
    d = dict(report["features"]) if report is not None and report.get("features") is not None else None
    if d is None:
        features = getattr(msg, "features", None) or ClusterFeatures()
        d = features.to_dict()
    d["recipient_kinds"] = _recipient_kinds(msg, tuple(d.get("recipients") or ()))
    return d


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
    d = verdict.to_dict()  # once: its features are the stored clustering values too
    f = cluster_features(verdict, d)
    # Serialised here, in the worker: a JSON string pickles and crosses processes far cheaper than
    # the nested dict, and the store writes it as it is.
    report = _json(d)
    frm = msg.from_[0] if msg is not None and msg.from_ else None
    hosts = {(role, h): registrable_domain(h) for role, key in (("fetch", "resource_hosts"), ("beacon", "beacon_hosts"),
                                                                ("link", "link_hosts")) for h in f[key]}
    recipients = {(kind, _cut(addr, 500)) for kind, addr in f["recipient_kinds"]}
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
        **_minhash_rows(msg, verdict.label),
    }


# Verdicts whose messages campaigns cluster (lurelens.store.store.SUSPICIOUS_LABELS, not imported:
# the store imports this module). Only they get a MinHash signature: the rest never join a campaign.
_CLUSTERED = ("suspicious", "phishing", "recon")


def _minhash_rows(msg, label: str) -> dict[str, list[dict[str, Any]]]:
    """The ``text_minhash`` and ``minhash_bands`` rows of a message (none for a message that is not
    clustered, or whose visible text is too short to compare)."""
    if msg is None or label not in _CLUSTERED:
        return {}
    from lurelens.store.neardup import text_minhash

    sig = text_minhash(msg.visible_text or msg.text)
    if sig is None:
        return {}
    sigs, bands = sig.rows()
    return {"text_minhash": sigs, "minhash_bands": bands}


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
