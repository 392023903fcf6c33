"""The hunt store's tables as SQLAlchemy 2 models: one row per stored message (identity, headers,
verdict, the full verdict JSON) with side tables for the values an analyst searches by (recipients,
findings, hosts, claimed entities, attachments), plus resume state (partitions) and runs.

The schema itself is created and changed only by the Alembic migrations in ``migrations/``; these
models are what the code reads and writes through."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Run", "StoredMessage", "Recipient", "FindingRow", "HostRow", "Claim", "AttachmentRow", "PartitionState",
           "TextMinHash", "MinHashBand"]

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
PK = BigInteger().with_variant(Integer(), "sqlite")
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here maps one Table (SQLAlchemy types __table__ as the wider FromClause).
        __table__: ClassVar[Table]


class Run(Base):
    """One ``lurelens hunt`` invocation: what it was asked and what it did."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # running, done, failed, interrupted
    sources: Mapped[Any] = mapped_column(JSONDoc)
    settings: Mapped[Any] = mapped_column(JSONDoc)
    stats: Mapped[Any | None] = mapped_column(JSONDoc)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


class StoredMessage(Base):
    """A message (or an item that could not be read or scanned: ``verdict = 'error'``). The identity
    is (source, locator, sha256); ``sha256`` is '' for an item whose bytes could not be read."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "locator", "sha256", name="uq_messages_identity"),
        Index("ix_messages_verdict", "verdict"),
        Index("ix_messages_sha256", "sha256"),
        Index("ix_messages_message_id", "message_id"),
        Index("ix_messages_from_domain", "from_domain"),
        Index("ix_messages_text_fingerprint", "text_fingerprint"),
    )
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    locator: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verdict: Mapped[str] = mapped_column(String(16))  # a Verdict label, or 'error'
    score: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(Text)  # the Date header as written
    date_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    from_addr: Mapped[str | None] = mapped_column(Text)
    from_name: Mapped[str | None] = mapped_column(Text)
    from_domain: Mapped[str | None] = mapped_column(Text)
    sender_addr: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(Text)  # addresses, comma-separated
    return_path: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    origin_ip: Mapped[str | None] = mapped_column(String(64))
    text_fingerprint: Mapped[str | None] = mapped_column(Text)
    html_fingerprint: Mapped[str | None] = mapped_column(Text)
    report: Mapped[Any] = mapped_column(JSONDoc)  # the full verdict JSON (scan --json)


class Recipient(Base):
    """One recipient of a message and how it was named: to, cc, delivered-to, x-original-to, received-for."""

    __tablename__ = "recipients"
    __table_args__ = (Index("ix_recipients_address", "address"),)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(Text, primary_key=True)


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_message", "message"), Index("ix_findings_symbol", "symbol"))
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column(String(32))
    nested: Mapped[str | None] = mapped_column(String(32))


class HostRow(Base):
    """A host a message names, by role: ``fetch`` (fetched on open), ``beacon`` (a hidden or tiny or
    tracking fetch), ``link`` (a link's host or its decoded destination)."""

    __tablename__ = "hosts"
    __table_args__ = (Index("ix_hosts_host", "host"), Index("ix_hosts_domain", "domain"))
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    host: Mapped[str] = mapped_column(Text, primary_key=True)
    domain: Mapped[str | None] = mapped_column(Text)


class Claim(Base):
    """An entity (outlet, brand, person) the message claims to come from."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_entity", "entity"),)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    entity: Mapped[str] = mapped_column(Text, primary_key=True)


class AttachmentRow(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_sha256", "sha256"),)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)


class TextMinHash(Base):
    """The MinHash signature of a suspicious-or-worse message's visible text (lurelens.store.neardup):
    ``NUM_PERM`` 32-bit values, compared to estimate the Jaccard similarity of two texts."""

    __tablename__ = "text_minhash"
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    shingles: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class MinHashBand(Base):
    """One LSH band hash of a message's signature: messages sharing a band hash are near-duplicate
    candidates (the band number is part of the hash, so one index on ``hash`` finds them)."""

    __tablename__ = "minhash_bands"
    __table_args__ = (Index("ix_minhash_bands_hash", "hash", "message"),)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hash: Mapped[int] = mapped_column(BigInteger)


class PartitionState(Base):
    """Resume state: a partition whose every item is stored, with the fingerprint it had then."""

    __tablename__ = "partitions"
    source: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # done
    messages: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
