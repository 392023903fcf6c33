"""lurelens.checks.attachments: one firing message and one near miss per symbol."""

from __future__ import annotations

import pytest

from conftest import symbol_case_tests
from lurelens.checks import attachments
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

HEAD = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"


LETTER = ("Hi Bob, here are the minutes of Tuesday's meeting as promised. The budget section is on page two; "
          "please check the figures before Friday and tell me if anything is missing. Thanks, Alice")


def attach(name: str, ctype: str = "application/octet-stream") -> bytes:
    return MessageBuilder().text("see attached").attach(name, ctype, b"PK\x03\x04 not really").build()


CASES = {
    "ATTACH_HTML": (attach("invoice.html", "text/html"), attach("invoice.pdf", "application/pdf"), False),
    "ATTACH_EXECUTABLE": (attach("setup.exe"), attach("setup-guide.pdf", "application/pdf"), False),
    "ATTACH_DOUBLE_EXTENSION": (attach("invoice.pdf.exe"), attach("invoice.2026.pdf", "application/pdf"), False),
    "ATTACH_MACRO_OFFICE": (attach("budget.xlsm"), attach("budget.xlsx"), False),
    "ATTACH_NAME_RANDOM": (attach("pBDp08qj9IiC6.pdf", "application/pdf"),
                           attach("InvoiceMarch2026.pdf", "application/pdf"), False),
    "ATTACH_TYPE_MISMATCH": (attach("TGE-5986-5932-5487.pdf", "image/jpeg"),
                             attach("TGE-5986-5932-5487.pdf", "application/pdf"), False),
    "ATTACH_BODY_EMPTY": (attach("Informations.pdf", "application/pdf"),
                          MessageBuilder().text(LETTER).attach("minutes.pdf", "application/pdf", b"%PDF-1.4").build(),
                          False),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(attachments, CASES)


def test_nameless_html_part_is_not_an_html_attachment(scanner):
    # list servers turn a post's HTML body into a nameless text/html part
    raw = (HEAD + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\npost\r\n'
           b'--B\r\nContent-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n<p>post</p>\r\n--B--\r\n')
    v = assert_quiet(raw, "ATTACH_HTML", scanner)
    assert [a.content_type for a in v.message.attachments] == ["text/html"]


@pytest.mark.parametrize("name", ["3spyWy0D.pdf", "AtivePontosAgota_ZwdLKpiPxvo68U5y1n.pdf", "UaOStEavCWJKtSX.docx"])
def test_random_attachment_names(name, scanner):
    assert_fires(attach(name, "application/pdf"), "ATTACH_NAME_RANDOM", scanner)


@pytest.mark.parametrize("name", ["IMG_20260101_123456.pdf", "Scan0001.pdf", "McDonaldsReceipt.pdf", "CV-JohnSmith-2026.docx",
                                  "a3f9c2e1b7d4f6a8c0e2.pdf", "INVOICE-2026-0042.pdf", "iPhoneManual.pdf"])
def test_ordinary_attachment_names_are_not_random(name, scanner):
    assert_quiet(attach(name, "application/pdf"), "ATTACH_NAME_RANDOM", scanner)


def test_a_photo_with_a_short_note_is_not_an_empty_lure(scanner):
    """Images are not lure documents: a phone's photo with 'sent from my phone' is ordinary mail."""
    raw = MessageBuilder().text("Sent from my phone").attach("IMG_0042.jpg", "image/jpeg", b"\xff\xd8\xff").build()
    assert_quiet(raw, "ATTACH_BODY_EMPTY", scanner)


def test_an_empty_lure_with_a_document_from_free_mail_is_suspicious(scanner):
    """The misses of issue 14: a free-mail sender, a word or two, a PDF with a minted name."""
    raw = (MessageBuilder().sender("Ether <williamsfamjhon@icloud.com>").subject("")
           .text("INFO PDF.").attach("pBDp08qj9IiC6.pdf", "application/pdf", b"%PDF-1.4").build())
    v = scanner.scan(raw)
    assert {"ATTACH_NAME_RANDOM", "ATTACH_BODY_EMPTY", "FROM_FREEMAIL"} <= {f.symbol for f in v.findings}
    assert v.suspicious_or_worse
