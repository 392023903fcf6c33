"""``lurelens intel import``: indicators from a STIX 2.1 bundle or a MISP event JSON, written as one
CSV file (``type,value,comment``) into a local intel directory that ``scan`` already reads.

It closes the sharing loop: a campaign a partner exported with ``lurelens export`` (or any STIX 2.1
or MISP producer) becomes indicators the scanner matches. Only what can be matched as a single value
is imported: STIX patterns made of ``=`` (and ``LIKE`` on URLs) comparisons joined by ``OR``,
STIX observables of the matchable types, and MISP attributes flagged ``to_ids``. Recipient
addresses (the victims) are never imported. The values are checked with the intel store's own
normalisation, and the written file is re-read with :class:`IntelStore` before it replaces an
earlier import of the same source. Bad input raises :class:`IntelImportError`, never anything else.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import json
import os
import re
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from lurelens.errors import InputError
from lurelens.parse.urls import PSL
from lurelens.registry.data import load_lines
from lurelens.registry.intel import IntelStore, normalise_domain, normalise_email, normalise_url, refang

__all__ = ["IntelImportError", "Imported", "ImportResult", "read_indicators", "import_file", "url_prefix",
           "MAX_IMPORT_BYTES"]

# A STIX bundle or MISP event this large is a feed dump, not a shared campaign; json.loads needs a
# multiple of the file size in memory, so refuse it with a clear message instead of exhausting memory.
MAX_IMPORT_BYTES = 256 * 1024 * 1024


class IntelImportError(InputError, ValueError):
    """The file cannot be imported (unreadable, not JSON, neither STIX 2.1 nor MISP, nothing usable)."""


@dataclass(frozen=True, slots=True)
class Imported:
    """One indicator to write: an intel type (``domain``, ``ip``, ``url``, ``email``, ``md5``,
    ``sha1``, ``sha256``), the normalised value and where it came from."""

    type: str
    value: str
    comment: str


@dataclass(slots=True)
class ImportResult:
    """What an import read and wrote."""

    format: str  # "stix" or "misp"
    source_id: str  # bundle id or event uuid
    indicators: list[Imported] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    path: Path | None = None

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(i.type for i in self.indicators).items()))

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "source": self.source_id, "file": str(self.path) if self.path else None,
                "indicators": len(self.indicators), "by_type": self.counts(), "skipped": dict(sorted(self.skipped.items()))}


# -- values ----------------------------------------------------------------------------------------

_HASH_LEN = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"^[0-9a-f]+$")
# Addresses every mail path carries (loopback, private and carrier NAT relays, link-local, multicast,
# reserved): listed, they would match the Received headers of almost every message. Documentation
# ranges (192.0.2.0/24 ...) are not here: they stand for public addresses in examples and tests.
_LOCAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "240.0.0.0/4", "::/127", "fc00::/7", "fe80::/10", "ff00::/8"))
# An imported range is someone else's judgement applied to every message here: no broader than this.
_IMPORT_MIN_PREFIX = {4: 16, 6: 32}


class _TooBroad(ValueError):
    """A valid value that would match far more than one attacker's infrastructure (the reason)."""


@lru_cache(maxsize=1)
def _shared_domains() -> frozenset[str]:
    """Domains thousands of unrelated senders share (free mail, shared platforms, shorteners): as a
    domain indicator each would flag every message from or linking to it."""
    return frozenset(load_lines("freemail.txt") | load_lines("shared_platforms.txt") | load_lines("shorteners.txt"))


def _value(kind: str, raw: str) -> str | None:
    """The normalised form of ``raw`` as an intel indicator of ``kind``, or None when it is not one
    (:class:`_TooBroad` when it is one that would match everything)."""
    raw = raw.strip()
    if not raw:
        return None
    if kind == "domain":
        d = normalise_domain(raw)
        if d is not None and PSL.is_public(d):
            raise _TooBroad("domain that is a public suffix (co.uk, github.io)")
        if d is not None and d in _shared_domains():
            raise _TooBroad("domain shared by unrelated senders (free mail, CDN, ESP, shortener)")
        return d
    if kind == "url":
        return normalise_url(raw)
    if kind == "email":
        return normalise_email(raw)
    if kind == "ip":
        v = refang(raw)
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            return None
        # The intel store refuses ranges broader than /8 (IPv4) and /16 (IPv6): so do we, with a reason.
        if net.prefixlen < (8 if net.version == 4 else 16):
            return None
        if net.prefixlen < _IMPORT_MIN_PREFIX[net.version]:
            raise _TooBroad(f"IP range broader than /{_IMPORT_MIN_PREFIX[net.version]}")
        if net.version == 6 and net.network_address.ipv4_mapped is not None:
            net = ipaddress.ip_network(net.network_address.ipv4_mapped)
        if any(net.overlaps(n) for n in _LOCAL_NETS if n.version == net.version):
            raise _TooBroad("loopback, private or reserved IP address")
        return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    if kind in ("md5", "sha1", "sha256"):
        h = refang(raw).lower()
        return h if _HEX.match(h) and _HASH_LEN.get(len(h)) == kind else None
    return None


def url_prefix(literal: str) -> str | None:
    """The URL to list for a URL template, given its literal text up to the first wildcard
    (``px.example.net/o/`` of ``px.example.net/o/{token}.gif``, ``cdn.example.net/open?u=``).

    The intel store matches a listed URL ending in ``/`` as every URL below it, and a listed URL
    without a query as that URL with any query, so: a wildcard in the query keeps the path and drops
    the query; a wildcard in the path keeps the path up to its last ``/``. None when the wildcard is
    in the host (nothing safe to list but the host, which is listed as a domain anyway)."""
    lit = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", literal.strip(), flags=re.I)
    if "/" not in lit:
        return None  # still in the host
    host, _, rest = lit.partition("/")
    if not host or "?" in host:
        return None
    path = rest.split("?", 1)[0] if "?" in rest else rest[: rest.rfind("/") + 1]
    return normalise_url(f"{host}/{path}")


# -- STIX 2.1 --------------------------------------------------------------------------------------

# One comparison of a STIX pattern: object path, operator, quoted string.
_CMP = re.compile(r"\s*(NOT\s+)?([a-z0-9-]+):((?:[A-Za-z0-9_\-\.\*\[\]]|'(?:[^'\\]|\\.)*')+)\s*"
                  r"(=|!=|LIKE|MATCHES|IN|<=|>=|<|>|ISSUBSET|ISSUPERSET)\s*'((?:[^'\\]|\\.)*)'\s*", re.S)
_QUALIFIERS = re.compile(r"\s*(?:(?:WITHIN\s+[\d.]+\s+SECONDS|REPEATS\s+\d+\s+TIMES|START\s+t'[^']*'\s+STOP\s+t'[^']*')\s*)*$", re.I)
_STIX_HASHES = {"md5": "md5", "sha-1": "sha1", "sha1": "sha1", "sha-256": "sha256", "sha256": "sha256"}


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _stix_path(obj: str, path: str) -> str | None:
    """The intel type a STIX object path names (``domain-name:value`` -> domain), or None."""
    path = path.replace("'", "").lower()
    if path == "value":
        return {"domain-name": "domain", "url": "url", "ipv4-addr": "ip", "ipv6-addr": "ip", "email-addr": "email"}.get(obj)
    if obj == "email-message" and path in ("from_ref.value", "sender_ref.value"):
        return "email"  # the sender; never to_refs/cc_refs/bcc_refs (the recipients)
    if obj in ("file", "artifact") and path.startswith("hashes."):
        return _STIX_HASHES.get(path[len("hashes."):])
    return None


def _like_prefix(pattern: str) -> str | None:
    """The literal start of a LIKE pattern (``%`` any run, ``_`` one character, ``\\`` escapes),
    without its leading ``%``, cut at the first wildcard; None when it has no wildcard after the start."""
    body = pattern[1:] if pattern.startswith("%") else pattern
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(body[i + 1])
            i += 2
            continue
        if ch in "%_":
            return "".join(out)
        out.append(ch)
        i += 1
    return None


def _stix_pattern(pattern: str, skipped: Counter[str]) -> list[tuple[str, str]]:
    """(intel type, raw value) of every comparison of a pattern that lists single values: observation
    expressions and comparisons joined by OR only (AND or FOLLOWEDBY would be a combination that a
    list of single values cannot express, so such a pattern is skipped as a whole)."""
    out: list[tuple[str, str]] = []
    rest = pattern.strip()
    first = True
    while rest:
        if not first:
            m = re.match(r"\s*OR\s+", rest)
            if not m:
                if _QUALIFIERS.fullmatch(rest):
                    break
                skipped["STIX pattern combining observations with AND/FOLLOWEDBY"] += 1
                return []
            rest = rest[m.end():]
        first = False
        if not rest.startswith("["):
            skipped["STIX pattern not understood"] += 1
            return []
        depth_end = _closing_bracket(rest)
        if depth_end < 0:
            skipped["STIX pattern not understood"] += 1
            return []
        inner, rest = rest[1:depth_end], rest[depth_end + 1:].lstrip()
        # Inside one observation: comparisons joined by OR only.
        pos, got = 0, []
        while True:
            m = _CMP.match(inner, pos)
            if not m:
                skipped["STIX pattern not understood"] += 1
                return []
            got.append(m)
            pos = m.end()
            if pos >= len(inner):
                break
            j = re.match(r"OR\s+", inner[pos:])
            if not j:
                skipped["STIX pattern with AND inside an observation"] += 1
                return []
            pos += j.end()
        for m in got:
            negated, obj, path, op, raw = m.group(1), m.group(2), m.group(3), m.group(4), _unquote(m.group(5))
            kind = _stix_path(obj, path)
            if kind is None:
                skipped[f"STIX {obj}:{path.replace(chr(39), '')} (not a matchable value)"] += 1
            elif negated or op not in ("=", "LIKE"):
                skipped[f"STIX comparison {'NOT ' if negated else ''}{op}"] += 1
            elif op == "LIKE":
                lit = _like_prefix(raw) if kind == "url" else None
                pref = url_prefix(lit) if lit is not None else None
                if pref is None:
                    skipped["STIX LIKE that does not start with a URL's host"] += 1
                else:
                    out.append(("url", pref))
            else:
                out.append((kind, raw))
    return out


def _closing_bracket(s: str) -> int:
    """Index of the ``]`` closing the ``[`` at 0, skipping quoted strings; -1 when there is none."""
    depth, i, quoted = 0, 0, False
    while i < len(s):
        ch = s[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == "'":
                quoted = False
        elif ch == "'":
            quoted = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


_SCO_TYPES = {"domain-name": "domain", "url": "url", "ipv4-addr": "ip", "ipv6-addr": "ip"}


def _from_stix(doc: dict[str, Any] | list[Any]) -> ImportResult:
    objects = doc.get("objects") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and doc.get("type") not in ("bundle", None) and "objects" not in doc:
        objects = [doc]  # one STIX object on its own
    if not isinstance(objects, list):
        raise IntelImportError("a STIX bundle needs an 'objects' list")
    bundle_id = str(doc.get("id") or "bundle") if isinstance(doc, dict) else "bundle"
    res = ImportResult("stix", bundle_id)
    by_id = {o.get("id"): o for o in objects if isinstance(o, dict)}
    # Senders are e-mail addresses worth listing; recipients are the victims and are never imported.
    senders = {ref for o in by_id.values() if o.get("type") == "email-message"
               for ref in (o.get("from_ref"), o.get("sender_ref")) if isinstance(ref, str)}
    found: list[tuple[str, str, str]] = []
    observed: list[tuple[str, str, str]] = []  # after the indicators: a value's comment names its indicator
    for o in objects:
        if not isinstance(o, dict) or not isinstance(o.get("type"), str):
            res.skipped["not a STIX object"] += 1
            continue
        t = o["type"]
        if t == "indicator":
            if o.get("revoked") is True:
                res.skipped["revoked indicator"] += 1
                continue
            if o.get("pattern_type", "stix") != "stix" or not isinstance(o.get("pattern"), str):
                res.skipped[f"indicator with pattern_type {o.get('pattern_type')}"] += 1
                continue
            what = f"STIX {o.get('id', 'indicator')}" + (f" {o['name']}" if isinstance(o.get("name"), str) else "")
            for kind, raw in _stix_pattern(o["pattern"], res.skipped):
                found.append((kind, raw, what))
        elif t in _SCO_TYPES and isinstance(o.get("value"), str):
            observed.append((_SCO_TYPES[t], o["value"], f"STIX observable {o.get('id', t)}"))
        elif t == "email-addr" and isinstance(o.get("value"), str):
            if o.get("id") in senders:
                observed.append(("email", o["value"], f"STIX sender {o.get('id')}"))
            else:
                res.skipped["email-addr not a sender (recipients are never imported)"] += 1
        elif t == "file" and isinstance(o.get("hashes"), dict):
            for algo, h in o["hashes"].items():
                algo_kind = _STIX_HASHES.get(str(algo).lower())
                if algo_kind and isinstance(h, str):
                    observed.append((algo_kind, h, f"STIX observable {o.get('id', 'file')}"))
    _collect(res, found + observed)
    return res


# -- MISP ------------------------------------------------------------------------------------------

# MISP attribute types -> intel types; composite types list one intel type per part ("" = drop that part).
_MISP_TYPES: dict[str, tuple[str, ...]] = {
    "domain": ("domain",), "hostname": ("domain",), "domain|ip": ("domain", "ip"), "hostname|port": ("domain", ""),
    "ip-dst": ("ip",), "ip-src": ("ip",), "ip-dst|port": ("ip", ""), "ip-src|port": ("ip", ""),
    "url": ("url",), "uri": ("url",),
    "email": ("email",), "email-src": ("email",), "email-reply-to": ("email",), "whois-registrant-email": ("email",),
    "md5": ("md5",), "sha1": ("sha1",), "sha256": ("sha256",),
    "filename|md5": ("", "md5"), "filename|sha1": ("", "sha1"), "filename|sha256": ("", "sha256"),
}


def _misp_events(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict) and isinstance(doc.get("response"), list):
        doc = doc["response"]
    items = doc if isinstance(doc, list) else [doc]
    events = []
    for it in items:
        ev = it.get("Event") if isinstance(it, dict) and isinstance(it.get("Event"), dict) else it
        if isinstance(ev, dict) and ("Attribute" in ev or "Object" in ev) and "info" in ev:
            events.append(ev)
    return events


def _from_misp(events: list[dict[str, Any]]) -> ImportResult:
    res = ImportResult("misp", ",".join(str(e.get("uuid") or "event") for e in events))
    found: list[tuple[str, str, str]] = []
    for ev in events:
        label = f"MISP event {ev.get('uuid', '?')}: {str(ev.get('info', ''))[:80]}"
        attrs: list[tuple[dict[str, Any], str]] = [(a, "") for a in _list(ev.get("Attribute")) if isinstance(a, dict)]
        for obj in _list(ev.get("Object")):
            if isinstance(obj, dict) and not _true(obj.get("deleted")):
                attrs += [(a, str(obj.get("name") or "")) for a in _list(obj.get("Attribute")) if isinstance(a, dict)]
        for a, obj_name in attrs:
            typ, val = str(a.get("type") or ""), a.get("value")
            if _true(a.get("deleted")):
                continue
            if not _true(a.get("to_ids")):
                res.skipped["MISP attribute not flagged to_ids"] += 1
                continue
            kinds = _MISP_TYPES.get(typ)
            if kinds is None or not isinstance(val, str):
                res.skipped[f"MISP type {typ or '?'}"] += 1
                continue
            parts = val.split("|") if len(kinds) > 1 else [val]
            if len(parts) != len(kinds):
                res.skipped[f"MISP {typ} value not in its composite form"] += 1
                continue
            where = f"{obj_name}/{a.get('object_relation')}" if obj_name else typ
            what = f"{label} [{where}]" + (f" {a['comment']}" if isinstance(a.get("comment"), str) and a["comment"] else "")
            for kind, part in zip(kinds, parts):
                if kind:
                    found.append((kind, part, what))
    _collect(res, found)
    return res


def _list(v: Any) -> list[Any]:
    """``v`` when it is a JSON array, else nothing (a hostile file puts a number where a list goes)."""
    return v if isinstance(v, list) else []


def _true(v: Any) -> bool:
    return v is True or (isinstance(v, (int, str)) and str(v).lower() in ("1", "true"))


# -- reading and writing ---------------------------------------------------------------------------

def _collect(res: ImportResult, found: Iterable[tuple[str, str, str]]) -> None:
    seen: set[tuple[str, str]] = set()
    for kind, raw, what in found:
        try:
            v = _value(kind, raw)
        except _TooBroad as why:
            res.skipped[f"{why} (would match too much)"] += 1
            continue
        if v is None:
            res.skipped[f"invalid {kind} value"] += 1
            continue
        if (kind, v) in seen:
            continue
        seen.add((kind, v))
        res.indicators.append(Imported(kind, v, " ".join(what.split())[:300]))


def _looks_stix(doc: Any) -> bool:
    if isinstance(doc, dict):
        return doc.get("type") == "bundle" or (isinstance(doc.get("type"), str) and "spec_version" in doc)
    return isinstance(doc, list) and any(isinstance(o, dict) and "spec_version" in o for o in doc)


def read_indicators(data: bytes, name: str = "the file") -> ImportResult:
    """The indicators of a STIX 2.1 bundle or a MISP event (``{"Event": ...}``, a bare event, a list
    of them, or a REST ``{"response": [...]}``)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise IntelImportError(f"{name} is not UTF-8 text (a STIX 2.1 bundle or a MISP event JSON is)") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise IntelImportError(f"{name} is not JSON: {exc}") from None
    if _looks_stix(doc):
        spec = {str(o.get("spec_version")) for o in (_list(doc.get("objects")) if isinstance(doc, dict) else doc)
                if isinstance(o, dict) and o.get("spec_version") is not None}
        if spec and not spec & {"2.1"}:
            raise IntelImportError(f"{name} is STIX {', '.join(sorted(map(str, spec)))}; only STIX 2.1 is read")
        reader, what = (lambda: _from_stix(doc)), "STIX bundle"
    else:
        events = _misp_events(doc)
        if not events:
            raise IntelImportError(f"{name} is neither a STIX 2.1 bundle nor a MISP event JSON")
        reader, what = (lambda: _from_misp(events)), "MISP event"
    try:
        res = reader()
    except (TypeError, AttributeError, KeyError) as exc:
        # A value of a type the format never has, in a place not checked one by one: the file's fault.
        raise IntelImportError(f"{name}: a {what} with a malformed field ({type(exc).__name__}: {exc})") from None
    if not res.indicators:
        why = "; ".join(f"{r} ({n})" for r, n in res.skipped.most_common(5)) or "it holds none"
        raise IntelImportError(f"{name}: no indicator that can be matched ({why})")
    return res


def _slug(source: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", source).strip("-.")
    if len(s) > 80 or s != source:
        # Cut or changed: two sources (a list of events sharing their first uuids) must not get one
        # name, or the second import would silently replace the first.
        s = s[:64].strip("-.") + "-" + hashlib.sha256(source.encode("utf-8", "replace")).hexdigest()[:12]
    return s.strip("-") or "import"


def import_file(path: str | Path, directory: str | Path, *, name: str | None = None,
                max_bytes: int = MAX_IMPORT_BYTES) -> ImportResult:
    """Read ``path`` and write its indicators to ``directory/imported-<source>.csv`` (or ``name``),
    replacing an earlier import of the same source in one rename, so a running scanner reads either
    the old file or the new one."""
    if name is not None and ("/" in name or "\\" in name or os.sep in name or name.startswith((".", "~")) or not name.strip()):
        raise IntelImportError(f"--name {name!r} must be a plain file name")
    p = Path(path)
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IntelImportError(f"cannot read {p}: Is a directory")
        if not stat.S_ISREG(st.st_mode):
            # A FIFO would block and /dev/zero never ends: only a file that has a size is read.
            raise IntelImportError(f"cannot read {p}: not a regular file")
        if st.st_size > max_bytes:
            raise IntelImportError(f"{p} is {st.st_size:,} bytes, more than the {max_bytes:,} an import reads")
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise IntelImportError(f"{p} grew past the {max_bytes:,} bytes an import reads")
    except OSError as exc:
        raise IntelImportError(f"cannot read {p}: {exc.strerror or exc}") from None
    res = read_indicators(data, str(p))
    d = Path(directory)
    fname = name or f"imported-{res.format}-{_slug(res.source_id)}"
    if not fname.lower().endswith(".csv"):
        fname += ".csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["type", "value", "comment"])
    for i in res.indicators:
        w.writerow([i.type, i.value, i.comment])
    try:
        d.mkdir(parents=True, exist_ok=True)
        # Written under a name a store listing the directory skips (a leading "."), checked, then
        # renamed into place.
        fd, tmp = tempfile.mkstemp(prefix=".import-", suffix=".csv", dir=d)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(buf.getvalue())
            _check(Path(tmp), res)
            os.replace(tmp, d / fname)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise IntelImportError(f"cannot write to {d}: {exc.strerror or exc}") from None
    res.path = d / fname
    return res


def _check(tmp: Path, res: ImportResult) -> None:
    """Re-read the written file with the intel store: every row must load."""
    store = IntelStore([tmp], shipped=False, recheck_seconds=3600)
    if store.errors or len(store) != len(res.indicators):
        raise IntelImportError("the intel store could not read the imported rows back: " + "; ".join(store.problems[:3]))
