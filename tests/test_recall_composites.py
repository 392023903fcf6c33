"""Composites added for recall on real phishing (issue 14), each with a firing case and a
legitimate near miss: a beacon in mail that links only away from its sender, and an
organisation's mailbox asking for replies at a free-mail address."""

from __future__ import annotations

from lurelens.testing import MessageBuilder

BEACON = '<img src="https://pix.statcollect-cdn.net/o.gif?id=8f3a9c2b7d1e4f60a1b2c3d4e5f6a7b8" width="1" height="1">'


def offer(link_host: str) -> bytes:
    return MessageBuilder().sender("Acme Deals <offers@acmedeals-shop.com>").html(
        f'<p>Our best prices this week.</p><a href="https://{link_host}/offer">See the offer</a> '
        f'<a href="https://{link_host}/more">More</a>' + BEACON).build()


def syms(v) -> set[str]:
    return {f.symbol for f in v.findings}


def test_beacon_in_mail_linking_only_elsewhere(scanner):
    v = scanner.scan(offer("bestoffers-hub.net"))
    assert {"LINKS_ELSEWHERE", "TRACKER_UNLISTED_BEACON", "BEACON_UNRELATED_SENDER"} <= syms(v)


def test_beacon_in_mail_linking_home_is_not_unrelated(scanner):
    v = scanner.scan(offer("www.acmedeals-shop.com"))
    assert "BEACON_UNRELATED_SENDER" not in syms(v)


def reply_to(sender: str) -> bytes:
    return MessageBuilder().sender(sender).text(
        "Dear colleague,\n\nI need your help with an urgent matter. Please reply to my private address "
        "john.doe.office@gmail.com as soon as you read this.\n\nRegards").build()


def test_an_organisations_mailbox_asking_for_freemail_replies(scanner):
    v = scanner.scan(reply_to("John Doe <john.doe@uni-example.edu>"))
    assert {"BODY_FREEMAIL_CONTACT", "ORG_MAILBOX_REPLY_TO_FREEMAIL"} <= syms(v)
    assert v.suspicious_or_worse


def test_a_person_on_free_mail_giving_another_address_is_not_an_org_mailbox(scanner):
    v = scanner.scan(reply_to("John Doe <john.doe@gmail.com>"))
    assert "ORG_MAILBOX_REPLY_TO_FREEMAIL" not in syms(v)
