"""Near-duplicate text by MinHash/LSH (lurelens.store.neardup): signatures and band hashes stored by
a real hunt for suspicious-or-worse messages only, campaigns linked by band collisions confirmed by
the Jaccard estimate and a shared claimed identity, texts over one vocabulary kept apart (where TLSH
merged them), the TLSH fallback for messages stored without a signature, and the same on PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")
pytest.importorskip("numpy", reason="needs the hunt extra")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign_mail import bag_text, legit, lure_c, lure_text_only, write_mbox  # noqa: E402

from lurelens import ScannerSettings  # noqa: E402
from lurelens.adapters.hunt import run_hunt  # noqa: E402
from lurelens.campaigns import Campaigns  # noqa: E402
from lurelens.store import Store  # noqa: E402
from lurelens.store.neardup import MIN_SHINGLES, band_params, jaccard, text_minhash  # noqa: E402
from lurelens.testing.builder import scan  # noqa: E402

N = 5


def _mid(raw: bytes) -> str:
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")


def test_signature_is_deterministic_and_near_texts_share_bands():
    base = bag_text(1)
    a, b = text_minhash("Dear Alice, " + base), text_minhash("Dear Bob, " + base + " (ref 7)")
    assert a == text_minhash("Dear Alice, " + base)  # same text, same signature and bands
    assert len(a.bands) == len(band_params()) and len(a.signature) == 4 * 128
    j = jaccard(a.signature, b.signature)
    assert j >= 0.85
    assert set(a.bands) & set(b.bands)
    # Another text over the same vocabulary: almost no shared 3-shingles, no shared band.
    c = text_minhash(bag_text(2))
    assert jaccard(a.signature, c.signature) < 0.2
    assert not set(a.bands) & set(c.bands)


def test_signature_and_bands_are_datasketchs(corpus):
    """Our numpy MinHash is datasketch's MinHash (affine32, seed 1) bit for bit, and the band layout
    is its MinHashLSH's, on random texts of every size and on real message texts."""
    import random

    datasketch = pytest.importorskip("datasketch", reason="the reference implementation (test extra)")
    from lurelens.store.neardup import _shingles, _signature

    MinHash, MinHashLSH = datasketch.MinHash, datasketch.MinHashLSH

    assert band_params() == tuple(MinHashLSH(threshold=0.5, num_perm=128).hashranges)
    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijé中") for _ in range(rng.randint(1, 7))) for _ in range(400)]
    texts = [" ".join(rng.choice(words) for _ in range(n)) for n in (3, 7, 50, 900, 9000)]
    texts += [p.read_text("latin-1") for p in sorted((corpus / "phishing_pot").rglob("*.eml"))[:40]]
    checked = 0
    for text in texts:
        sh = _shingles(text)
        if not sh:
            continue
        m = MinHash(num_perm=128, seed=1)
        m.update_batch(sorted(sh))
        assert m.hashvalues.astype("<u4").tobytes() == _signature(sh).astype("<u4").tobytes()
        checked += 1
    assert checked >= 40


def test_short_or_empty_text_has_no_signature():
    assert text_minhash(None) is None and text_minhash("") is None
    assert text_minhash(" ".join(["word"] * 50)) is None  # one shingle
    assert text_minhash("one two three four five six") is None  # four 3-shingles
    assert text_minhash("one two three four five six seven eight") is not None
    assert MIN_SHINGLES == 5


@pytest.fixture(scope="module")
def hunted(tmp_path_factory):
    d = tmp_path_factory.mktemp("neardup")
    msgs, truth = [], {}
    for i in range(N):
        for name, raw in (("C", lure_c(i)[0]), ("X", lure_text_only(2, i)), ("Y", lure_text_only(8, i)), ("legit", legit(i)[0])):
            msgs.append(raw)
            truth[_mid(raw)] = name
    write_mbox(d / "archive.mbox", msgs)
    store = Store(str(d / "store.db")).migrate()
    assert not run_hunt([str(d / "archive.mbox")], store, ScannerSettings(), jobs=1).source_errors
    yield d, store, truth
    store.close()


def _groups(store: Store, camps: Campaigns, truth: dict[str, str]) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for row in store.table("messages"):
        out.setdefault(truth[row["message_id"]], set()).add(camps.of_message(row["id"]))
    return out


def test_signatures_stored_for_hits_only(hunted):
    _d, store, truth = hunted
    rows = {r["id"]: r for r in store.table("messages")}
    signed = {r["message"] for r in store.table("text_minhash")}
    assert signed == {i for i, r in rows.items() if r["verdict"] in ("suspicious", "phishing", "recon")}
    assert {truth[rows[i]["message_id"]] for i in signed} == {"C", "X", "Y"}
    bands = store.table("minhash_bands")
    assert len(bands) == len(signed) * len(band_params())


def test_minhash_links_templates_and_keeps_one_vocabulary_apart(hunted, tmp_path):
    _d, store, truth = hunted
    camps = Campaigns(store)
    camps.update()
    g = _groups(store, camps, truth)
    # Each template is one campaign, by its text alone (every message has its own infrastructure)...
    # (X and Y: lure_text_only campaigns 2 and 8, both posing as the Guardian, texts from one vocabulary)
    assert len(g["C"]) == 1 and len(g["X"]) == 1 and len(g["Y"]) == 1 and None not in g["C"] | g["X"] | g["Y"]
    # ... and the two texts over one vocabulary, claiming one outlet, stay two campaigns.
    assert g["X"] != g["Y"] and g["C"] not in (g["X"], g["Y"])
    assert g["legit"] == {None}
    s = camps.get(next(iter(g["C"])))
    assert len(s["messages"]) == N
    near = [w for w in s["why"] if w["kind"] == "near-duplicate"]
    assert near and near[0]["value"].startswith(f"{N - 1} pairs, text Jaccard")
    for m in s["messages"]:
        ev = [e["value"] for e in m["evidence"] if e["kind"] == "near-duplicate"]
        assert ev and all(v.startswith("text Jaccard 0.") or v.startswith("text Jaccard 1.") for v in ev)
        assert all(v.endswith("both claim the-guardian") for v in ev)
    # Deterministic: the same store clustered again from scratch gives the same ids and members.
    first = {c["id"]: c["messages"] for c in camps.list()}
    with store.engine.begin() as conn:
        for t in ("campaigns", "campaign_members", "campaign_near", "campaign_keys"):
            conn.exec_driver_sql(f"DELETE FROM {t}")
    Campaigns(store).update()
    assert {c["id"]: c["messages"] for c in camps.list()} == first


def test_who_else_by_text_alone(hunted):
    _d, store, truth = hunted
    camps = Campaigns(store)
    camps.update()
    v = scan(lure_c(40)[0])
    d = v.to_dict()
    sig = text_minhash(v.message.visible_text)
    found = camps.match(d, list(d["features"]["recipients"]), d["features"]["claimed"], minhash=sig)
    c_id = next(iter(_groups(store, camps, truth)["C"]))
    assert found and found[0]["campaign"] == c_id
    assert [e["kind"] for e in found[0]["evidence"]] == ["near-duplicate"]
    assert found[0]["evidence"][0]["value"].startswith("text Jaccard")
    # The same text claiming another identity is not a near-duplicate.
    assert camps.match(d, [], ["bbc"], minhash=sig) == []


def test_tlsh_fallback_without_signatures(tmp_path):
    """A store hunted before migration 0003 has no signatures: TLSH still links the template."""
    msgs = [lure_c(i)[0] for i in range(N)]
    write_mbox(tmp_path / "c.mbox", msgs)
    store = Store(str(tmp_path / "old.db")).migrate()
    try:
        run_hunt([str(tmp_path / "c.mbox")], store, ScannerSettings(), jobs=1)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM minhash_bands")
            conn.exec_driver_sql("DELETE FROM text_minhash")
        camps = Campaigns(store)
        camps.update()
        (c,) = camps.list()
        assert c["messages"] == N
        assert "TLSH distance" in next(w for w in camps.get(c["id"])["why"] if w["kind"] == "near-duplicate")["value"]
    finally:
        store.close()


@pytest.mark.services
def test_postgresql_same_candidates_and_campaigns(hunted, postgres_server):
    d, sqlite_store, truth = hunted
    ref = Campaigns(sqlite_store)
    ref.update()
    store = Store(postgres_server()).migrate()
    try:
        run_hunt([str(d / "archive.mbox")], store, ScannerSettings(), jobs=1)
        pg = Campaigns(store)
        pg.update()
        assert [(c["id"], c["name"], c["messages"]) for c in pg.list()] == [(c["id"], c["name"], c["messages"]) for c in ref.list()]
        # The signatures and band hashes survive PostgreSQL's BIGINT and BYTEA unchanged.
        key = lambda t: sorted((r["message"], r.get("band"), r.get("hash"), bytes(r.get("signature") or b"")) for r in t)  # noqa: E731
        assert len(store.table("minhash_bands")) == len(sqlite_store.table("minhash_bands"))
        assert {r["hash"] for r in store.table("minhash_bands")} == {r["hash"] for r in sqlite_store.table("minhash_bands")}
        assert key(store.table("text_minhash"))[0][3] in {bytes(r["signature"]) for r in sqlite_store.table("text_minhash")}
        v = scan(lure_c(41)[0])
        dd = v.to_dict()
        found = pg.match(dd, [], dd["features"]["claimed"], minhash=text_minhash(v.message.visible_text))
        assert found and found[0]["evidence"][0]["value"].startswith("text Jaccard")
        c_id = next(iter(_groups(sqlite_store, ref, truth)["C"]))
        assert found[0]["campaign"] == c_id
        # The report reads the verdicts' open_leaks through the database's JSON path on both.
        if importlib.util.find_spec("matplotlib") is not None:
            from lurelens.report.campaign_html import campaign_leaks

            pg_leaks, ref_leaks = campaign_leaks(store, pg.get(c_id)), campaign_leaks(sqlite_store, ref.get(c_id))
            assert pg_leaks == ref_leaks and len(pg_leaks["recipients"]) == len(ref.get(c_id)["recipients"])
            assert all(p["learns"] for p in pg_leaks["recipients"])
    finally:
        store.close()
