"""Analyst actions and the store through a real ``lurelens serve`` (2 workers, a token, a hunt store,
a data overlay): block a host and a rescan shows the intel finding, allow a sender and the score
drops, in whichever worker the rescan lands; false positives logged; hits filtered; campaigns."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import EXAMPLES, make_hunt_db
from test_api import _need_serve
from test_checks_local import newsletter

pytestmark = pytest.mark.services

TOKEN = "feedback-token-0123456789"


@pytest.fixture(scope="module")
def lure() -> bytes:
    return (EXAMPLES / "apt31-style-lure.eml").read_bytes()


@pytest.fixture(scope="module")
def srv(tmp_path_factory, lure):
    _need_serve()
    from lurelens.testing import MessageBuilder
    from lurelens.testing.server import ApiServer

    d = tmp_path_factory.mktemp("feedback")
    plain = MessageBuilder().text("Lunch on Thursday? The usual place at noon.").build()
    db = make_hunt_db(d / "hunt.db", [("@0", lure), ("@1", newsletter()), ("@2", plain)])
    overlay = d / "overlay"
    (d / "tokens").write_text(TOKEN + "\n")
    with ApiServer(["--workers", "2", "--db", str(db), "--data-dir", str(overlay), "--tokens-file", str(d / "tokens")],
                   log=d / "server.log") as s:
        s.overlay = overlay  # type: ignore[attr-defined]
        yield s


@pytest.fixture(scope="module")
def client(srv):
    import httpx

    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        yield c


def scan_many(client, raw: bytes, n: int = 8) -> list[dict]:
    """``n`` scans, 4 at a time, so both workers answer some."""
    with ThreadPoolExecutor(4) as ex:
        rs = list(ex.map(lambda _: client.post("/v1/scan", content=raw), range(n)))
    assert all(r.status_code == 200 for r in rs), [r.text for r in rs]
    return [r.json() for r in rs]


def syms(v: dict) -> set[str]:
    return {f["symbol"] for f in v["findings"]}


def hit_id(client, locator: str) -> int:
    rows = client.get("/v1/hits", params={"all": "true"}).json()["hits"]
    return next(h["id"] for h in rows if h["locator"] == locator)


def test_feedback_needs_the_token(srv):
    import httpx

    r = httpx.post(srv.url + "/v1/feedback", json={"action": "block_host", "value": "x.example"})
    assert r.status_code == 401
    assert httpx.get(srv.url + "/v1/feedback").status_code == 401
    assert httpx.get(srv.url + "/v1/campaigns").status_code == 401


def test_block_host_then_rescan_shows_the_intel_finding(client, srv, lure):
    before = scan_many(client, lure, 4)
    assert not any(s.startswith("INTEL_") for v in before for s in syms(v))
    r = client.post("/v1/feedback", json={"action": "block_host", "value": "CDN.example.net.", "hit": hit_id(client, "@0"),
                                         "note": "beacon host of the sanctions lure"})
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["value"] == "cdn.example.net" and e["added"] is True and e["message"]["verdict"] == "recon"
    listed = (srv.overlay / "iocs" / "lurelens-feedback.txt").read_text()
    assert "domain cdn.example.net" in listed
    for v in scan_many(client, lure):  # every worker, at once: no waiting for a periodic recheck
        assert "INTEL_RESOURCE_DOMAIN_LISTED" in syms(v), sorted(syms(v))
        assert any("cdn.example.net" in f["evidence"] for f in v["findings"] if f["symbol"].startswith("INTEL_"))
    again = client.post("/v1/feedback", json={"action": "block_host", "value": "cdn.example.net"}).json()
    assert again["added"] is False
    assert listed.count("cdn.example.net") == 1


def test_allow_sender_then_rescan_scores_lower(client, srv):
    raw = newsletter()
    before = scan_many(client, raw, 4)
    assert {round(v["score"], 2) for v in before} == {round(before[0]["score"], 2)}
    r = client.post("/v1/feedback", json={"action": "allow_sender", "value": "deals@shop-offers.example",
                                         "hit": hit_id(client, "@1")})
    assert r.status_code == 200, r.text
    assert "deals@shop-offers.example" in (srv.overlay / "allowed_senders.txt").read_text()
    for v in scan_many(client, raw):
        assert {"LOCAL_ALLOW_SENDER", "LOCAL_ALLOWED_SENDER"} <= syms(v)
        assert v["score"] <= before[0]["score"] - 5
    # The same From with DMARC failing (a forgery) gets nothing from the allow list.
    forged = scan_many(client, newsletter(auth="dmarc=fail header.from=shop-offers.example"), 2)
    assert all("LOCAL_ALLOWED_SENDER" not in syms(v) and "LOCAL_ALLOW_SENDER_UNAUTHENTICATED" in syms(v) for v in forged)


def test_allow_host_then_rescan_drops_its_beacon(client):
    raw = newsletter(frm="Deals <deals@other-shop.example>")
    assert all("TRACKER_PIXEL_HIDDEN" in syms(v) for v in scan_many(client, raw, 2))
    r = client.post("/v1/feedback", json={"action": "allow_host", "value": "px.metrics-shop.example"})
    assert r.status_code == 200, r.text
    for v in scan_many(client, raw):
        assert "TRACKER_PIXEL_HIDDEN" not in syms(v) and "LOCAL_ALLOW_HOST" in syms(v)
        assert v["verdict"] != "clean"  # opening it still reports to that host


def test_block_sender_then_rescan_lists_it(client, srv):
    raw = newsletter(frm="Deals <deals@other-shop.example>")
    assert not any("INTEL_EMAIL_LISTED" in syms(v) for v in scan_many(client, raw, 2))
    r = client.post("/v1/feedback", json={"action": "block_sender", "value": "Deals@Other-Shop.example"})
    assert r.status_code == 200 and r.json()["value"] == "deals@other-shop.example"
    assert "email deals@other-shop.example" in (srv.overlay / "iocs" / "lurelens-feedback.txt").read_text()
    for v in scan_many(client, raw):
        assert "INTEL_EMAIL_LISTED" in syms(v)


def test_false_positive_is_logged_with_the_message(client, srv):
    hid = hit_id(client, "@1")
    r = client.post("/v1/feedback", json={"action": "false_positive", "hit": hid, "note": "our weekly newsletter"})
    assert r.status_code == 200, r.text
    latest = client.get("/v1/feedback", params={"limit": 1}).json()["feedback"]
    assert latest[0]["action"] == "false_positive" and latest[0]["hit"] == hid
    assert latest[0]["message"]["from"] == ["deals@shop-offers.example"]
    lines = (srv.overlay / "feedback.jsonl").read_text().splitlines()
    assert [json.loads(x)["action"] for x in lines][-1] == "false_positive"
    assert len(lines) >= 4  # append-only: every earlier action is still there


@pytest.mark.parametrize("body, code", [
    ({"action": "false_positive"}, 422),                      # which message?
    ({"action": "allow_sender", "value": "not an address"}, 422),
    ({"action": "allow_host", "value": "192.0.2.1"}, 422),    # an IP is blocked, never allowed
    ({"action": "block_host"}, 422),
    ({"action": "delete_everything", "value": "x.example"}, 422),
    ({"action": "block_sender", "value": "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".example"}, 400),  # > 253
    ({"action": "false_positive", "hit": 999999}, 404),
])
def test_bad_feedback_is_refused(client, body, code):
    assert client.post("/v1/feedback", json=body).status_code == code


def test_feedback_only_as_json(client, srv):
    """A page on another site can send a form or text/plain POST without asking the server first
    (no CORS preflight); only application/json (which needs one, never granted) is accepted."""
    body = b'{"action": "allow_sender", "value": "evil@attacker.example"}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        assert client.post("/v1/feedback", content=body, headers={"Content-Type": ctype}).status_code == 422
    allowed = srv.overlay / "allowed_senders.txt"
    assert not allowed.exists() or "attacker" not in allowed.read_text()
    pre = client.options("/v1/feedback", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers


def test_hits_filters(client):
    def locs(**params):
        rows = client.get("/v1/hits", params={"all": "true", **params}).json()["hits"]
        return {h["locator"] for h in rows}

    assert locs() == {"@0", "@1", "@2"}
    assert locs(sender="REUTERS") == {"@0"}
    assert locs(sender="shop-offers") == {"@1"}
    assert locs(subject="weekly picks") == {"@1"}
    lure_to = client.get(f"/v1/hits/{hit_id(client, '@0')}").json()["recipients"][0]["address"]
    assert "@0" in locs(recipient=lure_to.upper())
    assert locs(sender="nobody-at-all") == set()
    lure = client.get(f"/v1/hits/{hit_id(client, '@0')}").json()
    day = lure["sender"]["date"]
    from email.utils import parsedate_to_datetime

    d = parsedate_to_datetime(day).astimezone().date()
    assert "@0" in locs(since=d.isoformat(), until=d.isoformat())
    assert "@0" not in locs(since=d.replace(year=d.year + 1).isoformat())
    assert client.get("/v1/hits", params={"since": "not-a-date"}).status_code == 422


def test_campaigns_from_the_store(client):
    assert client.get("/v1/campaigns").json() == {"campaigns": []}  # not clustered yet
    done = client.post("/v1/campaigns/refresh").json()
    assert done["indexed"] >= 1
    rows = client.get("/v1/campaigns").json()["campaigns"]
    assert rows and rows[0]["messages"] >= 1
    assert "cdn.example.net" in json.dumps(rows[0]["infrastructure"])
    one = client.get(f"/v1/campaigns/{rows[0]['id']}").json()
    assert one["id"] == rows[0]["id"] and one["messages"][0]["subject"]
    assert client.get(f"/v1/campaigns/{rows[0]['id'][:8]}").json()["id"] == rows[0]["id"]  # a unique prefix
    assert client.get("/v1/campaigns/no-such-campaign").status_code == 404


def test_405_names_every_method_of_the_path(client):
    r = client.delete("/v1/feedback")
    assert r.status_code == 405 and set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_openapi_documents_the_new_routes(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/feedback", "/v1/campaigns", "/v1/campaigns/{campaign_id}", "/v1/campaigns/refresh"} <= set(spec["paths"])
    assert spec["paths"]["/v1/feedback"]["post"]["security"] == [{"bearer": []}]
    body = spec["paths"]["/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["discriminator"]["mapping"]) == {"false_positive", "allow_sender", "block_sender", "allow_host", "block_host"}
    assert "pattern" in spec["components"]["schemas"]["AllowHost"]["properties"]["value"]


def test_feedback_log_skips_unreadable_lines(tmp_path):
    from lurelens.adapters.feedback import Feedback, FeedbackError

    fb = Feedback(tmp_path)
    fb.record("block_host", "203.0.113.9")
    (tmp_path / "feedback.jsonl").open("a").write("not json\n")
    fb.record("allow_host", "cdn.example.org", note="ours\nreally")
    rows = fb.recent()
    assert [r["action"] for r in rows] == ["allow_host", "block_host"] and rows[0]["note"] == "ours really"
    assert "ip 203.0.113.9" in (tmp_path / "iocs" / "lurelens-feedback.txt").read_text()
    with pytest.raises(FeedbackError):
        fb.record("allow_host", "203.0.113.9")


@pytest.mark.parametrize("action, value", [
    # A newline (or tab, or other line break) in an address's local part would write entries of its
    # own into the list files: here a block of all of gmail.com and an allow of nytimes.com.
    ("block_sender", "x\ndomain\tgmail.com\n@evil.example"),
    ("allow_sender", "x\nnytimes.com\n@evil.example"),
    ("allow_sender", "x\u2028nytimes.com\u2028@evil.example"),
    ("block_sender", "x\x00y@evil.example"),
    ("allow_sender", "a#b@evil.example"),  # the list reader cuts the line at "#": it would never match
    # Public suffixes would allow or block every domain under them.
    ("block_host", "co.uk"),
    ("allow_host", "github.io"),
    ("allow_sender", "com.au"),
    ("block_sender", "*.s3.amazonaws.com"),
])
def test_feedback_refuses_values_that_would_not_stay_one_entry(tmp_path, action, value):
    from lurelens.adapters.feedback import Feedback, FeedbackError
    from lurelens.registry.intel import IntelStore
    from lurelens.registry.local import LocalLists

    fb = Feedback(tmp_path)
    with pytest.raises(FeedbackError):
        fb.record(action, value)
    lists = LocalLists(tmp_path)
    assert not lists.senders and not lists.hosts
    assert len(IntelStore([tmp_path / "iocs"], shipped=False)) == 0
    # The same kind of value without the trick is accepted (so the refusal is about the trick).
    fb.record(action, "sender@evil.example" if action.endswith("sender") else "evil.example")


def test_feedback_with_undecodable_text_is_logged_with_its_action(tmp_path):
    """JSON may carry a lone surrogate ("\\udcff"): it cannot be UTF-8. An action that changed a list
    was once left without its log line (the write raised after the list was appended)."""
    from lurelens.adapters.feedback import Feedback, FeedbackError

    fb = Feedback(tmp_path)
    fb.record("block_host", "x.example", note="seen \udcff twice", message={"subject": "s \udcff"})
    with pytest.raises(FeedbackError):
        fb.record("block_sender", "a\udcff@x.example")
    (entry,) = fb.recent()
    assert entry["value"] == "x.example" and entry["note"] == "seen ? twice" and entry["message"]["subject"] == "s \udcff"
    (tmp_path / "feedback.jsonl").read_bytes().decode("utf-8")  # valid UTF-8
    assert "a\udcff" not in (tmp_path / "iocs" / "lurelens-feedback.txt").read_text(errors="surrogateescape")


def test_feedback_log_line_over_the_limit_is_skipped_not_read_whole(tmp_path):
    """A multi-megabyte line (a hand edit gone wrong, another program's output) is skipped with a
    per-line problem; the entries around it are kept; the line is never held in memory whole."""
    import tracemalloc

    from lurelens.adapters.feedback import MAX_LINE, Feedback

    fb = Feedback(tmp_path)
    fb.record("block_host", "203.0.113.9")
    huge = 8 * MAX_LINE
    with (tmp_path / "feedback.jsonl").open("ab") as f:
        f.write(b'{"action": "allow_host", "value": "' + b"x" * huge + b'"}\n')
        f.write(b"[1, 2]\n")  # JSON, but not an entry
    fb.record("allow_host", "cdn.example.org")
    # The near miss: a line of exactly the limit (the newline not counted) is read.
    with (tmp_path / "feedback.jsonl").open("ab") as f:
        f.write(b'{"action": "false_positive", "hit": 7, "note": "' + b"n" * (MAX_LINE - 50) + b'"}\n')
    assert len((tmp_path / "feedback.jsonl").read_bytes().splitlines()[-1]) == MAX_LINE
    tracemalloc.start()
    try:
        rows = fb.recent()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r.get("action") for r in rows] == ["false_positive", "allow_host", "block_host"]
    assert rows[0]["hit"] == 7 and rows[1]["value"] == "cdn.example.org"
    assert fb.read()[0] == rows
    skipped = fb.read()[1]
    assert skipped == [f"feedback.jsonl line 2: longer than 1 MiB ({huge + 37} bytes), skipped",
                       "feedback.jsonl line 3: not a JSON object, skipped"]
    assert peak < 4 * MAX_LINE, peak  # the 8 MiB line was never read whole
    assert [r["action"] for r in fb.recent(limit=2)] == ["false_positive", "allow_host"]
