"""Cluster features (lurelens.model.ClusterFeatures): computed once at enrich time, exposed as
``message.features`` and in ``verdict.to_dict()["features"]``."""

from __future__ import annotations

import hashlib
import pickle

import pytest

from lurelens.model import ClusterFeatures
from lurelens.parse.features import fuzzy_hash, html_skeleton
from lurelens.testing import MessageBuilder

ARTICLE = (
    "<html><body><table><tr><td><h1>Morning briefing</h1><p>Lawmakers met on Tuesday to discuss the "
    "budget for next year, and several committees published their reports on defence spending, "
    "energy policy and the future of the regional trade agreement.</p>"
    '<p><a href="https://www.google.com/url?q=https://login.paypa1.com/x">Read more</a></p>'
    '<img src="https://beacon.example.net/o.gif?u=bob%40example.org" width=1 height=1>'
    '<img src="https://img.example.com/logo.png" width=200 height=50>'
    '<img src="https://t.example.com/p.gif" width=1 height=1>'
    "</td></tr>" + "<tr><td><span>more</span> <em>news</em> <b>here</b></td></tr>" * 4 + "</table></body></html>"
)


def _msg(html: str = ARTICLE) -> MessageBuilder:
    return (MessageBuilder().sender('"Reuters" <news@example.com>')
            .header("Reply-To", "desk@replies.example.org")
            .header("Return-Path", "<bounce@mailer.example.net>")
            .header("Cc", "Carol <carol@Example.ORG>")
            .header("Delivered-To", "bob@example.org")
            .prepend_header("Received", "from relay.internal (relay [10.1.2.3]) by mx2.example.org; Tue, 10 Nov 2026 08:00:02 +0000")
            .prepend_header("Received", "from mx.example.org (mx [192.168.1.2]) by store.example.org for <dave@example.org>; "
                            "Tue, 10 Nov 2026 08:00:03 +0000")
            .html(html))


@pytest.fixture(scope="module")
def verdict(scanner):
    b = _msg()
    b.headers.insert(2, ("Received", "from mailer.example.net (mailer [203.0.113.9]) by relay.internal; "
                                     "Tue, 10 Nov 2026 08:00:01 +0000"))
    return scanner.scan(b.attach("report.pdf", "application/pdf", b"%PDF-1.4 test").build())


def test_features_on_the_message(verdict):
    f = verdict.message.features
    assert isinstance(f, ClusterFeatures)
    assert f.sender_domains == ("example.com",)
    assert f.reply_to_domains == ("replies.example.org",)
    assert f.return_path_domain == "mailer.example.net"
    # The hidden pixel on the From domain is the sender's own; the one naming the recipient is not.
    assert f.beacon_hosts == ("beacon.example.net",) and f.beacon_domains == ("example.net",)
    assert f.resource_hosts == ("beacon.example.net", "img.example.com", "t.example.com")
    # The wrapper and where it leads.
    assert f.link_hosts == ("login.paypa1.com", "www.google.com")
    assert f.link_domains == ("google.com", "paypa1.com")
    # Received hops through private addresses are the receiver's own; the first outside one counts.
    assert f.origin_ip == "203.0.113.9"
    assert set(f.recipients) >= {"bob@example.org", "carol@example.org", "dave@example.org"}
    assert "reuters" in f.claimed
    assert f.attachment_sha256 == (hashlib.sha256(b"%PDF-1.4 test").hexdigest(),)
    assert f.text_fingerprint and f.text_fingerprint.startswith("T1")
    assert f.html_skeleton_fingerprint and f.html_skeleton_fingerprint.startswith("T1")


def test_features_in_the_json_report(verdict):
    d = verdict.to_dict()["features"]
    assert d["origin_ip"] == "203.0.113.9" and d["beacon_hosts"] == ["beacon.example.net"]
    assert ClusterFeatures.from_dict(d) == verdict.message.features


def test_features_pickle(verdict):
    assert pickle.loads(pickle.dumps(verdict.message.features)) == verdict.message.features


def test_short_texts_have_no_fingerprint(scanner):
    f = scanner.scan(MessageBuilder().text("hi").build()).message.features
    assert f.text_fingerprint is None and f.html_skeleton_fingerprint is None
    assert f.beacon_hosts == () and f.origin_ip is None


def test_fingerprints_are_near_for_near_texts_and_far_otherwise():
    import tlsh

    base = ("Dear colleague, please find attached the agenda for the committee meeting on "
            "Thursday, with the minutes of the last session and the draft resolution. ") * 3
    near = base.replace("Thursday", "Friday")
    other = ("Your parcel could not be delivered because the address was incomplete. Confirm "
             "your details and pay the customs fee within 24 hours or it is returned. ") * 3
    a, b, c = (fuzzy_hash(t.lower().encode()) for t in (base, near, other))
    assert tlsh.diff(a, b) < 100 < tlsh.diff(a, c)


def test_html_skeleton_ignores_text_and_attributes():
    one = '<table class="a"><tr><td>Hello <b>Bob</b></td></tr></table>'
    two = '<TABLE style="x"><tr><td>Goodbye <b>Alice</b></td></tr></table>'
    assert html_skeleton(one) == html_skeleton(two) == "table tr td b"


def test_nested_messages_get_their_own_features(scanner):
    inner = _msg().build()
    outer = (b'From: a@example.com\r\nTo: b@example.org\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n'
             b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n'
             b'forwarded\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n' + inner + b'\r\n--b1--\r\n')
    v = scanner.scan(outer)
    assert v.message.nested and v.message.nested[0].features.reply_to_domains == ("replies.example.org",)
    assert v.message.features.reply_to_domains == ()
