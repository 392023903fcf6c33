"""lurelens.checks.structure: one firing message and one near miss per symbol.

PARSE_LIMIT_* symbols fire with a Scanner built with a tight Limits bound and stay quiet with
the default Scanner on the same message.
"""

from __future__ import annotations

import pytest

from lurelens import Limits
from lurelens.checks import structure
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

HEAD = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"


def attach(name: str, ctype: str = "application/octet-stream") -> bytes:
    return MessageBuilder().text("see attached").attach(name, ctype, b"PK\x03\x04 not really").build()


def nested_msg() -> bytes:
    inner = MessageBuilder().subject("inner").text("forwarded body").build()
    return (
        HEAD
        + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nFYI\r\n'
        + b'--B\r\nContent-Type: message/rfc822\r\n\r\n' + inner + b"\r\n--B--\r\n"
    )


BIG_HTML = MessageBuilder().text("plain").html("<p>" + "word " * 200 + "</p>").build()
LINKY = MessageBuilder().text("plain").html("".join(f'<a href="https://l{i}.example.net/">x</a>' for i in range(5))).build()
IMAGES = MessageBuilder().text("plain").html(
    "".join(f'<img src="https://i{i}.example.net/a.png" width=100 height=100>' for i in range(5))
).build()

CASES = {
    # symbol -> (firing message, scanner limits for the firing run or None, near miss)
    "NOT_MAIL": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary", None, MessageBuilder().build()),
    "MIME_DEFECT": (
        HEAD + b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
        None,
        MessageBuilder().text("a").html("<p>b</p>").build(),
    ),
    "MIME_NESTED_MESSAGE": (nested_msg(), None, attach("forwarded.txt", "text/plain")),
    "MIME_HTML_ONLY": (MessageBuilder().html("<p>hi</p>").build(), None, MessageBuilder().text("hi").html("<p>hi</p>").build()),
    "PARSE_LIMIT_SIZE": (BIG_HTML, Limits(max_bytes=300), BIG_HTML),
    "PARSE_LIMIT_DEPTH": (nested_msg(), Limits(max_depth=1), nested_msg()),
    "PARSE_LIMIT_PARTS": (attach("a.pdf"), Limits(max_parts=1), attach("a.pdf")),
    "PARSE_LIMIT_HTML": (BIG_HTML, Limits(max_html_bytes=100), BIG_HTML),
    "PARSE_LIMIT_TEXT": (
        MessageBuilder().text("x" * 500).build(), Limits(max_text_bytes=100), MessageBuilder().text("x" * 500).build()
    ),
    "PARSE_LIMIT_HEADERS": (BIG_HTML, Limits(max_headers=3), BIG_HTML),
    "PARSE_LIMIT_LINKS": (LINKY, Limits(max_links=2), LINKY),
    "PARSE_LIMIT_RESOURCES": (IMAGES, Limits(max_resources=2), IMAGES),
    "PARSE_LIMIT_TIME": (BIG_HTML, "clock", BIG_HTML),
}


class _JumpingClock:
    """Stands in for the ``time`` module in lurelens.scanner: the first reading is real (it sets
    the deadline), every later one is far past it, so the scan runs out of time after parsing."""

    def __init__(self):
        import time

        self._time = time
        self.calls = 0

    def monotonic(self):
        self.calls += 1
        return self._time.monotonic() + (0 if self.calls == 1 else 1e6)

    def perf_counter(self):
        return self._time.perf_counter()


def test_every_symbol_has_a_case():
    assert {s.name for s in structure.SYMBOLS} == set(CASES)


@pytest.mark.parametrize("symbol", sorted(CASES))
def test_fires(symbol, scanner, make_scanner, monkeypatch):
    raw, limits, _ = CASES[symbol]
    if limits == "clock":
        monkeypatch.setattr("lurelens.scanner.time", _JumpingClock())
        v = assert_fires(raw, symbol, make_scanner())
        assert v.label != "clean" and v.incomplete  # a scan cut by the clock is never clean
        return
    v = assert_fires(raw, symbol, make_scanner(limits=limits) if limits else scanner)
    if symbol.startswith("PARSE_LIMIT_"):
        assert symbol in v.message.limits_hit


@pytest.mark.parametrize("symbol", sorted(CASES))
def test_near_miss_quiet(symbol, scanner):
    assert_quiet(CASES[symbol][2], symbol, scanner)


def test_nested_message_is_parsed_and_its_findings_marked(scanner):
    v = scanner.scan(nested_msg())
    assert len(v.message.nested) == 1
    assert v.message.nested[0].subject == "inner"


def test_benign_missing_separator_alone_is_not_a_defect(scanner):
    # A header block followed directly by body text without the blank line.
    raw = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: s\r\nthis line is body text\r\n"
    v = scanner.scan(raw)
    assert {d.kind for d in v.message.defects} == {"MissingHeaderBodySeparatorDefect"}
    assert "MIME_DEFECT" not in {f.symbol for f in v.findings}


def test_link_limit_reported_for_plain_text_urls(make_scanner):
    raw = MessageBuilder().text(" ".join(f"https://l{i}.example.net/" for i in range(5))).build()
    v = make_scanner(limits=Limits(max_links=2)).scan(raw)
    assert len(v.message.links) == 2
    assert "PARSE_LIMIT_LINKS" in v.message.limits_hit
