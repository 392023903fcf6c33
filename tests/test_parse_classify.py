"""lurelens.parse.classify: the one URL classifier (tracker vendor, recipient token)."""

from __future__ import annotations

from lurelens.parse.classify import UrlClassifier
from lurelens.registry.data import DataRegistry


def test_recipient_token_plain_and_absent():
    c = UrlClassifier(["bob@example.org"])
    how, _evidence = c.recipient_token("https://t.example.net/o.gif?u=bob%40example.org")
    assert how.startswith("email")
    assert c.recipient_token("https://t.example.net/o.gif?u=alice%40example.org") is None


def test_no_tracker_list_means_no_vendor():
    assert UrlClassifier([]).tracker("https://list-manage.com/track/open.php?u=1") is None


def test_tracker_vendor_from_the_shipped_list():
    c = UrlClassifier([], DataRegistry().trackers)
    assert c.tracker("https://example.us1.list-manage.com/track/open.php?u=abc&id=def&e=123") == "Mailchimp"
    assert c.tracker("https://www.example.org/about") is None


def test_opaque_id_when_no_recipient_address():
    c = UrlClassifier(["bob@example.org"])
    assert c.token("https://t.example.net/o/Zk3q9XpLm2RtV7yB.gif", "image") is not None
    assert c.token("https://fonts.example.net/", "preconnect") is None
