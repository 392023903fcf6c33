"""Milter protocol conformance of ``lurelens milter``, driven by an independent client (PyPI's
``miltertest``, which speaks the MTA side of milter protocol 6): verdict headers and actions, state
reset on ABORT and on a new MAIL, QUIT_NC, missing macros, huge headers, 8-bit data, garbage, and
the fail-safe answers (timeout, overload, ``--on-error accept``) with their counters."""

from __future__ import annotations

import socket
import struct
import threading
import time
import urllib.request
from email import message_from_bytes, policy

import pytest

from lurelens.model.verdict import LABELS
from lurelens.testing.builder import MessageBuilder
from lurelens.testing.postfix import MilterProcess, free_port

mt = pytest.importorskip("miltertest")
C = mt.constants

PLAIN = (MessageBuilder().subject("Lunch on Friday?").text("Shall we meet at noon?\n").build())
NEWSLETTER = (MessageBuilder().sender('"Weekly Digest" <news@example.com>').subject("This week in gardening")
              .html('<p>Tomatoes and <a href="https://example.com/read">more</a></p>'
                    '<img src="https://t.example.net/o.gif" width=1 height=1>').build())


@pytest.fixture(scope="module")
def lure(apt31_example) -> bytes:
    return apt31_example.read_bytes()


def _start(tmp_path_factory, name, *args, env=None) -> MilterProcess:
    d = tmp_path_factory.mktemp(name)
    return MilterProcess(free_port(), d / "milter.log", ("--workers", "1", *args), env=env).start()


@pytest.fixture(scope="module")
def default_milter(tmp_path_factory):
    m = _start(tmp_path_factory, "milter-default")
    yield m
    m.stop()


@pytest.fixture(scope="module")
def actions_milter(tmp_path_factory):
    """Every action but quarantine (the default one): recon defused, tracked tagged, clean rejected."""
    keep = tmp_path_factory.mktemp("originals")
    m = _start(tmp_path_factory, "milter-actions", "--action-recon", "defuse", "--action-tracked", "tag",
               "--action-clean", "reject", "--keep-originals", str(keep))
    m.keep = keep
    yield m
    m.stop()


@pytest.fixture(scope="module")
def stalled_milter(tmp_path_factory):
    """A milter whose scanner can be stalled (the test-only stall file), with metrics."""
    stall = tmp_path_factory.mktemp("stall") / "seconds"
    stall.write_text("0")
    mport = free_port()
    m = _start(tmp_path_factory, "milter-stall", "--timeout", "2", "--max-pending", "1",
               "--metrics", f"127.0.0.1:{mport}", env={"LURELENS_MILTER_TEST_STALL_FILE": str(stall)})
    m.stall, m.metrics_port = stall, mport
    yield m
    m.stop()


@pytest.fixture(scope="module")
def accept_milter(tmp_path_factory):
    stall = tmp_path_factory.mktemp("stall-accept") / "seconds"
    stall.write_text("3")
    m = _start(tmp_path_factory, "milter-accept", "--timeout", "1", "--on-error", "accept",
               env={"LURELENS_MILTER_TEST_STALL_FILE": str(stall)})
    yield m
    m.stop()


NO_REPLY = (C.SMFIP_NR_HDR | C.SMFIP_NR_CONN | C.SMFIP_NR_HELO | C.SMFIP_NR_MAIL | C.SMFIP_NR_RCPT
            | C.SMFIP_NR_DATA | C.SMFIP_NR_UNKN | C.SMFIP_NR_EOH | C.SMFIP_NR_BODY)


def connect(m: MilterProcess, no_reply: bool = False):
    """A negotiated connection; by default the MTA offers no "no reply" steps, so every step is
    answered (the tests check each answer)."""
    sock = socket.create_connection(("127.0.0.1", m.port), timeout=60)
    conn = mt.MilterConnection(sock)
    conn.optneg_mta(protocol=C.SMFI_V6_PROT if no_reply else C.SMFI_V6_PROT & ~NO_REPLY)
    return conn


def split(raw: bytes) -> tuple[list[tuple[str, str]], str]:
    """(headers as the MTA sends them with leading space kept, body with CRLF)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    headers = []
    for line in head.decode("utf-8", "replace").split("\n"):
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    assert len(headers) == len(msg.keys())
    return headers, body.decode("utf-8", "replace").replace("\n", "\r\n")


def send_message(conn, raw: bytes, *, envelope=True, extra_headers=()) -> list:
    headers, body = split(raw)
    if envelope:
        conn.send_macro(C.SMFIC_MAIL, **{"{mail_addr}": "a@example.net"})
        conn.send(C.SMFIC_MAIL, args=["<a@example.net>"])
        conn.send(C.SMFIC_RCPT, args=["<b@example.org>"])
    conn.send_headers([*extra_headers, *headers])
    conn.send(C.SMFIC_EOH)
    conn.send_body(body)
    return eom(conn)


def eom(conn) -> list:
    """BODYEOB and every reply up to the final one. miltertest stops at QUARANTINE, which libmilter
    (and Postfix) treat as a modification followed by the final reply, so read on after it."""
    replies = conn.send_eom()
    while replies[-1][0] == C.SMFIR_QUARANTINE:
        replies.append(conn.recv())
    return replies


def hello(conn):
    conn.send_macro(C.SMFIC_CONNECT, j="mx.example.org", _="localhost [127.0.0.1]")
    conn.send(C.SMFIC_CONNECT, hostname="localhost", family="4", port=4711, address="127.0.0.1")
    conn.send(C.SMFIC_HELO, helo="client.example.net")


def added(replies) -> dict[str, str]:
    return {r[1]["name"]: r[1]["value"].strip() for r in replies if r[0] == C.SMFIR_ADDHEADER}


def kinds(replies) -> list[str]:
    return [r[0] for r in replies]


def test_lure_is_stamped_and_quarantined(default_milter, lure):
    conn = connect(default_milter)
    assert conn.action_flags & C.SMFIF_ADDHDRS and conn.action_flags & C.SMFIF_QUARANTINE
    hello(conn)
    replies = send_message(conn, lure)
    h = added(replies)
    assert h["X-Lurelens-Verdict"] == "recon"
    assert float(h["X-Lurelens-Score"]) > 10
    assert "RECON_BEACON" in h["X-Lurelens-Reasons"]
    assert h["X-Lurelens-Scan"].startswith("id=")
    assert C.SMFIR_QUARANTINE in kinds(replies)
    assert replies[-1][0] == C.SMFIR_ACCEPT


def test_plain_and_newsletter_accepted(default_milter, scanner):
    conn = connect(default_milter)
    hello(conn)
    ids = set()
    for raw in (PLAIN, NEWSLETTER):
        replies = send_message(conn, raw)
        h = added(replies)
        assert h["X-Lurelens-Verdict"] == scanner.scan(raw).label
        assert kinds(replies)[-1] == C.SMFIR_ACCEPT and C.SMFIR_QUARANTINE not in kinds(replies)
        ids.add(h["X-Lurelens-Scan"].split(";")[0])
    assert len(ids) == 2  # one receipt per message
    assert added(send_message(connect(default_milter), NEWSLETTER))["X-Lurelens-Verdict"] == "tracked"


def test_incoming_lurelens_headers_are_deleted_highest_first(default_milter):
    conn = connect(default_milter)
    forged = [("X-Lurelens-Verdict", " clean"), ("X-LURELENS-Scan", " id=forged"), ("x-lurelens-verdict", " clean")]
    replies = send_message(conn, PLAIN, extra_headers=forged)
    deletes = [(r[1]["index"], r[1]["name"].lower(), r[1]["value"]) for r in replies if r[0] == C.SMFIR_CHGHEADER]
    assert [d for d in deletes if d[1] == "x-lurelens-verdict"] == [(2, "x-lurelens-verdict", ""), (1, "x-lurelens-verdict", "")]
    assert [d for d in deletes if d[1] == "x-lurelens-scan"] == [(1, "x-lurelens-scan", "")]
    assert added(replies)["X-Lurelens-Scan"] != "id=forged"


def test_abort_mid_message_resets_state(default_milter, lure):
    conn = connect(default_milter)
    hello(conn)
    headers, body = split(lure)
    conn.send(C.SMFIC_MAIL, args=["<bad@example.net>"])
    conn.send(C.SMFIC_RCPT, args=["<b@example.org>"])
    conn.send_headers([("X-Lurelens-Verdict", " clean"), *headers])
    conn.send(C.SMFIC_EOH)
    conn.send_body(body[: len(body) // 2])
    conn._send(C.SMFIC_ABORT)  # no reply expected
    replies = send_message(conn, PLAIN)
    assert added(replies)["X-Lurelens-Verdict"] == "clean"
    assert C.SMFIR_CHGHEADER not in kinds(replies)  # the aborted message's header is forgotten
    assert C.SMFIR_QUARANTINE not in kinds(replies)


def test_new_mail_without_abort_resets_state(default_milter, lure):
    conn = connect(default_milter)
    headers, _ = split(lure)
    conn.send(C.SMFIC_MAIL, args=["<bad@example.net>"])
    conn.send_headers(headers)
    replies = send_message(conn, PLAIN)  # a new MAIL: the half-sent lure is dropped
    assert added(replies)["X-Lurelens-Verdict"] == "clean"


def test_quit_nc_keeps_the_socket_for_a_new_connection(default_milter, lure):
    conn = connect(default_milter)
    hello(conn)
    assert added(send_message(conn, PLAIN))["X-Lurelens-Verdict"] == "clean"
    conn._send(C.SMFIC_QUIT_NC)
    hello(conn)
    replies = send_message(conn, lure)
    assert added(replies)["X-Lurelens-Verdict"] == "recon"
    conn._send(C.SMFIC_QUIT)
    assert conn.sock.recv(10) == b""  # QUIT: the milter closes


def test_missing_macros_connect_helo_and_envelope(default_milter, lure):
    """A minimal MTA: no macros, no CONNECT, HELO, MAIL or RCPT; only the message."""
    conn = connect(default_milter)
    replies = send_message(conn, lure, envelope=False)
    assert added(replies)["X-Lurelens-Verdict"] == "recon"
    conn2 = connect(default_milter)
    conn2.send_macro(C.SMFIC_MAIL)  # an empty MACRO
    conn2._send(C.SMFIC_MACRO, cmdcode=C.SMFIC_RCPT, nameval=["{rcpt_addr}", "x"])
    replies = send_message(conn2, PLAIN)
    assert added(replies)["X-Lurelens-Verdict"] == "clean"


def test_no_reply_steps_are_not_answered(default_milter, lure):
    """Offered the SMFIP_NR_* steps (as Postfix does), the milter takes them and answers only EOM."""
    conn = connect(default_milter, no_reply=True)
    assert conn.protocol_flags & NO_REPLY == NO_REPLY
    headers, body = split(lure)
    conn._send(C.SMFIC_CONNECT, hostname="localhost", family="4", port=4711, address="127.0.0.1")
    conn._send(C.SMFIC_HELO, helo="client.example.net")
    conn._send(C.SMFIC_MAIL, args=["<a@example.net>"])
    conn._send(C.SMFIC_RCPT, args=["<b@example.org>"])
    for name, value in headers:
        conn._send(C.SMFIC_HEADER, name=name, value=value)
    conn._send(C.SMFIC_EOH)
    conn._send(C.SMFIC_BODY, buf=body)
    replies = eom(conn)  # the first reply read must be EOM's: nothing was answered before it
    assert replies[0][0] == C.SMFIR_ADDHEADER and added(replies)["X-Lurelens-Verdict"] == "recon"


def _raw(conn, cmd: bytes, data: bytes) -> None:
    conn.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)


def test_eight_bit_headers_and_body(default_milter):
    conn = connect(default_milter)
    conn.send(C.SMFIC_MAIL, args=["<a@example.net>"])
    for name, value in ((b"From", b" M\xfcller <m@example.com>"), (b"Subject", b" \xff\xfe caf\xc3\xa9 \x80"),
                        (b"Content-Type", b" text/plain; charset=iso-8859-1")):
        _raw(conn, b"L", name + b"\0" + value + b"\0")
        assert conn.recv()[0] == C.SMFIR_CONTINUE
    conn.send(C.SMFIC_EOH)
    _raw(conn, b"B", b"Gr\xfc\xdfe aus K\xf6ln \x00\x01\xff\r\n" * 1000)
    assert conn.recv()[0] == C.SMFIR_CONTINUE
    replies = eom(conn)
    assert added(replies)["X-Lurelens-Verdict"] in LABELS
    assert replies[-1][0] == C.SMFIR_ACCEPT


def test_huge_header_is_scanned_and_oversized_frame_drops_connection(default_milter):
    conn = connect(default_milter)
    conn.send(C.SMFIC_MAIL, args=["<a@example.net>"])
    conn.send_headers([("Subject", " hi"), ("X-Huge", " " + "a" * (2 * 1024 * 1024))])
    conn.send(C.SMFIC_EOH)
    conn.send_body("small body\r\n")
    replies = eom(conn)
    assert "X-Lurelens-Verdict" in added(replies) and replies[-1][0] == C.SMFIR_ACCEPT
    # A frame longer than the protocol allows is a broken peer: the milter hangs up (Postfix would
    # then apply milter_default_action = tempfail) and keeps serving others.
    bad = connect(default_milter)
    bad.sock.sendall(struct.pack("!I", 64 * 1024 * 1024) + b"L")
    assert bad.sock.recv(10) == b""
    assert added(send_message(connect(default_milter), PLAIN))["X-Lurelens-Verdict"] == "clean"


def test_folded_whitespace_subject_gets_a_verdict_not_a_timeout(default_milter):
    """A poison message: 100 KB of folded whitespace as the subject (Postfix's header_size_limit)
    once made a subject pattern quadratic; each delivery attempt would end in a timeout, forever."""
    conn = connect(default_milter)
    conn.send(C.SMFIC_MAIL, args=["<a@example.net>"])
    conn.send_headers([("From", " a@example.com"), ("Subject", "\n " * 34000)])
    conn.send(C.SMFIC_EOH)
    conn.send_body("body\r\n")
    assert added(eom(conn)).get("X-Lurelens-Verdict") in LABELS


def test_garbage_is_dropped_and_service_continues(default_milter):
    for junk in (b"\x00\x00\x00\x00", b"\x00\x00\x00\x02Zz", b"GET / HTTP/1.0\r\n\r\n", b"\x00\x00\x00\x05O\x00"):
        s = socket.create_connection(("127.0.0.1", default_milter.port), timeout=30)
        s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) in (b"",) or s.recv(100) == b""
        s.close()
    assert added(send_message(connect(default_milter), PLAIN))["X-Lurelens-Verdict"] == "clean"


def test_actions_defuse_tag_reject(actions_milter, lure):
    conn = connect(actions_milter)
    replies = send_message(conn, lure)  # recon -> defuse
    body = "".join(r[1]["buf"] for r in replies if r[0] == C.SMFIR_REPLBODY)
    assert body and "https://img.example.net" not in body and "--b1" in body
    assert "X-Lurelens-Defused" in added(replies) and replies[-1][0] == C.SMFIR_ACCEPT
    scan_id = added(replies)["X-Lurelens-Scan"].split(";")[0].removeprefix("id=")
    assert (actions_milter.keep / f"{scan_id}.eml").read_bytes().replace(b"\r\n", b"\n") == lure.replace(b"\r\n", b"\n")
    replies = send_message(conn, NEWSLETTER)  # tracked -> tag the subject
    subj = [r[1] for r in replies if r[0] == C.SMFIR_CHGHEADER and r[1]["name"] == "Subject"]
    assert subj and subj[0]["index"] == 1 and subj[0]["value"].strip() == "[lurelens:tracked] This week in gardening"
    replies = send_message(conn, PLAIN)  # clean -> reject (5xx), nothing else sent
    assert kinds(replies) == [C.SMFIR_REPLYCODE] and replies[0][1]["smtpcode"] == "550"


def _metric(m, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{m.metrics_port}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_stalled_scanner_times_out_and_overload_defers(stalled_milter):
    m = stalled_milter
    assert added(send_message(connect(m), PLAIN))["X-Lurelens-Verdict"] == "clean"
    m.stall.write_text("6")
    try:
        results = {}

        def one(key):
            results[key] = send_message(connect(m), PLAIN)

        first = threading.Thread(target=one, args=("first",))
        first.start()
        time.sleep(0.7)  # the first scan is pending; max-pending is 1
        one("second")
        first.join(60)
        for key, reason in (("first", "timeout"), ("second", "overload")):
            r = results[key]
            assert kinds(r) == [C.SMFIR_REPLYCODE], r
            assert r[0][1]["smtpcode"] == "451" and f"({reason})" in r[0][1]["text"]
    finally:
        m.stall.write_text("0")
    assert _metric(m, 'lurelens_milter_tempfail_total{reason="timeout"}') == 1
    assert _metric(m, 'lurelens_milter_tempfail_total{reason="overload"}') == 1
    # The stuck worker was replaced (its successor warms up first): mail is scanned again.
    deadline = time.monotonic() + 30
    while "X-Lurelens-Verdict" not in (h := added(send_message(connect(m), PLAIN))) and time.monotonic() < deadline:
        time.sleep(1)
    assert h.get("X-Lurelens-Verdict") == "clean"


def test_on_error_accept_marks_the_message_unscanned(accept_milter):
    replies = send_message(connect(accept_milter), PLAIN)
    h = added(replies)
    assert h["X-Lurelens-Verdict"] == "unscanned" and "error=timeout" in h["X-Lurelens-Scan"]
    assert replies[-1][0] == C.SMFIR_ACCEPT
    assert "NOT SCANNED (--on-error accept)" in accept_milter.logfile.read_text()


# ---- our own logic, without a process ----------------------------------------------------------


def test_envelope_is_kept_on_the_verdict_and_valid_json(scanner):
    import json

    import jsonschema
    from conftest import REPO

    env = {"client_address": "192.0.2.7", "client_name": "mx.example.net", "helo": "mx.example.net",
           "mail_from": "a@example.net", "rcpt_to": ["b@example.org"], "queue_id": "4ABC"}
    d = scanner.scan(PLAIN, envelope=env).to_dict()
    assert d["envelope"] == env
    schema = json.loads((REPO / "src/lurelens/schema/verdict.schema.json").read_text())
    jsonschema.validate(d, schema)
    assert "envelope" not in scanner.scan(PLAIN).to_dict()


def test_socket_specs_and_config_validation():
    from lurelens.adapters.milter import MilterConfig, parse_socket

    assert parse_socket("inet:8894@127.0.0.1") == ("inet", ("127.0.0.1", 8894))
    assert parse_socket("inet:8894") == ("inet", ("127.0.0.1", 8894))
    assert parse_socket("unix:/run/lurelens.sock") == ("unix", "/run/lurelens.sock")
    for bad in ("8894", "inet:", "tcp:x@h"):
        with pytest.raises(ValueError):
            parse_socket(bad)
    with pytest.raises(ValueError):
        MilterConfig(actions={"recon": "explode"})
    with pytest.raises(ValueError):
        MilterConfig(on_error="ignore")
    assert MilterConfig(workers=3).max_pending == 12


def test_frame_decoders_tolerate_short_and_odd_input():
    from lurelens.adapters import milter_protocol as mp

    assert mp.decode_connect(b"") == {"client_name": "", "client_address": "", "client_port": "", "family": ""}
    assert mp.decode_connect(b"host\x004\x12\x34192.0.2.1\x00")["client_address"] == "192.0.2.1"
    assert mp.decode_connect(b"host\x00U")["family"] == "U"
    assert mp.decode_macros(b"") == {} and mp.decode_macros(b"M{i}\x00ABC\x00{odd}\x00") == {"i": "ABC"}
    with pytest.raises(mp.ProtocolError):
        mp.decode_optneg(b"\x00\x00")
    assert mp.reply_code("451 4.7.1 100% busy\r\nx").endswith(b"451 4.7.1 100%% busy  x\x00")
    chunks = mp.reply_replace_body(b"x" * (mp.BODY_CHUNK + 1))
    assert len(chunks) == 2 and mp.reply_replace_body(b"") == [mp.frame(mp.R_REPLBODY, b"")]


def test_cli_refuses_a_bad_action(run_cli):
    code, _, err = run_cli(["milter", "--action-recon", "explode", "--socket", f"inet:{free_port()}@127.0.0.1"])
    assert code == 2 and "bad action" in err and "Traceback" not in err


def test_unix_socket_and_clean_shutdown(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("sock") / "milter.sock")
    m = MilterProcess(path, tmp_path_factory.mktemp("unix-log") / "milter.log", ("--workers", "1")).start()
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(60)
        sock.connect(path)
        conn = mt.MilterConnection(sock)
        conn.optneg_mta(protocol=C.SMFI_V6_PROT & ~NO_REPLY)
        assert added(send_message(conn, PLAIN))["X-Lurelens-Verdict"] == "clean"
        sock.close()
    finally:
        m.stop()
    assert m.proc.returncode == 0  # SIGTERM: a clean stop, with the counters logged
    assert "lurelens milter stopping; messages{verdict=clean,action=accept}=1" in m.logfile.read_text()


def test_with_verify_auth_the_smtp_envelope_feeds_spf(monkeypatch):
    """--verify-auth: the scanner is given the real SMTP client, HELO and MAIL FROM (AuthInputs),
    so SPF is checked against what Postfix saw rather than a Received header's claim."""
    pytest.importorskip("dns")
    from lurelens.adapters import milter
    from lurelens.settings import ScannerSettings

    milter._init_worker(ScannerSettings(verify_auth=True, dns_server="127.0.0.1:9", dns_timeout=0.2))
    seen = {}
    real = milter._SCANNER.scan

    def spy(raw, **kw):
        seen.update(kw)
        return real(raw, **kw)

    monkeypatch.setattr(milter._SCANNER, "scan", spy)
    env = {"client_address": "192.0.2.7", "client_name": "", "helo": "mx.example.net",
           "mail_from": "a@example.net", "rcpt_to": ["b@example.org"]}
    out = milter._scan_job(PLAIN, env, False)
    ai = seen["auth_inputs"]
    assert (ai.client_ip, ai.helo, ai.mail_from, ai.source) == ("192.0.2.7", "mx.example.net", "a@example.net", "smtp")
    assert seen["envelope"] == env and out["label"] in LABELS


def test_milter_and_checkv2_stamp_the_same_header_values(scanner):
    """One formatter for both front ends: the values the milter adds equal those of /checkv2."""
    from lurelens.adapters.api import verdict_headers
    from lurelens.report.headers import top_symbols, verdict_header_values

    from conftest import EXAMPLES

    v = scanner.scan((EXAMPLES / "apt31-style-lure.eml").read_bytes())
    assert verdict_headers(v) == verdict_header_values(v.label, v.score, top_symbols(v.findings))
    assert verdict_headers(v)["X-Lurelens-Reasons"].startswith(top_symbols(v.findings)[0][0] + "(")
