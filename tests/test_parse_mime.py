"""lurelens.parse.mime: bytes to Message. Encodings, charsets, headers, display-part choice,
nested messages, defects and limits. Parsing never raises for bad mail."""

from __future__ import annotations

import base64
import quopri

import pytest

from lurelens import Limits
from lurelens.model.verdict import LABELS
from lurelens.parse import parse_message
from lurelens.testing import MessageBuilder

HEAD = (
    b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: test\r\n"
    b"Date: Tue, 10 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
)


def single(ctype: bytes, body: bytes, cte: bytes | None = None, head: bytes = HEAD) -> bytes:
    h = head + b"Content-Type: " + ctype + b"\r\n"
    if cte:
        h += b"Content-Transfer-Encoding: " + cte + b"\r\n"
    return h + b"\r\n" + body


def multipart(sub: str, *parts: bytes, boundary: str = "BND", head: bytes = HEAD, extra: str = "") -> bytes:
    b = boundary.encode()
    out = head + f'Content-Type: multipart/{sub}; boundary="{boundary}"{extra}\r\n\r\n'.encode()
    for p in parts:
        out += b"--" + b + b"\r\n" + p + b"\r\n"
    return out + b"--" + b + b"--\r\n"


def part(ctype: str, body: bytes, *hdrs: str) -> bytes:
    return ("".join(h + "\r\n" for h in (f"Content-Type: {ctype}", *hdrs)) + "\r\n").encode() + body


def kinds(msg) -> set[str]:
    return {d.kind for d in msg.defects}


# -- transfer encodings ------------------------------------------------------------------------


def test_base64_text():
    body = base64.encodebytes("Grüße aus Köln\n".encode()).replace(b"\n", b"\r\n")
    m = parse_message(single(b"text/plain; charset=utf-8", body, b"base64"))
    assert "Grüße aus Köln" in m.text
    assert m.defects == []


def test_quoted_printable_html_is_decoded_before_the_inventory():
    html = b'<p>caf\xc3\xa9</p><img src="https://img.example.net/a.png?x=1&y=2" width="1" height="1">'
    m = parse_message(single(b'text/html; charset="utf-8"', quopri.encodestring(html), b"quoted-printable"))
    assert "café" in m.visible_text
    assert [r.url for r in m.resources] == ["https://img.example.net/a.png?x=1&y=2"]


def test_8bit_utf8():
    m = parse_message(single(b"text/plain; charset=utf-8", "naïve 東京\r\n".encode(), b"8bit"))
    assert "naïve 東京" in m.text


def test_broken_base64_does_not_raise():
    m = parse_message(single(b"text/plain", b"!!!not base64 at all===\r\nQUJD\r\n", b"base64"))
    assert isinstance(m.text, str)


# -- charsets ------------------------------------------------------------------------------------


def test_unknown_charset_label_recorded_and_text_decoded():
    m = parse_message(single(b'text/plain; charset="x-unknown"', "olá mundo".encode()))
    assert "olá mundo" in m.text
    assert ("unknown_charset", "1") in {(d.kind, d.where) for d in m.defects}


def test_charset_alias_utf8_is_known():
    m = parse_message(single(b"text/plain; charset=utf8", "déjà vu".encode()))
    assert "déjà vu" in m.text
    assert m.defects == []


def test_latin1_bytes_labelled_utf8_record_mismatch():
    m = parse_message(single(b"text/plain; charset=utf-8", b"caf\xe9 cr\xe8me\r\n"))
    assert "charset_mismatch" in kinds(m)
    assert m.text.startswith("caf")


def test_declared_latin1_is_decoded_as_latin1():
    m = parse_message(single(b"text/plain; charset=iso-8859-1", b"caf\xe9\r\n"))
    assert "café" in m.text and m.defects == []


def test_undeclared_charset_falls_back():
    m = parse_message(single(b"text/plain", b"caf\xe9 and \xe2\x82\xac\r\n"))
    assert isinstance(m.text, str) and m.text.startswith("caf")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(single(b'text/plain; charset="ut\x00f-8"', b"body"), id="body-charset"),
        pytest.param(single(b"text/plain", b"body", head=b"From: a@example.com\r\nSubject: =?\x00x?Q?hi?=\r\n"),
                     id="encoded-word-charset"),
    ],
)
def test_nul_in_charset_label_does_not_raise(raw, scanner):
    assert scanner.scan(raw).label in LABELS


def test_charset_mismatch_scan_gives_verdict(scanner):
    v = scanner.scan(single(b"text/html; charset=utf-8", b"<p>\xff\xfe\xfa</p>"))
    assert v.label in LABELS and "MIME_DEFECT" in {f.symbol for f in v.findings}


# -- headers -------------------------------------------------------------------------------------


def test_rfc2047_words_decoded_and_raw_kept():
    head = (
        b"From: =?utf-8?B?w4lsb2RpZSBEdXBvbnQ=?= <elodie@example.com>\r\n"
        b"To: =?iso-8859-1?Q?J=F6rg?= <jorg@example.org>\r\n"
        b"Subject: =?utf-8?Q?R=C3=A9union_demain?= 10h\r\nMIME-Version: 1.0\r\n"
    )
    m = parse_message(single(b"text/plain", b"hi", head=head))
    f = m.from_[0]
    assert (f.display_name, f.addr) == ("Élodie Dupont", "elodie@example.com")
    assert f.raw == "=?utf-8?B?w4lsb2RpZSBEdXBvbnQ=?="
    assert m.to[0].display_name == "Jörg"
    assert m.subject == "Réunion demain 10h"
    assert m.subject_raw == "=?utf-8?Q?R=C3=A9union_demain?= 10h"


def test_encoded_word_with_unknown_charset_does_not_raise():
    head = b"From: a@example.com\r\nSubject: =?x-bogus?B?aGVsbG8=?=\r\n"
    m = parse_message(single(b"text/plain", b"x", head=head))
    assert "hello" in m.subject or m.subject == m.subject_raw


def test_encoded_word_cannot_smuggle_an_address():
    # The decoded name holds an address; the real address is the one parsed from raw text.
    word = "=?utf-8?B?" + base64.b64encode(b"boss@example.org").decode() + "?="
    head = f"From: {word} <x@example.net>\r\n".encode()
    m = parse_message(single(b"text/plain", b"x", head=head))
    assert [a.addr for a in m.from_] == ["x@example.net"]
    assert m.from_[0].display_name == "boss@example.org"


def test_folded_headers_are_unfolded():
    head = b"From: alice@example.com\r\nSubject: a long\r\n subject\r\n\tthat folds\r\nTo: bob@example.org,\r\n carol@example.org\r\n"
    m = parse_message(single(b"text/plain", b"x", head=head))
    assert m.subject == "a long subject that folds"
    assert [a.addr for a in m.to] == ["bob@example.org", "carol@example.org"]
    assert m.recipients == ["bob@example.org", "carol@example.org"]


def test_duplicate_headers_first_wins_all_kept():
    head = b"From: alice@example.com\r\nSubject: first\r\nSubject: second\r\n"
    m = parse_message(single(b"text/plain", b"x", head=head))
    assert m.subject == "first"
    assert m.header_all("subject") == ["first", "second"]


def test_raw_8bit_header_is_read_as_utf8():
    head = "From: Zoë <zoe@example.com>\r\nSubject: Über\r\n".encode()
    m = parse_message(single(b"text/plain", b"x", head=head))
    assert m.from_[0].display_name == "Zoë" and m.subject == "Über"


def test_recipients_from_delivery_headers():
    head = (
        b"Received: from a.example.net by mx.example.org with ESMTP id 1\r\n for <hidden@example.org>; Tue, 10 Nov 2026\r\n"
        b"Delivered-To: dt@example.org\r\nFrom: alice@example.com\r\nTo: undisclosed-recipients:;\r\n"
    )
    m = parse_message(single(b"text/plain", b"x", head=head))
    assert set(m.recipients) == {"dt@example.org", "hidden@example.org"}


# -- display-part choice --------------------------------------------------------------------------


def test_alternative_picks_html_and_plain_is_not_an_attachment():
    raw = multipart(
        "alternative",
        part("text/plain; charset=utf-8", b"plain version"),
        part("text/html; charset=utf-8", b"<p>html version</p>"),
    )
    m = parse_message(raw)
    assert m.has_html and "html version" in m.visible_text
    assert "plain version" not in m.visible_text
    assert [(p.content_type, p.displayed) for p in m.parts] == [("text/plain", False), ("text/html", True)]
    assert m.attachments == []


def test_related_root_is_displayed_and_cid_parts_are_inline(scanner):
    raw = (
        MessageBuilder()
        .html('<p>rich</p><img src="cid:logo@example.com"><img src="https://t.example.net/p.gif" width="1" height="1">')
        .related("logo@example.com", "image/png", b"\x89PNG fake")
        .build()
    )
    m = scanner.parse(raw)
    assert "rich" in m.visible_text
    assert [r.url for r in m.resources] == ["https://t.example.net/p.gif"]  # cid: is local
    assert [(p.content_type, p.displayed) for p in m.parts] == [("text/html", True), ("image/png", False)]
    assert [(a.content_type, a.content_id, a.inline) for a in m.attachments] == [("image/png", "logo@example.com", True)]


def _alt_plain_then_related() -> bytes:
    """What Thunderbird and Apple Mail send for HTML with an embedded image."""
    related = multipart(
        "related",
        part("text/html", b'<p>rich</p><img src="https://t.example.net/p.gif" width="1" height="1">'),
        part("image/png", base64.encodebytes(b"\x89PNG fake"), "Content-ID: <logo@example.com>",
             "Content-Transfer-Encoding: base64"),
        boundary="REL",
        head=b"",
    )
    return multipart("alternative", part("text/plain", b"plain"), related)


def test_alternative_prefers_related_html_over_plain(scanner):
    v = scanner.scan(_alt_plain_then_related())
    m = v.message
    assert "rich" in m.visible_text
    assert [r.url for r in m.resources] == ["https://t.example.net/p.gif"]
    assert "TRACKER_PIXEL_HIDDEN" in {f.symbol for f in v.findings}


def test_alternative_related_html_is_not_an_html_attachment(scanner):
    v = scanner.scan(_alt_plain_then_related())
    assert [a.content_type for a in v.message.attachments if a.content_type == "text/html"] == []
    assert "ATTACH_HTML" not in {f.symbol for f in v.findings}


def test_related_root_chosen_by_start_parameter():
    raw = multipart(
        "related",
        part("text/html", b"<p>not the root</p>", "Content-ID: <other@example.com>"),
        part("text/html", b"<p>the root</p>", "Content-ID: <root@example.com>"),
        extra='; start="<root@example.com>"',
    )
    m = parse_message(raw)
    assert "the root" in m.visible_text and "not the root" not in m.visible_text


def test_mixed_shows_inline_text_and_not_attachments():
    raw = multipart(
        "mixed",
        part("text/plain", b"first inline"),
        part("application/pdf", base64.encodebytes(b"%PDF-1.4"), 'Content-Disposition: attachment; filename="a.pdf"',
             "Content-Transfer-Encoding: base64"),
        part("text/plain", b"second inline"),
        part("text/plain", b"attached notes", 'Content-Disposition: attachment; filename="notes.txt"'),
        part("text/html", b"<p>attached page</p>", 'Content-Disposition: attachment; filename="page.html"'),
    )
    m = parse_message(raw)
    assert "first inline" in m.text and "second inline" in m.text
    assert "attached notes" not in m.text and not m.has_html
    assert sorted(a.filename for a in m.attachments) == ["a.pdf", "notes.txt", "page.html"]
    pdf = next(a for a in m.attachments if a.filename == "a.pdf")
    import hashlib

    assert pdf.size == 8 and pdf.sha256 == hashlib.sha256(b"%PDF-1.4").hexdigest() and pdf.path == "2"


def test_builder_attachment_message(scanner):
    raw = MessageBuilder().text("body").html("<p>body</p>").attach("x.pdf", "application/pdf", b"%PDF").build()
    m = scanner.parse(raw)
    assert [a.filename for a in m.attachments] == ["x.pdf"]
    assert [p.path for p in m.parts] == ["1.1", "1.2", "2"]


# -- nested messages ------------------------------------------------------------------------------


def _forward(inner: bytes, boundary: str = "FWD") -> bytes:
    return multipart("mixed", part("text/plain", b"FYI, see below"), part("message/rfc822", inner), boundary=boundary)


def test_message_rfc822_is_parsed_into_nested():
    inner = MessageBuilder().sender("Mallory <m@example.net>").subject("inner subject").html(
        '<p>inner</p><img src="https://t.example.net/o.gif" width="1" height="1">').build()
    m = parse_message(_forward(inner))
    assert len(m.nested) == 1
    n = m.nested[0]
    assert n.subject == "inner subject" and n.from_[0].addr == "m@example.net"
    assert len(n.resources) == 1 and m.resources == []
    assert "FYI" in m.text


def test_nested_findings_marked_in_verdict(scanner):
    from lurelens.report.jsonout import verdict_to_dict

    inner = MessageBuilder().html('<p>x</p><img src="https://t.example.net/o.gif" width="1" height="1">').build()
    v = scanner.scan(_forward(inner))
    px = [f for f in v.findings if f.symbol == "TRACKER_PIXEL_HIDDEN"]
    assert px and all(f.nested == "1" for f in px)
    top = [f for f in v.findings if f.symbol == "MIME_NESTED_MESSAGE"]
    assert top and top[0].nested is None
    d = verdict_to_dict(v)
    assert any(f["symbol"] == "TRACKER_PIXEL_HIDDEN" and f["nested"] == "1" for f in d["findings"])
    assert len(d["nested"]) == 1 and d["nested"][0]["remote_resources"]
    assert any(r.startswith("[attached message 1]") for r in v.reasons) or v.label == "tracked"


def test_nested_inside_nested_paths(scanner):
    inner2 = MessageBuilder().subject("deepest").text("x").build()
    inner1 = _forward(inner2, boundary="INNER")
    v = scanner.scan(_forward(inner1))
    m = v.message
    assert m.nested[0].nested[0].subject == "deepest"
    assert {f.nested for f in v.findings if f.symbol == "MIME_NESTED_MESSAGE"} == {None, "1"}


# -- defects, never raised -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        HEAD + b'Content-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n',  # no boundary parameter
        HEAD + b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\nno parts at all\r\n',
        HEAD + b'Content-Type: multipart/alternative; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/html\r\n\r\n<p>unterminated',
        b"From alice@example.com Tue Nov 10 08:00:00 2026\r\n" + HEAD + b"\r\nmbox line\r\n",
        HEAD + b"Content-Type: text/plain; charset=\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n",
        HEAD + b"Content-Type: \r\n\r\nempty type",
        b"From: \r\nTo: <<<>>>\r\nSubject: =?utf-8?B?####?=\r\n\r\nbody",
    ],
)
def test_malformed_mime_records_defects_not_exceptions(raw, scanner):
    m = parse_message(raw)
    assert isinstance(m.defects, list)
    v = scanner.scan(raw)
    assert v.label in LABELS


def test_missing_boundary_is_a_recorded_defect():
    m = parse_message(HEAD + b"Content-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n")
    assert "NoBoundaryInMultipartDefect" in kinds(m)


def test_unterminated_multipart_is_recorded_and_content_read():
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/html\r\n\r\n<p>unterminated</p>'
    m = parse_message(raw)
    assert "CloseBoundaryNotFoundDefect" in kinds(m)
    assert "unterminated" in m.visible_text


# -- limits --------------------------------------------------------------------------------------


def _deep(n: int) -> bytes:
    body = b""
    for i in range(n):
        body += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    body += b'Content-Type: text/html\r\n\r\n<img src="https://deep.example.net/x.gif">\r\n'
    for i in reversed(range(n)):
        body += b"--b%d--\r\n" % i
    return HEAD + body


def _labels(v):
    return v.label in LABELS and {f.symbol for f in v.findings}


def test_limit_size(make_scanner):
    raw = MessageBuilder().text("x" * 5000).build()
    v = make_scanner(limits=Limits(max_bytes=1000)).scan(raw)
    assert "PARSE_LIMIT_SIZE" in _labels(v)
    assert v.message.size == len(raw)
    assert len(v.message.text) < 1000


def test_limit_depth_fifty_nested_multiparts(scanner):
    v = scanner.scan(_deep(50))
    assert "PARSE_LIMIT_DEPTH" in _labels(v)
    assert v.message.resources == []  # the part below the limit was not read


def test_limit_depth_configurable(make_scanner):
    assert "PARSE_LIMIT_DEPTH" not in _labels(make_scanner(limits=Limits(max_depth=10)).scan(_deep(5)))
    v = make_scanner(limits=Limits(max_depth=3)).scan(_deep(5))
    assert "PARSE_LIMIT_DEPTH" in _labels(v)


def test_very_deep_nesting_beyond_the_stdlib_parser(scanner):
    v = scanner.scan(_deep(1500))
    assert "PARSE_LIMIT_DEPTH" in _labels(v)


def test_limit_parts(make_scanner):
    raw = multipart("mixed", *[part("text/plain", f"part {i}".encode()) for i in range(20)])
    v = make_scanner(limits=Limits(max_parts=5)).scan(raw)
    assert "PARSE_LIMIT_PARTS" in _labels(v)
    assert len(v.message.parts) == 5


def test_limit_html_bytes(make_scanner):
    html = "<p>" + "a" * 2000 + '</p><img src="https://late.example.net/x.gif">'
    v = make_scanner(limits=Limits(max_html_bytes=500)).scan(MessageBuilder().html(html).build())
    assert "PARSE_LIMIT_HTML" in _labels(v)
    assert len(v.message.html) <= 500
    assert v.message.resources == []  # the image came after the bound


def test_limit_time_zero_still_gives_a_verdict(make_scanner):
    v = make_scanner(limits=Limits(timeout=0)).scan(MessageBuilder().html("<p>x</p>").build())
    assert v.label in LABELS
    assert "PARSE_LIMIT_TIME" in v.message.limits_hit


def test_limit_time_zero_is_reported_as_a_finding(make_scanner):
    v = make_scanner(limits=Limits(timeout=0)).scan(MessageBuilder().html("<p>x</p>").build())
    assert "PARSE_LIMIT_TIME" in {f.symbol for f in v.findings}
