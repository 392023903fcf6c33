"""What the labels promise: `clean` only for a fully scanned message that reports the reader to
nobody; an incomplete scan says so; a bad configuration file stops the scanner; read receipts and
attached messages are open-time leaks; `recon` is the reconnaissance pattern, not every lure that
carries a pixel."""

from __future__ import annotations

import json

import pytest

from lurelens import ConfigError, Limits, Scanner
from lurelens.checks import CHECKS, Check
from lurelens.checks.base import Symbol
from lurelens.registry import DataRegistry
from lurelens.report.leaks import open_leaks
from lurelens.testing import MessageBuilder

CLEAN = MessageBuilder().text("Lunch on Thursday?\r\n").build()
OPAQUE = "https://t.example.net/o/a8Fz3kQ9xL2mP7vR4tY6wB1n"


def syms(v) -> set[str]:
    return {f.symbol for f in v.findings}


# -- incomplete scans ---------------------------------------------------------------------------


def test_complete_clean_message_is_clean(scanner):
    v = scanner.scan(CLEAN)
    assert v.label == "clean" and v.incomplete is False and v.incomplete_reasons == []


@pytest.mark.parametrize("raw", [b"", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4, b"just some words, no headers"])
def test_not_mail_is_never_clean(scanner, raw):
    v = scanner.scan(raw)
    assert v.label == "incomplete" and v.incomplete
    assert any(r.startswith("NOT_MAIL") for r in v.incomplete_reasons)


def test_time_limit_makes_it_incomplete(make_scanner):
    v = make_scanner(limits=Limits(timeout=0.0)).scan(CLEAN)
    assert v.incomplete and v.label == "incomplete"
    assert any("PARSE_LIMIT_TIME" in r for r in v.incomplete_reasons)


def test_size_limit_makes_it_incomplete(make_scanner):
    raw = MessageBuilder().text("hello " * 4000).build()
    v = make_scanner(limits=Limits(max_bytes=2000)).scan(raw)
    assert v.incomplete and v.label == "incomplete"
    assert any("PARSE_LIMIT_SIZE" in r for r in v.incomplete_reasons)


def _crashing_check() -> Check:
    def run(msg, ctx):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    return Check("crasher", (Symbol("CRASHER_NEVER", "never emitted"),), run)


def test_crashed_check_makes_it_incomplete(scanner):
    s = Scanner(data=scanner.data, checks=CHECKS + (_crashing_check(),))
    v = s.scan(CLEAN)
    assert "CHECK_ERROR" in syms(v)
    assert v.label == "incomplete" and any("crasher" in r for r in v.incomplete_reasons)


def test_incomplete_keeps_a_worse_label(make_scanner, apt31_example):
    raw = apt31_example.read_bytes()
    v = make_scanner(limits=Limits(max_bytes=len(raw) - 10)).scan(raw)
    assert v.incomplete and v.label == "recon"
    d = v.to_dict()
    assert d["incomplete"] is True and d["incomplete_reasons"]


# -- configuration errors stop the scanner ------------------------------------------------------


@pytest.mark.parametrize("text", ['{"entities": [', '{"entities": [{"name": "No id"}]}', '{"entities": ["just a string"]}'])
def test_bad_overlay_file_raises_config_error_naming_it(tmp_path, text, apt31_example):
    (tmp_path / "protected.json").write_text(text, encoding="utf-8")
    s = Scanner(data=DataRegistry(extra_dir=tmp_path))
    with pytest.raises(ConfigError, match="protected.json"):
        s.scan(apt31_example.read_bytes())


def test_good_overlay_file_still_works(tmp_path, apt31_example):
    (tmp_path / "protected.json").write_text(json.dumps({"entities": [
        {"id": "parl", "name": "Example Parliament", "domains": ["parliament.example.org"]}]}), encoding="utf-8")
    v = Scanner(data=DataRegistry(extra_dir=tmp_path)).scan(apt31_example.read_bytes())
    assert v.label == "recon" and "CHECK_ERROR" not in syms(v)


def test_cli_bad_overlay_exit_2_naming_the_file(run_cli, tmp_path, apt31_example):
    import os
    import subprocess
    import sys

    (tmp_path / "protected.json").write_text('{"entities": [', encoding="utf-8")
    env = dict(os.environ, LURELENS_DATA_DIR=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "lurelens.adapters.cli", "scan", str(apt31_example)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2
    assert str(tmp_path / "protected.json") in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == ""  # no verdict computed with checks disabled


# -- clean means nothing reports the reader -----------------------------------------------------


def test_visible_image_with_random_name_stays_clean(scanner):
    # near miss: banner and upload names look random; only hidden, vendor or address-bearing fetches count
    v = scanner.scan(MessageBuilder().html(f'<p>Hi</p><img src="{OPAQUE}" width="600" height="200">').build())
    assert v.label == "clean" and "TRACKER_OPEN_REPORTED" not in syms(v)


def test_visible_ordinary_image_stays_clean(scanner):
    v = scanner.scan(MessageBuilder().html('<p>Hi</p><img src="https://img.example.net/banner.png" width="600" height="200">').build())
    assert v.label == "clean"


def test_hidden_spacer_is_tracked(scanner):
    # A hidden image on a spacer-looking URL is not scored as a beacon, but it still tells its host.
    raw = MessageBuilder().html('<p>Hi</p><img src="https://img.example.net/spacer.gif" width="1" height="1">').build()
    v = scanner.scan(raw)
    assert v.label == "tracked" and "TRACKER_OPEN_REPORTED" in syms(v)
    assert not [f for f in v.findings if f.group == "tracking" and f.score > 0]  # tracked by the rule, not by score


def test_read_receipt_is_an_open_time_leak(scanner):
    raw = MessageBuilder().header("Return-Receipt-To", "alice@example.com").text("Hi\r\n").build()
    v = scanner.scan(raw)
    assert "READ_RECEIPT_REQUESTED" in syms(v) and v.label == "tracked"
    leaks = open_leaks(v.message)
    assert [(h.host, h.kinds) for h in leaks] == [("alice@example.com", ["read-receipt"])]
    assert "opened" in leaks[0].learns[0]


def test_mailchimp_recipient_token_is_e_not_u(scanner):
    url = "https://example.us1.list-manage.com/track/open.php?u=9a1b2c3d4e5f60718293a4b5c&id=1a2b3c4d5e&e=7f8e9d0c1b"
    v = scanner.scan(MessageBuilder().html(f'<p>News</p><img src="{url}" width="1" height="1">').build())
    (r,) = v.message.resources
    assert r.tracker == "Mailchimp" and r.recipient_token == "opaque_id" and r.token_evidence == "e=7f8e9d0c1b"


# -- attached messages --------------------------------------------------------------------------


def forward(inner: bytes, *, outer_auth: str | None = None) -> bytes:
    """A message forwarded as an attachment (message/rfc822, 8bit, as clients attach it)."""
    auth = f"Authentication-Results: mx.example.org; {outer_auth}\r\n".encode() if outer_auth else b""
    return (auth + b"From: Carol <carol@example.org>\r\nTo: bob@example.org\r\nSubject: Fwd: odd mail\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
            b"--BB\r\nContent-Type: text/plain\r\n\r\nSee the attached message.\r\n"
            b"--BB\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--BB--\r\n")


def test_forwarded_lure_counts_in_the_leak_report(scanner, apt31_example):
    v = scanner.scan(forward(apt31_example.read_bytes()))
    hosts = {h.host: h for h in open_leaks(v.message)}
    assert hosts["cdn.example.net"].attached == ["1"] and hosts["cdn.example.net"].fetches == 1
    beacon = [f for f in v.findings if f.symbol == "RECON_BEACON"]
    assert beacon and beacon[0].nested == "1"  # attributed to the attached message


def test_composites_do_not_mix_forwarder_and_attached_message(scanner):
    # The forwarder fails DMARC; the attached newsletter is authenticated and has a pixel.
    # A beacon in one message and a failure in the other is not the recon pattern.
    inner = (MessageBuilder().auth("spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")
             .html('<p>News</p><img src="https://t.example.net/o.gif" width="1" height="1">').build())
    v = scanner.scan(forward(inner, outer_auth="spf=fail smtp.mailfrom=example.com; dkim=none; dmarc=fail header.from=example.com"))
    assert "TRACKER_PIXEL_HIDDEN" in syms(v) and "AUTH_DMARC_FAIL" in syms(v)
    assert "RECON_BEACON" not in syms(v)


# -- recon is the reconnaissance pattern --------------------------------------------------------

UNAUTH = "spf=softfail smtp.mailfrom=example.com; dkim=none; dmarc=fail header.from=example.com"
BEACON = '<img src="https://t.example.net/o.gif" width="1" height="1">'


def lure(body_html: str) -> bytes:
    return MessageBuilder().auth(UNAUTH).html(body_html + BEACON).build()


def test_recon_fires_on_the_beacon_pattern(scanner, apt31_example):
    assert scanner.scan(apt31_example.read_bytes()).label == "recon"
    # near miss of the exclusion: urgency alone ("by Friday") is not a credential or money lure
    v = scanner.scan(lure("<p>Could you comment on the draft bill? Action required: reply within 24 hours.</p>"))
    assert "RECON_BEACON" in syms(v) and v.label == "recon"


@pytest.mark.parametrize("body, symbol", [
    ("<p>Please verify your account to keep access.</p>", "LURE_CREDENTIAL"),
    ("<p>Your payment failed; the invoice is overdue.</p>", "LURE_PAYMENT"),
    ("<p>Congratulations, claim your prize today.</p>", "LURE_PRIZE"),
])
def test_credential_or_money_lure_with_a_beacon_is_phishing(scanner, body, symbol):
    v = scanner.scan(lure(body))
    assert {"RECON_BEACON", symbol} <= syms(v)
    assert v.label == "phishing"  # never demoted below what `recon` was: still suspicious or worse
