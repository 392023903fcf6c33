"""``lurelens milter`` behind a real Postfix (Debian's, started by the tests on loopback ports with
``milter_default_action = tempfail``) delivering to ``smtp-sink``: what arrives for a lure, a
newsletter and a plain message; and, marked slow, a load test with faults (the milter stopped,
killed and restarted, the scanner stalled past its deadline) where no message may be lost or
delivered without its scan receipt."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import time
import urllib.request
from collections import Counter
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from conftest import require_component

from lurelens.testing.builder import MessageBuilder
from lurelens.testing.postfix import (
    Load,
    MilterProcess,
    PostfixInstance,
    SmtpSink,
    delivered,
    free_port,
    instance_dir,
    postfix_problem,
)

pytestmark = pytest.mark.services

NEWSLETTER = (MessageBuilder().sender('"Weekly Digest" <news@example.com>').subject("This week in gardening")
              .html('<p>Tomatoes and <a href="https://example.com/read">more</a></p>'
                    '<img src="https://t.example.net/o.gif" width=1 height=1>').build())
PLAIN = MessageBuilder().subject("Lunch on Friday?").text("Shall we meet at noon?\n").build()
MILTER_ARGS = ("--workers", "2", "--timeout", "3")


@pytest.fixture(scope="module")
def flow():
    require_component("Postfix", postfix_problem())
    base = instance_dir()
    stall = base / "stall-seconds"
    stall.write_text("0")
    sink = SmtpSink(base).start()
    metrics_port = free_port()
    milter = MilterProcess(free_port(), base / "milter.log", (*MILTER_ARGS, "--metrics", f"127.0.0.1:{metrics_port}"),
                           env={"LURELENS_MILTER_TEST_STALL_FILE": str(stall)}).start()
    # Short milter timeouts so a stopped milter defers mail in seconds (production: see docs/milter.md).
    postfix = PostfixInstance(base, milter.port, sink.port, milter_timeouts=(3, 3, 20))
    try:
        postfix.start()
    except Exception:
        milter.stop()
        sink.stop()
        raise
    yield SimpleNamespace(base=base, sink=sink, milter=milter, postfix=postfix, stall=stall, metrics_port=metrics_port)
    postfix.stop()
    milter.stop()
    sink.stop()
    if not os.environ.get("LURELENS_KEEP_POSTFIX"):
        shutil.rmtree(base, ignore_errors=True)


def send(flow, raw: bytes, token: str) -> None:
    with smtplib.SMTP("127.0.0.1", flow.postfix.smtp_port, timeout=60) as s:
        s.sendmail("sender@example.net", ["j.smith@example.org"], f"X-Func-Id: {token}\r\n".encode() + raw)


def wait_delivered(flow, token: str, timeout: float = 60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for raw in flow.sink.messages():
            if f"X-Func-Id: {token}".encode() in raw:
                return message_from_bytes(raw, policy=policy.compat32), raw
        time.sleep(0.3)
    raise AssertionError(f"message {token} not delivered in {timeout}s; postfix log:\n{flow.postfix.log()[-3000:]}")


def wait_held(flow, token: str, timeout: float = 30) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for q in flow.postfix.queue_entries():
            if q["queue_name"] == "hold":
                text = flow.postfix.postcat(q["queue_id"])
                if f"X-Func-Id: {token}" in text:
                    return text
        time.sleep(0.3)
    raise AssertionError(f"message {token} not on hold; queue: {flow.postfix.queue_entries()}")


def metric(flow, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{flow.metrics_port}/metrics", timeout=10).read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def test_lure_held_newsletter_and_plain_delivered_with_receipts(flow, apt31_example):
    send(flow, apt31_example.read_bytes(), "lure-1")
    send(flow, NEWSLETTER, "news-1")
    forged = b"X-Lurelens-Verdict: clean\r\nX-Lurelens-Scan: id=forged\r\n" + PLAIN
    send(flow, forged, "plain-1")

    held = wait_held(flow, "lure-1")  # quarantined: on Postfix's hold queue, stamped
    assert "X-Lurelens-Verdict: recon" in held and "X-Lurelens-Scan: id=" in held
    assert "RECON_BEACON" in held

    news, _ = wait_delivered(flow, "news-1")
    assert news["X-Lurelens-Verdict"] == "tracked" and news["Subject"] == "This week in gardening"
    assert news["X-Lurelens-Scan"].startswith("id=")

    plain, _ = wait_delivered(flow, "plain-1")
    assert plain.get_all("X-Lurelens-Verdict") == ["clean"]  # the forged one is gone
    assert len(plain.get_all("X-Lurelens-Scan")) == 1 and "forged" not in plain["X-Lurelens-Scan"]
    assert float(plain["X-Lurelens-Score"]) == 0
    # The envelope reached the scanner: the milter logs what it was given.
    assert "from=sender@example.net client=127.0.0.1" in flow.milter.logfile.read_text()


def restart_milter(flow, *args: str) -> None:
    flow.milter.stop()
    flow.milter.args = (*MILTER_ARGS, "--metrics", f"127.0.0.1:{flow.metrics_port}", *args)
    flow.milter.start()


def test_tag_and_defuse_through_postfix(flow, apt31_example):
    restart_milter(flow, "--action-tracked", "tag", "--action-recon", "defuse")
    try:
        send(flow, NEWSLETTER, "news-tag")
        send(flow, apt31_example.read_bytes(), "lure-defuse")
        news, _ = wait_delivered(flow, "news-tag")
        assert news["Subject"] == "[lurelens:tracked] This week in gardening"
        lure, raw = wait_delivered(flow, "lure-defuse")
        assert lure["X-Lurelens-Verdict"] == "recon" and lure["X-Lurelens-Defused"]
        assert b"https://img.example.net" not in raw and b"Dear Mr Smith" in raw
        assert lure.is_multipart() and len(lure.get_payload()) == 2
    finally:
        restart_milter(flow)


def test_dead_milter_defers_instead_of_passing_mail(flow):
    flow.milter.kill9()
    try:
        with pytest.raises(smtplib.SMTPResponseException) as exc:
            send(flow, PLAIN, "while-dead")
        assert 400 <= exc.value.smtp_code < 500
    finally:
        flow.milter.start()
    send(flow, PLAIN, "after-restart")
    msg, _ = wait_delivered(flow, "after-restart")
    assert msg["X-Lurelens-Scan"]
    assert not any(b"X-Func-Id: while-dead" in m for m in flow.sink.messages())


@pytest.mark.slow
def test_load_with_faults_loses_nothing_and_delivers_nothing_unscanned(flow, apt31_example):
    total = 2000
    lure = apt31_example.read_bytes()
    # Mostly ordinary mail; every 20th is the lure, which is held (quarantine) rather than delivered.
    mix = [PLAIN, NEWSLETTER] * 9 + [PLAIN, lure]
    load = Load(flow.postfix.smtp_port, mix, clients=6).start()
    events: list[str] = []

    def during(seconds: float) -> None:
        time.sleep(seconds)

    try:
        during(4)
        for _ in range(2):  # the milter frozen: Postfix's milter timeouts defer the mail
            flow.milter.signal(signal.SIGSTOP)
            during(5)
            flow.milter.signal(signal.SIGCONT)
            load.new_sessions()  # as a retrying server would: sessions whose milter timed out end
            events.append("sigstop")
            during(3)
        for _ in range(3):  # the milter killed and restarted
            flow.milter.kill9()
            during(2)
            flow.milter.start()
            load.new_sessions()
            events.append("kill-9")
            during(3)
        # The scanner stalled past the milter's deadline: every tempfail is the milter's own, so
        # the client's 4xx count and the milter's counters must agree exactly.
        load.pause()
        load.new_sessions()  # no session still tied to a milter connection that a kill broke
        before, tf0 = load.counts(), metric(flow, "lurelens_milter_tempfail_total")
        refused0 = set(load.refused)
        flow.stall.write_text("5")
        load.resume()
        during(8)
        load.pause()
        flow.stall.write_text("0")
        after, tf1 = load.counts(), metric(flow, "lurelens_milter_tempfail_total")
        window = Counter(load.refused[n][:90] for n in set(load.refused) - refused0)
        timeouts = metric(flow, 'lurelens_milter_tempfail_total{reason="timeout"}')
        load.resume()
        events.append("stall")
    finally:
        flow.stall.write_text("0")
        load.finish(total)

    counts = load.counts()
    print("load:", counts, "events:", events, "stall window 4xx:", dict(window))
    assert counts["sent"] >= total
    assert counts["failed"] == 0, list(load.failed.items())[:5]
    assert counts["uncertain"] == 0, sorted(load.uncertain)[:10]
    # How many get through depends on the machine's speed during the faults; both must happen.
    assert counts["refused"] > 0 and counts["accepted"] >= total // 5
    assert after["refused"] - before["refused"] == tf1 - tf0 and tf1 > tf0 and timeouts >= 1, (dict(window), tf1 - tf0)

    lures = {n for n in load.accepted if mix[n % len(mix)] is lure}
    expected = load.accepted - lures
    # Wait for Postfix to deliver everything it accepted (held lures stay on hold).
    end = time.monotonic() + 120
    got: dict[int, list[str]] = {}
    while time.monotonic() < end:
        got = delivered(flow.sink)
        if expected <= set(got) and not [q for q in flow.postfix.queue_entries() if q["queue_name"] != "hold"]:
            break
        flow.postfix.flush()
        time.sleep(1)
    lost = expected - set(got)
    assert not lost, f"{len(lost)} accepted messages never delivered, e.g. {sorted(lost)[:10]}"
    assert set(got) <= load.accepted, "a refused message was delivered"
    assert all(len(v) == 1 for v in got.values()), "a message was delivered twice"
    unscanned = [n for n, receipts in got.items() if not receipts[0].startswith("id=")]
    assert not unscanned, f"delivered without a scan receipt: {unscanned[:10]}"
    held = [q for q in flow.postfix.queue_entries() if q["queue_name"] == "hold"]
    assert len(held) >= len(lures)  # every accepted lure is held (plus the earlier tests' lure)
    for q in held[:5]:
        assert "X-Lurelens-Scan: id=" in flow.postfix.postcat(q["queue_id"])
