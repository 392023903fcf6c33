"""Campaigns over a real hunt store: a temp mbox of synthetic lure campaigns (rotating senders,
subjects and recipients, per-recipient tokens, shared beacon infrastructure, or only a shared text
template) mixed with legitimate mail, hunted with ``run_hunt``, then clustered. Checks pairwise
grouping, that no legitimate message joins a threat campaign, recipients, the watchlist,
determinism and incremental joins, and the shared-platform rules of the link keys."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign_mail import RECIPIENTS, legit, lone_reuters, lure_a, lure_b, lure_c, write_mbox  # noqa: E402

from lurelens import ScannerSettings  # noqa: E402
from lurelens.adapters.hunt import run_hunt  # noqa: E402
from lurelens.campaigns import Campaigns, KeyMaker  # noqa: E402
from lurelens.store import Store  # noqa: E402
from lurelens.testing.builder import scan  # noqa: E402

N = 6


def mailbox() -> tuple[list[bytes], dict[str, str]]:
    """The messages and, by Message-ID, which campaign each belongs to ('legit' for legitimate mail)."""
    msgs, truth = [], {}
    for i in range(N):
        for name, make in (("A", lure_a), ("B", lure_b), ("C", lure_c), ("legit", legit), ("legit2", lambda k: legit(k + N))):
            raw, _ = make(i)
            msgs.append(raw)
            truth[_mid(raw)] = "legit" if name.startswith("legit") else name
    raw = lone_reuters()
    msgs.append(raw)
    truth[_mid(raw)] = "lone"
    return msgs, truth


def _mid(raw: bytes) -> str:
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")


def hunt_into(db: Path, mbox: Path) -> Store:
    store = Store(str(db)).migrate()
    result = run_hunt([str(mbox)], store, ScannerSettings(), jobs=1)
    assert not result.source_errors
    return store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("campaigns")
    msgs, truth = mailbox()
    write_mbox(d / "archive.mbox", msgs)
    store = hunt_into(d / "store.db", d / "archive.mbox")
    camps = Campaigns(store)
    updated = camps.update()
    yield d, store, camps, truth, updated
    store.close()


def membership(store: Store, camps: Campaigns) -> dict[str, str | None]:
    """Message-ID -> campaign id (None for messages that are in no campaign)."""
    out = {}
    for row in store.table("messages"):
        out[row["message_id"]] = camps.of_message(row["id"])
    return out


def test_pairwise_grouping(built):
    _d, store, camps, truth, updated = built
    got = membership(store, camps)
    lures = [m for m, t in truth.items() if t != "legit"]
    # Pairwise: same true campaign <=> same found campaign, for every pair of lures.
    for i, a in enumerate(lures):
        for b in lures[i + 1:]:
            assert (truth[a] == truth[b]) == (got[a] == got[b] and got[a] is not None), (a, b, got[a], got[b])
    assert updated.linked == 3 and updated.campaigns == 4  # A, B, C and the lone Reuters lure


def test_no_legitimate_message_in_a_campaign(built):
    _d, store, camps, truth, _u = built
    got = membership(store, camps)
    legit_ids = [m for m, t in truth.items() if t == "legit"]
    assert legit_ids and all(got[m] is None for m in legit_ids)
    verdicts = {r["message_id"]: r["verdict"] for r in store.table("messages")}
    assert {verdicts[m] for m in legit_ids} >= {"tracked", "clean"}


def test_campaign_summary_recipients_and_evidence(built):
    _d, store, camps, truth, _u = built
    a_mid = next(m for m, t in truth.items() if t == "A")
    sid = next(r["id"] for r in store.table("messages") if r["message_id"] == a_mid)
    s = camps.get(camps.of_message(sid))
    assert len(s["messages"]) == N
    assert s["recipients"] == sorted({RECIPIENTS[i % len(RECIPIENTS)] for i in range(N)})
    assert s["name"] == "Reuters via px.newsdesk-metrics.net"
    assert s["infrastructure"]["beacon_hosts"] == ["px.newsdesk-metrics.net"]
    assert s["infrastructure"]["tracker_templates"] == ["px.newsdesk-metrics.net/o/{token}.gif"]
    assert set(s["infrastructure"]["ips"]) == {"94.130.10.10", "94.130.10.11"}
    # The impersonated outlet's own domain is never infrastructure of the campaign.
    assert "reuters.com" not in s["infrastructure"]["domains"]
    assert "T1598.003" in s["attack"] and s["verdicts"] == {"recon": N}
    assert {"kind": "beacon-host", "label": "same beacon host", "value": "px.newsdesk-metrics.net", "messages": N} in s["why"]
    assert len(s["senders"]) == N and s["first_seen"] <= s["last_seen"]
    listed = {r["id"]: r for r in camps.list()}
    assert listed[s["id"]]["recipients"] == len(s["recipients"]) and listed[s["id"]]["claimed"] == ["reuters"]


def test_near_duplicates_alone_link_campaign_c(built):
    _d, store, camps, truth, _u = built
    c_ids = [r["id"] for r in store.table("messages") if truth[r["message_id"]] == "C"]
    s = camps.get(camps.of_message(c_ids[0]))
    assert len(s["messages"]) == N
    assert [w["kind"] for w in s["why"]] == ["near-duplicate"]
    assert s["claimed"][0]["entity"] == "the-guardian"


def test_watchlist_decodes_every_token(built):
    _d, store, camps, truth, _u = built
    a_id = next(r["id"] for r in store.table("messages") if truth[r["message_id"]] == "A")
    rows = camps.watchlist(camps.of_message(a_id))
    assert len(rows) == N
    for r in rows:
        assert r["host"] == "px.newsdesk-metrics.net" and r["encoding"] == "email:md5"
        assert r["token"] == hashlib.md5(r["recipient"].encode()).hexdigest()
        assert r["template"] == "px.newsdesk-metrics.net/o/{token}.gif"
    b_id = next(r["id"] for r in store.table("messages") if truth[r["message_id"]] == "B")
    for r in camps.watchlist(camps.of_message(b_id)):
        assert r["encoding"] == "email:base64" and r["template"] == "cdn.bbc-briefing.info/open?u={token}&c={n}"
        assert r["recipient"] in RECIPIENTS and r["recipient"].encode() in __import__("base64").urlsafe_b64decode(r["token"] + "==")


def test_deterministic_and_incremental(built, tmp_path):
    d, store, camps, truth, _u = built
    before = {c["id"]: c["messages"] for c in camps.list()}
    # The same archive into a fresh store: the same campaign ids with the same members.
    other = hunt_into(tmp_path / "again.db", d / "archive.mbox")
    try:
        again = Campaigns(other)
        again.update()
        assert {c["id"]: c["messages"] for c in again.list()} == before
        assert again.get(next(iter(before)))["name"] == camps.get(next(iter(before)))["name"]
        # A later hunt: new lures of campaign A join it (same id), nothing else is re-indexed.
        more = [lure_a(i)[0] for i in range(N, N + 3)] + [legit(i)[0] for i in range(50, 53)]
        write_mbox(tmp_path / "later.mbox", more)
        run_hunt([str(tmp_path / "later.mbox")], other, ScannerSettings(), jobs=1)
        updated = again.update()
        assert updated.indexed == 3
        after = {c["id"]: c["messages"] for c in again.list()}
        grown = [cid for cid in before if after[cid] != before[cid]]
        assert len(grown) == 1 and after[grown[0]] == N + 3
        assert again.get(grown[0])["name"].startswith("Reuters")
        assert again.update().indexed == 0  # nothing new: nothing indexed
    finally:
        other.close()


def test_match_finds_the_campaign_of_an_unstored_lure(built):
    _d, store, camps, truth, _u = built
    v = scan(lure_a(40)[0]).to_dict()
    found = camps.match(v, list(v["features"]["recipients"]), v["features"]["claimed"])
    a_id = next(r["id"] for r in store.table("messages") if truth[r["message_id"]] == "A")
    assert found[0]["campaign"] == camps.of_message(a_id)
    assert {"beacon-host", "near-duplicate"} <= {e["kind"] for e in found[0]["evidence"]}
    v = scan(legit(1)[0]).to_dict()
    assert camps.match(v, list(v["features"]["recipients"]), v["features"]["claimed"]) == []


def _report(**features) -> dict:
    return {"features": features, "remote_resources": []}


def test_shared_platforms_never_link():
    km = KeyMaker()
    assert km.keys(_report(beacon_hosts=["u123.ct.sendgrid.net", "d1.cloudfront.net"], link_hosts=["bit.ly", "www.google.com"],
                           reply_to_domains=["gmail.com"], return_path_domain="bounces.mailchimp.com",
                           origin_ip="94.130.1.1", sender_domains=["gmail.com"]), []) == set()
    # A tenant of a free host is specific; the platform's domain is not.
    keys = km.keys(_report(link_hosts=["evil-news.web.app"], origin_ip="94.130.1.1", sender_domains=["evil.example"]), [])
    assert ("link-host", "evil-news.web.app") in keys and not any(v == "web.app" for _k, v in keys)
    assert ("origin-ip", "94.130.1.1") in keys
    # Private and documentation addresses are nobody's infrastructure.
    assert not km.keys(_report(origin_ip="10.1.2.3"), []) and not km.keys(_report(origin_ip="192.0.2.7"), [])
    assert km.keys(_report(beacon_hosts=["px.newsdesk-metrics.net"]), []) == {
        ("beacon-host", "px.newsdesk-metrics.net"), ("beacon-domain", "newsdesk-metrics.net")}


def test_shared_platforms_file_has_provenance():
    text = (Path(__file__).resolve().parent.parent / "src/lurelens/data/shared_platforms.txt").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("source:" in line for line in header) and any("licence:" in line for line in header)
    entries = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert entries == [e.lower().strip() for e in entries] and len(entries) == len(set(entries))


def cli(*args) -> "subprocess.CompletedProcess[str]":
    import subprocess

    return subprocess.run([sys.executable, "-m", "lurelens.adapters.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_commands(built, tmp_path):
    import csv
    import io
    import json

    d, store, camps, truth, _u = built
    db = d / "store.db"
    proc = cli("campaigns", "--db", db, "--json", "--min-messages", "2")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["messages"] for r in rows) == [N, N, N]
    assert set(rows[0]) >= {"id", "name", "messages", "recipients", "first_seen", "last_seen", "infrastructure", "claimed", "verdicts"}
    reuters = next(r for r in rows if r["claimed"] == ["reuters"])
    proc = cli("campaign", reuters["id"][:8], "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["id"] == reuters["id"]
    proc = cli("campaign", reuters["id"], "--db", db)
    assert proc.returncode == 0 and "px.newsdesk-metrics.net" in proc.stdout and "alice@corp.example.org" in proc.stdout
    assert cli("campaign", "C-nothere", "--db", db).returncode == 2
    # who-else: a stored lure (the bytes the user reported, CRLF as sent) and a new one of the same campaign.
    raw, rcpt = lure_a(2)
    (tmp_path / "reported.eml").write_bytes(raw)
    proc = cli("who-else", tmp_path / "reported.eml", "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    ans = json.loads(proc.stdout)
    assert ans["stored"] and ans["campaign"]["id"] == reuters["id"]
    assert len(ans["siblings"]) == N - 1 and rcpt in ans["recipients"] and len(ans["recipients"]) == reuters["recipients"]
    (tmp_path / "new.eml").write_bytes(lure_a(99)[0])
    ans = json.loads(cli("who-else", tmp_path / "new.eml", "--db", db, "--json").stdout)
    assert not ans["stored"] and ans["campaign"]["id"] == reuters["id"] and len(ans["siblings"]) == N
    assert any(e["kind"] == "beacon-host" for e in ans["evidence"])
    (tmp_path / "legit.eml").write_bytes(legit(3)[0])
    proc = cli("who-else", tmp_path / "legit.eml", "--db", db, "--json")
    assert proc.returncode == 1 and json.loads(proc.stdout)["campaign"] is None
    # watchlist as CSV and JSON Lines
    proc = cli("watchlist", "--db", db, "--campaign", reuters["id"])
    assert proc.returncode == 0, proc.stderr
    table = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(table) == N and {r["template"] for r in table} == {"px.newsdesk-metrics.net/o/{token}.gif"}
    assert all(hashlib.md5(r["recipient"].encode()).hexdigest() == r["token"] for r in table)
    proc = cli("watchlist", "--db", db, "--campaign", reuters["id"], "--format", "json")
    assert [json.loads(line)["recipient"] for line in proc.stdout.splitlines()] == [r["recipient"] for r in table]
    assert cli("campaigns", "--db", tmp_path / "missing.db").returncode == 2


def test_stix_export_validates_and_is_deterministic(built, tmp_path):
    import json

    stix2 = pytest.importorskip("stix2", reason="needs the campaigns extra")
    validator = pytest.importorskip("stix2validator", reason="needs the campaigns extra")
    d, store, camps, truth, _u = built
    db = d / "store.db"
    reuters = next(r for r in camps.list() if r["claimed"] == ["reuters"])
    out1, out2, clear = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "clear.json"
    for out in (out1, out2):
        proc = cli("export", "--db", db, "--campaign", reuters["id"], "--format", "stix", "-o", out, "--pseudonym-key", "s3cret")
        assert proc.returncode == 0, proc.stderr
    assert out1.read_bytes() == out2.read_bytes()  # same store, same key: the same bundle, ids and all
    bundle = json.loads(out1.read_text())
    results = validator.validate_instance(bundle, validator.ValidationOptions(strict=True))
    assert results.is_valid, [str(e) for e in results.errors or []]
    assert not results.warnings, [str(w) for w in results.warnings]
    lax = validator.validate_instance(bundle, validator.ValidationOptions())  # warnings kept apart from errors
    assert lax.is_valid and not lax.warnings
    parsed = stix2.parse(bundle, allow_custom=True)
    by_type: dict[str, list] = {}
    for o in parsed.objects:
        by_type.setdefault(o.type, []).append(o)
    assert [c.name for c in by_type["campaign"]] == ["Reuters via px.newsdesk-metrics.net"]
    (infra,) = by_type["infrastructure"]
    assert infra.name == "px.newsdesk-metrics.net" and infra.infrastructure_types == ["reconnaissance"]
    patterns = {i.pattern for i in by_type["indicator"]}
    assert "[domain-name:value = 'px.newsdesk-metrics.net']" in patterns
    assert "[url:value LIKE '%px.newsdesk-metrics.net/o/%.gif']" in patterns
    assert any(ref["external_id"] == "T1598.003" for a in by_type["attack-pattern"] for ref in a.external_references)
    assert len(by_type["email-message"]) == N
    tlp = [m for m in by_type["marking-definition"]]
    assert [m.id for m in tlp] == ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]
    assert all(tlp[0].id in o.object_marking_refs for o in parsed.objects if o.type in ("campaign", "indicator", "infrastructure"))
    rels = {(r.source_ref.split("--")[0], r.relationship_type, r.target_ref.split("--")[0]) for r in by_type["relationship"]}
    assert {("campaign", "uses", "infrastructure"), ("indicator", "indicates", "campaign"),
            ("campaign", "uses", "attack-pattern")} <= rels
    # Recipients: pseudonymised by default, in clear only when asked.
    text = out1.read_text()
    assert not any(r in text for r in RECIPIENTS) and "@corp.example.org" in text
    proc = cli("export", "--db", db, "--campaign", reuters["id"], "-o", clear, "--include-recipients", "--tlp", "green")
    assert proc.returncode == 0, proc.stderr
    text = clear.read_text()
    assert all(RECIPIENTS[i % len(RECIPIENTS)] in text for i in range(N))
    assert "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb" in text
    # The observables are the same whoever exports them: e-mail message ids do not depend on the key.
    other = json.loads(out1.read_text())
    proc = cli("export", "--db", db, "--campaign", reuters["id"], "-o", out2, "--pseudonym-key", "another")
    ids = lambda b: {o["id"] for o in b["objects"] if o["type"] == "email-message"}  # noqa: E731
    assert ids(json.loads(out2.read_text())) == ids(other)


@pytest.mark.services
def test_postgresql_store_gives_the_same_campaigns(built, postgres_server):
    d, _store, camps, _truth, _u = built
    store = Store(postgres_server()).migrate()
    try:
        run_hunt([str(d / "archive.mbox")], store, ScannerSettings(), jobs=1)
        pg = Campaigns(store)
        pg.update()
        assert [(c["id"], c["name"], c["messages"], c["recipients"]) for c in pg.list()] == \
            [(c["id"], c["name"], c["messages"], c["recipients"]) for c in camps.list()]
        cid = camps.list()[0]["id"]
        assert [(w["template"], w["recipient"]) for w in pg.watchlist(cid)] == \
            [(w["template"], w["recipient"]) for w in camps.watchlist(cid)]
    finally:
        store.close()
