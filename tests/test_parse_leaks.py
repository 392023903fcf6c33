"""lurelens.parse.leaks: the per-host account of what opening the message tells each host."""

from __future__ import annotations

from lurelens.model.leaks import HostLeak
from lurelens.parse.leaks import open_leaks, read_receipt_requests
from lurelens.testing import MessageBuilder


def test_each_remote_host_is_accounted_for_once(scanner):
    raw = (MessageBuilder().header("To", "bob@example.org")
           .html('<img src="https://t.track.example/o.gif?u=bob%40example.org" width="1" height="1">'
                 '<img src="https://t.track.example/b.gif" width="1" height="1">'
                 '<img src="https://cdn.shop.example/logo.png" width="200" height="80">').build())
    msg = scanner.scan(raw).message
    leaks = {leak.host: leak for leak in open_leaks(msg)}
    assert all(isinstance(leak, HostLeak) for leak in leaks.values())
    assert set(leaks) == {"t.track.example", "cdn.shop.example"}
    assert leaks["t.track.example"].to_dict() != leaks["cdn.shop.example"].to_dict()
    assert open_leaks(None) == []


def test_read_receipt_headers_are_listed(scanner):
    raw = MessageBuilder().header("Disposition-Notification-To", "alice@example.com").text("hi").build()
    assert read_receipt_requests(scanner.scan(raw).message) == [("Disposition-Notification-To", "alice@example.com")]
    assert read_receipt_requests(scanner.scan(MessageBuilder().text("hi").build()).message) == []
