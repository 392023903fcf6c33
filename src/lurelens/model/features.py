"""What a campaign clusterer groups messages by: sender, reply and beacon domains, link hosts,
origin IP, recipients, attachment hashes and fuzzy fingerprints of the text and of the HTML
structure. Computed once per message at enrich time (``Message.features``) and reported in
``verdict.to_dict()["features"]``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ClusterFeatures"]


@dataclass(frozen=True, slots=True)
class ClusterFeatures:
    """Features of one message (not of its nested messages). Tuples are sorted and lower-cased.

    ``sender_domains``: From and Sender address domains. ``reply_to_domains``: Reply-To domains.
    ``return_path_domain``: the envelope sender's domain. ``beacon_hosts``: hosts that learn the
    message was opened (hidden images, URLs naming the recipient) and that the sender does not
    control (not under the From or a passing DKIM signature's registrable domain; the Return-Path
    does not count, an impostor chooses it);
    ``beacon_domains``: their registrable domains. ``resource_hosts``: every host fetched on open.
    ``link_hosts``: hosts links go to, and where redirect links lead; ``link_domains``: their
    registrable domains. ``origin_ip``: the connecting address of the first Received hop (from
    the top) whose address is not private, loopback or link-local: the first one outside the
    receiver's own network.
    ``recipients``: To, Cc, Delivered-To, X-Original-To, Envelope-To and Received ``for``.
    ``claimed``: ids of the entities (outlets, brands) the From display name names.
    ``attachment_sha256``: attachment hashes. ``text_fingerprint``: TLSH of the visible text
    (lower-cased, spaces collapsed), None when too short or uniform for TLSH (under 50 bytes).
    ``html_skeleton_fingerprint``: TLSH of the sequence of HTML tag names, None likewise.
    """

    sender_domains: tuple[str, ...] = ()
    reply_to_domains: tuple[str, ...] = ()
    return_path_domain: str | None = None
    beacon_hosts: tuple[str, ...] = ()
    beacon_domains: tuple[str, ...] = ()
    resource_hosts: tuple[str, ...] = ()
    link_hosts: tuple[str, ...] = ()
    link_domains: tuple[str, ...] = ()
    origin_ip: str | None = None
    recipients: tuple[str, ...] = ()
    claimed: tuple[str, ...] = ()
    attachment_sha256: tuple[str, ...] = ()
    text_fingerprint: str | None = None
    html_skeleton_fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Field by field (not dataclasses.asdict, which deep-copies): called for every stored verdict.
        out: dict[str, Any] = {}
        for name in _FIELD_NAMES:
            v = getattr(self, name)
            out[name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClusterFeatures":
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in d:
                v = d[f.name]
                kw[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)


_FIELD_NAMES = tuple(f.name for f in fields(ClusterFeatures))
