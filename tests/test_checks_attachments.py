"""lurelens.checks.attachments: one firing message and one near miss per symbol."""

from __future__ import annotations

from conftest import symbol_case_tests
from lurelens.checks import attachments
from lurelens.testing import MessageBuilder, assert_quiet

HEAD = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"


def attach(name: str, ctype: str = "application/octet-stream") -> bytes:
    return MessageBuilder().text("see attached").attach(name, ctype, b"PK\x03\x04 not really").build()


CASES = {
    "ATTACH_HTML": (attach("invoice.html", "text/html"), attach("invoice.pdf", "application/pdf"), False),
    "ATTACH_EXECUTABLE": (attach("setup.exe"), attach("setup-guide.pdf", "application/pdf"), False),
    "ATTACH_DOUBLE_EXTENSION": (attach("invoice.pdf.exe"), attach("invoice.2026.pdf", "application/pdf"), False),
    "ATTACH_MACRO_OFFICE": (attach("budget.xlsm"), attach("budget.xlsx"), False),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(attachments, CASES)


def test_nameless_html_part_is_not_an_html_attachment(scanner):
    # list servers turn a post's HTML body into a nameless text/html part
    raw = (HEAD + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\npost\r\n'
           b'--B\r\nContent-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n<p>post</p>\r\n--B--\r\n')
    v = assert_quiet(raw, "ATTACH_HTML", scanner)
    assert [a.content_type for a in v.message.attachments] == ["text/html"]
