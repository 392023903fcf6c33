"""The indicator store: the shipped and local indicator files, indexed for lookups, and reloaded
when the files change on disk (an immutable snapshot swapped whole, so threads never see half of
one)."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

from lurelens.parse.urls import normalise_host
from lurelens.registry.intel.formats import _File, parse_csv, parse_lines
from lurelens.registry.intel.normalise import _parse_ip, _url_key, normalise_domain, normalise_email

__all__ = ["IntelHit", "IntelStore", "default_store"]


@dataclass(frozen=True, slots=True)
class IntelHit:
    """A lookup that matched: the listed indicator, its type, the file it came from and its comment."""

    indicator: str
    type: str
    source_file: str
    comment: str
    line: int = 0


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
                key = e.key
                if not isinstance(key, str):  # an IP address or range
                    if key.prefixlen == key.max_prefixlen:
                        idx.ips.setdefault(key.network_address, hit)
                    else:
                        idx.nets.setdefault((key.version, key.prefixlen), {}).setdefault(int(key.network_address), hit)
                elif e.type == "domain":
                    idx.domains.setdefault(key, hit)
                elif e.type == "url":
                    idx.urls.setdefault(key, hit)
                elif e.type == "email":
                    idx.emails.setdefault(key, hit)
                else:
                    idx.hashes.setdefault(key, hit)
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

    def refresh(self, force: bool = False) -> bool:
        """Re-read files that were added, removed or changed. True when the index was rebuilt."""
        now = time.monotonic()
        if not force and self._checked_at is not None and now - self._checked_at < self.recheck_seconds:
            return False
        if not self._lock.acquire(blocking=force):
            return False  # another thread is reloading; keep using the current snapshot
        try:
            self._checked_at = now
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
        h = normalise_host(host)
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
