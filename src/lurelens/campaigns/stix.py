"""A campaign as a STIX 2.1 bundle (``lurelens export --format stix``), built with the ``stix2``
library: the campaign, indicators with STIX patterns, the beacon hosts as reconnaissance
infrastructure, the messages as e-mail observables, ATT&CK attack patterns, relationships, the
producer's identity and a TLP 2.0 marking (TLP:AMBER+STRICT unless told otherwise).

Ids are deterministic: SDOs get UUIDv5 ids from what they describe, and observables get the STIX
2.1 UUIDv5 ids of their contributing properties, so two organisations exporting the same lure
produce the same observables. Recipients are pseudonymised with a keyed hash (HMAC-SHA256) unless
the caller asks for them in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

__all__ = ["stix_bundle", "TLP_LEVELS", "ATTACK_NAMES", "pseudonym"]

# The OASIS TLP 2.0 marking definitions for STIX 2.1 (fixed ids, one extension definition).
_TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_LEVELS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# A fixed creation time for the producer identity: its id and content never change.
_EPOCH = "2026-01-01T00:00:00.000Z"
ATTACK_NAMES = {
    "T1598.003": "Phishing for Information: Spearphishing Link",
    "T1598": "Phishing for Information",
    "T1566.002": "Phishing: Spearphishing Link",
    "T1566.001": "Phishing: Spearphishing Attachment",
    "T1656": "Impersonation",
    "T1589": "Gather Victim Identity Information",
    "T1589.002": "Gather Victim Identity Information: Email Addresses",
    "T1590": "Gather Victim Network Information",
    "T1590.005": "Gather Victim Network Information: IP Addresses",
    "T1592": "Gather Victim Host Information",
    "T1583.001": "Acquire Infrastructure: Domains",
}


def _id(kind: str, *parts: str) -> str:
    """A deterministic id for an SDO or SRO. STIX 2.1 wants UUIDv4 there, so the UUID's bits are a hash
    of what the object describes with the version 4 and variant bits set: random-looking, yet
    the same for the same campaign, host or pattern."""
    digest = hashlib.sha256((kind + "\0" + "\0".join(parts)).encode("utf-8", "replace")).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def pseudonym(address: str, key: bytes) -> str:
    """A recipient address replaced by a keyed hash of it (the domain kept: it names the organisation
    that received the lure, which the exporter shares anyway)."""
    local, _, domain = address.rpartition("@")
    digest = hmac.new(key, address.lower().encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:20]
    return f"r-{digest}@{domain or 'invalid'}"


def _ts(iso: str | None, fallback: str) -> str:
    return (iso or fallback).replace("Z", ".000Z") if iso else fallback


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def stix_bundle(summary: dict[str, Any], watchlist: list[dict[str, Any]], *, tlp: str = "amber+strict",
                include_recipients: bool = False, key: bytes = b"",
                details: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The STIX 2.1 bundle of one campaign summary (``Campaigns.get``) as a JSON-ready dict.

    ``details``: ``lurelens.campaigns.details.message_details`` of the members, for the attachment
    hashes (``file`` observables and indicators); optional."""
    from lurelens.campaigns.details import is_payload

    import stix2

    if tlp not in TLP_LEVELS:
        raise ValueError(f"unknown TLP level {tlp!r} (one of {', '.join(TLP_LEVELS)})")
    if not include_recipients and not key:
        raise ValueError("a pseudonym key is needed unless recipients are included in clear")
    marking = stix2.MarkingDefinition(
        id=TLP_LEVELS[tlp], created="2022-10-01T00:00:00.000Z", name=f"TLP:{tlp.upper()}",
        extensions={_TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp}}, allow_custom=True)
    producer = stix2.Identity(id=_id("identity", "lurelens"), name="lurelens", identity_class="system",
                              created=_EPOCH, modified=_EPOCH,
                              description="lurelens: reconnaissance spear-phishing detection and campaign clustering")
    first = _ts(summary.get("first_seen"), _EPOCH)
    last = _ts(summary.get("last_seen"), first)
    common = {"created_by_ref": producer.id, "object_marking_refs": [marking.id], "created": first, "modified": last}
    objects: list[Any] = [marking, producer]

    def rel(src: str, kind: str, dst: str) -> None:
        objects.append(stix2.Relationship(id=_id("relationship", src, kind, dst), source_ref=src,
                                          relationship_type=kind, target_ref=dst, **common))

    why = "; ".join(f"{w['label']} {w['value']} ({w['messages']} messages)" for w in summary.get("why", []))
    campaign = stix2.Campaign(
        id=_id("campaign", summary["id"]), name=summary["name"], first_seen=first, last_seen=last,
        description=(f"{len(summary['messages'])} messages to {len(summary['recipients'])} recipients. "
                     f"Linked by: {why or 'a single message'}."),
        external_references=[{"source_name": "lurelens", "external_id": summary["id"]}], **common)
    objects.append(campaign)
    for tid in sorted(set(summary.get("attack") or []) | {"T1598.003"}):
        ap = stix2.AttackPattern(
            id=_id("attack-pattern", tid), name=ATTACK_NAMES.get(tid, f"ATT&CK {tid}"),
            external_references=[{"source_name": "mitre-attack", "external_id": tid}],
            created_by_ref=producer.id, object_marking_refs=[marking.id], created=_EPOCH, modified=_EPOCH)
        objects.append(ap)
        rel(campaign.id, "uses", ap.id)
    infra = summary["infrastructure"]
    for host in infra.get("beacon_hosts", []):
        dn = stix2.DomainName(value=host)
        inf = stix2.Infrastructure(
            id=_id("infrastructure", host), name=host, infrastructure_types=["reconnaissance"],
            description=f"Open-time beacon host: opening a message of {summary['id']} fetches from it and tells "
                        "the sender the reader's IP address, device and time of opening.", **common)
        objects += [dn, inf]
        rel(campaign.id, "uses", inf.id)
        rel(inf.id, "consists-of", dn.id)
    patterns: list[tuple[str, str]] = []
    for d in sorted(set(infra.get("beacon_hosts", [])) | set(infra.get("domains", []))):
        patterns.append((f"[domain-name:value = '{_quote(d)}']", f"domain {d}"))
    for ip in infra.get("ips", []):
        kind = "ipv6-addr" if ":" in ip else "ipv4-addr"
        patterns.append((f"[{kind}:value = '{_quote(ip)}']", f"origin IP {ip}"))
    for t in infra.get("tracker_templates", []):
        like = _quote(t).replace("%", "\\%").replace("_", "\\_").replace("{token}", "%").replace("{n}", "%")
        patterns.append((f"[url:value LIKE '%{like}']", f"tracker URL template {t}"))
    for s in summary.get("senders", []):
        patterns.append((f"[email-addr:value = '{_quote(s)}']", f"sender {s}"))
    # Attachment hashes (not images: a lure's logo may be the real outlet's, which legitimate mail carries too).
    files: dict[str, Any] = {}
    for det in (details or {}).values():
        for att in det.get("attachments", []):
            sha = att.get("sha256") or ""
            if is_payload(att) and sha not in files:
                files[sha] = stix2.File(hashes={"SHA-256": sha}, **({"name": att["filename"]} if att.get("filename") else {}))
                patterns.append((f"[file:hashes.'SHA-256' = '{_quote(sha)}']", f"attachment {att.get('filename') or sha}"))
    for pattern, what in patterns:
        ind = stix2.Indicator(id=_id("indicator", pattern), name=what, pattern=pattern, pattern_type="stix",
                              description=f"Infrastructure of the lure campaign {summary['name']} ({summary['id']}).",
                              valid_from=first, indicator_types=["malicious-activity"], **common)
        objects.append(ind)
        rel(ind.id, "indicates", campaign.id)
    # The messages as observables: sender, recipients (pseudonymised unless asked), subject, date.
    addrs: dict[str, Any] = {}

    def addr(a: str) -> str:
        if a not in addrs:
            addrs[a] = stix2.EmailAddress(value=a)
        return addrs[a].id

    def recipient(a: str) -> str:
        return addr(a if include_recipients else pseudonym(a, key))

    mails = []
    for m in summary["messages"]:
        kw: dict[str, Any] = {"is_multipart": False}
        if m.get("from"):
            kw["from_ref"] = addr(m["from"])
        if m.get("recipients"):
            kw["to_refs"] = sorted({recipient(a) for a in m["recipients"]})
        if m.get("subject"):
            kw["subject"] = m["subject"]
        if m.get("date"):
            kw["date"] = m["date"]
        mails.append(stix2.EmailMessage(**kw))
    objects += sorted(addrs.values(), key=lambda o: o.id)
    objects += mails
    objects += [files[k] for k in sorted(files)]
    if mails:
        obs = stix2.ObservedData(id=_id("observed-data", summary["id"]), first_observed=first, last_observed=last,
                                 number_observed=len(mails),
                                 object_refs=sorted({x.id for x in mails} | {f.id for f in files.values()}), **common)
        objects.append(obs)
        rel(campaign.id, "related-to", obs.id)
    if watchlist:
        hosts = sorted({w["host"] for w in watchlist})
        named = sum(1 for w in watchlist if w.get("recipient"))
        note = stix2.Note(
            id=_id("note", summary["id"], "leaks"), abstract="What opening the lure leaks",
            content=(f"Opening a message of this campaign fetches from {', '.join(hosts)} with a per-recipient token "
                     f"({named} of {len(watchlist)} tokens decode to the recipient): the sender learns who opened it, "
                     "when, from which IP address (hence location and network) and with which device and mail client. "
                     "Templates: " + ", ".join(sorted({w['template'] for w in watchlist}))),
            object_refs=[campaign.id], **common)
        objects.append(note)
    # A deterministic bundle: its id from its content, objects in a stable order.
    body = [json.loads(o.serialize()) for o in objects]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {"type": "bundle", "id": _id("bundle", digest), "objects": body}
