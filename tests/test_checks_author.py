"""lurelens.checks.author and lurelens.parse.author: one firing message and one near miss per
symbol, and the readings themselves on the syntax each trick plays with."""

from __future__ import annotations

import base64

import pytest
from conftest import symbol_case_tests

from lurelens.checks import author
from lurelens.parse.author import (
    display_addresses,
    header_block_fields,
    parse_rfc5322,
    read_author,
)
from lurelens.parse.mime import parse_message
from lurelens.testing import assert_fires, assert_quiet

AUTHED = "spf=pass smtp.mailfrom=b@example.net; dkim=pass header.d=example.net; dmarc=pass header.from=example.net"


def raw(*author_lines: str, auth: str | None = AUTHED) -> bytes:
    """A message whose author lines are written exactly as given (odd names and folds included)."""
    lines = ["Received: from mail.example.net (mail.example.net [192.0.2.1]) by mx.example.org; Tue, 10 Nov 2026 08:00:01 +0000"]
    if auth:
        lines.append(f"Authentication-Results: mx.example.org; {auth}")
    lines += ["To: <bob@example.org>", *author_lines, "Subject: Hello", "Date: Tue, 10 Nov 2026 08:00:00 +0000",
              "Message-ID: <t@example.net>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(lines) + "\r\n\r\nHello.\r\n").encode("utf-8", "surrogateescape")


def b64w(s: str) -> str:
    return "=?utf-8?B?" + base64.b64encode(s.encode()).decode() + "?="


CASES = {
    "FROM_MULTIPLE_HEADERS": (
        raw("From: <alice@example.net>", "From: <ceo@example.com>"),
        raw("From: Alice <alice@example.net>", "Cc: carol@example.org, dave@example.org"),
        False,
    ),
    "FROM_MULTIPLE_ADDRESSES": (
        raw("From: <alice@example.net>, <ceo@example.com>"),
        raw('From: "Smith, Alice" <alice@example.net>'),  # a comma inside quotes is one mailbox
        False,
    ),
    "FROM_HEADER_WHITESPACE": (
        raw("From : <ceo@example.com>"),
        raw("From:\t<alice@example.net>"),  # space after the colon is ordinary
        False,
    ),
    "FROM_SENDER_MISMATCH": (
        raw("From", " : <alice@example.net>", "Sender: <ceo@example.com>"),
        raw("From: <alice@example.net>", "Sender: <list-bounces@example.com>"),  # on-behalf-of: From is plain
        False,
    ),
    "FROM_RESENT_MISMATCH": (
        raw("From", " : <alice@example.net>", "Resent-From: <ceo@example.com>"),
        raw("From: <alice@example.net>", "Resent-From: <desk@example.com>"),  # a real resend keeps From
        False,
    ),
    "FROM_ENCODED_ADDRESS": (
        raw(f"From: {b64w('ceo@example.com')}=?utf-8?Q?=00?=@example.net"),
        raw("From: =?utf-8?Q?Ren=C3=A9_Dupont?= <rene@example.net>"),
        False,
    ),
    "FROM_ROUTE_ADDR": (
        raw("From: <@example.net,@any.example.org:ceo@example.com>"),
        raw("From: Alice <alice@example.net>"),
        False,
    ),
    "FROM_QUOTED_PAIR_TRICK": (
        raw("From: <ceo@example.com>\\,<alice@example.net>"),
        raw('From: "Smith\\, Alice" <alice@example.net>'),  # a quoted pair inside quotes is legal
        False,
    ),
    "FROM_COMMENT_TRICK": (
        raw("From: alice@example.net (ceo@example.com)"),
        raw("From: alice@example.net (Alice Smith)"),  # the old name-in-comment form
        False,
    ),
    "FROM_PARSERS_DISAGREE": (
        raw("From: <alice@example.net>ceo@example.com"),
        raw("From: Alice Smith <alice@example.net> (work)"),
        False,
    ),
    "FROM_READINGS_DISAGREE": (
        raw("From: <alice@example.net>", "From: <ceo@example.com>"),
        raw("From: Alice <alice@mail.example.net>"),  # header.from example.net: same organisation
        False,
    ),
}

test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(author, CASES)


def _readings(data: bytes) -> dict[str, list[str]]:
    return {r.reader: r.addrs for r in parse_message(data).author.readings}


def test_readings_of_a_route_address():
    r = _readings(raw("From: <@example.net,@any.example.org:ceo@example.com>", auth=None))
    assert r["rfc5322"] == ["ceo@example.com"]
    assert r["display"] == ["ceo@example.com"]
    assert r["python-default"] == ["ceo@example.com"]


def test_dmarc_reading_prefers_the_receivers_header_from():
    m = parse_message(raw("From: <ceo@example.com>"))
    dmarc = m.author.reading("dmarc")
    assert dmarc.addrs == ["example.net"] and "Authentication-Results" in dmarc.source
    emulated = parse_message(raw("From: <ceo@example.com>", auth=None)).author.reading("dmarc")
    assert emulated.addrs == ["ceo@example.com"] and "emulated" in emulated.source


def test_header_block_finds_fields_python_does_not():
    block = b"To: x@example.org\r\n From: <a@example.net>\r\nFrom : <b@example.net>\r\nFrom\r\n : <c@example.net>\r\n\r\nFrom: body@example.net\r\n"
    fields = header_block_fields(block)
    assert [(f.value, f.issue) for f in fields] == [
        ("<a@example.net>", "leading_space"), ("<b@example.net>", "space_before_colon"), ("<c@example.net>", "folded_name"),
    ]


@pytest.mark.parametrize("value, boxes, error", [
    ('"Smith, Alice" <alice@example.net>', [("Smith, Alice", "alice@example.net", "")], ""),
    ("Team: a@example.net, b@example.org;", [("", "a@example.net", ""), ("", "b@example.org", "")], ""),
    ("<a@example.net> b@example.org", [], "text after"),
    ("a@@example.net", [], "several @"),
    ("(unterminated <a@example.net>", [], "unterminated comment"),
])
def test_rfc5322_reading(value, boxes, error):
    got, err = parse_rfc5322(value)
    assert got == boxes
    assert (error in err) if error else err == ""


def test_display_cuts_at_nul_and_line_breaks():
    value = f"{b64w('ceo@example.com')}=?utf-8?Q?=0A=00?=@example.net"
    assert display_addresses(value) == ["ceo@example.com"]
    assert display_addresses("Alice <alice@example.net>, bob@example.org") == ["alice@example.net", "bob@example.org"]
    assert display_addresses("<a@example.net>ceo@example.com") == ["a@example.net", "ceo@example.com"]


def test_nested_message_is_read_from_its_headers():
    inner = raw("From: <a@example.net>", "From: <ceo@example.com>", auth=None)
    outer = (b'From: <fwd@example.org>\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
             b"--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n")
    m = parse_message(outer)
    assert m.nested and len([f for f in m.nested[0].author.fields if f.name == "from"]) == 2


def test_readings_disagree_makes_the_message_suspicious_despite_credit(scanner):
    # A known outlet's DMARC pass for the authenticated From, a second From for the display.
    v = assert_fires(
        raw("From: <news@nytimes.com>", "From: <ceo@example.com>",
            auth="spf=pass smtp.mailfrom=b@nytimes.com; dkim=pass header.d=nytimes.com; dmarc=pass header.from=nytimes.com"),
        "FROM_READINGS_DISAGREE", scanner)
    assert v.label in ("suspicious", "phishing", "recon")


def test_plain_mail_gets_no_author_finding(scanner):
    for value in ('"Alice" <alice@example.net>', "alice@example.net", "Alice Smith <alice@example.net>",
                  "=?utf-8?Q?Ren=C3=A9?= <rene@example.net>", '"alice@example.net" <alice@example.net>'):
        v = scanner.scan(raw(f"From: {value}"))
        assert not {f.symbol for f in v.findings} & {s.name for s in author.SYMBOLS}, value


@pytest.mark.parametrize("value", [
    "\x00\x01<<<@@@>>>,,,;;;::", "", "(" * 5000, "=?utf-8?b?" * 500, " " * 5000 + "x", "a." * 2500 + "@",
    "<" * 5000, '"a' * 3000, "a@b.c," * 800, "\\," * 2500, "a@" + "." * 5000, "John " * 1000 + "<a@b.c>",
    "=? utf-8 ? q ?" * 400, "(" * 3000 + ")" * 3000,
])
def test_junk_is_read_without_error_in_bounded_time(value):
    # These once took a minute (nested quantifiers) or grew quadratically; they must now be quick
    # enough for the suite to notice a regression as a hang, and never raise.
    a = read_author(f"From: {value}\r\n\r\nbody".encode("utf-8", "surrogateescape"), [("From", value)], {})
    assert a.reading("display") is not None and len(a.tricks) <= 50


def _list_copy(hops_above: int) -> bytes:
    """A list post: the list rewrote From to itself after a receiver authenticated the author."""
    received = [f"Received: from hop{i}.lists.example.org by hop{i + 1}.lists.example.org; Tue, 10 Nov 2026 08:00:0{i} +0000"
                for i in range(hops_above)]
    lines = [*received, ("Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=alice@example.net;"
                         " dmarc=pass header.from=example.net"), "List-Id: Dev list <dev.lists.example.org>",
             "List-Post: <mailto:dev@lists.example.org>", 'From: "Alice via Dev" <dev@lists.example.org>',
             "To: <dev@lists.example.org>", "Subject: Hi", "Date: Tue, 10 Nov 2026 08:00:00 +0000", "Message-ID: <l@example.net>"]
    return ("\r\n".join(lines) + "\r\n\r\nHello.\r\n").encode()


def test_a_list_that_rewrote_from_after_authentication_is_no_disagreement(scanner):
    assert_quiet(_list_copy(hops_above=2), "FROM_READINGS_DISAGREE", scanner)
    # The receiver's own result at the top: List-Id headers written by the sender excuse nothing.
    assert_fires(_list_copy(hops_above=0), "FROM_READINGS_DISAGREE", scanner)
