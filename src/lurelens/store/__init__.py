"""The hunt store: every verdict of a ``lurelens hunt`` kept in SQLite (default) or PostgreSQL,
queryable afterwards (``Store.hits()``, ``Store.get(id)``). Needs the ``hunt`` extra."""

from lurelens.store.store import SUSPICIOUS_LABELS, Store, Written, normalize_url

__all__ = ["Store", "Written", "normalize_url", "SUSPICIOUS_LABELS"]
