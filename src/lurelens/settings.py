"""Everything a process needs to build the same Scanner: a frozen, picklable settings object.

Front ends that run scans in other processes (the hunt's worker pool and Dask workers, API workers,
milter children) ship a ``ScannerSettings`` and call ``Scanner.from_settings`` there, instead of
shipping a Scanner with its loaded registries."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lurelens.parse import Limits

__all__ = ["ScannerSettings"]


@dataclass(frozen=True, slots=True)
class ScannerSettings:
    """The settings of a Scanner. Paths are strings so the object pickles and hashes.

    ``data_dir``: the local data overlay directory (``None``: none). ``intel_dirs``: extra indicator
    files or directories. ``scoring_file``: a scores.toml to use instead of the shipped one.
    ``trusted_authserv_ids``: authserv-ids whose Authentication-Results are trusted.
    ``verify_auth`` and the ``dns_*``/``trusted_hop*`` fields: lurelens's own SPF/DKIM/ARC/DMARC
    verification (docs/auth.md); off by default, so a scan needs no network.
    """

    limits: Limits = field(default_factory=Limits)
    scoring_file: str | None = None
    data_dir: str | None = None
    intel_dirs: tuple[str, ...] = ()
    trusted_authserv_ids: tuple[str, ...] = ()
    verify_auth: bool = False  # check SPF, DKIM, ARC and DMARC against DNS ourselves
    dns_server: str | None = None  # "host[:port]" for verification; None: the system's resolvers
    dns_timeout: float = 2.0  # seconds per DNS query
    trusted_hop: int = 1  # which Received header (from the top) gives SPF's client IP and HELO
    trusted_hop_host: str | None = None  # or: the topmost Received header written by this host

    def with_(self, **changes: Any) -> "ScannerSettings":
        """A copy with some fields changed."""
        return replace(self, **changes)
