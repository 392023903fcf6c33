"""lurelens.parse.identity: who the sender is, and which fetches are open beacons."""

from __future__ import annotations

from lurelens.parse.identity import beacon_hosts, is_beacon, is_open_beacon, sender_domains, sender_identity
from lurelens.testing import MessageBuilder

AR = "mx.example.org; spf=pass smtp.mailfrom=mail.shop.example; dkim=pass header.d=esp.example; dmarc=fail header.from=shop.example"


def _msg(scanner, *headers: tuple[str, str], html: str = "<p>hi</p>"):
    b = MessageBuilder().sender("News <news@mail.shop.example>").html(html)
    for k, v in headers:
        b.header(k, v)
    return scanner.scan(b.build()).message


def test_sender_domains_are_registrable_from_return_path_and_passing_dkim(make_scanner):
    scanner = make_scanner(trusted_authserv_ids=("mx.example.org",))
    msg = _msg(scanner, ("Return-Path", "<bounce@bounces.mailer.example>"), ("Authentication-Results", AR))
    assert sender_domains(msg) == {"shop.example", "mailer.example", "esp.example"}


def test_sender_identity_says_how_it_was_established(make_scanner, scanner):
    trusted = make_scanner(trusted_authserv_ids=("mx.example.org",))
    doms, how, weight = sender_identity(_msg(trusted, ("Authentication-Results", AR)))
    assert (how, weight) == ("DKIM signing domain", 1.0) and doms == {"esp.example", "shop.example"}
    doms, how, weight = sender_identity(_msg(scanner))
    assert (how, weight) == ("unauthenticated From domain", 0.6) and doms == {"shop.example"}


def test_hidden_image_is_an_open_beacon_and_a_visible_one_is_not(scanner):
    msg = _msg(scanner, html='<img src="https://t.track.example/o.gif" width="1" height="1">'
                             '<img src="https://cdn.shop.example/logo.png" width="200" height="80">')
    by_host = {r.host: r for r in msg.resources}
    assert is_open_beacon(by_host["t.track.example"]) and is_beacon(by_host["t.track.example"])
    assert not is_beacon(by_host["cdn.shop.example"])
    assert beacon_hosts(msg) == {"t.track.example"}
