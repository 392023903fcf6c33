"""Every espoofer case and every Mailsploit payload, as delivered mail spoofing a news outlet
(tests/attacks/cases.py): `suspicious` or worse with a finding that names the ambiguity or the
failed check; each near miss (the plain message the attack derives from) has none of those
findings and stays below `suspicious`."""

from __future__ import annotations

import pytest
from attacks.cases import (
    AMBIGUITY_SYMBOLS,
    ATTACKS,
    NEAR_MISSES,
    OUTLET,
    PLAIN_TWO_AUTHORS,
)

BAD = ("suspicious", "phishing", "recon")


def test_the_set_covers_every_public_case():
    ids = {a.id for a in ATTACKS}
    assert {f"espoofer:server_a{i}" for i in range(1, 20)} <= ids
    assert {f"espoofer:client_a{i}" for i in range(1, 4)} <= ids
    assert len([i for i in ids if i.startswith("mailsploit:")]) == 14


def test_the_outlet_is_one_the_registries_know(scanner):
    assert scanner.data.entities.entity_for_domain(OUTLET) is not None


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_attack_is_caught(attack, scanner):
    v = scanner.scan(attack.raw)
    fired = {f.symbol for f in v.findings}
    assert v.label in BAD, (v.label, v.score, sorted(fired))
    assert fired & set(attack.expect), f"none of {attack.expect} fired; fired: {sorted(fired)}"


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_near_miss_stays_quiet(attack, scanner):
    v = scanner.scan(attack.near_miss)
    fired = {f.symbol for f in v.findings}
    assert not fired & AMBIGUITY_SYMBOLS, sorted(fired & AMBIGUITY_SYMBOLS)
    assert v.label not in BAD


@pytest.mark.parametrize("name", sorted(NEAR_MISSES))
def test_every_plain_variant_is_clean(name, scanner):
    assert scanner.scan(NEAR_MISSES[name]).label == "clean"


def test_two_authors_of_the_outlet_are_flagged_but_not_suspicious(scanner):
    # RFC 5322 allows several authors with a Sender; both of the authenticated domain is no spoof.
    v = scanner.scan(PLAIN_TWO_AUTHORS)
    assert "FROM_MULTIPLE_ADDRESSES" in {f.symbol for f in v.findings}
    assert "FROM_READINGS_DISAGREE" not in {f.symbol for f in v.findings}
    assert v.label not in BAD
