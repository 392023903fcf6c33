"""A brand's own sending domain (``fressnapf-newsletter.de``) is a combosquat by construction:
authenticated mail whose links and images lead to the brand's site or its mail provider gets the
benefit (BRAND_OWN_SENDING_DOMAIN, informational), an unauthenticated or mismatched one does not."""

from __future__ import annotations

import pytest

from lurelens.testing import MessageBuilder

SENDER = "Fressnapf <news@fressnapf-newsletter.de>"
PASS = ("mx.example.org; spf=pass smtp.mailfrom=fressnapf-newsletter.de; "
        "dkim=pass header.d=fressnapf-newsletter.de; dmarc=pass header.from=fressnapf-newsletter.de")
FAIL = ("mx.example.org; spf=fail smtp.mailfrom=fressnapf-newsletter.de; dkim=none; "
        "dmarc=fail header.from=fressnapf-newsletter.de")
PIXEL = '<img src="https://click.fressnapf-newsletter.de/o/8f3a9c2b7d1e4f60a1b2c3d4e5f6a7b8.gif" width="1" height="1">'


def newsletter(auth: str | None = PASS, links: str = "", sender: str = SENDER) -> bytes:
    body = ('<img src="https://media.fressnapf.de/banner/winter.jpg"><p>Winterangebote für Ihren Hund.</p>'
            '<a href="https://www.fressnapf.de/c/hund/">Hund</a> <a href="https://www.fressnapf.de/c/katze/">Katze</a> '
            '<a href="https://click.fressnapf-newsletter.de/c/8f3a9c2b7d1e4f60?u=1">Alle Angebote</a> '
            + links + '<p>Newsletter abbestellen: <a href="https://www.fressnapf.de/newsletter/abmelden?u=1">hier</a>.</p>'
            + PIXEL)
    b = MessageBuilder().sender(sender).html(body)
    if auth:
        b.auth(auth)
    return b.build()


def syms(v) -> set[str]:
    return {f.symbol for f in v.findings}


def test_authenticated_own_sending_domain_is_not_a_combosquat(scanner):
    v = scanner.scan(newsletter())
    assert "BRAND_OWN_SENDING_DOMAIN" in syms(v)
    assert not any(f.group == "lookalike" for f in v.findings)
    assert "RECON_BEACON" not in syms(v) and "IMPERSONATION_BRAND" not in syms(v)
    assert "CLAIM_SENDER_UNLISTED" in syms(v)  # the display name's claim is reported, not scored
    assert v.label in ("tracked", "clean")


def test_unauthenticated_look_alike_keeps_firing(scanner):
    v = scanner.scan(newsletter(auth=FAIL))
    assert "LOOKALIKE_DOMAIN_COMBOSQUAT" in syms(v) and "IMPERSONATION_BRAND" in syms(v)
    assert "BRAND_OWN_SENDING_DOMAIN" not in syms(v)
    assert v.label in ("recon", "phishing")


def test_no_authentication_results_keeps_firing(scanner):
    v = scanner.scan(newsletter(auth=None))
    assert "LOOKALIKE_DOMAIN_COMBOSQUAT" in syms(v) and "BRAND_OWN_SENDING_DOMAIN" not in syms(v)


def test_signed_by_another_domain_keeps_firing(scanner):
    """DKIM passes for the mail provider only, DMARC does not pass for the From domain."""
    v = scanner.scan(newsletter(auth="mx.example.org; spf=pass smtp.mailfrom=bounce.esp.example; "
                                     "dkim=pass header.d=esp.example; dmarc=none header.from=fressnapf-newsletter.de"))
    assert "LOOKALIKE_DOMAIN_COMBOSQUAT" in syms(v) and "BRAND_OWN_SENDING_DOMAIN" not in syms(v)


@pytest.mark.parametrize("links", [
    # a self-authenticated squatter sending the reader to its own web site (where a phishing page lives)
    '<a href="https://www.fressnapf-newsletter.de/konto/login">Konto bestätigen</a>',
    '<a href="https://fressnapf-newsletter.de/login">Anmelden</a>',
    # ... or anywhere else
    '<a href="https://pay-check.example.net/fressnapf">Gutschein einlösen</a>',
    # a form harvesting what is typed
    '<form action="https://click.fressnapf-newsletter.de/collect"><input name="pw"></form>',
])
def test_authenticated_but_sending_the_reader_elsewhere_keeps_firing(links, scanner):
    v = scanner.scan(newsletter(links=links))
    assert "LOOKALIKE_DOMAIN_COMBOSQUAT" in syms(v)
    assert "BRAND_OWN_SENDING_DOMAIN" not in syms(v)


def test_no_link_to_the_brand_keeps_firing(scanner):
    raw = MessageBuilder().sender(SENDER).auth(PASS).html(
        '<p>Ihr Paket</p><a href="https://click.fressnapf-newsletter.de/c/8f3a9c2b?u=1">Status</a>' + PIXEL).build()
    v = scanner.scan(raw)
    assert "LOOKALIKE_DOMAIN_COMBOSQUAT" in syms(v) and "BRAND_OWN_SENDING_DOMAIN" not in syms(v)


def test_images_from_an_unrelated_host_keep_firing(scanner):
    v = scanner.scan(newsletter(links='<img src="https://cdn.unrelated-host.example.net/x/8f3a9c2b7d1e.png">'))
    assert "LOOKALIKE_DOMAIN_COMBOSQUAT" in syms(v) and "BRAND_OWN_SENDING_DOMAIN" not in syms(v)
