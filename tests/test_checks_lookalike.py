"""Lookalike domains in the sender, links and fetched resources; near misses stay quiet."""

import pytest

from lurelens.testing import MessageBuilder, assert_fires, assert_quiet


def sender(addr):
    return MessageBuilder().sender(f'"Desk" <{addr}>').build()


def link(href):
    return MessageBuilder().html(f'<a href="{href}">read</a>').build()


@pytest.mark.parametrize("addr", [
    "desk@n\u0443times.com",          # Cyrillic у
    "desk@xn--reutrs-6of.com",        # punycode of reutеrs.com (Cyrillic е)
    "desk@bb\u0441.co.uk",            # Cyrillic с
])
def test_homoglyph_sender(addr):
    raw = MessageBuilder().header("From", f"Desk <{addr}>").build()
    v = assert_fires(raw, "LOOKALIKE_DOMAIN_HOMOGLYPH")
    assert "imitates" in next(f.evidence for f in v.findings if f.symbol == "LOOKALIKE_DOMAIN_HOMOGLYPH")


@pytest.mark.parametrize("host,symbol", [
    ("washingtonpots.com", "LOOKALIKE_DOMAIN_EDIT"),
    ("nytimes-news.com", "LOOKALIKE_DOMAIN_COMBOSQUAT"),
    ("theguardian-press.net", "LOOKALIKE_DOMAIN_COMBOSQUAT"),
    ("apnews.org", "LOOKALIKE_DOMAIN_TLD_SWAP"),
    ("reuters.com.press-desk.net", "LOOKALIKE_DOMAIN_SUBDOMAIN"),
])
def test_lookalike_in_sender(host, symbol):
    assert_fires(sender(f"editor@{host}"), symbol)


def test_lookalike_in_link():
    assert_fires(link("https://bbc-breaking.com/world"), "LOOKALIKE_DOMAIN_COMBOSQUAT")


def test_real_domains_are_quiet():
    for host in ("nytimes.com", "reuters.com", "bbc.co.uk", "theguardian.com", "apnews.com"):
        raw = sender(f"desk@{host}")
        for sym in ("LOOKALIKE_DOMAIN_HOMOGLYPH", "LOOKALIKE_DOMAIN_EDIT", "LOOKALIKE_DOMAIN_COMBOSQUAT",
                    "LOOKALIKE_DOMAIN_TLD_SWAP", "LOOKALIKE_DOMAIN_SUBDOMAIN"):
            assert_quiet(raw, sym)


def test_ordinary_word_domain_is_not_an_edit_of_a_brand():
    # online.com is one letter from eonline.com, but an ordinary word is no typo.
    assert_quiet(sender("news@newsletter.online.com"), "LOOKALIKE_DOMAIN_EDIT")


def test_short_name_under_other_tld_is_not_a_swap():
    assert_quiet(sender("info@kbs.ie"), "LOOKALIKE_DOMAIN_TLD_SWAP")
