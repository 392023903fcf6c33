"""A beacon is any fetch on open (issue 14, item 4): synthetic APT31-style lures from free mail that
name an outlet only in the masthead or the footer and beacon through each kind of fetch are all
`recon` naming the outlet; each has a legitimate near miss."""

from __future__ import annotations

import pytest

from conftest import LIST_HOSTS
from lurelens.testing import MessageBuilder

ID = "8f3a9c2b7d1e4f60a1b2c3d4e5f6a7b8"
HOST = "https://stats.example.com"  # not the sender's domain, not a tracking vendor
BEACONS = {
    "img": f'<img src="{HOST}/p.gif?u={ID}" width="1" height="1">',
    "css-import": f'<style>@import url("{HOST}/s.css?u={ID}");</style>',
    "font-face": (f'<style>@font-face {{ font-family: Brief; src: url("{HOST}/f.woff?u={ID}"); }}'
                  " p { font-family: Brief; }</style>"),
    "background-on-1px-div": f'<div style="width:1px;height:1px;background:url({HOST}/b.png)"></div>',
    "td-background": f'<table><tr><td background="{HOST}/b.png?u={ID}">Policy note</td></tr></table>',
    "link-stylesheet": f'<link rel="stylesheet" href="{HOST}/m.css?u={ID}">',
    "video-poster": f'<video width="1" height="1" poster="{HOST}/v.jpg"></video>',
}
CLAIMS = {
    "masthead-title": ("<title>Reuters Daily Briefing</title>", ""),
    "masthead-logo-alt": ('<img src="cid:logo" alt="Reuters">', ""),
    "footer": ("", "<p>You received this briefing because you follow Reuters on our reader panel.</p>"),
}
BODY = "<p>Dear Ms Lee,</p><p>We would value your view on the attached policy note before Friday.</p>"


def lure(head: str, beacon: str, foot: str, sender: str | None = None) -> bytes:
    sender = sender or f'"Daily Briefing" <briefing.desk@{LIST_HOSTS["freemail"]}>'
    html = f"<html><head>{head}</head><body>{BODY}{beacon}{foot}</body></html>"
    return MessageBuilder().sender(sender).subject("Policy briefing").html(html).build()


@pytest.mark.parametrize("claim", sorted(CLAIMS))
@pytest.mark.parametrize("kind", sorted(BEACONS))
def test_every_beacon_kind_and_claim_place_is_recon(claim, kind, list_scanner):
    head, foot = CLAIMS[claim]
    v = list_scanner.scan(lure(head, BEACONS[kind], foot))
    assert v.label == "recon", [(f.symbol, f.score) for f in v.findings]
    assert any("Reuters" in f.evidence for f in v.findings if f.group == "impersonation")


@pytest.mark.parametrize("kind", ["css-import", "link-stylesheet", "font-face"])
def test_a_stylesheet_without_a_reader_id_is_not_a_beacon(kind, list_scanner):
    """Near miss: a shared stylesheet or web font (same URL for every reader) identifies nobody."""
    plain = BEACONS[kind].replace(f"?u={ID}", "?family=Brief")
    v = list_scanner.scan(lure(*CLAIMS["footer"][:1], plain, CLAIMS["footer"][1]))
    assert "TRACKER_UNLISTED_BEACON" not in {f.symbol for f in v.findings}
    assert v.label != "recon"


def test_a_large_background_is_not_a_pixel(list_scanner):
    big = f'<div style="width:600px;height:200px;background:url({HOST}/banner.png)">Policy note</div>'
    v = list_scanner.scan(lure("", big, ""))
    assert not {"TRACKER_PIXEL_HIDDEN", "TRACKER_UNLISTED_BEACON"} & {f.symbol for f in v.findings}


def test_an_outlet_quoted_in_the_text_is_not_a_footer_claim(list_scanner):
    """Near miss: a person citing an outlet mid-text, with nothing after it that reads as a footer."""
    body = "<p>As Reuters reported last week, the vote moved to Friday. Shall we talk before?</p><p>Ann</p>"
    v = list_scanner.scan(lure("", body, ""))
    assert not [f for f in v.findings if f.group == "impersonation" and f.score > 0]


def test_the_outlets_own_authenticated_mail_is_no_claim(scanner):
    """Near miss: the same footer, from the outlet's own domain with DMARC passing."""
    raw = MessageBuilder().sender('"Reuters Daily Briefing" <briefing@reuters.com>').subject("Policy briefing").html(
        f"<html><body>{BODY}{CLAIMS['footer'][1]}</body></html>").auth(
        "mx.example.org; spf=pass smtp.mailfrom=reuters.com; dkim=pass header.d=reuters.com; dmarc=pass header.from=reuters.com"
    ).build()
    v = scanner.scan(raw)
    assert not [f for f in v.findings if f.group == "impersonation" and f.score > 0]
