"""The hunt store: every verdict of a ``lurelens hunt`` kept in SQLite (default) or PostgreSQL,
queryable afterwards (``Store.hits()``, ``Store.get(id)``). Needs the ``hunt`` extra."""

from lurelens.store.store import SUSPICIOUS_LABELS, SchemaBehind, Store, Written, normalize_url, sqlite_file

__all__ = ["Store", "Written", "SchemaBehind", "normalize_url", "sqlite_file", "SUSPICIOUS_LABELS"]
