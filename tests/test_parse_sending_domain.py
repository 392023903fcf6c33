"""lurelens.parse.sending_domain: the domains a receiver authenticated, and a brand's own sending
domain told from a combosquat (end-to-end cases are in test_brand_sending_domain.py)."""

from __future__ import annotations

from lurelens.parse.sending_domain import authenticated_domains, brand_own_sending_domain
from lurelens.testing import MessageBuilder

PASS = "mx.example.org; spf=pass smtp.mailfrom=shop-mail.example; dkim=pass header.d=shop-mail.example; dmarc=pass header.from=shop-mail.example"
FAIL = "mx.example.org; spf=fail smtp.mailfrom=shop-mail.example; dkim=fail header.d=shop-mail.example; dmarc=fail header.from=shop-mail.example"


def _scan(make_scanner, ar: str, html: str):
    scanner = make_scanner(trusted_authserv_ids=("mx.example.org",))
    raw = (MessageBuilder().sender("Shop <news@shop-mail.example>").header("Authentication-Results", ar)
           .html(html).build())
    return scanner, scanner.scan(raw).message


def test_authenticated_domains_need_a_pass(make_scanner):
    _, msg = _scan(make_scanner, PASS, "<p>hi</p>")
    assert authenticated_domains(msg) == {"shop-mail.example"}
    _, msg = _scan(make_scanner, FAIL, "<p>hi</p>")
    assert authenticated_domains(msg) == set()


def test_own_sending_domain_needs_authentication_and_links_home(make_scanner):
    home = '<a href="https://www.shop.example/sale">Sale</a> <a href="https://www.apple.com/app-store/">App</a>'
    scanner, msg = _scan(make_scanner, PASS, home)
    assert brand_own_sending_domain(msg, scanner.data, "shop-mail.example", {"shop.example"})
    scanner, msg = _scan(make_scanner, FAIL, home)
    assert brand_own_sending_domain(msg, scanner.data, "shop-mail.example", {"shop.example"}) is None
    away = '<a href="https://login.elsewhere.example/verify">Verify</a>'
    scanner, msg = _scan(make_scanner, PASS, away)
    assert brand_own_sending_domain(msg, scanner.data, "shop-mail.example", {"shop.example"}) is None
