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
    "AUTH_RESULT_INJECTION": (
        ar("spf=pass smtp.mailfrom=any@example.com(a.attacker.example.net; dmarc=pass header.from=example.com"),
        ar("spf=pass (sender SPF authorized) smtp.mailfrom=bounce@example.com; dmarc=pass (p=NONE) header.from=example.com"),
    ),
    "AUTH_DKIM_TAG_INJECTION": (
        MessageBuilder().header("DKIM-Signature", "v=1; a=rsa-sha256; d=example.com; s=sel._domainkey.attacker.example.net.\x00.any; b=x")
        .auth(GOOD).build(),
        MessageBuilder().header("DKIM-Signature", "v=1; a=rsa-sha256; d=example.com; s=k1.mail; b=x").auth(GOOD).build(),
    ),
    "AUTH_DMARC_UNSUPPORTED": (
        ar("spf=none smtp.mailfrom=any@sub.example.net; dkim=pass header.d=attacker.example.org; dmarc=pass header.from=example.com"),
        ar("spf=pass smtp.mailfrom=bounce@mail.example.com; dkim=pass header.d=esp.example.org; dmarc=pass header.from=example.com"),
    ),
    "AUTH_KNOWN_DOMAIN_UNAUTHENTICATED": (
        MessageBuilder().sender("News <news@nytimes.com>").auth("spf=softfail smtp.mailfrom=x@nytimes.com; dkim=none").build(),
        MessageBuilder().sender("News <news@nytimes.com>")
        .auth("spf=softfail smtp.mailfrom=x@nytimes.com; dkim=pass header.d=nytimes.com; dmarc=pass header.from=nytimes.com").build(),
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
    # The From matches the authenticated domain: a header.from the reader is not shown earns nothing.
    v = scanner.scan(MessageBuilder().sender(f"News <news@{domain}>").auth(f"dmarc=pass header.from={domain}").build())
    return next(f.score for f in v.findings if f.symbol == "AUTH_DMARC_PASS")


def test_dmarc_pass_earns_credit_only_for_a_known_domain(scanner, list_scanner):
    from conftest import LIST_HOSTS

    # Any domain its owner controls passes DMARC; only domains the registries know earn credit.
    assert _dmarc_pass_score(scanner, "example.com") == 0
    known = next(iter(sorted(scanner.data.entities.by_domain)))
    assert _dmarc_pass_score(scanner, known) < 0
    assert _dmarc_pass_score(list_scanner, LIST_HOSTS["freemail"]) < 0


@pytest.mark.parametrize("props", [
    "smtp.mailfrom=any@example.com'@any.attacker.example.net",  # quote and a second @
    "smtp.mailfrom=@example.com,@any.example.org:'any@attacker.example.net",  # routing address
    'smtp.mailfrom="" smtp.helo=mail.attacker.example.net',  # empty MAIL FROM passed on HELO
    "smtp.mailfrom=(any@example.com smtp.helo=mail.attacker.example.net",
])
def test_mail_from_injections(props, scanner):
    v = assert_fires(ar(f"spf=pass {props}; dkim=none; dmarc=pass header.from=example.com"), "AUTH_RESULT_INJECTION", scanner)
    assert v.label != "clean"  # the floor: an injected result makes the message suspicious at least


def test_injected_pass_earns_no_credit(scanner):
    known = "nytimes.com"

    def msg(value: str) -> bytes:
        return MessageBuilder().sender(f"News <news@{known}>").auth(value).build()

    clean = scanner.scan(msg(f"spf=pass smtp.mailfrom=b@{known}; dkim=pass header.d={known}; dmarc=pass header.from={known}"))
    assert next(f.score for f in clean.findings if f.symbol == "AUTH_DMARC_PASS") < 0
    bad = scanner.scan(msg(f"spf=pass smtp.mailfrom=b@{known}; dkim=pass header.d={known}'a.attacker.example.net; dmarc=pass header.from={known}"))
    assert next(f.score for f in bad.findings if f.symbol == "AUTH_DMARC_PASS") == 0
    shown_elsewhere = scanner.scan(MessageBuilder().auth(f"dmarc=pass header.from={known}").build())  # From: example.com
    assert next(f.score for f in shown_elsewhere.findings if f.symbol == "AUTH_DMARC_PASS") == 0


def test_bounce_passed_on_helo_is_no_injection(scanner):
    # A bounce has an empty MAIL FROM; SPF on the HELO of the From domain's own host is normal.
    raw = ar("spf=pass smtp.mailfrom=\"\" smtp.helo=mail.example.com; dmarc=pass header.from=example.com")
    assert_quiet(raw, "AUTH_RESULT_INJECTION", scanner)
