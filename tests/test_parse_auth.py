"""lurelens.parse.auth: which Authentication-Results header is trusted, and how "not checked"
is reported (never as a pass)."""

from __future__ import annotations

import pytest

from lurelens.parse.auth import parse_auth_results, select_trusted
from lurelens.report.jsonout import verdict_to_dict
from lurelens.testing import MessageBuilder

AR = "Authentication-Results"
RCV = "Received"


def results(sel) -> dict[str, str]:
    return {k: v.result for k, v in sel["results"].items()}


def test_parse_one_header():
    p = parse_auth_results(
        "mx.example.org 1; spf=pass (sender SPF authorized) smtp.mailfrom=alice@example.com;\r\n"
        " dkim=pass (2048-bit key) header.d=example.com header.s=sel1 header.b=\"AbC\"; dmarc=fail (p=reject) header.from=example.com"
    )
    assert p["authserv_id"] == "mx.example.org"
    got = {r.method: (r.result, r.props) for r in p["results"]}
    assert got["spf"] == ("pass", {"smtp.mailfrom": "alice@example.com"})
    assert got["dkim"][0] == "pass" and got["dkim"][1]["header.d"] == "example.com" and got["dkim"][1]["header.b"] == "AbC"
    assert got["dmarc"] == ("fail", {"header.from": "example.com"})


def test_method_version_and_case():
    p = parse_auth_results("MX.Example.ORG; DKIM/1=Pass header.d=example.com")
    assert p["authserv_id"] == "mx.example.org"
    assert [(r.method, r.result) for r in p["results"]] == [("dkim", "pass")]


def test_topmost_is_trusted_by_default():
    sel = select_trusted([
        (AR, "mx.example.org; spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com"),
        (RCV, "from relay.example.net by mx.example.org"),
        (RCV, "from sender.example.net by relay.example.net"),
        (AR, "relay.example.net; spf=pass; dmarc=pass"),
    ])
    assert sel["present"] and sel["authserv_id"] == "mx.example.org"
    assert results(sel) == {"spf": "fail", "dmarc": "fail"}
    assert [i["authserv_id"] for i in sel["ignored"]] == ["relay.example.net"]
    assert sel["forged"] == []


def test_microsoft_header_without_authserv_id():
    sel = select_trusted([
        (AR, "spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=example.com; dkim=none (message not signed) "
             "header.d=none;dmarc=fail action=none header.from=example.com;compauth=fail reason=001"),
        (RCV, "from x.example.net by y.outlook.example.com"),
    ])
    assert sel["present"] and sel["authserv_id"] is None
    assert results(sel) == {"spf": "fail", "dkim": "none", "dmarc": "fail", "compauth": "fail"}
    assert sel["results"]["dmarc"].props["action"] == "none"
    assert sel["results"]["compauth"].props["reason"] == "001"


def test_second_microsoft_style_header_is_not_merged():
    sel = select_trusted([(AR, "spf=fail smtp.mailfrom=example.com"), (AR, "dmarc=pass header.from=example.com")])
    assert results(sel) == {"spf": "fail"}
    assert len(sel["ignored"]) == 1


def test_proton_style_split_headers_in_the_same_hop_are_merged():
    sel = select_trusted([
        (AR, "mail.example.org; dkim=pass (Good 2048 bit rsa-sha256 signature) header.d=example.com"),
        (AR, "mail.example.org; spf=pass smtp.mailfrom=example.com"),
        (AR, "mail.example.org; arc=none smtp.remote-ip=192.0.2.1"),
        (AR, "mail.example.org; dmarc=pass (p=quarantine dis=none) header.from=example.com"),
        (RCV, "from mail.example.com by mail.example.org"),
    ])
    assert sel["authserv_id"] == "mail.example.org"
    assert results(sel) == {"dkim": "pass", "spf": "pass", "arc": "none", "dmarc": "pass"}
    assert sel["ignored"] == [] and sel["forged"] == []


def test_trusted_id_below_further_received_hops_is_forged():
    sel = select_trusted([
        (AR, "mx.example.org; dkim=none; dmarc=fail header.from=example.com"),
        (RCV, "from relay.example.net by mx.example.org"),
        (RCV, "from localhost by relay.example.net"),
        (AR, "mx.example.org; dkim=pass header.d=example.com; dmarc=pass"),
    ])
    assert results(sel) == {"dkim": "none", "dmarc": "fail"}
    assert len(sel["forged"]) == 1 and "dmarc=pass" in sel["forged"][0]["raw"]


def test_forged_header_in_a_scan(scanner):
    raw = (
        MessageBuilder()
        .header(AR, "mx.example.org; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")
        .prepend_header(RCV, "from localhost by relay.example.net; Tue, 10 Nov 2026 08:00:00 +0000")
        .prepend_header(RCV, "from relay.example.net by mx.example.org; Tue, 10 Nov 2026 08:00:01 +0000")
        .auth("spf=softfail smtp.mailfrom=example.net; dmarc=fail header.from=example.com", authserv="mx.example.org")
        .build()
    )
    v = scanner.scan(raw)
    syms = {f.symbol for f in v.findings}
    assert {"AUTH_RESULTS_FORGED", "AUTH_DMARC_FAIL"} <= syms
    assert "AUTH_DMARC_PASS" not in syms
    d = verdict_to_dict(v)
    assert d["auth"]["methods"]["dmarc"]["result"] == "fail"
    assert any("dmarc=pass" in h for h in d["auth"]["ignored_headers"])


def test_lower_same_id_header_cannot_override_dkim_fail():
    sel = select_trusted([
        (AR, "mx.example.org; spf=fail smtp.mailfrom=example.com; dkim=fail header.d=example.com; dmarc=fail"),
        (RCV, "from attacker.example.net by mx.example.org"),
        (AR, "mx.example.org; dkim=pass header.d=example.com"),
    ])
    assert results(sel)["dkim"] == "fail"


def test_configured_trusted_authserv_ids():
    headers = [
        (AR, "edge.example.net; dmarc=pass header.from=example.com"),
        (RCV, "from mx.example.org by edge.example.net"),
        (AR, "mx.example.org; spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com"),
        (RCV, "from sender.example.com by mx.example.org"),
    ]
    sel = select_trusted(headers, ["MX.example.org"])
    assert sel["authserv_id"] == "mx.example.org"
    assert results(sel) == {"spf": "fail", "dmarc": "fail"}
    assert [i["authserv_id"] for i in sel["ignored"]] == ["edge.example.net"]
    # without configuration the topmost one wins
    assert results(select_trusted(headers)) == {"dmarc": "pass"}


def test_configured_id_absent_means_not_checked():
    sel = select_trusted([(AR, "mx.example.org; dmarc=pass")], ["other.example.org"])
    assert sel["present"] is False and sel["results"] == {}


def test_configured_ids_through_scanner(scanner, make_scanner):
    raw = (MessageBuilder().auth("dmarc=fail header.from=example.com", authserv="mx.example.org")
           .auth("dmarc=pass header.from=example.com", authserv="edge.example.net").build())
    default = {f.symbol for f in scanner.scan(raw).findings}
    configured = {f.symbol for f in make_scanner(trusted_authserv_ids=["mx.example.org"]).scan(raw).findings}
    assert "AUTH_DMARC_PASS" in default and "AUTH_DMARC_FAIL" not in default
    assert "AUTH_DMARC_FAIL" in configured and "AUTH_DMARC_PASS" not in configured


def test_no_header_is_not_checked_never_pass(scanner):
    v = scanner.scan(MessageBuilder().build())
    assert "AUTH_NOT_CHECKED" in {f.symbol for f in v.findings}
    assert not any(f.symbol.startswith("AUTH_") and f.symbol.endswith("_PASS") for f in v.findings)
    a = verdict_to_dict(v)["auth"]
    assert a["checked"] is False and a["authserv_id"] is None
    assert {m: r["result"] for m, r in a["methods"].items()} == {
        "spf": "not_checked", "dkim": "not_checked", "dmarc": "not_checked", "arc": "not_checked"}


def test_methods_missing_from_trusted_header_are_not_checked(scanner):
    v = scanner.scan(MessageBuilder().auth("spf=pass smtp.mailfrom=example.com").build())
    a = verdict_to_dict(v)["auth"]
    assert a["checked"] is True
    assert a["methods"]["spf"]["result"] == "pass"
    assert a["methods"]["dkim"]["result"] == "not_checked"
    assert a["methods"]["dmarc"]["result"] == "not_checked"


def test_arc_authentication_results_are_not_trusted(scanner):
    raw = MessageBuilder().prepend_header("ARC-Authentication-Results", "i=1; mx.example.org; dmarc=pass").build()
    v = scanner.scan(raw)
    assert "AUTH_NOT_CHECKED" in {f.symbol for f in v.findings}
    assert v.message.auth["arc"] == ["i=1; mx.example.org; dmarc=pass"]


@pytest.mark.parametrize("value", ["", ";;;", "mx.example.org;", "(only a comment)", "=" * 9000, "a; b=; =c; (((("])
def test_garbage_header_values_do_not_raise(value):
    sel = select_trusted([(AR, value)])
    assert isinstance(sel["results"], dict)
