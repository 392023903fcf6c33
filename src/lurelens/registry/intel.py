"""Threat-intel indicators (domains, IPs, URLs, file hashes, e-mail addresses) from local files.

Files are read from the shipped ``lurelens/data/iocs/`` plus the directories the store is given
(front ends pass ``$LURELENS_INTEL_DIR`` and ``<data overlay>/iocs/``; the store itself reads no
environment). Every ``*.txt``
file holds one indicator per line::

    domain  evil.example.net      # comment, e.g. a report URL
    ip      203.0.113.0/24        # CIDR ranges are accepted
    url     hxxps://evil[.]example[.]net/a.php
    sha256  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

(a line with a value only has its type inferred), and every ``*.csv`` file has the columns
``type,value,comment`` (a header row is optional). Defanged forms (``hxxp``, ``[.]``, ``(dot)``,
``[@]``, ``[:]``) are accepted. A malformed line is skipped and counted in :attr:`IntelStore.errors`;
loading never raises.

The store notices when files change on disk: at most once every ``recheck_seconds`` (0 = on every
lookup) a lookup compares the directory listings and each file's mtime and size with what was
loaded, re-reads only the files that changed and swaps in a new index. Lookups read an immutable
snapshot, so concurrent threads in one process see either the old or the new index, never half of
one. See docs/intel.md.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urlsplit

__all__ = [
    "INDICATOR_TYPES",
    "IntelHit",
    "IntelStore",
    "default_store",
    "normalise_domain",
    "normalise_email",
    "normalise_url",
    "refang",
]

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
_HASH_LEN = {32: "md5", 40: "sha1", 64: "sha256"}

# Networks broader than this are refused: a /0 or /4 in a sloppy feed would flag everything.
_MIN_PREFIX = {4: 8, 6: 16}

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_HEX = re.compile(r"^[0-9a-f]+$")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*)://", re.I)
_COMMENT = re.compile(r"\s#\s?|\s+#$")

_REFANG = [
    (re.compile(r"^h(?:xx|\*\*)p(s?)(?=\[?:)", re.I), r"http\1"),
    (re.compile(r"^fxp(s?)(?=\[?:)", re.I), r"ftp\1"),
    (re.compile(r"\[\s*:\s*\]\s*//|\[://\]"), "://"),
    (re.compile(r"\[\s*:\s*\]"), ":"),
    (re.compile(r"\s*(?:\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\})\s*", re.I), "."),
    (re.compile(r"\s*(?:\[\s*(?:@|at)\s*\]|\(\s*(?:@|at)\s*\)|\{\s*(?:@|at)\s*\})\s*", re.I), "@"),
    (re.compile(r"\[/\]"), "/"),
]


def refang(value: str) -> str:
    """Undo the usual defanging of indicators: hxxp, [.], (dot), [@], [at], [:], [://]."""
    v = value.strip().strip("'\"<>").strip()
    for rx, rep in _REFANG:
        v = rx.sub(rep, v)
    return v


def normalise_domain(value: str) -> str | None:
    """Lowercase ASCII (IDNA) host name without trailing dot, or None when it is not one."""
    v = refang(value).lower().rstrip(".")
    if v.startswith("*."):
        v = v[2:]
    v = v.lstrip(".")
    if not v or len(v) > 253 or "/" in v or ":" in v or "@" in v or " " in v:
        return None
    if not v.isascii():
        try:
            import idna

            v = idna.encode(v, uts46=True).decode("ascii")
        except Exception:  # noqa: BLE001 - not encodable: not a host name
            try:
                v = v.encode("idna").decode("ascii")
            except UnicodeError:
                return None
    labels = v.split(".")
    if len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        return None
    if labels[-1].isdigit():  # 1.2.3.4 is an IP, not a domain
        return None
    return v


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    v = value.strip().strip("[]")
    if v.lower().startswith("ipv6:"):
        v = v[5:]
    v = v.split("%", 1)[0]  # zone index
    try:
        ip = ipaddress.ip_address(v)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An IP or CIDR range from an indicator (``1.2.3.4``, ``1.2.3.4:443``, ``[2001:db8::1]:443``, ``10.0.0.0/8``)."""
    v = refang(value)
    if "/" in v:
        try:
            return ipaddress.ip_network(v, strict=False)
        except ValueError:
            return None
    if v.startswith("[") and "]" in v:  # [v6]:port
        v = v[1 : v.index("]")]
    elif v.count(":") == 1:  # v4:port
        v = v.split(":", 1)[0]
    ip = _parse_ip(v)
    return ipaddress.ip_network(ip) if ip is not None else None


def _split_host_port(netloc: str) -> tuple[str, str]:
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        end = netloc.find("]")
        if end != -1:
            rest = netloc[end + 1 :]
            return netloc[: end + 1], rest[1:] if rest.startswith(":") else ""
    if netloc.count(":") == 1:
        h, _, p = netloc.partition(":")
        return h, p
    return netloc, ""


def _normalise_host(host: str) -> str | None:
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    ip = _parse_ip(host)
    if ip is not None:
        return f"[{ip}]" if ip.version == 6 else str(ip)
    return normalise_domain(host)


def _url_key(value: str) -> tuple[str, str, str] | None:
    """(host[:port], path, query) of a URL, normalised; scheme-insensitive (http and https are alike)."""
    v = refang(value)
    v = re.sub(r"[\t\r\n]", "", v)
    m = _SCHEME.match(v)
    if not m:
        if v.startswith("//"):
            v = "http:" + v
        else:
            v = "http://" + v
        m = _SCHEME.match(v)
    scheme = m.group(1).lower()
    v = v.replace("\\", "/")
    try:
        parts = urlsplit(v)
    except ValueError:
        return None
    host, port = _split_host_port(parts.netloc)
    nhost = _normalise_host(host)
    if nhost is None:
        return None
    if port and not port.isdigit():
        return None
    if (scheme, port) in (("http", "80"), ("https", "443"), ("ftp", "21")):
        port = ""
    netloc = f"{nhost}:{port}" if port else nhost
    return netloc, parts.path or "/", parts.query


def normalise_url(value: str) -> str | None:
    """The form URLs are indexed and looked up in: ``host[:port]/path[?query]``, no scheme or fragment."""
    k = _url_key(value)
    if k is None:
        return None
    netloc, path, query = k
    return f"{netloc}{path}" + (f"?{query}" if query else "")


def normalise_email(value: str) -> str | None:
    v = refang(value).strip().strip("<>").lower()
    if v.startswith("mailto:"):
        v = v[7:].split("?", 1)[0]
    local, at, dom = v.rpartition("@")
    if not at or not local or " " in local or len(local) > 128:
        return None
    d = normalise_domain(dom)
    return f"{local}@{d}" if d else None


def _infer_type(value: str) -> str | None:
    v = refang(value)
    low = v.lower()
    if _SCHEME.match(v):
        return "url"
    if "@" in v:
        return "email"
    if _parse_network(v) is not None:
        return "ip"
    if _HEX.match(low) and len(low) in _HASH_LEN:
        return _HASH_LEN[len(low)]
    if "/" in v:
        return "url"
    return "domain"


@dataclass(frozen=True, slots=True)
class IntelHit:
    """A lookup that matched: the listed indicator, its type, the file it came from and its comment."""

    indicator: str
    type: str
    source_file: str
    comment: str
    line: int = 0


@dataclass(slots=True)
class _Entry:
    type: str
    key: object  # normalised value: str, or an ip_network
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


def _normalise(kind: str, value: str) -> tuple[str, object, str] | None:
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


@dataclass(slots=True)
class _Index:
    domains: dict[str, IntelHit] = field(default_factory=dict)
    ips: dict[object, IntelHit] = field(default_factory=dict)  # ip_address -> hit
    nets: dict[tuple[int, int], dict[int, IntelHit]] = field(default_factory=dict)  # (version, prefix) -> {int(net): hit}
    urls: dict[str, IntelHit] = field(default_factory=dict)
    hashes: dict[str, IntelHit] = field(default_factory=dict)
    emails: dict[str, IntelHit] = field(default_factory=dict)
    count: int = 0

    @classmethod
    def build(cls, files: Iterable[_File]) -> "_Index":
        idx = cls()
        for f in files:
            for e in f.entries:
                hit = IntelHit(e.indicator, e.type, f.source, e.comment, e.line)
                idx.count += 1
                if e.type == "domain":
                    idx.domains.setdefault(e.key, hit)
                elif e.type == "ip":
                    net = e.key
                    if net.prefixlen == net.max_prefixlen:
                        idx.ips.setdefault(net.network_address, hit)
                    else:
                        idx.nets.setdefault((net.version, net.prefixlen), {}).setdefault(int(net.network_address), hit)
                elif e.type == "url":
                    idx.urls.setdefault(e.key, hit)
                elif e.type == "email":
                    idx.emails.setdefault(e.key, hit)
                else:
                    idx.hashes.setdefault(e.key, hit)
        # Longest prefixes first, so the most specific range is reported.
        idx.nets = dict(sorted(idx.nets.items(), key=lambda kv: (kv[0][0], -kv[0][1])))
        return idx


def _shipped_dir():
    try:
        return resources.files("lurelens") / "data" / "iocs"
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


def _wanted(name: str) -> bool:
    low = name.lower()
    return (low.endswith(".txt") or low.endswith(".csv")) and not name.startswith((".", "~"))


class IntelStore:
    """Indicators from the shipped and local files, reloaded when the files change on disk.

    ``dirs``: extra directories (or single files) to read. ``shipped``: include
    ``lurelens/data/iocs``. ``overlay``: the data overlay directory whose ``iocs/`` subdirectory is
    read (None: none). ``env`` is kept for old callers and must be False: the store reads no
    environment (front ends pass ``lurelens.adapters.environment.intel_dirs()`` in ``dirs``).

    Lookups are safe from several threads; the store pickles (its lock is rebuilt on unpickling).
    """

    def __init__(
        self,
        dirs: Iterable[str | Path] = (),
        *,
        shipped: bool = True,
        env: bool = False,
        overlay: str | Path | None = None,
        recheck_seconds: float = 5.0,
    ):
        if env or overlay == "auto":
            raise ValueError("IntelStore reads no environment: pass the directories "
                             "(lurelens.adapters.environment.intel_dirs(), data_overlay_dir())")
        self.dirs = [Path(d) for d in dirs]
        self.shipped = shipped
        self.overlay = overlay
        self.recheck_seconds = float(recheck_seconds)
        self._files: dict[str, _File] = {}
        self._index = _Index()
        self._checked_at: float | None = None
        self._lock = threading.Lock()
        self.reloads = 0  # how many times the index was rebuilt (for tests and stats)
        self.refresh(force=True)

    # ------------------------------------------------------------------ loading

    def directories(self) -> list[Path]:
        """The user directories (or files) read now, in order."""
        out = list(self.dirs)
        if self.overlay is not None:
            out.append(Path(self.overlay) / "iocs")
        return out

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _listing(self) -> Iterator[tuple[str, Path | None, object]]:
        """(key, filesystem path or None, traversable) for every indicator file, in load order."""
        sd = _shipped_dir() if self.shipped else None
        if sd is not None:
            try:
                if sd.is_dir():
                    for t in sorted(sd.iterdir(), key=lambda t: t.name):
                        if _wanted(t.name) and t.is_file():
                            p = Path(str(t))
                            yield (f"lurelens/data/iocs/{t.name}", p if p.is_file() else None, t)
            except OSError:
                pass
        seen: set[str] = set()
        for d in self.directories():
            try:
                if d.is_file():
                    paths = [d]
                elif d.is_dir():
                    paths = sorted(p for p in d.iterdir() if _wanted(p.name) and p.is_file())
                else:
                    continue
            except OSError:
                continue
            for p in paths:
                key = str(p)
                if key not in seen:
                    seen.add(key)
                    yield (key, p, p)

    @staticmethod
    def _stamp(p: Path | None) -> tuple[int, int] | None:
        if p is None:
            return None
        try:
            st = p.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    @staticmethod
    def _load(key: str, trav, stamp) -> _File:
        try:
            data = trav.read_bytes()
        except OSError as exc:
            return _File(key, stamp, [], 1, [f"{key}: cannot read: {exc}"])
        text = data.decode("utf-8-sig", errors="replace")
        f = parse_csv(text, key) if key.lower().endswith(".csv") else parse_lines(text, key)
        f.stamp = stamp
        return f

    def refresh(self, force: bool = False, *, now: bool = False) -> bool:
        """Re-read files that were added, removed or changed (``force``: every file). True when the
        index was rebuilt. Without ``now`` or ``force`` the files are looked at no more often than
        every ``recheck_seconds``, and not while another thread is reloading."""
        t = time.monotonic()
        if not (force or now) and self._checked_at is not None and t - self._checked_at < self.recheck_seconds:
            return False
        if not self._lock.acquire(blocking=force or now):
            return False  # another thread is reloading; keep using the current snapshot
        try:
            self._checked_at = t
            new: dict[str, _File] = {}
            changed = False
            for key, path, trav in self._listing():
                stamp = self._stamp(path)
                old = self._files.get(key)
                if old is not None and not force and (stamp is None or old.stamp == stamp):
                    new[key] = old
                    continue
                new[key] = self._load(key, trav, stamp)
                changed = True
            if set(new) != set(self._files):
                changed = True
            if changed or force:
                self._files = new
                self._index = _Index.build(new.values())
                self.reloads += 1
            return changed
        finally:
            self._lock.release()

    def reload(self) -> None:
        """Re-read every file now."""
        self.refresh(force=True)

    def _current(self) -> _Index:
        if self.recheck_seconds <= 0 or self._checked_at is None or (
            time.monotonic() - self._checked_at >= self.recheck_seconds
        ):
            self.refresh()
        return self._index

    # ------------------------------------------------------------------ state

    @property
    def errors(self) -> int:
        """Malformed lines (and unreadable files) skipped in the files loaded now."""
        return sum(f.errors for f in self._files.values())

    @property
    def problems(self) -> list[str]:
        """The first few malformed lines of each file, as ``file:line: ...`` messages."""
        return [p for f in self._files.values() for p in f.problems]

    @property
    def files(self) -> list[str]:
        return list(self._files)

    def __len__(self) -> int:
        return self._index.count

    def stats(self) -> dict[str, object]:
        idx = self._index
        return {
            "files": len(self._files),
            "indicators": idx.count,
            "domains": len(idx.domains),
            "ips": len(idx.ips) + sum(len(v) for v in idx.nets.values()),
            "urls": len(idx.urls),
            "hashes": len(idx.hashes),
            "emails": len(idx.emails),
            "errors": self.errors,
        }

    # ------------------------------------------------------------------ lookups

    def match_domain(self, host: str) -> IntelHit | None:
        """The listed domain equal to ``host`` or a parent of it (a listed domain covers its subdomains)."""
        if not host:
            return None
        idx = self._current()
        if not idx.domains:
            return None
        h = host.strip().rstrip(".").lower()
        if not h.isascii():
            h = normalise_domain(h) or ""
        if not h or (h[-1].isdigit() or ":" in h) and _parse_ip(h) is not None:
            return None
        labels = h.split(".")
        for i in range(len(labels)):
            hit = idx.domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return None

    def match_ip(self, ip) -> IntelHit | None:
        """The listed address equal to ``ip``, or the most specific listed range containing it."""
        idx = self._current()
        if not idx.ips and not idx.nets:
            return None
        addr = ip if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else _parse_ip(str(ip))
        if addr is None:
            return None
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        hit = idx.ips.get(addr)
        if hit is not None:
            return hit
        n = int(addr)
        bits = addr.max_prefixlen
        for (version, prefix), table in idx.nets.items():
            if version != addr.version:
                continue
            masked = n >> (bits - prefix) << (bits - prefix)
            hit = table.get(masked)
            if hit is not None:
                return hit
        return None

    def match_url(self, url: str) -> IntelHit | None:
        """A listed URL equal to ``url`` (scheme, default port, fragment and host case ignored).

        A listed URL without a query also matches the same URL with one; a listed URL ending in
        ``/`` covers every URL below that path.
        """
        idx = self._current()
        if not idx.urls or not url:
            return None
        k = _url_key(url)
        if k is None:
            return None
        netloc, path, query = k
        if query:
            hit = idx.urls.get(f"{netloc}{path}?{query}")
            if hit is not None:
                return hit
        hit = idx.urls.get(f"{netloc}{path}")
        if hit is not None:
            return hit
        p = path
        while True:
            cut = p.rstrip("/").rfind("/")
            if cut < 0:
                return None
            p = p[: cut + 1]
            hit = idx.urls.get(f"{netloc}{p}")
            if hit is not None:
                return hit
            if p == "/":
                return None

    def match_hash(self, hexdigest: str) -> IntelHit | None:
        """A listed MD5, SHA-1 or SHA-256 (chosen by length)."""
        if not hexdigest:
            return None
        idx = self._current()
        return idx.hashes.get(hexdigest.strip().lower()) if idx.hashes else None

    def match_email(self, addr: str) -> IntelHit | None:
        if not addr:
            return None
        idx = self._current()
        if not idx.emails:
            return None
        e = normalise_email(addr)
        return idx.emails.get(e) if e else None


_DEFAULTS: dict[str, IntelStore] = {}
_DEFAULTS_LOCK = threading.Lock()


def default_store(overlay: str | Path | None = None) -> IntelStore:
    """One shared store per overlay directory: the shipped files and ``<overlay>/iocs``."""
    key = str(overlay)
    store = _DEFAULTS.get(key)
    if store is None:
        with _DEFAULTS_LOCK:
            store = _DEFAULTS.get(key)
            if store is None:
                store = IntelStore(overlay=overlay)
                _DEFAULTS[key] = store
    return store
