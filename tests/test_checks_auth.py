"""lurelens.checks.auth: one firing message and one near miss per symbol."""

from __future__ import annotations

import pytest

from lurelens.checks import auth
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

GOOD = "spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"


def ar(value: str) -> bytes:
    return MessageBuilder().auth(value).build()


def _case(method: str, bad: str, good: str = "pass", extra: str = "") -> tuple[bytes, bytes]:
    return ar(f"{method}={bad}{extra}"), ar(f"{method}={good}{extra}")


CASES = {
    "AUTH_NOT_CHECKED": (MessageBuilder().build(), ar(GOOD)),
    "AUTH_SPF_FAIL": _case("spf", "fail", extra=" smtp.mailfrom=example.com"),
    "AUTH_SPF_SOFTFAIL": _case("spf", "softfail", extra=" smtp.mailfrom=example.com"),
    "AUTH_SPF_NONE": _case("spf", "none", extra=" smtp.mailfrom=example.com"),
    "AUTH_SPF_ERROR": _case("spf", "temperror", good="neutral", extra=" smtp.mailfrom=example.com"),
    "AUTH_DKIM_FAIL": _case("dkim", "fail", extra=" header.d=example.com"),
    "AUTH_DKIM_NONE": _case("dkim", "none"),
    "AUTH_DKIM_ERROR": _case("dkim", "permerror", extra=" header.d=example.com"),
    "AUTH_DMARC_FAIL": _case("dmarc", "fail", extra=" header.from=example.com"),
    "AUTH_DMARC_NONE": _case("dmarc", "none", extra=" header.from=example.com"),
    "AUTH_DMARC_ERROR": _case("dmarc", "temperror", extra=" header.from=example.com"),
    "AUTH_DMARC_PASS": _case("dmarc", "pass", good="fail", extra=" header.from=example.com"),
    "AUTH_ARC_FAIL": _case("arc", "fail"),
    "AUTH_ARC_PASS": _case("arc", "pass", good="none"),
    "AUTH_COMPAUTH_FAIL": _case("compauth", "fail", extra=" reason=000"),
    "AUTH_RESULTS_FORGED": (
        MessageBuilder()
        .header("Authentication-Results", "mx.example.org; dmarc=pass header.from=example.com")
        .header("Received", "from relay.example.net by mx2.example.net; Tue, 10 Nov 2026 08:00:00 +0000", replace=False)
        .prepend_header("Received", "from relay2.example.net by mx.example.org; Tue, 10 Nov 2026 08:00:01 +0000")
        .prepend_header("Received", "from mx.example.org by store.example.org; Tue, 10 Nov 2026 08:00:02 +0000")
        .auth("spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com")
        .build(),
        MessageBuilder()
        .header("Authentication-Results", "relay.example.net; dmarc=pass header.from=example.com")
        .prepend_header("Received", "from relay.example.net by mx.example.org; Tue, 10 Nov 2026 08:00:01 +0000")
        .prepend_header("Received", "from mx.example.org by store.example.org; Tue, 10 Nov 2026 08:00:02 +0000")
        .auth(GOOD)
        .build(),
    ),
}


def test_every_symbol_has_a_case():
    assert {s.name for s in auth.SYMBOLS} == set(CASES)


@pytest.mark.parametrize("symbol", sorted(CASES))
def test_fires(symbol, scanner):
    assert_fires(CASES[symbol][0], symbol, scanner)


@pytest.mark.parametrize("symbol", sorted(CASES))
def test_near_miss_quiet(symbol, scanner):
    assert_quiet(CASES[symbol][1], symbol, scanner)


def test_all_pass_gives_only_dmarc_pass(scanner):
    v = scanner.scan(ar(GOOD))
    assert {f.symbol for f in v.findings if f.group == "auth"} == {"AUTH_DMARC_PASS"}
    assert v.label == "clean"


def test_spf_permerror_is_an_error_not_a_pass(scanner):
    assert_fires(ar("spf=permerror smtp.mailfrom=example.com"), "AUTH_SPF_ERROR", scanner)


def _dmarc_pass_score(scanner, domain: str) -> float:
    v = scanner.scan(ar(f"dmarc=pass header.from={domain}"))
    return next(f.score for f in v.findings if f.symbol == "AUTH_DMARC_PASS")


def test_dmarc_pass_earns_credit_only_for_a_known_domain(scanner, list_scanner):
    from conftest import LIST_HOSTS

    # Any domain its owner controls passes DMARC; only domains the registries know earn credit.
    assert _dmarc_pass_score(scanner, "example.com") == 0
    known = next(iter(sorted(scanner.data.entities.by_domain)))
    assert _dmarc_pass_score(scanner, known) < 0
    assert _dmarc_pass_score(list_scanner, LIST_HOSTS["freemail"]) < 0
