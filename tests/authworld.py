"""The test DNS world of the authentication tests: zones, keys and messages published on the real
Knot server (``knot_dns``). Shared by test_auth_verify.py and test_auth_crosscheck.py."""

from __future__ import annotations

import pytest
from dnsserver import DkimKey, txt

IP_OK = "192.0.2.10"
IP_BAD = "198.51.100.66"


class World:
    """The zones every test here uses, and the keys that sign for them."""

    def __init__(self, srv):
        self.srv = srv
        self.rsa = DkimKey("rsa")
        self.ed = DkimKey("ed25519")
        self.other_key = DkimKey("rsa")
        self.arc_key = DkimKey("rsa")
        loop = [f"a{i} A 192.0.2.{100 + i}" for i in range(12)]
        srv.add_zone("news.test", [
            f'@ TXT "v=spf1 ip4:{IP_OK} -all"',
            '@ MX 10 mx.news.test.',
            'mx A 192.0.2.20',
            f'mail TXT "v=spf1 ip4:{IP_OK} -all"',
            'mail A 192.0.2.21',
            f'rsa._domainkey TXT {txt(self.rsa.record())}',
            f'ed._domainkey TXT {txt(self.ed.record())}',
            'revoked._domainkey TXT "v=DKIM1; k=rsa; p="',
            '_dmarc TXT "v=DMARC1; p=reject; sp=quarantine; pct=100"',
            'sub A 192.0.2.30',
            f'sub TXT "v=spf1 ip4:{IP_OK} -all"',
            'slow NS ns.dead.invalid.',
            'soft TXT "v=spf1 ~all"',
            'neutral TXT "v=spf1 ?all"',
            'nospf A 192.0.2.31',
            'macro TXT "v=spf1 exists:%{i}.%{l}.allow.news.test -all"',
            f'{IP_OK}.alice.allow A 127.0.0.2',
            'mxonly TXT "v=spf1 mx:news.test -all"',
            'toomany TXT "v=spf1 ' + " ".join(f"a:a{i}.news.test" for i in range(11)) + ' -all"',
            'badrec TXT "v=spf1 ip4:999.1.2.3 -all"',
            'tworec TXT "v=spf1 -all"',
            'tworec TXT "v=spf1 +all"',
            'inc TXT "v=spf1 include:mail.news.test -all"',
            'redir TXT "v=spf1 redirect=mail.news.test"',
            *loop,
        ])
        srv.add_zone("other.test", [
            f'@ TXT "v=spf1 ip4:{IP_BAD} -all"',
            f'k1._domainkey TXT {txt(self.other_key.record())}',
            '_dmarc TXT "v=DMARC1; p=none"',
        ])
        srv.add_zone("strict.test", [
            f'@ TXT "v=spf1 ip4:{IP_OK} -all"',
            f'mail TXT "v=spf1 ip4:{IP_OK} -all"',
            '_dmarc TXT "v=DMARC1; p=reject; aspf=s; adkim=s"',
            f'rsa._domainkey TXT {txt(self.rsa.record())}',
        ])
        srv.add_zone("forwarder.test", [f'arc._domainkey TXT {txt(self.arc_key.record())}'])


@pytest.fixture(scope="module", name="world")
def world_fixture(knot_dns):
    """The zones, published for one test module (keys are made anew)."""
    return World(knot_dns)


def message(frm: str = "Editor <editor@news.test>", body: str = "Hello reader,\r\n\r\nToday's news.\r\n",
            extra: str = "") -> bytes:
    return (f"From: {frm}\r\nTo: reader@example.org\r\nSubject: Morning briefing\r\n"
            "Date: Fri, 04 Dec 2026 08:00:00 +0000\r\nMessage-ID: <m1@news.test>\r\n" + extra +
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


