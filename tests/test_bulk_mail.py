"""Legitimate bulk mail is `tracked`, not `suspicious` (issue 14): an organisation's own
newsletter earns the CONSISTENT_SENDER credit; deception signs or content from elsewhere cancel it."""

from __future__ import annotations

import pytest

from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

SHOP = "Acme Shop <news@mail.acmeshop-example.com>"
PIXEL = '<img src="https://t.acmeshop-example.com/open/8f3a9c2b7d1e4f60a1b2c3d4e5f6a7b8.gif" width="1" height="1">'


def newsletter(sender: str = SHOP, auth: str | None = None, extra: str = "") -> bytes:
    b = MessageBuilder().sender(sender).html(
        '<img src="https://img.acmeshop-example.com/banner.png"><p>Our spring collection is here.</p>'
        '<a href="https://www.acmeshop-example.com/spring">Shop now</a>'
        '<a href="https://www.acmeshop-example.com/sale">Sale</a>' + extra
        + '<p>To unsubscribe from this newsletter <a href="https://www.acmeshop-example.com/unsub?u=1">click here</a>.</p>'
        + PIXEL)
    if auth:
        b.auth(auth)
    return b.build()


def symbols(v) -> set[str]:
    return {f.symbol for f in v.findings if f.score or f.symbol == "SENDER_OWN_SITE"}


def test_a_shops_own_tracked_newsletter_is_tracked(scanner):
    v = scanner.scan(newsletter())
    assert "CONSISTENT_SENDER" in symbols(v)
    assert v.label == "tracked"


def test_failed_authentication_cancels_the_credit(scanner):
    v = scanner.scan(newsletter(auth="mx.example.org; spf=fail smtp.mailfrom=acmeshop-example.com; dkim=none; "
                                     "dmarc=fail header.from=acmeshop-example.com"))
    assert "SENDER_OWN_SITE" in symbols(v) and "CONSISTENT_SENDER" not in symbols(v)
    assert v.label == "recon"  # a beacon from a sender that failed DMARC


def test_a_beacon_to_a_host_it_never_links_to_gets_no_credit(scanner):
    v = scanner.scan(newsletter(extra='<img src="https://pix.example.net/o.gif?id=8f3a9c2b7d1e4f60" width="1" height="1">'))
    assert "CONSISTENT_SENDER" not in symbols(v)


def test_tracking_alone_adds_at_most_the_group_cap(scanner):
    """Every tracking symbol at once still weighs at most the tracking group's cap towards suspicious."""
    raw = MessageBuilder().sender("News <news@example.com>").html(
        '<p>Hello</p><img src="https://pix.example.net/o.gif?e=bob@example.org&id=8f3a9c2b7d1e4f60a1b2c3d4e5f6a7b8"'
        ' width="1" height="1">').build()
    v = scanner.scan(raw)
    tracking = [f for f in v.findings if f.group == "tracking" and f.score > 0]
    assert len(tracking) >= 2
    cap = scanner.scoring.groups["tracking"]["cap"]
    assert sum(f.score for f in tracking) > cap
    assert v.score <= cap + sum(f.score for f in v.findings if f.group != "tracking" and f.score > 0) + 1e-9
    assert v.label == "tracked"


@pytest.mark.parametrize("symbol, template", [
    ("LINK_FORM", '<form action="https://{host}/q"><input name="q"></form>'),
    ("REMOTE_DOCUMENT", '<p>Hi</p><iframe src="https://{host}/issue"></iframe>'),
])
def test_the_senders_own_site_is_not_remote(symbol, template, scanner):
    """A newsletter's search box or embedded issue on its own site; the same on another site fires."""
    def mail(host: str) -> bytes:
        return MessageBuilder().sender("News <news@example.com>").html(template.format(host=host)).build()

    assert_quiet(mail("search.example.com"), symbol, scanner)
    assert_fires(mail("collect.example.net"), symbol, scanner)


@pytest.mark.parametrize("lure", [
    "<p>Your mining balance is 0.0213 BTC: withdraw your funds today.</p>",
    "<p>You have won! Claim your prize before Friday.</p>",
    "<p>Lonely women near you want to flirt tonight: meet them now.</p>",
])
def test_a_scams_lure_cancels_the_credit(lure, scanner):
    """An organisation's own-looking mail that pays out crypto or prizes gets no consistency credit;
    the same newsletter with a voucher keeps it (issue 14)."""
    v = scanner.scan(newsletter(extra=lure))
    assert "SENDER_OWN_SITE" in symbols(v) and "CONSISTENT_SENDER" not in symbols(v)
    near = scanner.scan(newsletter(extra="<p>Ihr Gutschein: 10% auf die Frühjahrskollektion.</p>"))
    assert "CONSISTENT_SENDER" in symbols(near) and near.label == "tracked"
