"""The attack set with signatures and published records: the outlet and the attacker publish SPF,
DKIM keys and DMARC on the real Knot server (``knot_dns``), every attack is DKIM-signed by the
attacker's own domain as the attacker's mail server would, every near miss by the outlet's, and
lurelens verifies them itself (``--verify-auth``). The verdicts must hold with verification on:
a valid signature of the attacker's own domain buys the attack nothing, and the outlet's genuine
mail earns its DMARC pass and stays clean."""

from __future__ import annotations

import pytest
from attacks.cases import (
    AMBIGUITY_SYMBOLS,
    ATTACKER,
    ATTACKS,
    OUTLET,
    OUTLET_ENVELOPE,
    PROVIDER,
)
from dnsserver import DkimKey, sign, txt

pytestmark = pytest.mark.services

BAD = ("suspicious", "phishing", "recon")


@pytest.fixture(scope="module")
def zones(knot_dns):
    keys = {OUTLET: DkimKey("rsa"), ATTACKER: DkimKey("rsa"), PROVIDER: DkimKey("rsa")}
    knot_dns.add_zone(OUTLET, [
        '@ TXT "v=spf1 ip4:198.51.100.7 -all"', 'mail TXT "v=spf1 ip4:198.51.100.7 -all"',
        f"nyt2026._domainkey TXT {txt(keys[OUTLET].record())}", '_dmarc TXT "v=DMARC1; p=reject"',
    ])
    knot_dns.add_zone(ATTACKER, [
        '@ TXT "v=spf1 ip4:203.0.113.45 -all"', 'mail TXT "v=spf1 ip4:203.0.113.45 -all"',
        'helo TXT "v=spf1 ip4:203.0.113.45 -all"', '33 TXT "v=spf1 ip4:203.0.113.45 -all"',
        f"s1._domainkey TXT {txt(keys[ATTACKER].record())}", '_dmarc TXT "v=DMARC1; p=none"',
    ])
    knot_dns.add_zone(PROVIDER, [
        '@ TXT "v=spf1 ip4:192.0.2.25 -all"', 'out TXT "v=spf1 ip4:192.0.2.25 -all"',
        f"p1._domainkey TXT {txt(keys[PROVIDER].record())}", '_dmarc TXT "v=DMARC1; p=none"',
    ])
    return keys


@pytest.fixture(scope="module")
def verifying(make_scanner, knot_dns, zones):
    from lurelens.auth import DnsPythonResolver

    return make_scanner(verify_auth=True, resolver=DnsPythonResolver(knot_dns.server, timeout=1.0))


def _signed(raw: bytes, key: DkimKey, domain: str, selector: str) -> bytes:
    """Signed by the sending side: the signature sits below the receiver's Received and
    Authentication-Results lines, as in delivered mail."""
    lines = raw.split(b"\r\n")
    receiver, rest = b"\r\n".join(lines[:2]) + b"\r\n", b"\r\n".join(lines[2:])
    if b"\nDKIM-Signature:" in b"\n" + rest:
        return raw  # A3/A4 carry their own crafted signature header
    try:
        return receiver + sign(rest, key, domain, selector)
    except Exception:  # noqa: BLE001 - dkimpy refuses some of the malformed From headers
        return raw


def _scan(scanner, raw: bytes, envelope: tuple[str, str, str]):
    from lurelens.auth import AuthInputs

    ip, helo, mail_from = envelope
    return scanner.scan(raw, auth_inputs=AuthInputs(ip, helo, mail_from, "smtp"))


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_signed_attack_is_caught_with_verification(attack, verifying, zones):
    domain, selector = (PROVIDER, "p1") if PROVIDER in attack.envelope[2] else (ATTACKER, "s1")
    v = _scan(verifying, _signed(attack.raw, zones[domain], domain, selector), attack.envelope)
    fired = {f.symbol for f in v.findings}
    assert v.message.verification is not None
    assert v.label in BAD, (v.label, v.score, sorted(fired))
    assert fired & (set(attack.expect) | {s for s in fired if s.startswith("VERIFY_DMARC_FAIL")}), sorted(fired)
    assert "VERIFY_DMARC_PASS" not in {f.symbol for f in v.findings if f.score < 0}


@pytest.mark.parametrize("attack", ATTACKS[:1], ids=lambda a: a.id)
def test_nonexistent_mail_from_subdomain_is_found_in_dns(attack, verifying):
    v = _scan(verifying, attack.raw, attack.envelope)
    assert "VERIFY_MAILFROM_NXDOMAIN" in {f.symbol for f in v.findings}


def test_signed_near_miss_passes_and_stays_clean(verifying, zones):
    for near in {a.near_miss for a in ATTACKS}:
        v = _scan(verifying, _signed(near, zones[OUTLET], OUTLET, "nyt2026"), OUTLET_ENVELOPE)
        fired = {f.symbol for f in v.findings}
        ver = v.message.verification
        assert ver.dmarc.result == "pass", ver.dmarc
        assert not fired & AMBIGUITY_SYMBOLS, sorted(fired & AMBIGUITY_SYMBOLS)
        assert v.label == "clean", (v.label, sorted(fired))
