"""lurelens.checks.sender: one firing message and one near miss per symbol."""

from __future__ import annotations

import base64

from conftest import LIST_HOSTS, symbol_case_tests
from lurelens.checks import sender
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

FREE = LIST_HOSTS["freemail"]
HOSTING = LIST_HOSTS["free_hosting"]


def msg(*headers: tuple[str, str], html: str | None = None, drop: tuple[str, ...] = (), add: tuple = ()) -> bytes:
    b = MessageBuilder()
    for name in drop:
        b.remove_header(name)
    for k, v in headers:
        b.header(k, v)
    for k, v in add:
        b.header(k, v, replace=False)
    if html is not None:
        b.html(html)
    return b.build()


def text_msg(body: str, subject: str = "Hello", sender: str | None = None) -> bytes:
    b = MessageBuilder().subject(subject).text(body)
    if sender:
        b.sender(sender)
    return b.build()


def b64word(s: str) -> str:
    return "=?utf-8?B?" + base64.b64encode(s.encode()).decode() + "?="


CASES = {
    "FROM_MISSING": (
        msg(drop=("From",)),
        msg(),
        False,
    ),
    "FROM_NAME_HAS_ADDRESS": (
        msg(("From", '"service@example.org" <alerts@example.net>')),
        msg(("From", '"alice@example.com" <alice@example.com>')),
        False,
    ),
    "FROM_MALFORMED": (
        msg(("From", "Bank, Support <support@example.com>")),
        msg(("From", '"Bank, Support" <support@example.com>')),
        False,
    ),
    "FROM_NAME_HAS_ADDRESS_RELAYED": (
        msg(("From", '"news@example.org" <relay@example.net>'),
            html='<p>Hi</p><a href="https://www.example.org/article">read</a>'),
        msg(("From", '"news@example.org" <relay@example.net>'),
            html='<p>Hi</p><a href="https://www.example.net/article">read</a>'),
        False,
    ),
    "FROM_FREEMAIL": (
        msg(("From", f"alice@{FREE}")),
        msg(("From", "alice@example.com")),
        True,
    ),
    "REPLYTO_MISMATCH": (
        msg(("Reply-To", "press@example.net")),
        msg(("Reply-To", "press@news.example.com")),  # same registrable domain
        False,
    ),
    "REPLYTO_FREEMAIL": (
        msg(("Reply-To", f"alice.desk@{FREE}")),
        msg(("Reply-To", "alice.desk@example.net")),  # a mismatch, but not free mail
        True,
    ),
    "REPLYTO_OTHER_FREEMAIL": (
        msg(("From", f"alice.winner@{FREE}"), ("Reply-To", f"claims.desk@{FREE}")),
        msg(("From", f"alice@{FREE}"), ("Reply-To", f"Alice@{FREE}")),  # the same mailbox
        True,
    ),
    "SENDER_MISMATCH": (
        msg(("Sender", "bulk@example.net")),
        msg(("Sender", "bulk@mail.example.com")),
        False,
    ),
    "RETURN_PATH_MISMATCH": (
        msg(("Return-Path", "<bounce-1@bounce.example.net>")),
        msg(("Return-Path", "<bounce-1@bounce.example.com>")),
        False,
    ),
    "HEADER_ENCODED_TRICK": (
        msg(("Reply-To", f"{b64word('ceo@example.org')} <ceo@example.net>")),
        msg(("Reply-To", "=?utf-8?Q?Ren=C3=A9_Dupont?= <rene@example.com>")),
        False,
    ),
    "MAILING_LIST": (
        msg(("List-Id", "Example Dev <dev.lists.example.com>"), ("List-Post", "<mailto:dev@lists.example.com>")),
        msg(("List-Id", "Example offers <1234.xt.local>"), ("List-Unsubscribe", "<mailto:unsub@example.com>")),  # a bulk campaign id
        False,
    ),
    "FROM_NAME_UNRELATED_ORG": (
        msg(("From", '"Customer Care Team" <notice@example.net>')),
        msg(("From", '"Example Customer Care" <care@example.net>')),  # the name spells the domain
        False,
    ),
    "FROM_NAME_DECORATED": (
        msg(("From", '"   Payment..Required  " <alerts@example.net>')),
        msg(("From", "\"'Smith, John'\" <john@example.net>")),  # Outlook's quoted name is no trick
        False,
    ),
    "FROM_ABUSED_TLD": (
        msg(("From", "Alice <alice@offers.xyz>")),
        msg(("From", "Alice <alice@offers.example.com>")),
        False,
    ),
    "BODY_FREEMAIL_CONTACT": (
        text_msg(f"For questions write to agent.desk@{FREE} directly."),
        text_msg("For questions write to agent.desk@example.com directly."),
        True,
    ),
    "FROM_DOMAIN_INVALID": (
        text_msg("Hi.", sender="alice@mail.example"),  # .example is reserved, never delegated
        text_msg("Hi.", sender="alice@mail.example.com"),
        False,
    ),
    "FROM_FREE_HOSTING": (
        text_msg("Hi.", sender=f"alice@shop.{HOSTING}"),
        text_msg("Hi.", sender=f"alice@{HOSTING}"),  # the platform itself, not a tenant
        True,
    ),
    "FROM_LOCAL_RANDOM": (
        text_msg("Hi.", sender="zmAZizPIr@mailer.example.com"),
        text_msg("Hi.", sender="JohnSmith@mailer.example.com"),
        False,
    ),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(sender, CASES)


def test_encoded_control_characters(scanner):
    raw = msg(("Subject", "=?utf-8?Q?Invoice=0D=0ABcc:_x@example.net?="))
    assert_fires(raw, "HEADER_ENCODED_TRICK", scanner)


def test_reply_to_listed_in_list_post_is_not_a_mismatch(scanner):
    raw = msg(("Reply-To", "list@lists.example.net"), ("List-Post", "<mailto:list@lists.example.net>"))
    assert_quiet(raw, "REPLYTO_MISMATCH", scanner)


def test_no_headers_is_not_from_missing(scanner):
    assert_quiet(b"\x00\x01\x02 not mail at all", "FROM_MISSING", scanner)


def test_org_name_from_its_mail_provider_is_related(scanner):
    # "Acmewidgets Offers" sent by an ESP domain, with the content on acmewidgets' own site.
    links = "".join(f'<a href="https://www.acmewidgets.example/p{i}">item {i}</a>' for i in range(5))
    raw = msg(("From", '"Acmewidgets Offers" <news@esp-mailer.example.net>'), html=f"<p>Hi</p>{links}")
    assert_quiet(raw, "FROM_NAME_UNRELATED_ORG", scanner)
    other = msg(("From", '"Acmewidgets Offers" <news@esp-mailer.example.net>'),
                html='<p>Hi</p><a href="https://landing.example.org/x">item</a>')
    assert_fires(other, "FROM_NAME_UNRELATED_ORG", scanner)


def test_org_name_on_a_mailing_list_or_feed_gateway_is_quiet(scanner):
    name = ("From", '"Support Team via Dev" <announce@lists.example.net>')
    listed = msg(name, ("List-Id", "<dev.lists.example.net>"), ("List-Post", "<mailto:dev@lists.example.net>"))
    assert_quiet(listed, "FROM_NAME_UNRELATED_ORG", scanner)
    assert_fires(msg(name, ("List-Id", "<1234.xt.local>")), "FROM_NAME_UNRELATED_ORG", scanner)  # a bulk campaign id
    assert_quiet(msg(("From", '"Security News" <rssfeeds@example.net>')), "FROM_NAME_UNRELATED_ORG", scanner)
    assert_fires(msg(("From", '"Security News" <alerts@example.net>')), "FROM_NAME_UNRELATED_ORG", scanner)


def test_person_name_from_another_domain_is_not_an_org(scanner):
    assert_quiet(msg(("From", '"Jelisa Hooijer" <contact@tools.example.net>')), "FROM_NAME_UNRELATED_ORG", scanner)


def test_emoji_marks_an_org_name(scanner):
    raw = msg(("From", '"\U0001F4B3 Fatura Mensal" <jdoe1984@example.net>'))
    assert_fires(raw, "FROM_NAME_UNRELATED_ORG", scanner)


def test_abused_shared_suffix_is_matched(scanner):
    assert_fires(msg(("From", "Lina <lina_1@offers4u.sa.com>")), "FROM_ABUSED_TLD", scanner)


def test_recipient_address_in_body_is_not_a_freemail_contact(list_scanner):
    raw = MessageBuilder().header("To", f"bob@{FREE}").text(f"Your login is bob@{FREE}.").build()
    assert_quiet(raw, "BODY_FREEMAIL_CONTACT", list_scanner)


def test_help_desk_tenant_sender_counts_as_hosting_at_half_strength(scanner):
    v = scanner.scan(text_msg("Hi.", sender="Support <support@scamco.zendesk.com>"))
    f = next(f for f in v.findings if f.symbol == "FROM_FREE_HOSTING")
    assert f.strength == 0.5 and "zendesk.com" in f.evidence
    assert_quiet(text_msg("Hi.", sender="Support <support@zendesk.com>"), "FROM_FREE_HOSTING", scanner)


def test_a_mailbox_name_with_no_vowels_is_random(scanner):
    assert_fires(text_msg("Hi.", sender="Man Problems <uqfkxgpz@hotel.example.com>"), "FROM_LOCAL_RANDOM", scanner)
    for quiet in ("rwmcgwier@example.com", "schwartz@example.com", "jsmith2024@example.com"):
        assert_quiet(text_msg("Hi.", sender=quiet), "FROM_LOCAL_RANDOM", scanner)


def test_replies_to_another_free_mail_mailbox(scanner):
    """A throwaway free-mail sender with the scammer's inbox in Reply-To (issue 14), whether at the
    same provider or another one; the same mailbox name at a sibling provider is one person."""
    for rt in ("claims.office@outlook.com", "clcas655@gmail.com"):
        v = assert_fires(msg(("From", "Carlos Casas <khadmau70@gmail.com>"), ("Reply-To", rt)), "REPLYTO_OTHER_FREEMAIL", scanner)
        assert "REPLYTO_FREEMAIL" not in {f.symbol for f in v.findings}
    assert_quiet(msg(("From", "Ann Lee <ann.lee@gmail.com>"), ("Reply-To", "ann.lee@googlemail.com")),
                 "REPLYTO_OTHER_FREEMAIL", scanner)
    # A company's sender is REPLYTO_FREEMAIL's case, not this one.
    assert_quiet(msg(("From", "Ann Lee <ann@example.com>"), ("Reply-To", "ann.private@gmail.com")),
                 "REPLYTO_OTHER_FREEMAIL", scanner)


def test_a_mixed_case_mailbox_of_consonants_is_random(scanner):
    for loud in ("xxLJGPm@eaux.example.com", "dvgvKKB@power.example.com", "dnVXGjxw@rare.example.com"):
        assert_fires(text_msg("Hi.", sender=f"Offers <{loud}>"), "FROM_LOCAL_RANDOM", scanner)
    for quiet in ("FOXSportsFLASH@example.com", "DoNotUse@example.com", "ThosStew@example.com"):
        assert_quiet(text_msg("Hi.", sender=quiet), "FROM_LOCAL_RANDOM", scanner)


def test_a_hosted_apps_password_reset_is_not_suspicious_alone(scanner):
    """A small app sending its password resets from its hosting platform's default address: the
    free-hosting sender is a sign, but one property of the address never decides alone (issue 14:
    the fit's bound keeps FROM_FREE_HOSTING below `suspicious`)."""
    raw = text_msg("Follow this link to reset the password of your MyShelf account. If you did not ask, ignore this.",
                   subject="Reset your password for MyShelf", sender="MyShelf <noreply@myshelf-4f2a1.firebaseapp.com>")
    v = assert_fires(raw, "FROM_FREE_HOSTING", scanner)
    assert not v.suspicious_or_worse, [(f.symbol, f.score) for f in v.findings if f.score]
