"""The indicator file formats: one indicator a line (``type value  # comment``, or a value alone
with its type inferred) and CSV (``type,value,comment``). Parsing never raises; a line that cannot
be read is counted and described, not fatal."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from dataclasses import dataclass

from lurelens.registry.intel.normalise import (
    _HASH_LEN,
    _HEX,
    _infer_type,
    _parse_network,
    normalise_domain,
    normalise_email,
    normalise_url,
    refang,
)

__all__ = ["INDICATOR_TYPES", "IndicatorFile", "Indicator", "parse_csv", "parse_lines"]

INDICATOR_TYPES = ("domain", "ip", "url", "sha256", "md5", "sha1", "email")

# Other spellings of the type column met in feeds and MISP/OpenCTI exports.
_TYPE_ALIASES = {
    "domain": "domain", "hostname": "domain", "host": "domain", "fqdn": "domain", "domain-name": "domain",
    "ip": "ip", "ipv4": "ip", "ipv6": "ip", "ip-dst": "ip", "ip-src": "ip", "cidr": "ip", "ipv4-addr": "ip",
    "ipv6-addr": "ip", "ip-range": "ip",
    "url": "url", "uri": "url", "link": "url",
    "sha256": "sha256", "sha-256": "sha256", "md5": "md5", "sha1": "sha1", "sha-1": "sha1", "hash": "hash",
    "filehash": "hash", "file-hash": "hash",
    "email": "email", "e-mail": "email", "email-src": "email", "email-addr": "email", "mail": "email",
}

# Networks broader than this are refused: a /0 or /4 in a sloppy feed would flag everything.
_MIN_PREFIX = {4: 8, 6: 16}

_COMMENT = re.compile(r"\s#\s?|\s+#$")

# What an indicator is indexed by: its normalised text, or the network of an IP or CIDR range.
IndicatorKey = str | ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class _Entry:
    type: str
    key: IndicatorKey  # normalised value: str, or an ip_network
    indicator: str  # as shown in evidence (normalised, refanged)
    comment: str
    line: int


@dataclass(slots=True)
class _File:
    source: str  # path shown in hits
    stamp: tuple[int, int] | None  # (mtime_ns, size); None for files that cannot be stat'ed (zip)
    entries: list[_Entry]
    errors: int
    problems: list[str]


def _normalise(kind: str, value: str) -> tuple[str, IndicatorKey, str] | None:
    """(type, key, shown indicator) or None when the value is not a valid indicator of that type."""
    if kind == "hash":
        low = refang(value).lower()
        kind = _HASH_LEN.get(len(low), "")
        if not kind:
            return None
    if kind == "domain":
        d = normalise_domain(value)
        return (kind, d, d) if d else None
    if kind == "ip":
        net = _parse_network(value)
        if net is None or net.prefixlen < _MIN_PREFIX[net.version]:
            return None
        shown = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
        return (kind, net, shown)
    if kind == "url":
        u = normalise_url(value)
        return (kind, u, u) if u else None
    if kind in ("sha256", "sha1", "md5"):
        h = refang(value).lower()
        if not _HEX.match(h) or _HASH_LEN.get(len(h)) != kind:
            return None
        return (kind, h, h)
    if kind == "email":
        e = normalise_email(value)
        return (kind, e, e) if e else None
    return None


def parse_lines(text: str, source: str) -> _File:
    """Parse the line format. Never raises: bad lines are counted in ``errors``."""
    entries: list[_Entry] = []
    errors = 0
    problems: list[str] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        m = _COMMENT.search(line)
        comment = ""
        if m:
            comment = line[m.end() :].strip()
            line = line[: m.start()].strip()
        fields = line.split(None, 1)
        if len(fields) == 2 and fields[0].lower().rstrip(":") in _TYPE_ALIASES:
            kind = _TYPE_ALIASES[fields[0].lower().rstrip(":")]
            value = fields[1].strip()
        elif len(fields) == 1:
            value = fields[0]
            kind = _infer_type(value) or ""
        else:
            kind, value = "", line
        got = _normalise(kind, value) if kind and value else None
        if got is None:
            errors += 1
            if len(problems) < 20:
                problems.append(f"{source}:{no}: cannot read {raw.strip()[:80]!r}")
            continue
        entries.append(_Entry(got[0], got[1], got[2], comment, no))
    return _File(source, None, entries, errors, problems)


def parse_csv(text: str, source: str) -> _File:
    """Parse ``type,value,comment`` rows (header row optional; extra columns ignored)."""
    entries: list[_Entry] = []
    errors = 0
    problems: list[str] = []
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        return _File(source, None, [], 1, [f"{source}: not CSV: {exc}"])
    cols = {"type": 0, "value": 1, "comment": 2}
    start = 0
    if rows and rows[0] and rows[0][0].strip().lower().lstrip("\ufeff") in ("type", "indicator_type", "kind"):
        head = [c.strip().lower().lstrip("\ufeff") for c in rows[0]]
        for want, names in (("type", ("type", "indicator_type", "kind")),
                            ("value", ("value", "indicator", "ioc")),
                            ("comment", ("comment", "description", "reference", "note"))):
            for n in names:
                if n in head:
                    cols[want] = head.index(n)
                    break
        start = 1
    for i, row in enumerate(rows[start:], start + 1):
        if not row or not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue

        def col(name: str) -> str:
            j = cols[name]
            return row[j].strip() if j < len(row) else ""

        kind = _TYPE_ALIASES.get(col("type").lower(), "")
        value = col("value")
        if not kind and value:
            kind = _infer_type(value) or ""
        got = _normalise(kind, value) if kind and value else None
        if got is None:
            errors += 1
            if len(problems) < 20:
                problems.append(f"{source}:{i}: cannot read {','.join(row)[:80]!r}")
            continue
        entries.append(_Entry(got[0], got[1], got[2], col("comment"), i))
    return _File(source, None, entries, errors, problems)


Indicator = _Entry
IndicatorFile = _File
