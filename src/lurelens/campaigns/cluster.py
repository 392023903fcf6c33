"""Campaign clustering over the hunt store: index the suspicious-or-worse messages a hunt stored (their
link keys and near-duplicate edges, once each), union-find over what they share, and keep one summary
per campaign. Deterministic (same stored messages, same campaigns and ids) and incremental (only new
messages are indexed; a later hunt's hits join the campaigns they share infrastructure with)."""

from __future__ import annotations

import builtins
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, select, update

from lurelens.campaigns.keys import KEY_LABELS, KeyMaker
from lurelens.campaigns.schema import Campaign, CampaignKey, CampaignMember, NearDuplicate
from lurelens.store.rows import _date_utc
from lurelens.store.schema import Claim, Recipient, StoredMessage
from lurelens.store.store import SUSPICIOUS_LABELS, Store

__all__ = ["Campaigns", "Updated", "DEFAULT_NEAR_DISTANCE", "campaign_id"]

# TLSH distance under which two texts claiming one identity are near-duplicates. One template with
# the recipient's name swapped stays under 15 on a text of a few hundred words; different texts
# over one vocabulary came as close as 53 in bench/campaigns.py. TLSH is noisy on short texts
# (under ~1 KB), where MinHash over word shingles would do better (not implemented yet).
DEFAULT_NEAR_DISTANCE = 50
# Infrastructure kinds, most telling first: which one names a campaign.
_NAME_ORDER = ("beacon-host", "tracker-template", "beacon-domain", "link-host", "link-domain",
               "reply-to-domain", "return-path-domain", "origin-ip")
_CHUNK = 500


@dataclass(frozen=True)
class Updated:
    """What one :meth:`Campaigns.update` did."""

    indexed: int
    near_pairs: int
    campaigns: int
    linked: int  # campaigns of two or more messages

    def to_dict(self) -> dict[str, int]:
        return {"indexed": self.indexed, "near_pairs": self.near_pairs, "campaigns": self.campaigns,
                "linked_campaigns": self.linked}


def campaign_id(source: str, locator: str, sha256: str) -> str:
    """A campaign's id: a hash of its earliest member's identity, so it survives later hunts."""
    return "C-" + hashlib.sha256(f"{source}\n{locator}\n{sha256}".encode("utf-8", "replace")).hexdigest()[:16]


def _utc(date: str | None) -> str | None:
    """A Date header as ISO 8601 UTC (``2026-09-01T08:00:00Z``), or None."""
    d = _date_utc(date)
    try:
        return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if d is not None else None
    except (OverflowError, ValueError):
        return None


def _tlsh_diff(a: str, b: str) -> int | None:
    import tlsh

    try:
        return int(tlsh.diff(a, b))
    except (ValueError, TypeError):
        return None


class _UnionFind:
    """Union-find over ids (message ids, or group labels while indexing)."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        p = self.parent.setdefault(x, x)
        while p != x:
            self.parent[x] = self.parent.setdefault(p, p)
            x, p = p, self.parent[p]
        return x

    def union(self, a: Any, b: Any) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller id wins: the same input gives the same roots whatever the order of edges.
            self.parent[max(ra, rb)] = min(ra, rb)


_T = TypeVar("_T")


def _chunks(items: Sequence[_T], n: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


class Campaigns:
    """Campaigns in one hunt store.

        >>> camps = Campaigns(Store("lurelens.db").migrate())
        >>> camps.update()                  # index new hits, re-link, rewrite the summaries
        >>> for c in camps.list(): print(c["id"], c["name"], c["messages"], c["recipients"])
    """

    def __init__(self, store: Store, *, data_dir: Path | str | None = None,
                 near_distance: int = DEFAULT_NEAR_DISTANCE):
        self.store = store
        self.engine = store.engine
        self.keymaker = KeyMaker(data_dir)
        self.near_distance = near_distance

    # -- indexing -------------------------------------------------------------------------------

    def _recipients(self, conn, ids: Sequence[int]) -> dict[int, list[str]]:
        r = Recipient.__table__
        out: dict[int, set[str]] = defaultdict(set)
        for chunk in _chunks(ids):
            for mid, addr in conn.execute(select(r.c.message, r.c.address).where(r.c.message.in_(chunk))):
                out[mid].add(addr)
        return {k: sorted(v) for k, v in out.items()}

    def _claims(self, conn, ids: Sequence[int]) -> dict[int, list[str]]:
        c = Claim.__table__
        out: dict[int, list[str]] = defaultdict(list)
        for chunk in _chunks(ids):
            for mid, ent in conn.execute(select(c.c.message, c.c.entity).where(c.c.message.in_(chunk))
                                         .order_by(c.c.message, c.c.entity)):
                out[mid].append(ent)
        return out

    def index(self) -> tuple[int, int]:
        """Index the suspicious-or-worse messages not indexed yet: their keys and near-duplicate edges.
        Returns (messages indexed, near-duplicate pairs added)."""
        m, cm, c = StoredMessage.__table__, CampaignMember.__table__, Claim.__table__
        with self.engine.connect() as conn:
            new = conn.execute(select(m.c.id, m.c.report, m.c.text_fingerprint)
                               .where(m.c.verdict.in_(SUSPICIOUS_LABELS), m.c.id.not_in(select(cm.c.message)))
                               .order_by(m.c.id)).all()
            if not new:
                return 0, 0
            ids = [r.id for r in new]
            recipients = self._recipients(conn, ids)
            claims = self._claims(conn, ids)
            wanted = sorted({e for v in claims.values() for e in v})
            # The indexed messages that claim what the new ones claim: near-duplicate candidates.
            # (id, fingerprint, group): the group is the campaign it is in, or the message itself.
            known: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
            for chunk in _chunks(wanted):
                q = (select(c.c.entity, m.c.id, m.c.text_fingerprint, cm.c.campaign).join(m, m.c.id == c.c.message)
                     .join(cm, cm.c.message == m.c.id)
                     .where(c.c.entity.in_(chunk), m.c.text_fingerprint.is_not(None)).order_by(m.c.id))
                for ent, mid, fp, camp in conn.execute(q):
                    known[ent].append((mid, fp, f"c:{camp}" if camp else f"m:{mid}"))
        keys: list[dict[str, Any]] = []
        near: dict[tuple[int, int], dict[str, Any]] = {}
        groups = _UnionFind()
        for row in new:
            report = row.report if isinstance(row.report, dict) else {}
            for kind, value in sorted(self.keymaker.keys(report, recipients.get(row.id, []))):
                keys.append({"message": row.id, "kind": kind, "value": value})
            fp = row.text_fingerprint
            for ent in claims.get(row.id, []):
                if fp:
                    # One edge, to the closest near-duplicate, per group it meets: enough to connect
                    # the components, and the stored edges grow with the messages, not their pairs.
                    best: dict[str, tuple[int, int]] = {}
                    for other, ofp, label in known[ent]:
                        d = _tlsh_diff(fp, ofp)
                        if d is not None and d <= self.near_distance:
                            g = groups.find(label)
                            if g not in best or (d, other) < best[g]:
                                best[g] = (d, other)
                    for g, (d, other) in sorted(best.items()):
                        a, b = min(other, row.id), max(other, row.id)
                        near.setdefault((a, b), {"a": a, "b": b, "claim": ent, "distance": d})
                        groups.union(g, f"m:{row.id}")
                    known[ent].append((row.id, fp, f"m:{row.id}"))
        with self.engine.begin() as conn:
            if keys:
                conn.execute(self._insert(CampaignKey.__table__).on_conflict_do_nothing(), keys)
            if near:
                conn.execute(self._insert(NearDuplicate.__table__).on_conflict_do_nothing(), list(near.values()))
            conn.execute(self._insert(cm).on_conflict_do_nothing(),
                         [{"message": i, "campaign": None, "evidence": None} for i in ids])
        return len(ids), len(near)

    def _insert(self, table):
        if self.store.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    # -- clustering -----------------------------------------------------------------------------

    def update(self) -> Updated:
        """Index what is new, link every indexed message, and rewrite campaign ids and summaries."""
        indexed, pairs = self.index()
        k, nd, cm = CampaignKey.__table__, NearDuplicate.__table__, CampaignMember.__table__
        uf = _UnionFind()
        by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        near_edges: list[tuple[int, int, str, int]] = []
        with self.engine.connect() as conn:
            members = [r[0] for r in conn.execute(select(cm.c.message).order_by(cm.c.message))]
            for mid, kind, value in conn.execute(select(k.c.message, k.c.kind, k.c.value)
                                                 .order_by(k.c.kind, k.c.value, k.c.message)):
                by_key[(kind, value)].append(mid)
            near_edges = [tuple(r) for r in conn.execute(select(nd.c.a, nd.c.b, nd.c.claim, nd.c.distance)
                                                           .order_by(nd.c.a, nd.c.b))]
        for mid in members:
            uf.find(mid)
        shared = {key: ids for key, ids in by_key.items() if len(ids) > 1}
        for ids in shared.values():
            for other in ids[1:]:
                uf.union(ids[0], other)
        for a, b, _claim, _d in near_edges:
            uf.union(a, b)
        groups: dict[int, list[int]] = defaultdict(list)
        for mid in members:
            groups[uf.find(mid)].append(mid)
        summaries, member_rows = self._summaries(list(groups.values()), by_key, near_edges)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            if member_rows:
                conn.execute(update(cm).where(cm.c.message == bindparam("m_id"))
                             .values(campaign=bindparam("m_campaign"), evidence=bindparam("m_evidence")),
                             member_rows)
            conn.execute(delete(Campaign.__table__))
            if summaries:
                conn.execute(Campaign.__table__.insert(), [
                    {"id": s["id"], "name": s["name"], "first_seen": s["first_seen"], "last_seen": s["last_seen"],
                     "messages": len(s["messages"]), "recipients": len(s["recipients"]), "threat": s["threat"],
                     "summary": s, "updated_at": now} for s in summaries])
        return Updated(indexed, pairs, len(summaries), sum(1 for s in summaries if len(s["messages"]) > 1))

    @cached_property
    def _entity_names(self) -> dict[str, str]:
        idx = self.keymaker.data.entities
        names = {e.id: e.name for e in idx.by_domain.values()}
        for aliases in idx.by_alias.values():
            for a in aliases:
                names.setdefault(a.entity.id, a.entity.name)
        return names

    def _summaries(self, groups: list[list[int]], by_key: dict[tuple[str, str], list[int]],
                   near_edges: list[tuple[int, int, str, int]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        m = StoredMessage.__table__
        ids = sorted(i for g in groups for i in g)
        info: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                for r in conn.execute(select(m.c.id, m.c.source, m.c.locator, m.c.sha256, m.c.verdict, m.c.score,
                                             m.c.date, m.c.subject, m.c.from_addr, m.c.from_name, m.c.origin_ip,
                                             m.c.report).where(m.c.id.in_(chunk))):
                    report = r.report if isinstance(r.report, dict) else {}
                    feats = report.get("features") or {}
                    info[r.id] = {"id": r.id, "source": r.source, "locator": r.locator, "sha256": r.sha256,
                                  "verdict": r.verdict, "score": r.score, "date": _utc(r.date), "subject": r.subject,
                                  "from": r.from_addr, "from_name": r.from_name, "origin_ip": r.origin_ip,
                                  "attack": list(report.get("attack") or []),
                                  "beacon_hosts": list(feats.get("beacon_hosts") or []),
                                  "link_hosts": list(feats.get("link_hosts") or [])}
            recipients = self._recipients(conn, ids)
            claims = self._claims(conn, ids)
        # Per message: the shared keys and near-duplicate edges that tie it to the others.
        evidence: dict[int, list[dict[str, Any]]] = defaultdict(list)
        own: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for (kind, value), mids in by_key.items():
            for mid in mids:
                own[mid].append((kind, value))
                if len(mids) > 1:
                    evidence[mid].append({"kind": kind, "value": value, "messages": len(mids)})
        for a, b, claim, d in near_edges:
            evidence[a].append({"kind": "near-duplicate", "value": f"text TLSH distance {d}, both claim {claim}", "with": b})
            evidence[b].append({"kind": "near-duplicate", "value": f"text TLSH distance {d}, both claim {claim}", "with": a})
        summaries: list[dict[str, Any]] = []
        member_rows: list[dict[str, Any]] = []
        for group in groups:
            s = self._summary(group, info, recipients, claims, evidence, own, near_edges)
            summaries.append(s)
            for mid in group:
                member_rows.append({"m_id": mid, "m_campaign": s["id"], "m_evidence": evidence.get(mid, [])})
        summaries.sort(key=lambda s: (-s["threat"], -len(s["messages"]), s["id"]))
        return summaries, member_rows

    def _summary(self, group: list[int], info: dict[int, dict[str, Any]], recipients: dict[int, list[str]],
                 claims: dict[int, list[str]], evidence: dict[int, list[dict[str, Any]]],
                 own: dict[int, list[tuple[str, str]]],
                 near_edges: list[tuple[int, int, str, int]]) -> dict[str, Any]:
        members = sorted((info[i] for i in group),
                         key=lambda x: (x["date"] or "9999", x["source"], x["locator"], x["sha256"]))
        first = members[0]
        cid = campaign_id(first["source"], first["locator"], first["sha256"])
        gset = set(group)
        # Every member's own keys, counted over the members: a single-message campaign shows its
        # infrastructure too, and the shared values (count > 1) are why the members are together.
        infra: dict[str, Counter[str]] = defaultdict(Counter)
        for mid in group:
            for kind, value in own.get(mid, []):
                infra[kind][value] += 1
        claimed = Counter(e for i in group for e in claims.get(i, []))
        who = sorted({a for i in group for a in recipients.get(i, [])})
        dates = sorted(x["date"] for x in members if x["date"])
        why = [{"kind": kind, "label": KEY_LABELS[kind], "value": value, "messages": n}
               for kind in _NAME_ORDER for value, n in sorted(infra.get(kind, {}).items(), key=lambda kv: (-kv[1], kv[0]))
               if n > 1]
        near = sorted((d, a, b, c) for a, b, c, d in near_edges if a in gset)
        if near:
            why.append({"kind": "near-duplicate", "label": "near-duplicate text with the same claimed identity",
                        "value": f"{len(near)} pairs, text TLSH distance {near[0][0]}-{near[-1][0]}",
                        "messages": len({x for _d, a, b, _c in near for x in (a, b)})})
        return {
            "id": cid,
            "name": self._name(claimed, infra, members),
            "first_seen": dates[0] if dates else None,
            "last_seen": dates[-1] if dates else None,
            "messages": [{k: x[k] for k in ("id", "source", "locator", "sha256", "date", "verdict", "score", "subject",
                                             "from", "from_name")} | {"recipients": recipients.get(x["id"], []),
                                                                      "evidence": evidence.get(x["id"], [])}
                         for x in members],
            "recipients": who,
            "recipient_domains": sorted({a.rsplit("@", 1)[-1] for a in who if "@" in a}),
            "senders": sorted({x["from"] for x in members if x["from"]}),
            "claimed": [{"entity": e, "name": self._entity_names.get(e, e), "messages": n}
                        for e, n in sorted(claimed.items(), key=lambda kv: (-kv[1], kv[0]))],
            "infrastructure": {
                "hosts": sorted({v for kind in ("beacon-host", "link-host") for v in infra.get(kind, {})}),
                "beacon_hosts": sorted(infra.get("beacon-host", {})),
                "domains": sorted({v for kind in ("beacon-domain", "link-domain", "reply-to-domain", "return-path-domain")
                                   for v in infra.get(kind, {})}),
                "ips": sorted(infra.get("origin-ip", {})),
                "tracker_templates": sorted(infra.get("tracker-template", {})),
            },
            "verdicts": dict(sorted(Counter(x["verdict"] for x in members).items())),
            "attack": sorted({t for x in members for t in x["attack"]}),
            "threat": max((x["score"] or 0.0) for x in members),
            "why": why,
        }

    def _name(self, claimed: Counter[str], infra: dict[str, Counter[str]], members: list[dict[str, Any]]) -> str:
        if claimed:
            who = self._entity_names.get(claimed.most_common(1)[0][0], claimed.most_common(1)[0][0])
        else:
            names = Counter(x["from_name"] or x["from"] for x in members if x["from_name"] or x["from"])
            who = names.most_common(1)[0][0] if names else "unknown sender"
        for kind in _NAME_ORDER:
            if infra.get(kind):
                value = sorted(infra[kind].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
                return f"{who} via {value}"
        return str(who)

    # -- reading --------------------------------------------------------------------------------

    def list(self, *, min_messages: int = 1) -> list[dict[str, Any]]:  # noqa: A003 - the command's name
        """Campaign rows, most threatening first: id, name, messages, recipients, first/last seen,
        infrastructure, claimed, verdicts."""
        t = Campaign.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.summary).where(t.c.messages >= min_messages)
                                .order_by(t.c.threat.desc(), t.c.messages.desc(), t.c.id)).all()
        out = []
        for (s,) in rows:
            out.append({"id": s["id"], "name": s["name"], "messages": len(s["messages"]),
                        "recipients": len(s["recipients"]), "first_seen": s["first_seen"], "last_seen": s["last_seen"],
                        "infrastructure": s["infrastructure"], "claimed": [c["entity"] for c in s["claimed"]],
                        "verdicts": s["verdicts"], "threat": s["threat"]})
        return out

    def get(self, cid: str) -> dict[str, Any] | None:
        """The full summary of one campaign (an id, or an unambiguous prefix of one)."""
        t = Campaign.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.summary).where(t.c.id == cid)).first()
            if row is None and len(cid) >= 4:
                rows = conn.execute(select(t.c.summary).where(t.c.id.startswith(cid, autoescape=True)).limit(2)).all()
                row = rows[0] if len(rows) == 1 else None
        return row[0] if row is not None else None

    def of_message(self, message_id: int) -> str | None:
        cm = CampaignMember.__table__
        with self.engine.connect() as conn:
            return conn.execute(select(cm.c.campaign).where(cm.c.message == message_id)).scalar_one_or_none()

    def stored_ids(self, sha256: str) -> builtins.list[int]:
        m = StoredMessage.__table__
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(m.c.id).where(m.c.sha256 == sha256).order_by(m.c.id))]

    def match(self, report: dict[str, Any], recipients: builtins.list[str], claims: Sequence[str] = ()) -> builtins.list[dict[str, Any]]:
        """Campaigns a message that is not in the store would join, with the keys or near-duplicate
        fingerprints it shares with their members: [{"campaign", "evidence"}], best match first."""
        k, cm, c, m = CampaignKey.__table__, CampaignMember.__table__, Claim.__table__, StoredMessage.__table__
        keys = sorted(self.keymaker.keys(report, recipients))
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with self.engine.connect() as conn:
            for kind, value in keys:
                q = (select(cm.c.campaign, k.c.message).join(cm, cm.c.message == k.c.message)
                     .where(k.c.kind == kind, k.c.value == value).order_by(k.c.message))
                hits = conn.execute(q).all()
                for camp in sorted({h[0] for h in hits if h[0]}):
                    found[camp].append({"kind": kind, "value": value,
                                        "messages": sum(1 for h in hits if h[0] == camp)})
            fp = (report.get("features") or {}).get("text_fingerprint")
            if fp and claims:
                near_q = (select(cm.c.campaign, m.c.id, m.c.text_fingerprint, c.c.entity).join(m, m.c.id == c.c.message)
                     .join(cm, cm.c.message == m.c.id)
                     .where(c.c.entity.in_(list(claims)), m.c.text_fingerprint.is_not(None)).order_by(m.c.id))
                best: dict[str, tuple[int, str]] = {}
                for camp, _mid, ofp, entity in conn.execute(near_q):
                    d = _tlsh_diff(fp, ofp)
                    if camp and d is not None and d <= self.near_distance and (camp not in best or d < best[camp][0]):
                        best[camp] = (d, entity)
                for camp, (d, ent) in sorted(best.items()):
                    found[camp].append({"kind": "near-duplicate", "value": f"text TLSH distance {d}, both claim {ent}"})
        return [{"campaign": camp, "evidence": ev} for camp, ev in sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))]

    def watchlist(self, cid: str) -> builtins.list[dict[str, Any]]:
        """Who opened: every per-recipient tracking token of the campaign's messages, decoded to
        host + URL template + token -> recipient, one row per (message, URL)."""
        s = self.get(cid)
        if s is None:
            return []
        m = StoredMessage.__table__
        ids = [x["id"] for x in s["messages"]]
        rows: builtins.list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            recipients = self._recipients(conn, ids)
            for chunk in _chunks(ids):
                for mid, report in conn.execute(select(m.c.id, m.c.report).where(m.c.id.in_(chunk)).order_by(m.c.id)):
                    report = report if isinstance(report, dict) else {}
                    for t in self.keymaker.tokens(report, recipients.get(mid, [])):
                        rows.append({"campaign": s["id"], **t.to_dict(), "message": mid})
        rows.sort(key=lambda r: (r["host"], r["template"], r["recipient"] or "", r["token"], r["message"]))
        return rows
