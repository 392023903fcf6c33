"""``Store``: the hunt's database behind one small interface. SQLite file by default, PostgreSQL by
URL; the schema is created and upgraded by the Alembic migrations shipped in this package.

Every write of a partition's rows is one transaction that inserts with ``ON CONFLICT DO NOTHING`` on
the message identity (source, locator, sha256), so a partition that is scanned twice (a resumed hunt,
a Dask task re-run after its worker died, two hunts over one archive at once) stores each message
exactly once, and marks the partition done in the same transaction."""

from __future__ import annotations

import json
import operator
import os
import socket
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

from lurelens.errors import ConfigError
from lurelens.store.rows import clean_text
from lurelens.store.schema import (
    AttachmentRow,
    Claim,
    FindingRow,
    HostRow,
    MinHashBand,
    PartitionState,
    Recipient,
    Run,
    StoredMessage,
    TextMinHash,
)

__all__ = ["Store", "Written", "SchemaBehind", "normalize_url", "sqlite_file", "SUSPICIOUS_LABELS"]

SUSPICIOUS_LABELS = ("suspicious", "phishing", "recon")
# An arbitrary constant: the PostgreSQL advisory lock that serialises concurrent migrations.
_PG_MIGRATION_LOCK = 0x6C7572656C656E73 & 0x7FFFFFFFFFFFFFFF
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_CHILDREN = (
    ("recipients", Recipient),
    ("findings", FindingRow),
    ("hosts", HostRow),
    ("claims", Claim),
    ("attachments", AttachmentRow),
    ("text_minhash", TextMinHash),
    ("minhash_bands", MinHashBand),
)
_MESSAGE_COLUMNS = [c.name for c in StoredMessage.__table__.columns if c.name not in ("id", "run_id", "scanned_at")]
# Each side table's columns: "message" (the parent id) first, then what a row gives; autoincrement
# ids are left to the database.
_CHILD_COLUMNS = {
    name: ("message", *(c.name for c in model.__table__.columns if c.name != "message" and not
                        (c.primary_key and c.autoincrement is True or c.name == "id")))
    for name, model in _CHILDREN
}



def _getter(columns: tuple[str, ...]):
    get = operator.itemgetter(*columns)
    return get if len(columns) > 1 else (lambda d: (get(d),))


# A side-table row's values in column order, as one tuple.
_CHILD_GETTERS = {name: _getter(columns[1:]) for name, columns in _CHILD_COLUMNS.items()}


@dataclass(frozen=True)
class Written:
    """What one :meth:`Store.write` did: rows stored, rows that were there already, new rows by verdict."""

    stored: int
    already: int
    labels: dict[str, int]


def normalize_url(db: str) -> str:
    """A SQLAlchemy URL for ``--db``: a plain path is a SQLite file, ``postgresql://`` uses psycopg 3."""
    if "://" not in db:
        return "sqlite:///" + str(Path(db).expanduser().resolve())
    scheme, rest = db.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    return db


def sqlite_file(db: str) -> Path | None:
    """The file of a SQLite ``--db`` (a path or a ``sqlite:///`` URL); None for a server's URL or an
    in-memory database."""
    url = make_url(normalize_url(db))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database.removeprefix("file:")).expanduser()


class SchemaBehind(ConfigError):
    """The store's schema is older than this lurelens needs; opening it to write (a hunt) upgrades it."""

    def __init__(self, current: str, head: str | None):
        super().__init__(f"the store's schema is revision {current}, older than this lurelens needs ({head})")
        self.current, self.head = current, head


def _revisions() -> tuple[Any, str | None, set[str]]:
    """(Alembic config, head revision, every revision this lurelens knows)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    return cfg, script.get_current_head(), {r.revision for r in script.walk_revisions()}


def _newer(current: str, head: str | None) -> ConfigError:
    # Alembic would say "Can't locate revision": a newer lurelens wrote this store.
    return ConfigError(f"the store's schema is revision {current}, newer than this lurelens reads "
                       f"(up to {head}): upgrade lurelens to open it")


class _RawJSON(str):
    """JSON text already serialised (by a worker): written as it is."""


def _json_serializer(obj: Any) -> str:
    return obj if isinstance(obj, _RawJSON) else json.dumps(obj, ensure_ascii=False, default=str)


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The hunt store. ``Store(url).migrate()`` opens (and creates or upgrades) the database.

        >>> store = Store("lurelens.db").migrate()
        >>> for hit in store.hits():              # suspicious or worse, newest first
        ...     print(hit["id"], hit["verdict"], hit["locator"])
        >>> store.get(42)["findings"]
    """

    def __init__(self, url: str, *, busy_timeout: float = 120.0, readonly: bool = False):
        """``readonly``: the database is opened so that nothing can be written to it (SQLite's
        ``mode=ro``, PostgreSQL's read-only transactions) and a missing SQLite file is not created;
        the read commands (``hits``, ``show``) open it so, after :meth:`check`."""
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            url_ = make_url(self.url)
            if readonly and url_.database and url_.database != ":memory:":
                # An SQLite URI: the path percent-quoted, so "?" or "#" in a file name stays a name.
                from urllib.parse import quote

                url_ = url_.set(database="file:" + quote(url_.database.removeprefix("file:")),
                                query={**url_.query, "mode": "ro", "uri": "true"})
            self.engine: Engine = create_engine(url_, connect_args={"timeout": busy_timeout},
                                                json_serializer=_json_serializer)
            self._sqlite_setup(busy_timeout, readonly)
        else:
            args = {"options": "-c default_transaction_read_only=on"} if readonly else {}
            self.engine = create_engine(self.url, pool_pre_ping=True, json_serializer=_json_serializer, connect_args=args)

    def _sqlite_setup(self, busy_timeout: float, readonly: bool) -> None:
        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_conn, _record):
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            if not readonly:  # a reader leaves the journal mode as the hunt set it (WAL)
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
                cur.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; safe with WAL
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _begin(conn):
            # Take the write lock up front: a deferred transaction that reads and then writes can
            # fail at once with "database is locked" when another process wrote in between, and
            # the busy timeout does not help it. A reader never writes: it waits for no writer.
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    # -- schema ---------------------------------------------------------------------------------

    def migrate(self) -> Store:
        """Create the schema or bring it to the newest revision; safe when several processes open one
        database at once (the migration runs under the database's write lock)."""
        from alembic import command

        cfg, head, known = _revisions()
        current = self.revision()
        if current == head:
            return self
        if current is not None and current not in known:
            raise _newer(current, head)
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return self

    def check(self, *, need_head: bool = False) -> Store:
        """Make sure, without writing anything, that this is a lurelens store this version reads: at
        a known revision (any, or the newest with ``need_head``). Raises :class:`ConfigError` (no
        schema, a newer lurelens's) or :class:`SchemaBehind` (older than needed)."""
        _cfg, head, known = _revisions()
        current = self.revision()
        if current is None:
            raise ConfigError("no lurelens store in it (no schema revision)")
        if current not in known:
            raise _newer(current, head)
        if need_head and current != head:
            raise SchemaBehind(current, head)
        return self

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def _insert(self, table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def begin_run(self, sources: Sequence[str], settings: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                Run.__table__.insert().returning(Run.__table__.c.id),
                {"started_at": _now(), "state": "running", "sources": list(sources), "settings": settings,
                 "host": socket.gethostname(), "pid": os.getpid()},
            ).scalar_one()

    def finish_run(self, run_id: int, stats: dict[str, Any], state: str = "done") -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Run.__table__).where(Run.__table__.c.id == run_id)
                         .values(finished_at=_now(), state=state, stats=stats))

    def runs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(Run.__table__).order_by(Run.__table__.c.id))]

    def done_partitions(self, source: str) -> dict[str, tuple[str, int]]:
        """{key: (fingerprint, messages)} of the partitions of ``source`` stored completely."""
        t = PartitionState.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.key, t.c.fingerprint, t.c.messages)
                                .where(t.c.source == source, t.c.state == "done"))
            return {k: (fp, n) for k, fp, n in rows}

    def write(self, rows: Iterable[dict[str, Any]], *, run_id: int | None = None,
              partition: tuple[str, str, str] | None = None, messages: int | None = None,
              clean: bool = False) -> Written:
        """Store rows (from :func:`lurelens.store.rows.message_row` / ``error_row``) in one transaction
        and, when ``partition`` (source, key, fingerprint) is given, mark it done in the same one,
        holding ``messages`` rows (default: these rows; more when its other slices were written before).
        ``clean=True`` says every row came from ``message_row``/``error_row`` as they are, whose text
        is clean already (a hunt's rows): the pass that makes text acceptable is skipped."""
        # One order for every writer, so two transactions inserting overlapping keys cannot deadlock.
        rows = sorted(rows, key=lambda r: (r["source"], r["locator"], r["sha256"]))
        for attempt in range(8):
            try:
                with self.engine.begin() as conn:
                    new = self._write(conn, rows, run_id, clean)
                    if partition is not None:
                        self._mark_done(conn, partition, len(rows) if messages is None else messages, run_id)
                labels = Counter(rows[i]["verdict"] for i in new)
                return Written(len(new), len(rows) - len(new), dict(labels))
            except OperationalError as exc:
                # A PostgreSQL deadlock or serialisation failure, or SQLite still busy past its
                # timeout: the transaction was rolled back whole, so trying again is safe.
                if attempt == 7 or not _retryable(exc):
                    raise
                time.sleep(0.05 * 2 ** attempt)
        raise AssertionError("unreachable")

    def mark_done(self, partition: tuple[str, str, str], messages: int, run_id: int | None = None) -> None:
        """Mark a partition (source, key, fingerprint) done, holding ``messages`` stored rows, once
        every row of it was written (by :meth:`write` calls, e.g. from the hunt's workers)."""
        for attempt in range(8):
            try:
                with self.engine.begin() as conn:
                    self._mark_done(conn, partition, messages, run_id)
                return
            except OperationalError as exc:
                if attempt == 7 or not _retryable(exc):
                    raise
                time.sleep(0.05 * 2 ** attempt)

    def _write(self, conn: Connection, rows: list[dict[str, Any]], run_id: int | None, clean: bool = False) -> set[int]:
        """Insert what is new; the indexes (in ``rows``) of the rows inserted."""
        if not rows:
            return set()
        m = StoredMessage.__table__
        now = _now()
        params = [{**{c: r.get(c) for c in _MESSAGE_COLUMNS}, "run_id": run_id, "scanned_at": now} for r in rows]
        for p in params:
            if not clean:
                _clean_values(p)
            if isinstance(p["report"], str):
                p["report"] = _RawJSON(p["report"])
        stmt = self._insert(m).on_conflict_do_nothing(index_elements=["source", "locator", "sha256"]).returning(
            m.c.id, m.c.source, m.c.locator, m.c.sha256)
        ids = {(s, loc, h): i for i, s, loc, h in conn.execute(stmt, params)}
        if not ids:
            return set()
        pks = [ids.get((p["source"], p["locator"], p["sha256"])) for p in params]
        for name, model in _CHILDREN:
            # Side-table rows go straight to the driver's executemany as tuples: about a dozen a
            # message, and SQLAlchemy's per-row parameter processing cost more than the inserts.
            columns = _CHILD_COLUMNS[name]
            get = _CHILD_GETTERS[name]
            children = []
            for r, pk in zip(rows, pks, strict=True):
                if pk is None:
                    continue
                for c in r.get(name) or ():
                    try:
                        values = get(c)
                    except KeyError:  # a row built by another caller may leave a column out
                        values = tuple(c.get(col) for col in columns[1:])
                    if not clean:
                        values = tuple(map(_clean_value, values))
                    children.append((*values, pk))
            if children:
                conn.exec_driver_sql(self._child_sql(model.__table__.name, columns), children)
        return {i for i, pk in enumerate(pks) if pk is not None}

    def _child_sql(self, table: str, columns: tuple[str, ...]) -> str:
        mark = "?" if self.dialect == "sqlite" else "%s"
        order = (*columns[1:], columns[0])  # the parent id last, as the tuples above have it
        names = ", ".join('"' + c + '"' for c in order)  # quoted: "group" is an SQL keyword
        marks = ", ".join([mark] * len(order))
        return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"

    def _mark_done(self, conn: Connection, partition: tuple[str, str, str], messages: int, run_id: int | None) -> None:
        source, key, fingerprint = partition
        t = PartitionState.__table__
        stmt = self._insert(t).values(source=source, key=key, fingerprint=fingerprint, state="done",
                                      messages=messages, run_id=run_id, updated_at=_now())
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["source", "key"],
            set_={"fingerprint": fingerprint, "state": "done", "messages": messages, "run_id": run_id,
                  "updated_at": _now()}))

    # -- reading --------------------------------------------------------------------------------

    def count(self, *, verdict: str | None = None) -> int:
        m = StoredMessage.__table__
        q = select(func.count()).select_from(m)
        if verdict is not None:
            q = q.where(m.c.verdict == verdict)
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def hits(self, labels: Sequence[str] | None = None, *, all: bool = False,  # noqa: A002 - mirrors --all
             limit: int | None = None, sender: str | None = None, recipient: str | None = None,
             subject: str | None = None, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Stored messages as their ``scan --json`` object plus ``id``, ``source`` and ``locator``:
        by default those suspicious or worse; ``labels`` picks verdicts ('error' for the unreadable),
        ``all`` takes every row. ``sender`` (From address or name), ``recipient`` and ``subject``
        keep rows containing that text (any case); ``since``/``until`` bound the Date header (UTC).
        Highest score first."""
        m = StoredMessage.__table__
        q = select(m.c.id, m.c.source, m.c.locator, m.c.sha256, m.c.report)
        if not all:
            q = q.where(m.c.verdict.in_(list(labels) if labels else SUSPICIOUS_LABELS))
        if sender:
            q = q.where(func.lower(m.c.from_addr).contains(sender.lower(), autoescape=True)
                        | func.lower(m.c.from_name).contains(sender.lower(), autoescape=True))
        if subject:
            q = q.where(func.lower(m.c.subject).contains(subject.lower(), autoescape=True))
        if recipient:
            r = Recipient.__table__
            q = q.where(m.c.id.in_(select(r.c.message).where(
                func.lower(r.c.address).contains(recipient.lower(), autoescape=True))))
        if since is not None:
            q = q.where(m.c.date_utc >= since)
        if until is not None:
            q = q.where(m.c.date_utc <= until)
        q = q.order_by(m.c.score.desc().nulls_last(), m.c.id)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            for row in conn.execute(q.execution_options(yield_per=500)):
                yield _hit(row)

    def get(self, id: int) -> dict[str, Any] | None:  # noqa: A002 - the stored message's id
        """The stored report of message ``id`` (the ``scan --json`` object plus id, source, locator,
        sha256, recipients), or None."""
        m = StoredMessage.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(m.c.id, m.c.source, m.c.locator, m.c.sha256, m.c.report)
                               .where(m.c.id == id)).first()
            if row is None:
                return None
            d = _hit(row)
            r = Recipient.__table__
            d["recipients"] = [{"kind": k, "address": a} for k, a in
                               conn.execute(select(r.c.kind, r.c.address).where(r.c.message == id)
                                            .order_by(r.c.kind, r.c.address))]
            return d

    def table(self, name: str) -> list[dict[str, Any]]:
        """Every row of one table (tests and small exports)."""
        from lurelens.store.schema import Base

        t = Base.metadata.tables[name]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t))]


def _clean_values(d: dict[str, Any]) -> dict[str, Any]:
    """Text every database accepts in every string value (rows from message_row are clean already;
    this guards rows built by other callers)."""
    for k, v in d.items():
        if type(v) is str and not (v.isascii() and "\x00" not in v):
            d[k] = clean_text(v)
    return d


def _clean_value(v: Any) -> Any:
    if type(v) is str and not (v.isascii() and "\x00" not in v):
        return clean_text(v)
    return v


def _hit(row) -> dict[str, Any]:
    report = row.report if isinstance(row.report, dict) else {}
    return {"id": row.id, "source": row.source, "locator": row.locator, "sha256": row.sha256 or None, **report}


def _retryable(exc: OperationalError) -> bool:
    text_ = str(exc.orig or exc).lower()
    return any(s in text_ for s in ("deadlock", "could not serialize", "database is locked", "busy"))
