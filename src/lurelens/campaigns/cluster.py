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

from sqlalchemy import bindparam, delete, func, select, update

from lurelens.campaigns.keys import KEY_LABELS, KeyMaker
from lurelens.campaigns.schema import Campaign, CampaignKey, CampaignMember, NearDuplicate
from lurelens.store.neardup import MinHashSig, jaccard
from lurelens.store.rows import _date_utc
from lurelens.store.schema import Claim, MinHashBand, Recipient, StoredMessage, TextMinHash
from lurelens.store.store import SUSPICIOUS_LABELS, Store

__all__ = ["Campaigns", "Updated", "DEFAULT_NEAR_DISTANCE", "DEFAULT_NEAR_JACCARD", "campaign_id"]

# TLSH distance under which two texts claiming one identity are near-duplicates. One template with
# the recipient's name swapped stays under 15 on a text of a few hundred words; different texts
# over one vocabulary came as close as 53 in bench/campaigns.py. TLSH is noisy on short texts
# (under ~1 KB), where MinHash over word shingles would do better (not implemented yet).
DEFAULT_NEAR_DISTANCE = 50
# Jaccard estimate (word 3-shingles, MinHash) at or above which two texts claiming one identity are
# near-duplicates. One template with the recipient's name and a story number swapped stays above
# 0.8 on a text of a hundred words; texts written apart share almost no 3-shingles (under 0.1).
DEFAULT_NEAR_JACCARD = 0.7
# Members kept per (band hash, group) as near-duplicate candidates: one campaign of thousands of
# copies of one template is then compared a few times per message, not once per copy.
_REPS = 16
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


def _near_text(method: str, distance: int, similarity: float | None) -> str:
    """How close two texts are, as the evidence says it: "text Jaccard 0.91" or "text TLSH distance 12"."""
    if method == "minhash" and similarity is not None:
        return f"text Jaccard {similarity:.2f}"
    return f"text TLSH distance {distance}"


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


# Indexed members read per LSH band hash (the earliest by id): a band that thousands of copies of
# one template share yields a sample of them, not all, and the who-else query stays fast.
_BUCKET = 64


def _bucket_members(conn, hashes: Sequence[int]) -> list[tuple[int, int, str | None]]:
    """(hash, message, campaign) of the earliest ``_BUCKET`` indexed members of each band hash."""
    mb, cm = MinHashBand.__table__, CampaignMember.__table__
    rn = func.row_number().over(partition_by=mb.c.hash, order_by=mb.c.message).label("rn")
    inner = (select(mb.c.hash, mb.c.message, cm.c.campaign, rn).join(cm, cm.c.message == mb.c.message)
             .where(mb.c.hash.in_(list(hashes)))).subquery()
    q = select(inner.c.hash, inner.c.message, inner.c.campaign).where(inner.c.rn <= _BUCKET)
    return [tuple(r) for r in conn.execute(q)]


class _LshIndex:
    """The MinHash signatures and LSH band buckets an :meth:`Campaigns.index` pass needs: the new
    messages', and those of the indexed messages that share a band with them."""

    def __init__(self) -> None:
        self.sigs: dict[int, bytes] = {}
        self.bands: dict[int, list[int]] = defaultdict(list)
        self.claims: dict[int, set[str]] = {}
        # band hash -> group label -> up to _REPS members (in id order)
        self.reps: dict[int, dict[str, list[int]]] = defaultdict(dict)

    @classmethod
    def load(cls, conn, new_ids: Sequence[int]) -> "_LshIndex":
        mb, tm, c = MinHashBand.__table__, TextMinHash.__table__, Claim.__table__
        idx = cls()
        for chunk in _chunks(new_ids):
            for mid, sig in conn.execute(select(tm.c.message, tm.c.signature).where(tm.c.message.in_(chunk))):
                idx.sigs[mid] = bytes(sig)
            for mid, h in conn.execute(select(mb.c.message, mb.c.hash).where(mb.c.message.in_(chunk))
                                       .order_by(mb.c.message, mb.c.band)):
                idx.bands[mid].append(h)
        hashes = sorted({h for v in idx.bands.values() for h in v})
        rows: list[tuple[int, int, str | None]] = []
        for chunk in _chunks(hashes):
            rows.extend(_bucket_members(conn, chunk))
        rows.sort(key=lambda r: (r[1], r[0]))
        old = sorted({r[1] for r in rows})
        for chunk in _chunks(old):
            for mid, sig in conn.execute(select(tm.c.message, tm.c.signature).where(tm.c.message.in_(chunk))):
                idx.sigs[mid] = bytes(sig)
            for mid, ent in conn.execute(select(c.c.message, c.c.entity).where(c.c.message.in_(chunk))):
                idx.claims.setdefault(mid, set()).add(ent)
        for h, mid, camp in rows:
            members = idx.reps[h].setdefault(f"c:{camp}" if camp else f"m:{mid}", [])
            if len(members) < _REPS:
                members.append(mid)
        return idx

    def has(self, mid: int) -> bool:
        return mid in self.sigs

    def matches(self, mid: int, claims: set[str], groups: _UnionFind,
                threshold: float) -> dict[Any, tuple[float, int, str]]:
        """{group: (Jaccard, member, shared claim)}: the most similar confirmed member of each group
        that shares an LSH band with ``mid`` and one of its claimed identities."""
        sig = self.sigs.get(mid)
        if sig is None or not claims:
            return {}
        by_group: dict[Any, set[int]] = defaultdict(set)
        for h in self.bands.get(mid, ()):
            for label, members in self.reps.get(h, {}).items():
                by_group[groups.find(label)].update(members)
        best: dict[Any, tuple[float, int, str]] = {}
        for g, cands in by_group.items():
            for other in sorted(cands):
                shared = claims & self.claims.get(other, set())
                osig = self.sigs.get(other)
                if other == mid or not shared or osig is None:
                    continue
                j = jaccard(sig, osig)
                if j >= threshold and (g not in best or j > best[g][0]):
                    best[g] = (j, other, min(shared))
        return best

    def add(self, mid: int, groups: _UnionFind, claims: set[str]) -> None:
        """``mid`` is indexed: a candidate for the messages after it."""
        self.claims[mid] = claims
        if not claims:
            return  # a near-duplicate needs a shared claimed identity: it can never be one
        label = groups.find(f"m:{mid}")
        for h in self.bands.get(mid, ()):
            members = self.reps[h].setdefault(label, [])
            if len(members) < _REPS:
                members.append(mid)


class Campaigns:
    """Campaigns in one hunt store.

        >>> camps = Campaigns(Store("lurelens.db").migrate())
        >>> camps.update()                  # index new hits, re-link, rewrite the summaries
        >>> for c in camps.list(): print(c["id"], c["name"], c["messages"], c["recipients"])
    """

    def __init__(self, store: Store, *, data_dir: Path | str | None = None,
                 near_distance: int = DEFAULT_NEAR_DISTANCE, near_jaccard: float = DEFAULT_NEAR_JACCARD):
        self.store = store
        self.engine = store.engine
        self.keymaker = KeyMaker(data_dir)
        self.near_distance = near_distance
        self.near_jaccard = near_jaccard

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
        tm = TextMinHash.__table__
        with self.engine.connect() as conn:
            # Only the parts of the stored verdict the keys are made of (the database extracts
            # them): parsing whole verdicts was most of the cost of indexing a big hunt.
            new = conn.execute(select(m.c.id, m.c.report["features"].label("features"),
                                      m.c.report["remote_resources"].label("resources"), m.c.text_fingerprint)
                               .where(m.c.verdict.in_(SUSPICIOUS_LABELS), m.c.id.not_in(select(cm.c.message)))
                               .order_by(m.c.id)).all()
            if not new:
                return 0, 0
            ids = [r.id for r in new]
            recipients = self._recipients(conn, ids)
            claims = self._claims(conn, ids)
            wanted = sorted({e for v in claims.values() for e in v})
            # The indexed messages that claim what the new ones claim: TLSH candidates for a pair
            # where one side has no MinHash signature (stored before migration 0003). (id,
            # fingerprint, group, has a signature): the group is its campaign, or the message itself.
            # Keyed by (entity, has a signature): a signed message is compared with unsigned ones only.
            known: dict[tuple[str, bool], list[tuple[int, str, str]]] = defaultdict(list)
            for chunk in _chunks(wanted):
                q = (select(c.c.entity, m.c.id, m.c.text_fingerprint, cm.c.campaign, tm.c.message)
                     .join(m, m.c.id == c.c.message).join(cm, cm.c.message == m.c.id)
                     .outerjoin(tm, tm.c.message == m.c.id)
                     .where(c.c.entity.in_(chunk), m.c.text_fingerprint.is_not(None)).order_by(m.c.id))
                for ent, mid, fp, camp, sig in conn.execute(q):
                    known[(ent, sig is not None)].append((mid, fp, f"c:{camp}" if camp else f"m:{mid}"))
            lsh = _LshIndex.load(conn, ids)
        keys: list[dict[str, Any]] = []
        near: dict[tuple[int, int], dict[str, Any]] = {}
        groups = _UnionFind()
        for row in new:
            report = {"features": row.features if isinstance(row.features, dict) else {},
                      "remote_resources": row.resources if isinstance(row.resources, list) else []}
            for kind, value in sorted(self.keymaker.keys(report, recipients.get(row.id, []))):
                keys.append({"message": row.id, "kind": kind, "value": value})
            mine = set(claims.get(row.id, []))
            # MinHash: the earlier messages sharing an LSH band, confirmed by their Jaccard estimate
            # and a shared claimed identity. One edge, to the most similar, per group it meets:
            # enough to connect the components, and the stored edges grow with the messages, not
            # their pairs.
            for g, (j, other, claim) in sorted(lsh.matches(row.id, mine, groups, self.near_jaccard).items()):
                a, b = min(other, row.id), max(other, row.id)
                near.setdefault((a, b), {"a": a, "b": b, "claim": claim, "distance": round((1 - j) * 100),
                                         "method": "minhash", "similarity": round(j, 4)})
                groups.union(g, f"m:{row.id}")
            lsh.add(row.id, groups, mine)
            fp = row.text_fingerprint
            signed = lsh.has(row.id)
            for ent in sorted(mine):
                if fp:
                    # TLSH only where one side has no signature (a store hunted before MinHash, or
                    # a text too short for shingles): it sees texts with one word distribution as
                    # near, which MinHash over word shingles does not.
                    best: dict[str, tuple[int, int]] = {}
                    others = known[(ent, False)] if signed else known[(ent, False)] + known[(ent, True)]
                    for other, ofp, label in others:
                        d = _tlsh_diff(fp, ofp)
                        if d is not None and d <= self.near_distance:
                            g = groups.find(label)
                            if g not in best or (d, other) < best[g]:
                                best[g] = (d, other)
                    for g, (d, other) in sorted(best.items()):
                        a, b = min(other, row.id), max(other, row.id)
                        near.setdefault((a, b), {"a": a, "b": b, "claim": ent, "distance": d, "method": "tlsh",
                                                 "similarity": None})
                        groups.union(g, f"m:{row.id}")
                    known[(ent, signed)].append((row.id, fp, f"m:{row.id}"))
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
        """Index what is new, link every indexed message, and rewrite campaign ids and summaries.
        When nothing is new and every indexed message has its campaign, the stored campaigns are
        what linking would give again (it is deterministic): they are kept as they are."""
        indexed, pairs = self.index()
        k, nd, cm = CampaignKey.__table__, NearDuplicate.__table__, CampaignMember.__table__
        if not indexed:
            t = Campaign.__table__
            with self.engine.connect() as conn:
                pending = conn.execute(select(cm.c.message).where(cm.c.campaign.is_(None)).limit(1)).first()
                n = conn.execute(select(func.count()).select_from(t)).scalar_one() if pending is None else 0
                if n:
                    linked = conn.execute(select(func.count()).select_from(t).where(t.c.messages > 1)).scalar_one()
                    return Updated(0, 0, n, linked)
        uf = _UnionFind()
        by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        near_edges: list[tuple[int, int, str, int, str, float | None]] = []
        with self.engine.connect() as conn:
            members = [r[0] for r in conn.execute(select(cm.c.message).order_by(cm.c.message))]
            for mid, kind, value in conn.execute(select(k.c.message, k.c.kind, k.c.value)
                                                 .order_by(k.c.kind, k.c.value, k.c.message)):
                by_key[(kind, value)].append(mid)
            near_edges = [tuple(r) for r in conn.execute(select(nd.c.a, nd.c.b, nd.c.claim, nd.c.distance,
                                                                       nd.c.method, nd.c.similarity)
                                                           .order_by(nd.c.a, nd.c.b))]
        for mid in members:
            uf.find(mid)
        shared = {key: ids for key, ids in by_key.items() if len(ids) > 1}
        for ids in shared.values():
            for other in ids[1:]:
                uf.union(ids[0], other)
        for a, b, *_ in near_edges:
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
                   near_edges: list[tuple[int, int, str, int, str, float | None]]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        m = StoredMessage.__table__
        ids = sorted(i for g in groups for i in g)
        info: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                for r in conn.execute(select(m.c.id, m.c.source, m.c.locator, m.c.sha256, m.c.verdict, m.c.score,
                                             m.c.date, m.c.subject, m.c.from_addr, m.c.from_name, m.c.origin_ip,
                                             m.c.report["attack"].label("attack"),
                                             m.c.report["features"].label("features")).where(m.c.id.in_(chunk))):
                    report = {"attack": r.attack if isinstance(r.attack, list) else []}
                    feats = r.features if isinstance(r.features, dict) else {}
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
        for a, b, claim, d, method, sim in near_edges:
            value = f"{_near_text(method, d, sim)}, both claim {claim}"
            evidence[a].append({"kind": "near-duplicate", "value": value, "with": b})
            evidence[b].append({"kind": "near-duplicate", "value": value, "with": a})
        summaries: list[dict[str, Any]] = []
        member_rows: list[dict[str, Any]] = []
        # Each group's own near-duplicate edges (both ends are in one group): handing every group
        # all the edges made the summaries quadratic in a big store.
        group_of = {mid: k for k, group in enumerate(groups) for mid in group}
        edges_of: dict[int, list[tuple[int, int, str, int, str, float | None]]] = defaultdict(list)
        for edge in near_edges:
            if edge[0] in group_of:
                edges_of[group_of[edge[0]]].append(edge)
        for k, group in enumerate(groups):
            s = self._summary(group, info, recipients, claims, evidence, own, edges_of.get(k, []))
            summaries.append(s)
            for mid in group:
                member_rows.append({"m_id": mid, "m_campaign": s["id"], "m_evidence": evidence.get(mid, [])})
        summaries.sort(key=lambda s: (-s["threat"], -len(s["messages"]), s["id"]))
        return summaries, member_rows

    def _summary(self, group: list[int], info: dict[int, dict[str, Any]], recipients: dict[int, list[str]],
                 claims: dict[int, list[str]], evidence: dict[int, list[dict[str, Any]]],
                 own: dict[int, list[tuple[str, str]]],
                 near_edges: list[tuple[int, int, str, int, str, float | None]]) -> dict[str, Any]:
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
        for method in ("minhash", "tlsh"):
            near = sorted((d, sim, a, b) for a, b, _c, d, meth, sim in near_edges if a in gset and meth == method)
            if near:
                lo, hi = near[-1], near[0]  # the largest distance is the least similar
                span = (f"text Jaccard {lo[1]:.2f}-{hi[1]:.2f}" if method == "minhash"
                        else f"text TLSH distance {hi[0]}-{lo[0]}")
                why.append({"kind": "near-duplicate", "label": "near-duplicate text with the same claimed identity",
                            "value": f"{len(near)} pairs, {span}",
                            "messages": len({x for *_, a, b in near for x in (a, b)})})
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
            # The row's columns and the summary's small parts only: a big campaign's summary lists
            # thousands of messages, which a listing does not need.
            rows = conn.execute(select(t.c.id, t.c.name, t.c.messages, t.c.recipients, t.c.first_seen, t.c.last_seen,
                                       t.c.threat, t.c.summary["infrastructure"].label("infrastructure"),
                                       t.c.summary["claimed"].label("claimed"), t.c.summary["verdicts"].label("verdicts"))
                                .where(t.c.messages >= min_messages)
                                .order_by(t.c.threat.desc(), t.c.messages.desc(), t.c.id)).all()
        return [{"id": r.id, "name": r.name, "messages": r.messages, "recipients": r.recipients,
                 "first_seen": r.first_seen, "last_seen": r.last_seen, "infrastructure": r.infrastructure,
                 "claimed": [c["entity"] for c in r.claimed or []], "verdicts": r.verdicts, "threat": r.threat}
                for r in rows]

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

    def match(self, report: dict[str, Any], recipients: builtins.list[str], claims: Sequence[str] = (),
              minhash: MinHashSig | None = None) -> builtins.list[dict[str, Any]]:
        """Campaigns a message that is not in the store would join, with the keys or near-duplicate
        texts it shares with their members: [{"campaign", "evidence"}], best match first. ``minhash``
        is the message's text signature (:func:`lurelens.store.neardup.text_minhash`): its LSH bands
        find the candidates; without it, or for members stored without one, TLSH compares."""
        k, cm, c, m = CampaignKey.__table__, CampaignMember.__table__, Claim.__table__, StoredMessage.__table__
        tm = TextMinHash.__table__
        keys = sorted(self.keymaker.keys(report, recipients))
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with self.engine.connect() as conn:
            for kind, value in keys:
                q = (select(cm.c.campaign, func.count()).join(cm, cm.c.message == k.c.message)
                     .where(k.c.kind == kind, k.c.value == value, cm.c.campaign.is_not(None))
                     .group_by(cm.c.campaign).order_by(cm.c.campaign))
                for camp, n in conn.execute(q):
                    found[camp].append({"kind": kind, "value": value, "messages": n})
            near: dict[str, tuple[float, str]] = {}
            if minhash is not None and claims:
                cands = sorted({(mid, camp) for _h, mid, camp in _bucket_members(conn, minhash.bands) if camp})
                camp_of = dict(cands)
                q = (select(tm.c.message, tm.c.signature, c.c.entity).join(c, c.c.message == tm.c.message)
                     .where(tm.c.message.in_([mid for mid, _c in cands]), c.c.entity.in_(list(claims)))
                     .order_by(tm.c.message, c.c.entity))
                for mid, sig, ent in conn.execute(q):
                    camp = camp_of[mid]
                    j = jaccard(minhash.signature, bytes(sig))
                    if camp and j >= self.near_jaccard and (camp not in near or j > near[camp][0]):
                        near[camp] = (j, ent)
                for camp, (j, ent) in sorted(near.items()):
                    found[camp].append({"kind": "near-duplicate", "value": f"text Jaccard {j:.2f}, both claim {ent}"})
            fp = (report.get("features") or {}).get("text_fingerprint")
            if fp and claims:
                near_q = (select(cm.c.campaign, m.c.id, m.c.text_fingerprint, c.c.entity).join(m, m.c.id == c.c.message)
                     .join(cm, cm.c.message == m.c.id)
                     .where(c.c.entity.in_(list(claims)), m.c.text_fingerprint.is_not(None)).order_by(m.c.id))
                if minhash is not None:
                    # Members with a signature were compared above, by MinHash.
                    near_q = near_q.outerjoin(tm, tm.c.message == m.c.id).where(tm.c.message.is_(None))
                best: dict[str, tuple[int, str]] = {}
                for camp, _mid, ofp, entity in conn.execute(near_q):
                    if camp in near:
                        continue
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
