"""The campaign tables, in the hunt store's schema (created by the store's Alembic migration 0002):
the link keys of each indexed message, its near-duplicate edges, its campaign and why it is there,
and one summary row per campaign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lurelens.store.schema import Base, JSONDoc

__all__ = ["CampaignKey", "NearDuplicate", "CampaignMember", "Campaign"]


class CampaignKey(Base):
    """An exact link key of a message (``beacon-host``, ``origin-ip``, ...): two messages with one
    key in common are in one campaign."""

    __tablename__ = "campaign_keys"
    __table_args__ = (Index("ix_campaign_keys_value", "kind", "value"),)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)


class NearDuplicate(Base):
    """Two messages claiming the same identity whose texts are near-duplicates (a < b): by MinHash
    (``method`` 'minhash', ``similarity`` the Jaccard estimate) or, for messages stored without a
    signature, by TLSH (``method`` 'tlsh', ``distance``)."""

    __tablename__ = "campaign_near"
    a: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    b: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    claim: Mapped[str] = mapped_column(Text)
    distance: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(8), server_default="tlsh")  # migration 0003
    similarity: Mapped[float | None] = mapped_column(Float)


class CampaignMember(Base):
    """A message indexed for campaigns (suspicious or worse), its campaign and the evidence linking it."""

    __tablename__ = "campaign_members"
    __table_args__ = (Index("ix_campaign_members_campaign", "campaign"),)
    message: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    campaign: Mapped[str | None] = mapped_column(String(40))
    evidence: Mapped[Any | None] = mapped_column(JSONDoc)


class Campaign(Base):
    """One campaign: its stable id (from its earliest member), name, span, size and full summary."""

    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[str | None] = mapped_column(String(40))  # ISO 8601 UTC
    last_seen: Mapped[str | None] = mapped_column(String(40))
    messages: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[int] = mapped_column(Integer)
    threat: Mapped[float] = mapped_column(Float)
    summary: Mapped[Any] = mapped_column(JSONDoc)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
