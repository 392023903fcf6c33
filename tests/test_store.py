"""The hunt store, against SQLite and a real PostgreSQL server the session starts: migrations on open,
every stored column and side table, idempotent batched writes, resume state, error rows, hostile
text, and two processes writing one database at once."""

from __future__ import annotations

import hashlib
import multiprocessing

import pytest

from lurelens.testing import MessageBuilder

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")

from lurelens.store import Store, normalize_url  # noqa: E402
from lurelens.store.rows import error_row, message_row  # noqa: E402

pytestmark = pytest.mark.services


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("postgres_server")()


def _lure() -> bytes:
    return (MessageBuilder()
            .header("From", '"Daniel Hart | Reuters" <daniel.hart@example.com>')
            .header("Reply-To", "press.desk@example.net")
            .header("Cc", "carol@example.org, dave@example.org")
            .prepend_header("Received", "from mail.example.com (mail.example.com [93.184.216.34]) by mx.example.org "
                                        "with ESMTP for <bob@example.org>; Tue, 10 Nov 2026 08:00:01 +0000")
            .prepend_header("Delivered-To", "bob@example.org")
            .subject("Request for comment")
            .html('<p>Hello, we are preparing a report on the sanctions vote and would value your comment '
                  'before Friday. <a href="https://www.reuters.com/world/x">article</a></p>'
                  '<img src="https://cdn.example.net/p/Ym9iQGV4YW1wbGUub3Jn.gif" width="1" height="1" style="display:none">')
            .attach("notes.pdf", "application/pdf", b"%PDF-1.4 hello")
            .build())


def _row(scanner, raw: bytes, locator: str, source: str = "archive.mbox") -> dict:
    return message_row(source, locator, hashlib.sha256(raw).hexdigest(), len(raw), scanner.scan(raw, file=locator))


def test_migrate_creates_schema_at_head_and_is_idempotent(store_url):
    with Store(store_url) as store:
        assert store.revision() is None
        store.migrate()
        assert store.revision() == "0003"
        store.migrate()  # a second open changes nothing
        assert store.revision() == "0003"
        assert store.count() == 0


def test_message_row_columns_and_side_tables(store_url, scanner):
    raw = _lure()
    with Store(store_url).migrate() as store:
        run = store.begin_run(["archive.mbox"], {})
        w = store.write([_row(scanner, raw, "@0")], run_id=run, partition=("archive.mbox", "p0", "fp0"))
        assert (w.stored, w.already) == (1, 0)
        (m,) = store.table("messages")
        assert (m["source"], m["locator"], m["sha256"]) == ("archive.mbox", "@0", hashlib.sha256(raw).hexdigest())
        assert m["run_id"] == run and m["from_addr"] == "daniel.hart@example.com"
        assert m["from_name"] == "Daniel Hart | Reuters" and m["reply_to"] == "press.desk@example.net"
        assert m["subject"] == "Request for comment" and m["message_id"] == "<test@example.com>"
        assert m["date_utc"] is not None and m["date_utc"].year == 2026
        assert m["origin_ip"] == "93.184.216.34"
        assert m["text_fingerprint"] and m["text_fingerprint"] == m["report"]["features"]["text_fingerprint"]
        assert m["html_fingerprint"] == m["report"]["features"]["html_skeleton_fingerprint"]
        assert [c["entity"] for c in store.table("claims")] == m["report"]["features"]["claimed"] != []
        assert m["verdict"] not in ("clean", "error") and m["score"] > 0
        assert m["report"]["verdict"] == m["verdict"] and m["report"]["findings"]
        kinds = {(r["kind"], r["address"]) for r in store.table("recipients")}
        assert {("to", "bob@example.org"), ("cc", "carol@example.org"), ("cc", "dave@example.org"),
                ("delivered-to", "bob@example.org"), ("received-for", "bob@example.org")} <= kinds
        hosts = {(h["role"], h["host"]) for h in store.table("hosts")}
        assert {("fetch", "cdn.example.net"), ("beacon", "cdn.example.net"), ("link", "www.reuters.com")} <= hosts
        symbols = {f["symbol"] for f in store.table("findings")}
        assert symbols == {f["symbol"] for f in m["report"]["findings"]}
        (att,) = store.table("attachments")
        assert att["sha256"] == hashlib.sha256(b"%PDF-1.4 hello").hexdigest() and att["filename"] == "notes.pdf"
        assert store.done_partitions("archive.mbox") == {"p0": ("fp0", 1)}


def test_writes_are_idempotent_and_resume_state_follows_fingerprint(store_url, scanner):
    a, b = _lure(), MessageBuilder().text("Lunch at noon?").build()
    rows = [_row(scanner, a, "@0"), _row(scanner, b, "@900")]
    with Store(store_url).migrate() as store:
        assert store.write(rows, partition=("archive.mbox", "p0", "fp0")).stored == 2
        again = store.write(rows, partition=("archive.mbox", "p0", "fp1"))
        assert (again.stored, again.already) == (0, 2)
        assert store.count() == 2 and len(store.table("attachments")) == 1
        assert store.done_partitions("archive.mbox") == {"p0": ("fp1", 2)}
        # Same locator, other bytes (the file was replaced): a new message.
        c = MessageBuilder().text("Lunch at one?").build()
        assert store.write([_row(scanner, c, "@900")]).stored == 1
        assert store.count() == 3


def test_hits_get_and_error_rows(store_url, scanner):
    lure, ham = _lure(), MessageBuilder().text("Lunch at noon?").build()
    with Store(store_url).migrate() as store:
        store.write([_row(scanner, lure, "@0"), _row(scanner, ham, "@1"),
                     error_row("archive.mbox", "@2", None, "torn message at end of file")])
        hits = list(store.hits())
        assert [h["locator"] for h in hits] == ["@0"]
        assert hits[0]["verdict"] == store.table("messages")[0]["verdict"] and "id" in hits[0]
        assert {h["locator"] for h in store.hits(all=True)} == {"@0", "@1", "@2"}
        (err,) = store.hits(["error"])
        assert err["verdict"] == "error" and err["errors"] == ["torn message at end of file"]
        assert err["sha256"] is None
        assert [h["verdict"] for h in store.hits(["clean"])] == ["clean"]
        got = store.get(hits[0]["id"])
        assert got["findings"] == hits[0]["findings"]
        assert {"kind": "to", "address": "bob@example.org"} in got["recipients"]
        assert store.get(10**9) is None


def test_hostile_text_is_stored(store_url, scanner):
    raw = (MessageBuilder().header("Subject", "nul \x00 here").header("From", "Eve <eve@example.com>")
           .text("body").build()) + b"\n\xff\xfe\xed"
    row = _row(scanner, raw, "bad-name")
    row["locator"] = "bad\udcff-name"
    row["subject"] = "x\x00y\udcff"
    row["findings"].append({"symbol": "X", "score": 0, "evidence": "\x00\udcff", "group": None, "nested": None})
    with Store(store_url).migrate() as store:
        assert store.write([row]).stored == 1
        (m,) = store.table("messages")
        assert "\x00" not in m["subject"] and m["locator"].startswith("bad")
        assert {f["symbol"] for f in store.table("findings")} >= {"X"}


def _writer(url: str, rows: list[dict], reps: int) -> None:
    store = Store(url).migrate()
    for i in range(reps):
        for j in range(0, len(rows), 25):
            store.write(rows[j:j + 25], partition=("s", f"p{j}", f"f{i}"))
    store.close()


def test_two_writers_at_once_store_each_message_once(store_url, scanner):
    msgs = [MessageBuilder().subject(f"m{i}").text(f"body {i}").build() for i in range(100)]
    rows = [_row(scanner, raw, f"@{i}", source="s") for i, raw in enumerate(msgs)]
    ctx = multiprocessing.get_context("spawn")
    # Both start on an empty database, so they also race to create the schema.
    procs = [ctx.Process(target=_writer, args=(store_url, rows[::step], 3)) for step in (1, -1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store(store_url).migrate() as store:
        assert store.count() == 100
        assert len({(m["locator"], m["sha256"]) for m in store.table("messages")}) == 100
        assert len(store.table("findings")) == sum(len(r["findings"]) for r in rows)


def test_normalize_url():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("rel.db").startswith("sqlite:////")


def test_stored_json_is_the_scan_json(corpus, scanner, monkeypatch):
    """The verdict JSON a hunt stores (orjson where it can) is the ``scan --json`` object: equal once
    parsed on real mail of every kind, and on hostile text (NUL, undecodable bytes), valid UTF-8 with
    no NUL escape, the same as the json module's way writes it."""
    import json

    from lurelens.report.jsonout import dumps
    from lurelens.store import rows

    pytest.importorskip("orjson", reason="the fast path under test (hunt extra)")
    files = [p for d in ("phishing_pot", "spamassassin/easy_ham", "spamassassin/spam", "newsletters/unspy")
             for p in sorted((corpus / d).rglob("*"))[:40] if p.is_file() and not p.name.endswith(".md")]
    hostile = (MessageBuilder().header("Subject", "nul \x00 here RAW").header("From", "Eve <eve@example.com>")
               .text("body \x00").build()).replace(b"RAW", b"\xff\xfe") + b"\n\xff\xfe\xed"
    checked = 0
    for raw in [hostile, *(p.read_bytes() for p in files)]:
        d = scanner.scan(raw).to_dict()
        fast = rows._json(d)
        fast.encode("utf-8")  # valid UTF-8: no lone surrogate
        assert "\\u0000" not in fast
        assert json.loads(fast) == json.loads(dumps(d).replace("\\u0000", "\\ufffd"))
        with monkeypatch.context() as m:
            m.setattr(rows, "orjson", None)
            assert json.loads(rows._json(d)) == json.loads(fast)
        checked += 1
    assert checked > 100
    # What orjson refuses goes the json module's way.
    odd = {"big": 1 << 70, 3: "int key", "s": "\udcff"}
    assert json.loads(rows._json(odd)) == {"big": 1 << 70, "3": "int key", "s": "\ufffd"}
