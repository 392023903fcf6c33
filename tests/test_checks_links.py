"""lurelens.checks.links: one firing message and one near miss per symbol."""

from __future__ import annotations

import pytest

from conftest import LIST_HOSTS, symbol_case_tests
from lurelens.checks import links
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet


HOSTING = LIST_HOSTS["free_hosting"]


def a(href: str, text: str = "click here", sender: str | None = None) -> bytes:
    b = MessageBuilder().text("see the HTML part").html(f'<p>Hello</p><p><a href="{href}">{text}</a></p>')
    if sender:
        b.sender(sender)
    return b.build()


CYR_A = "\u0430"  # Cyrillic small a, looks like Latin a
CASES = {
    "LINK_TEXT_HOST_MISMATCH": (
        a("https://login.example.net/account", "https://www.example.com/account"),
        a("https://www.example.com/account", "www.example.com/account"),
        False,
    ),
    "LINK_IP_LITERAL": (
        a("http://93.184.216.34/login"),  # a public address (example.com's old one)
        a("http://10.20.30.40/login"),  # a private address: an intranet link, not a lure
        False,
    ),
    "LINK_USERINFO": (
        a("https://www.example.com@login.example.net/"),
        a("https://login.example.net/?user=www.example.com"),
        False,
    ),
    "LINK_PUNYCODE": (
        a("https://xn--exmple-cua.example.com/"),
        a("https://exmple.example.com/"),
        False,
    ),
    "LINK_MIXED_SCRIPT": (
        a(f"https://ex{CYR_A}mple.example.com/"),  # Latin and Cyrillic in one label
        a("https://\u043f\u0440\u0438\u043c\u0435\u0440.example.com/"),  # all-Cyrillic label: punycode only
        False,
    ),
    "LINK_SHORTENER": (
        a(f"https://{LIST_HOSTS['shortener']}/x7Yk2"),
        a("https://www.example.net/x7Yk2"),
        True,
    ),
    "LINK_REDIRECT_PARAM": (
        a("https://r.example.net/r?url=https%3A%2F%2Flogin.example.org%2F"),
        a("https://www.example.net/r?next=https://account.example.net/"),  # same site
        False,
    ),
    "LINK_OPEN_REDIRECTOR": (
        a(f"https://{LIST_HOSTS['open_redirector']}/?url=https://login.example.org/"),
        a("https://redirect.example.com/?url=https://login.example.org/"),
        True,
    ),
    "LINK_VIA_TRACKING_HOST": (
        a(f"https://{LIST_HOSTS['click_tracker']}/c/abc123", sender="news@example.com"),
        a(f"https://{LIST_HOSTS['click_tracker']}/c/abc123", sender="news@example.net"),  # sender's own
        True,
    ),
    "LINK_SCRIPT_SCHEME": (
        a("javascript:alert(document.cookie)"),
        a("mailto:help@example.com"),
        False,
    ),
    "LINK_FORM": (
        MessageBuilder().html('<form action="https://collect.example.net/post"><input name="pw"></form>').build(),
        MessageBuilder().html('<form action="/post"><input name="pw"></form>').build(),  # nowhere to post
        False,
    ),
    "LINKS_ELSEWHERE": (
        a("https://claimnow-example.net/offer", sender="Rewards <news@acmeshop-example.com>"),
        a("https://www.acmeshop-example.com/offer", sender="Rewards <news@acmeshop-example.com>"),
        False,
    ),
    "SENDER_OWN_SITE": (
        # A shop's newsletter: three links home, one to a partner, its images from home.
        MessageBuilder().sender("Acme Shop <news@mail.acmeshop-example.com>").html(
            '<img src="https://img.acmeshop-example.com/logo.png"><a href="https://www.acmeshop-example.com/a">a</a>'
            '<a href="https://www.acmeshop-example.com/b">b</a><a href="https://shop.acmeshop-example.com/c">c</a>'
            '<a href="https://partner.example.net/d">d</a>').build(),
        # Near miss: the same mail with half its links elsewhere is not "keeping to itself".
        MessageBuilder().sender("Acme Shop <news@mail.acmeshop-example.com>").html(
            '<img src="https://img.acmeshop-example.com/logo.png"><a href="https://www.acmeshop-example.com/a">a</a>'
            '<a href="https://www.acmeshop-example.com/b">b</a><a href="https://login.nowhere-bank.net/c">c</a>'
            '<a href="https://partner.unrelated-shop.org/d">d</a>').build(),
        False,
    ),
    "LINK_FREE_HOSTING": (a(f"https://login.{HOSTING}/"), a(f"https://{HOSTING}/docs"), True),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(links, CASES)


@pytest.mark.parametrize(
    "text",
    [
        "Read more about www.example.com and our partners",  # a sentence, not a displayed URL
        "report.pdf",  # a file name
        "Click here",
    ],
)
def test_text_mismatch_needs_a_displayed_domain(text, scanner):
    assert_quiet(a("https://login.example.net/", text), "LINK_TEXT_HOST_MISMATCH", scanner)


def test_text_mismatch_accepts_decoded_redirect_target(scanner):
    raw = a("https://r.example.net/r?url=https%3A%2F%2Fwww.example.com%2Fnews", "https://www.example.com/news")
    v = assert_quiet(raw, "LINK_TEXT_HOST_MISMATCH", scanner)
    lk = v.message.links[0]
    assert lk.final_url == "https://www.example.com/news"
    assert lk.final_host == "www.example.com"


def test_base64_redirect_parameter_is_decoded(scanner):
    import base64

    target = base64.urlsafe_b64encode(b"https://login.example.org/x").decode().rstrip("=")
    v = assert_fires(a(f"https://r.example.net/c?u={target}"), "LINK_REDIRECT_PARAM", scanner)
    assert v.message.links[0].final_host == "login.example.org"


def test_bare_urls_in_plain_text_are_links(scanner):
    raw = MessageBuilder().text("Visit http://93.184.216.34/verify now.").build()
    v = assert_fires(raw, "LINK_IP_LITERAL", scanner)
    assert [(lk.kind, lk.href) for lk in v.message.links] == [("text", "http://93.184.216.34/verify")]


@pytest.mark.parametrize("host", ["0x5db8d822", "1572395042"])  # 93.184.216.34 in hex and decimal
def test_ip_literal_in_browser_numeric_forms(host, scanner):
    assert_fires(a(f"http://{host}/login"), "LINK_IP_LITERAL", scanner)


@pytest.mark.parametrize("host", ["127.0.0.1", "192.168.1.20", "[::1]", "169.254.1.1"])
def test_non_public_ip_links_are_not_flagged(host, scanner):
    assert_quiet(a(f"http://{host}/"), "LINK_IP_LITERAL", scanner)


def test_links_elsewhere_is_quiet_for_people_and_social_icons(scanner, list_scanner):
    free = LIST_HOSTS["freemail"]
    assert_quiet(a("https://claim-now.example.net/x", sender=f"Ann <ann@{free}>"), "LINKS_ELSEWHERE", list_scanner)
    icons = a("https://www.facebook.com/shop", sender="Shop <news@acmeshop-example.com>")
    assert_quiet(icons, "LINKS_ELSEWHERE", scanner)
    # A link to the sender's own name under another registered domain (acmeshop-mail.net) is home.
    assert_quiet(a("https://www.acmeshop-mail.net/x", sender="Shop <news@acmeshop.com>"), "LINKS_ELSEWHERE", scanner)


def test_links_elsewhere_follows_a_decoded_redirect(scanner):
    home = a("https://r.redir-example.org/?url=https%3A%2F%2Fwww.acmeshop-example.com%2Fsale", sender="Shop <news@acmeshop-example.com>")
    assert_quiet(home, "LINKS_ELSEWHERE", scanner)
    away = a("https://r.redir-example.org/?url=https%3A%2F%2Fclaimnow-example.net%2Fsale", sender="Shop <news@acmeshop-example.com>")
    assert_fires(away, "LINKS_ELSEWHERE", scanner)


def test_link_wrappers_are_unwrapped_through_every_layer(scanner):
    from urllib.parse import quote

    # URL Defense v2 writes '-' for '%' and '_' for '/'; Safe Links then wraps that whole URL.
    ppv2 = "https://urldefense.proofpoint.com/v2/url?u=http-3A__docs.example.com_guide_page-5F1.html&d=DwMFaQ&c=x"
    nested = "https://nam03.safelinks.protection.outlook.com/?url=" + quote(ppv2, safe="") + "&data=02%7C01"
    v = assert_quiet(a(nested, "http://docs.example.com/guide/page_1.html"), "LINK_TEXT_HOST_MISMATCH", scanner)
    assert v.message.links[0].final_url == "http://docs.example.com/guide/page_1.html"
    # URL Defense v3 keeps the destination in the path, with one slash after the scheme.
    v3 = "https://urldefense.com/v3/__https:/files.example.com/manual/page.html*section__;Iw!!abc$"
    v = assert_quiet(a(v3, "https://files.example.com/manual/page.html#section"), "LINK_TEXT_HOST_MISMATCH", scanner)
    assert v.message.links[0].final_host == "files.example.com"
    # A wrapper around a different host than the text shows is still a mismatch.
    other = ppv2.replace("docs.example.com", "login.example.net")
    assert_fires(a(other, "http://docs.example.com/guide"), "LINK_TEXT_HOST_MISMATCH", scanner)


def test_links_elsewhere_reads_a_relayed_senders_address_in_the_name(scanner):
    # An address-masking relay rewrites the From; the newsletter's own address stays in the name.
    relayed = a("https://www.newsite-example.com/article", sender='"news@newsite-example.com [relay]" <t123@relay-example.net>')
    assert_quiet(relayed, "LINKS_ELSEWHERE", scanner)
    assert_fires(a("https://www.newsite-example.com/article", sender='"News" <t123@relay-example.net>'), "LINKS_ELSEWHERE", scanner)


def test_own_site_needs_its_remote_content_at_home_too(scanner):
    """Links home but images from an unrelated host it never links to: not the sender's own mail."""
    raw = MessageBuilder().sender("Acme Shop <news@acmeshop-example.com>").html(
        '<img src="https://cdn.unrelated.example.net/x.png"><img src="https://cdn.unrelated.example.net/y.png">'
        '<a href="https://www.acmeshop-example.com/a">a</a><a href="https://www.acmeshop-example.com/b">b</a>').build()
    assert_quiet(raw, "SENDER_OWN_SITE", scanner)


def test_own_site_is_quiet_for_free_mail(list_scanner):
    free = LIST_HOSTS["freemail"]
    raw = MessageBuilder().sender(f"Ann <ann@{free}>").html(
        f'<a href="https://www.{free}/a">a</a><a href="https://www.{free}/b">b</a>').build()
    assert_quiet(raw, "SENDER_OWN_SITE", list_scanner)



def _strength(v, symbol: str) -> float:
    return max(f.strength for f in v.findings if f.symbol == symbol)


def test_own_click_host_showing_a_partner_site_is_weak(scanner):
    """A sender's own click host under a partner's name (the 2002 ESP habit, ummail.unitedmedia.com
    under "dilbert.com") is weak evidence; the same host under a known brand it is not, or a
    foreign host under the partner's name, keeps full weight (issue 14)."""
    own = a("https://click.comics-mailer.example/c?id=8f3a", "www.funnystrips-example.com",
            sender="Comics <news@comics-mailer.example>")
    assert _strength(scanner.scan(own), "LINK_TEXT_HOST_MISMATCH") == pytest.approx(0.3)
    brand = a("https://click.comics-mailer.example/c?id=8f3a", "www.paypal.com",
              sender="Comics <news@comics-mailer.example>")
    assert _strength(scanner.scan(brand), "LINK_TEXT_HOST_MISMATCH") == 1.0
    foreign = a("https://login.example.net/c?id=8f3a", "www.funnystrips-example.com",
                sender="Comics <news@comics-mailer.example>")
    assert _strength(scanner.scan(foreign), "LINK_TEXT_HOST_MISMATCH") == 1.0
