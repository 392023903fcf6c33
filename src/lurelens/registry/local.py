"""The site's own allow lists, kept in the data overlay (``allowed_senders.txt``, ``allowed_hosts.txt``)
and written by analysts (the API's ``POST /v1/feedback``) or by hand.

Unlike the shipped registries these files change while a server runs, so the lists re-read them when
their size or mtime changes: at most every ``recheck_seconds`` on a lookup, or at once on
:meth:`LocalLists.refresh`. Lookups read an immutable snapshot, so threads see the old or the new
lists, never half of one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ALLOWED_HOSTS", "ALLOWED_SENDERS", "LocalLists"]

ALLOWED_SENDERS = "allowed_senders.txt"  # an address (user@example.org) or a domain (example.org) a line
ALLOWED_HOSTS = "allowed_hosts.txt"  # a host a line; covers its subdomains


@dataclass(frozen=True)
class _Snapshot:
    stamps: tuple[tuple[int, int] | None, ...]
    senders: frozenset[str]
    hosts: frozenset[str]


def _read(path: Path) -> frozenset[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    out = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip().lower().rstrip(".")
        if line:
            out.add(line)
    return frozenset(out)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _suffixes(host: str):
    parts = host.split(".")
    for i in range(len(parts) - 1):
        yield ".".join(parts[i:])


class LocalLists:
    """Allowed senders and hosts from the overlay directory ``extra_dir`` (None: empty lists)."""

    def __init__(self, extra_dir: Path | str | None, *, recheck_seconds: float = 5.0):
        self.extra_dir = Path(extra_dir) if extra_dir else None
        self.recheck_seconds = recheck_seconds
        self._checked_at = 0.0
        self._snap = _Snapshot((), frozenset(), frozenset())
        self.refresh()

    def _paths(self) -> tuple[Path, Path] | None:
        if self.extra_dir is None:
            return None
        return self.extra_dir / ALLOWED_SENDERS, self.extra_dir / ALLOWED_HOSTS

    def refresh(self) -> bool:
        """Re-read the files if they changed on disk. True when the lists were replaced."""
        paths = self._paths()
        self._checked_at = time.monotonic()
        if paths is None:
            return False
        stamps = tuple(_stamp(p) for p in paths)
        if stamps == self._snap.stamps:
            return False
        # No lock: two threads that race here each read the files and assign a whole snapshot (one
        # attribute store), and either snapshot is a consistent reading of them.
        self._snap = _Snapshot(stamps, _read(paths[0]), _read(paths[1]))
        return True

    def _current(self) -> _Snapshot:
        if time.monotonic() - self._checked_at >= self.recheck_seconds:
            self.refresh()
        return self._snap

    @property
    def senders(self) -> frozenset[str]:
        return self._current().senders

    @property
    def hosts(self) -> frozenset[str]:
        return self._current().hosts

    def sender_entry(self, addr: str) -> str | None:
        """The entry that allows this address: the address itself, its domain or a parent domain."""
        addr = (addr or "").strip().lower()
        senders = self._current().senders
        if not addr or not senders:
            return None
        if addr in senders:
            return addr
        domain = addr.rpartition("@")[2]
        return next((s for s in _suffixes(domain) if s in senders), None) if domain else None

    def host_entry(self, host: str) -> str | None:
        """The entry that allows this host: the host or a parent domain of it."""
        host = (host or "").strip().lower().rstrip(".")
        hosts = self._current().hosts
        if not host or not hosts:
            return None
        if host in hosts:
            return host
        return next((s for s in _suffixes(host) if s in hosts), None)
