"""A campaign as a MISP event (``lurelens export --format misp``), built offline with ``pymisp``'s
objects and the object templates that ship with it (no MISP server): an ``email`` object per message,
``domain-ip``, ``url`` and ``tracking-id`` objects for the infrastructure, ``organization`` objects for
the impersonated outlet and the targeted organisations, MISP relationships between them
(``beacons-to``, ``impersonates``, ``targets``, ``tracks``), and TLP and ATT&CK tags on the event.

Like the STIX export it is deterministic (UUIDv5 of what each object describes, timestamps from the
messages) and pseudonymises recipients with the same keyed hash unless asked for them in clear.
Only infrastructure is flagged ``to_ids`` (what a MISP instance exports to IDSs); recipients,
subjects and the impersonated outlet never are."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from lurelens.campaigns.details import is_payload
from lurelens.campaigns.stix import ATTACK_NAMES, TLP_LEVELS, pseudonym
from lurelens.registry.intel_import import url_prefix

__all__ = ["misp_event", "attack_galaxy_tag", "MISP_DISTRIBUTION"]

# A fixed namespace: the same campaign, host or message gives the same UUID in every export.
_NS = uuid.UUID("5b0d6f3e-6a8e-5c43-9f4e-6c7572656c65")
# MISP distribution levels: 0 your organisation only, 1 this community only, 2 connected communities,
# 3 all communities. TLP says who may see it; the distribution is MISP's nearest sharing scope.
MISP_DISTRIBUTION = {"clear": 3, "green": 2, "amber": 1, "amber+strict": 0, "red": 0}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "\0".join(parts)))


def attack_galaxy_tag(tid: str) -> str:
    """The MISP galaxy tag of an ATT&CK technique, as the mitre-attack-pattern galaxy names it
    ("Spearphishing Link - T1598.003": the (sub-)technique's own name, then its id)."""
    name = ATTACK_NAMES.get(tid, tid).split(": ")[-1]
    return f'misp-galaxy:mitre-attack-pattern="{name} - {tid}"'


def _dt(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        d = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def misp_event(summary: dict[str, Any], watchlist: list[dict[str, Any]], details: dict[int, dict[str, Any]] | None = None,
               *, tlp: str = "amber+strict", include_recipients: bool = False, key: bytes = b"") -> dict[str, Any]:
    """The MISP event of one campaign summary (``Campaigns.get``) as a JSON-ready ``{"Event": ...}``.

    ``details``: ``lurelens.campaigns.details.message_details`` of the members (optional; without it the e-mail objects
    lack Message-ID, Reply-To, origin IP, per-message claims and attachments)."""
    from pymisp import MISPEvent, MISPObject, MISPOrganisation

    if tlp not in TLP_LEVELS:
        raise ValueError(f"unknown TLP level {tlp!r} (one of {', '.join(TLP_LEVELS)})")
    if not include_recipients and not key:
        raise ValueError("a pseudonym key is needed unless recipients are included in clear")
    details = details or {}
    cid = summary["id"]
    first = _dt(summary.get("first_seen")) or datetime(2026, 1, 1, tzinfo=timezone.utc)
    last = _dt(summary.get("last_seen")) or first
    infra = summary["infrastructure"]
    shared_ips = set(infra.get("ips", []))
    # Values that are the campaign's own infrastructure (link keys, so never a shared platform or the
    # impersonated outlet's real domain): only these are flagged to_ids.
    infra_domains = set(infra.get("beacon_hosts", [])) | set(infra.get("domains", [])) | set(infra.get("hosts", []))

    ev = MISPEvent()
    ev.uuid = _uuid("event", cid)
    ev.info = f"lurelens campaign {summary['name']} ({cid})"
    ev.date = first.date()
    ev.timestamp = last
    ev.published = False
    ev.analysis = 2  # completed: the campaign is what the stored hunt shows
    ev.threat_level_id = 2  # medium: reconnaissance, no payload
    ev.distribution = MISP_DISTRIBUTION[tlp]
    # The producer, as the STIX export's identity: MISP's creator organisation of the event.
    org = MISPOrganisation()
    org.name = "lurelens"
    org.uuid = _uuid("organisation", "lurelens")
    ev.Orgc = org
    ev.add_tag(f"tlp:{tlp}")
    for tid in sorted(set(summary.get("attack") or []) | {"T1598.003"}):
        ev.add_tag(attack_galaxy_tag(tid))

    objects: dict[str, Any] = {}

    def obj(name: str, ident: str, comment: str = "") -> tuple[Any, bool]:
        """The object for (name, ident), created on first use; (object, created)."""
        u = _uuid(name, cid, ident)
        if u in objects:
            return objects[u], False
        o = MISPObject(name, strict=True, standalone=False)
        o.uuid = u
        o.timestamp = last
        o.distribution = 5  # inherit the event's
        if comment:
            o.comment = comment
        objects[u] = o
        return o, True

    def attr(o: Any, relation: str, value: str, *, ids: bool, comment: str = "") -> None:
        a = o.add_attribute(relation, value=value, to_ids=ids, disable_correlation=not ids, distribution=5,
                            comment=comment or None)
        a.uuid = _uuid("attribute", o.uuid, relation, value)
        a.timestamp = last

    def ref(src: Any, dst: Any, relationship: str) -> None:
        r = src.add_reference(dst.uuid, relationship)
        r.uuid = _uuid("reference", src.uuid, relationship, dst.uuid)
        r.timestamp = last

    # Infrastructure: beacon hosts, the other campaign domains and hosts, origin IPs.
    hosts: dict[str, Any] = {}
    for h in sorted(infra_domains):
        beacon = h in infra.get("beacon_hosts", [])
        o, new = obj("domain-ip", h)
        if new:
            attr(o, "domain", h, ids=True)
            attr(o, "first-seen", first.isoformat(), ids=False)
            attr(o, "last-seen", last.isoformat(), ids=False)
            attr(o, "text", "open-time beacon host: opening a message fetches from it and tells the sender who opened it, "
                             "when, from which IP address and with which device" if beacon else "campaign domain (links, "
                             "Reply-To or Return-Path)", ids=False)
        hosts[h] = o
    for ip in sorted(shared_ips):
        o, new = obj("domain-ip", "ip:" + ip)
        if new:
            attr(o, "ip", ip, ids=True)
            attr(o, "text", "origin IP: the first public address in Received", ids=False)
        hosts[ip] = o

    # Tracker URL templates: a url object for the template's stable start (what a proxy log search and
    # an intel list can match), and a tracking-id per template, or per token when recipients are in clear.
    templates: dict[str, Any] = {}
    by_template: dict[str, list[dict[str, Any]]] = {}
    for w in watchlist:
        by_template.setdefault(w["template"], []).append(w)
    for t in sorted(set(infra.get("tracker_templates", [])) | set(by_template)):
        rows = by_template.get(t, [])
        scheme = (rows[0]["url"].split("://", 1)[0] if rows and "://" in rows[0]["url"] else "https").lower()
        lit = t.split("{", 1)[0]
        prefix = url_prefix(f"{scheme}://{lit}")
        host = t.split("/", 1)[0]
        u, _ = obj("url", t, comment=f"tracker URL template {t}: {{token}} is a per-recipient token")
        if prefix:
            attr(u, "url", f"{scheme}://{prefix}", ids=True)
        attr(u, "host", host, ids=False)
        attr(u, "scheme", scheme, ids=False)
        attr(u, "resource_path", "/" + t.split("/", 1)[1] if "/" in t else "/", ids=False)
        attr(u, "text", f"tracker URL template {t}", ids=False)
        if host in hosts:
            ref(u, hosts[host], "related-to")
        templates[t] = u
        encodings = sorted({r["encoding"] for r in rows})
        tid, _ = obj("tracking-id", t)
        attr(tid, "id", t, ids=False)
        attr(tid, "tracker", f"per-recipient open beacon ({', '.join(encodings) or 'token'})", ids=False)
        attr(tid, "hostname", host, ids=False)
        if prefix:
            attr(tid, "url", f"{scheme}://{prefix}", ids=False)
        attr(tid, "first-seen", first.isoformat(), ids=False)
        attr(tid, "last-seen", last.isoformat(), ids=False)
        named = sum(1 for r in rows if r.get("recipient"))
        attr(tid, "description", f"{len(rows)} tokens seen, {named} decode to their recipient"
                                 + ("" if include_recipients else " (tokens withheld: they identify the recipients)"),
             ids=False)
        ref(tid, u, "related-to")
        if include_recipients:
            # Who opened: each token with its recipient, for proxy and DNS log searches.
            for r in rows:
                tok, new = obj("tracking-id", f"{t}\0{r['token']}")
                if new:
                    attr(tok, "id", r["token"], ids=False)
                    attr(tok, "tracker", f"per-recipient open beacon ({r['encoding']})", ids=False)
                    attr(tok, "hostname", r["host"], ids=False)
                    attr(tok, "url", r["url"], ids=False)
                    attr(tok, "description", f"recipient {r['recipient'] or 'unknown'}; template {t}", ids=False)
                    ref(tok, u, "related-to")

    # The impersonated outlets and the targeted organisations (recipient domains).
    outlets: dict[str, Any] = {}
    for c in summary.get("claimed", []):
        o, _ = obj("organization", "claimed:" + c["entity"])
        attr(o, "name", c["name"], ids=False)
        attr(o, "description", f"impersonated: {c['messages']} messages of the campaign claim to come from it "
                               "(the real organisation, not the sender)", ids=False)
        outlets[c["entity"]] = o
    targets: dict[str, Any] = {}
    for d in summary.get("recipient_domains", []):
        o, _ = obj("organization", "target:" + d)
        attr(o, "name", d, ids=False)
        attr(o, "role", "Victim", ids=False)
        attr(o, "description", "targeted organisation: the recipients' mail domain", ids=False)
        targets[d] = o

    def who(a: str) -> str:
        return a if include_recipients else pseudonym(a, key)

    for m in summary["messages"]:
        det = details.get(m["id"], {})
        # Only the sender is flagged to_ids in the e-mail object: MISP (and misp-stix) turn an object's
        # to_ids attributes into one AND-ed pattern, and the Reply-To and Return-Path domains and the
        # origin IP are flagged in their own domain-ip objects already.
        e, _ = obj("email", "message:" + m["sha256"], comment=f"{m['verdict']} (score {m['score']}), linked by "
                   + (", ".join(sorted({x['kind'] for x in m.get('evidence', [])})) or "being the only message"))
        if m.get("from"):
            attr(e, "from", m["from"], ids=True)
            dom = m["from"].rpartition("@")[2]
            if dom:
                attr(e, "from-domain", dom, ids=False)
        if m.get("from_name"):
            attr(e, "from-display-name", m["from_name"], ids=False)
        for a in sorted({who(x) for x in m.get("recipients", [])}):
            attr(e, "to", a, ids=False)
        if m.get("subject"):
            attr(e, "subject", m["subject"], ids=False)
        if m.get("date"):
            attr(e, "send-date", m["date"], ids=False)
        if det.get("message_id"):
            attr(e, "message-id", det["message_id"], ids=False)
        for reply in sorted({x.strip() for x in (det.get("reply_to") or "").split(",") if "@" in x}):
            attr(e, "reply-to", reply, ids=False)
        if det.get("return_path") and "@" in det["return_path"]:
            attr(e, "return-path", det["return_path"], ids=False)
        if det.get("origin_ip"):
            attr(e, "ip-src", det["origin_ip"], ids=False)
        for att in det.get("attachments", []):
            if att.get("filename"):
                attr(e, "attachment", att["filename"], ids=False)
            f, new = obj("file", "sha256:" + att["sha256"])
            if new:
                attr(f, "sha256", att["sha256"], ids=is_payload(att))
                if att.get("filename"):
                    attr(f, "filename", att["filename"], ids=False)
            ref(e, f, "contains")
        if not e.attributes:
            # A message with no From, To, Subject or Date still needs one attribute the template accepts.
            attr(e, "header", f"(no From, To, Subject or Date header; stored message sha256 {m['sha256']})", ids=False)
        ev_kinds = {(x["kind"], x["value"]) for x in m.get("evidence", [])}
        for (kind, value) in sorted(ev_kinds):
            if kind in ("beacon-host",) and value in hosts:
                ref(e, hosts[value], "beacons-to")
            elif kind == "tracker-template" and value in templates:
                ref(e, templates[value], "beacons-to")
            elif kind in ("beacon-domain", "link-host", "link-domain", "reply-to-domain", "return-path-domain") and value in hosts:
                ref(e, hosts[value], "related-to")
            elif kind == "origin-ip" and value in hosts:
                ref(e, hosts[value], "related-to")
        # A single-message campaign has no shared evidence: tie it to all the infrastructure it has.
        if not ev_kinds:
            for h in infra.get("beacon_hosts", []):
                ref(e, hosts[h], "beacons-to")
            for t in templates.values():
                ref(e, t, "beacons-to")
        claims = det.get("claims") or ([c["entity"] for c in summary.get("claimed", [])] if not details else [])
        for ent in claims:
            if ent in outlets:
                ref(e, outlets[ent], "impersonates")
        for d in sorted({x.rpartition("@")[2] for x in m.get("recipients", [])}):
            if d in targets:
                ref(e, targets[d], "targets")

    # What opening the lure leaks, as the STIX export's note: an annotation on the event.
    if watchlist:
        hosts_seen = sorted({w["host"] for w in watchlist})
        named = sum(1 for w in watchlist if w.get("recipient"))
        note, _ = obj("annotation", "leaks")
        attr(note, "type", "Executive Summary", ids=False)
        attr(note, "format", "text", ids=False)
        attr(note, "text", f"Opening a message of this campaign fetches from {', '.join(hosts_seen)} with a per-recipient "
                           f"token ({named} of {len(watchlist)} tokens decode to the recipient): the sender learns who "
                           "opened it, when, from which IP address (hence location and network) and with which device "
                           "and mail client.", ids=False)
        for t in templates.values():
            ref(note, t, "annotates")

    for u in sorted(objects):
        ev.add_object(objects[u])
    # MISPEvent.to_json validates each strict object against its template (required attributes,
    # single-valued attributes); sort for a byte-stable file.
    return {"Event": json.loads(ev.to_json(sort_keys=True))}
