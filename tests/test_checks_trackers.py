"""lurelens.checks.trackers: one firing message and one near miss per symbol."""

from __future__ import annotations

import hashlib

from conftest import LIST_HOSTS, symbol_case_tests
from lurelens.checks import trackers
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

RCPT = "bob@example.org"  # MessageBuilder's default To


def html(body: str, **headers: str) -> bytes:
    b = MessageBuilder().html(body)
    for k, v in headers.items():
        b.header(k.replace("_", "-"), v)
    return b.build()


PIXEL = '<p>Hello</p><img src="{}" width="1" height="1" alt="">'
VISIBLE = '<p>Hello</p><img src="{}" width="600" height="200" alt="banner">'
OPAQUE = "https://t.example.net/o/a8Fz3kQ9xL2mP7vR4tY6wB1n"
MD5 = hashlib.md5(RCPT.encode()).hexdigest()
OTHER_MD5 = hashlib.md5(b"carol@example.org").hexdigest()
VENDOR = f"https://{LIST_HOSTS['tracker_host']}/open/abc"

# symbol -> (firing message, near miss, needs the list overlay scanner)
CASES = {
    "REMOTE_CONTENT": (
        html(VISIBLE.format("https://img.example.net/banner.png")),
        html('<p>Hi</p><img src="cid:logo@example.com"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'),
        False,
    ),
    "TRACKER_PIXEL_HIDDEN": (
        html(PIXEL.format("https://t.example.net/o.gif")),
        html(VISIBLE.format("https://t.example.net/o.gif")),
        False,
    ),
    "TRACKER_KNOWN_VENDOR": (
        html(VISIBLE.format(VENDOR)),
        html(VISIBLE.format("https://pixel.example.net/open/abc")),
        True,
    ),
    "TRACKER_RECIPIENT_TOKEN": (
        html(VISIBLE.format(f"https://img.example.net/b.png?h={MD5}")),
        html(VISIBLE.format(f"https://img.example.net/b.png?h={OTHER_MD5}")),
        False,
    ),
    "TRACKER_OPAQUE_ID": (
        html(PIXEL.format(OPAQUE)),
        html(VISIBLE.format(OPAQUE)),  # the same identifier in a visible banner is not a beacon
        False,
    ),
    "TRACKER_UNLISTED_BEACON": (
        html(PIXEL.format("https://t.example.net/o.gif")),
        html(PIXEL.format("https://img.example.com/o.gif")),  # the sender's own domain
        False,
    ),
    "TRACKER_OPEN_REPORTED": (
        html(PIXEL.format("https://img.example.net/spacer.gif")),  # hidden, though a spacer, not a scored beacon
        html(VISIBLE.format(OPAQUE)),  # a visible image with a random-looking name: an ordinary image load
        False,
    ),
    "READ_RECEIPT_REQUESTED": (
        html("<p>Hi</p>", Disposition_Notification_To="alice@example.com"),
        html("<p>Hi</p>", Reply_To="alice@example.com"),
        False,
    ),
    "REMOTE_IP_LITERAL": (
        html(VISIBLE.format("http://93.184.216.34/banner.png")),  # a public address
        html(VISIBLE.format("http://192.168.10.5/banner.png")),  # a private one: not on the internet
        False,
    ),
    "REMOTE_DOCUMENT": (
        html('<p>Hi</p><iframe src="https://docs.example.net/view"></iframe>'),
        html('<p>Hi</p><a href="https://docs.example.net/view">view</a>'),
        False,
    ),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(trackers, CASES)


def test_spacer_image_is_not_a_beacon(scanner):
    assert_quiet(html(PIXEL.format("https://img.example.net/images/spacer.gif")), "TRACKER_PIXEL_HIDDEN", scanner)


def test_known_vendor_beacon_is_not_unlisted(list_scanner):
    v = assert_fires(html(PIXEL.format(VENDOR)), "TRACKER_PIXEL_HIDDEN", list_scanner)
    assert "TRACKER_KNOWN_VENDOR" in {f.symbol for f in v.findings}
    assert "TRACKER_UNLISTED_BEACON" not in {f.symbol for f in v.findings}


def test_dkim_signing_domain_counts_as_the_senders_own(scanner):
    raw = (
        MessageBuilder()
        .html(PIXEL.format("https://pixel.example.net/o.gif"))
        .auth("spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.net; dmarc=pass header.from=example.com")
        .build()
    )
    assert_fires(raw, "TRACKER_PIXEL_HIDDEN", scanner)
    assert_quiet(raw, "TRACKER_UNLISTED_BEACON", scanner)


def test_pixel_reported_once_per_host(scanner):
    body = "".join(PIXEL.format(f"https://t.example.net/o{i}.gif") for i in range(5))
    v = scanner.scan(html(body))
    assert [f.symbol for f in v.findings].count("TRACKER_PIXEL_HIDDEN") == 1
    assert len(v.message.resources) == 5

