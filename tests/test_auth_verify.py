"""lurelens's own SPF/DKIM/ARC/DMARC verification against a real authoritative DNS server (Knot,
started by the ``knot_dns`` fixture on a loopback port) serving zones and keys made here."""

from __future__ import annotations

import json
import re

import pytest
from authworld import IP_BAD, IP_OK, message, world_fixture  # noqa: F401 - the `world` fixture
from dnsserver import DkimKey, arc_sign, free_port, sign, txt

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def verify(world, knot_dns):
    """verify(raw, ip, mail_from, helo) -> AuthVerification, through a real DNS round trip."""
    from lurelens import Scanner
    from lurelens.auth import AuthInputs, DnsPythonResolver, verify_message

    resolver = DnsPythonResolver(knot_dns.server, timeout=1.0)
    parser = Scanner()

    def run(raw: bytes, ip: str | None = IP_OK, mail_from: str | None = "bounce@news.test", helo: str = "mx.news.test",
            resolver_=None):
        msg = parser.parse(raw)
        return verify_message(raw, msg, resolver_ or resolver, AuthInputs(ip, helo, mail_from, "test"))

    return run


# -- SPF ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mail_from,ip,expected", [
    ("bounce@news.test", IP_OK, "pass"),
    ("bounce@news.test", IP_BAD, "fail"),
    ("x@soft.news.test", IP_BAD, "softfail"),
    ("x@neutral.news.test", IP_BAD, "neutral"),
    ("x@nospf.news.test", IP_BAD, "none"),
    ("x@slow.news.test", IP_OK, "temperror"),  # delegated to a server that does not exist
    ("x@toomany.news.test", IP_BAD, "permerror"),  # 11 DNS mechanisms (RFC 7208 4.6.4)
    ("x@badrec.news.test", IP_OK, "permerror"),
    ("x@tworec.news.test", IP_OK, "permerror"),
    ("x@inc.news.test", IP_OK, "pass"),
    ("x@redir.news.test", IP_BAD, "fail"),
    ("alice@macro.news.test", IP_OK, "pass"),  # exists:%{i}.%{l}...
    ("bob@macro.news.test", IP_OK, "fail"),
])
def test_spf_results(verify, mail_from, ip, expected):
    v = verify(message(), ip=ip, mail_from=mail_from)
    assert v.spf.result == expected, v.spf
    assert v.spf.domain == mail_from.split("@")[1]


def test_spf_null_sender_uses_helo(verify):
    v = verify(message(), ip=IP_OK, mail_from="", helo="mail.news.test")
    assert (v.spf.scope, v.spf.domain, v.spf.result) == ("helo", "mail.news.test", "pass")


def test_server_stopped_is_temperror_never_pass(world, verify):
    from lurelens.auth import DnsPythonResolver

    dead = DnsPythonResolver(f"127.0.0.1:{free_port()}", timeout=0.3)
    raw = sign(message(), world.rsa, "news.test", "rsa")
    v = verify(raw, resolver_=dead)
    assert v.spf.result == "temperror"
    assert [s.result for s in v.dkim] == ["temperror"]
    assert v.dmarc.result == "temperror"


# -- DKIM ---------------------------------------------------------------------------------------

def test_dkim_rsa_and_ed25519_pass(world, verify):
    raw = sign(sign(message(), world.rsa, "news.test", "rsa"), world.ed, "news.test", "ed")
    v = verify(raw)
    assert [(s.s, s.result) for s in v.dkim] == [("ed", "pass"), ("rsa", "pass")]


def test_dkim_body_tampering(world, verify):
    raw = sign(message(), world.rsa, "news.test", "rsa").replace(b"Today's news.", b"Click here now")
    (sig,) = verify(raw).dkim
    assert (sig.result, sig.failure) == ("fail", "body_hash")


def test_dkim_header_tampering(world, verify):
    raw = sign(message(), world.rsa, "news.test", "rsa").replace(b"Subject: Morning briefing", b"Subject: Password reset")
    (sig,) = verify(raw).dkim
    assert (sig.result, sig.failure) == ("fail", "header_signature")


def test_dkim_extra_from_header_breaks_signature(world, verify):
    """A second From added above a signed message (espoofer's multiple-From): dkimpy counts every
    From instance, so the signature no longer verifies."""
    raw = b"From: ceo@news.test\r\n" + sign(message(frm="x@other.test"), world.rsa, "news.test", "rsa")
    (sig,) = verify(raw).dkim
    assert sig.result == "fail"


def test_dkim_l_tag_appended_body(world, verify, make_scanner):
    from lurelens.auth import DnsPythonResolver

    raw = sign(message(), world.rsa, "news.test", "rsa", length=True)
    assert verify(raw).dkim[0].unsigned_body == 0
    tampered = raw + b"\r\nURGENT: verify your account at http://evil.example/login\r\n"
    (sig,) = verify(tampered).dkim
    assert sig.result == "pass" and sig.length is not None and sig.unsigned_body > 40
    sc = make_scanner(verify_auth=True, resolver=DnsPythonResolver(world.srv.server, timeout=1.0))
    v = sc.scan(tampered)
    assert "VERIFY_DKIM_PARTIAL_BODY" in {f.symbol for f in v.findings}


def test_dkim_missing_and_revoked_keys(world, verify):
    v = verify(sign(message(), world.rsa, "news.test", "gone"))
    assert (v.dkim[0].result, v.dkim[0].failure) == ("permerror", "no_key")
    v = verify(sign(message(), world.rsa, "news.test", "revoked"))
    assert (v.dkim[0].result, v.dkim[0].failure) == ("permerror", "key_revoked")


def test_every_signature_is_verified(world, verify):
    """A valid signature of the attacker's domain above a broken one of the outlet's, and the
    reverse: both are reported, in order."""
    good_other = sign(message(), world.other_key, "other.test", "k1")
    broken_news = sign(good_other, world.other_key, "news.test", "rsa")  # wrong key for news.test
    v = verify(broken_news, mail_from="x@other.test", ip=IP_BAD)
    assert [(s.d, s.result) for s in v.dkim] == [("news.test", "fail"), ("other.test", "pass")]
    assert v.dmarc.result == "fail" and not v.dmarc.dkim_aligned  # other.test does not align with news.test


# -- DMARC --------------------------------------------------------------------------------------

def test_dmarc_pass_by_aligned_dkim_only(world, verify):
    raw = sign(message(), world.rsa, "news.test", "rsa")
    v = verify(raw, ip=IP_BAD, mail_from="x@news.test")
    assert v.spf.result == "fail"
    assert (v.dmarc.result, v.dmarc.dkim_aligned, v.dmarc.spf_aligned) == ("pass", True, False)


def test_dmarc_relaxed_spf_alignment(verify):
    v = verify(message(), ip=IP_OK, mail_from="bounce@mail.news.test")
    assert v.spf.result == "pass" and v.dmarc.result == "pass" and v.dmarc.spf_aligned


def test_dmarc_strict_alignment_fails_for_subdomain(world, verify):
    raw = sign(message(frm="desk@strict.test"), world.rsa, "strict.test", "rsa")
    v = verify(raw, ip=IP_OK, mail_from="b@mail.strict.test")
    assert v.spf.result == "pass" and not v.dmarc.spf_aligned  # aspf=s
    assert v.dmarc.result == "pass" and v.dmarc.dkim_aligned  # d=strict.test is exact
    v = verify(message(frm="desk@strict.test"), ip=IP_OK, mail_from="b@mail.strict.test")
    assert (v.dmarc.result, v.dmarc.policy) == ("fail", "reject")


def test_dmarc_reject_without_alignment(make_scanner, world):
    from lurelens.auth import AuthInputs, DnsPythonResolver

    raw = sign(message(), world.other_key, "other.test", "k1")
    sc = make_scanner(verify_auth=True, resolver=DnsPythonResolver(world.srv.server, timeout=1.0))
    v = sc.scan(raw, auth_inputs=AuthInputs(IP_BAD, "mx.other.test", "x@other.test"))
    ver = v.message.verification
    assert ver.spf.result == "pass" and ver.dkim[0].result == "pass"
    assert (ver.dmarc.result, ver.dmarc.policy) == ("fail", "reject")
    syms = {f.symbol for f in v.findings}
    assert "VERIFY_DMARC_FAIL" in syms and "VERIFY_DMARC_PASS" not in syms


def test_dmarc_subdomain_policy(verify):
    v = verify(message(frm="desk@sub.news.test"), ip=IP_BAD, mail_from="x@sub.news.test")
    assert v.dmarc.policy_domain == "news.test" and v.dmarc.policy == "quarantine"  # sp=, not p=
    assert v.dmarc.result == "fail"
    v = verify(message(frm="desk@news.test"), ip=IP_BAD, mail_from="x@news.test")
    assert v.dmarc.policy == "reject"


def test_dmarc_none_and_temperror(verify):
    v = verify(message(frm="a@nospf.news.test"), ip=IP_BAD, mail_from="x@nospf.news.test")
    assert v.dmarc.policy_domain == "news.test"  # falls back to the organisational domain
    v = verify(message(frm="a@slow.news.test"), ip=IP_BAD, mail_from="x@slow.news.test")
    assert v.dmarc.result == "temperror"


def test_two_from_headers_are_permerror(verify):
    raw = b"From: a@news.test\r\n" + message()
    v = verify(raw)
    assert v.dmarc.result == "permerror"


# -- ARC ----------------------------------------------------------------------------------------

def test_arc_valid_and_broken(world, verify):
    signed = sign(message(), world.rsa, "news.test", "rsa")
    ar = b"Authentication-Results: mx.forwarder.test; dkim=pass header.d=news.test; arc=none\r\n"
    sealed = arc_sign(ar + signed, world.arc_key, "forwarder.test", "arc", "mx.forwarder.test")
    v = verify(sealed)
    assert (v.arc.cv, v.arc.instances, v.arc.sealers) == ("pass", 1, ["forwarder.test"])
    broken = sealed.replace(b"Today's news.", b"Today's scam.")
    v = verify(broken)
    assert v.arc.cv == "fail"


# -- identities, disagreements, budget, evidence --------------------------------------------------

def test_nonexistent_mail_from_and_injected_identity(make_scanner, world):
    from lurelens.auth import AuthInputs, DnsPythonResolver

    ar = ("Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=x@ghost.news.test; "
          "dkim=pass header.d=phantom.news.test; dmarc=pass header.from=news.test\r\n")
    raw = message(extra="")
    raw = ar.encode() + raw
    sc = make_scanner(verify_auth=True, resolver=DnsPythonResolver(world.srv.server, timeout=1.0))
    v = sc.scan(raw, auth_inputs=AuthInputs(IP_BAD, "h.news.test", "x@nowhere.news.test"))
    by = {f.symbol: f.evidence for f in v.findings}
    assert "nowhere.news.test" in by["VERIFY_MAILFROM_NXDOMAIN"] or "ghost" in by["VERIFY_MAILFROM_NXDOMAIN"]
    assert "phantom.news.test" in by["VERIFY_IDENTITY_NXDOMAIN"]
    assert "header says pass" in by["VERIFY_DISAGREES_WITH_AR"]
    # The receiver's DMARC pass earns nothing when we verified ourselves.
    assert all(f.score >= 0 for f in v.findings if f.symbol == "AUTH_DMARC_PASS")
    assert v.suspicious_or_worse


def test_budget_limits_queries(world):
    from lurelens import Scanner
    from lurelens.auth import AuthInputs, DnsPythonResolver, verify_message

    raw = sign(message(), world.rsa, "news.test", "rsa")
    msg = Scanner().parse(raw)
    v = verify_message(raw, msg, DnsPythonResolver(world.srv.server), AuthInputs(IP_BAD, "h", "x@toomany.news.test"),
                       max_queries=3)
    assert v.budget_exhausted and v.dns_queries == 3
    assert v.dmarc.result != "pass" and v.spf.result in ("temperror", "permerror")


def test_evidence_kept_and_reverify_tells_withdrawn_key_from_never_signed(knot_dns, verify):
    """Sign with a key, verify live (evidence recorded), withdraw the key, then: live says no key,
    reverify from the evidence still says pass (key withdrawn since); a message that was never
    validly signed fails in both."""
    from lurelens import Scanner
    from lurelens.auth import DnsPythonResolver, reverify

    key = DkimKey("rsa")
    knot_dns.add_zone("archive.test", [f'old._domainkey TXT {txt(key.record())}',
                                       '_dmarc TXT "v=DMARC1; p=reject"'])
    raw = sign(message(frm="a@archive.test"), key, "archive.test", "old")
    first = verify(raw, resolver_=DnsPythonResolver(knot_dns.server))
    assert first.dkim[0].result == "pass" and first.dmarc.result == "pass"
    recorded = json.loads(json.dumps(first.to_dict()))
    keyrec = [d for d in recorded["dns"] if d["name"] == "old._domainkey.archive.test"]
    assert keyrec and keyrec[0]["type"] == "TXT" and keyrec[0]["ttl"] == 300 and keyrec[0]["time"] > 0
    knot_dns.add_zone("archive.test", ['_dmarc TXT "v=DMARC1; p=reject"'])  # key withdrawn
    live = verify(raw, resolver_=DnsPythonResolver(knot_dns.server))
    assert (live.dkim[0].result, live.dkim[0].failure) == ("permerror", "no_key")
    again = reverify(raw, Scanner().parse(raw), recorded)
    assert again.mode == "reverify" and again.dkim[0].result == "pass" and again.dmarc.result == "pass"
    forged = raw.replace(b"Today's news.", b"Today's lies.")
    assert reverify(forged, Scanner().parse(forged), recorded).dkim[0].result == "fail"


def test_cli_verify_auth_json_and_schema(world, run_cli, tmp_path):
    from importlib.resources import files

    import jsonschema

    from lurelens.report.jsonout import SCHEMA_VERSION  # noqa: F401 - schema lives next to it

    f = tmp_path / "m.eml"
    f.write_bytes(sign(message(), world.rsa, "news.test", "rsa"))
    code, out, err = run_cli(["scan", "--json", "--verify-auth", "--dns-server", world.srv.server,
                              "--client-ip", IP_OK, "--helo", "mx.news.test", "--mail-from", "b@news.test", str(f)])
    assert code in (0, 1), err
    d = json.loads(out.splitlines()[0])
    av = d["auth_verification"]
    assert av["spf"]["result"] == "pass" and av["dkim"][0]["result"] == "pass" and av["dmarc"]["result"] == "pass"
    assert av["inputs"]["source"] == "cli"
    assert any(x["name"] == "_dmarc.news.test" and x["data"] for x in av["dns"])
    schema = json.loads(files("lurelens").joinpath("schema/verdict.schema.json").read_text())
    jsonschema.validate(d, schema)
    code, out, err = run_cli(["scan", "--json", "--client-ip", IP_OK, str(f)])
    assert code == 2 and "--verify-auth" in (out + err)


def test_inputs_from_trusted_received_hop(world, make_scanner):
    from lurelens.auth import DnsPythonResolver

    hops = ("Return-Path: <bounce@news.test>\r\n"
            f"Received: from mx.news.test (mx.news.test [{IP_OK}]) by mx.example.org (Postfix) with ESMTPS id 1; Fri, 4 Dec 2026 08:00:01 +0000\r\n"
            f"Received: from inner (inner [{IP_BAD}]) by mx.news.test; Fri, 4 Dec 2026 08:00:00 +0000\r\n")
    raw = hops.encode() + message()
    sc = make_scanner(verify_auth=True, resolver=DnsPythonResolver(world.srv.server))
    ver = sc.scan(raw).message.verification
    assert (ver.inputs.client_ip, ver.inputs.helo, ver.inputs.source) == (IP_OK, "mx.news.test", "received:1")
    assert ver.spf.result == "pass"
    sc2 = make_scanner(verify_auth=True, resolver=DnsPythonResolver(world.srv.server), trusted_hop=2)
    assert sc2.scan(raw).message.verification.spf.result == "fail"
    sc3 = make_scanner(verify_auth=True, resolver=DnsPythonResolver(world.srv.server), trusted_hop_host="news.test")
    assert sc3.scan(raw).message.verification.inputs.client_ip == IP_BAD


def test_scan_without_verify_needs_no_dns_library():
    """The default scan imports neither lurelens.auth nor dnspython: no network, as before."""
    import subprocess
    import sys

    code = ("import sys, lurelens; from lurelens.testing import MessageBuilder;"
            "v = lurelens.Scanner().scan(MessageBuilder().build());"
            "bad = [m for m in ('lurelens.auth', 'dns.resolver', 'dns.query', 'dkim', 'spf') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_verify_findings_are_declared_and_weighted(scanner):
    from lurelens.checks.verify import SYMBOLS

    for s in SYMBOLS:
        assert s.name in scanner.scoring.symbols, s.name
        assert re.match(r"VERIFY_[A-Z_]+$", s.name)


def test_cli_reverify_tells_withdrawn_key(knot_dns, run_cli, tmp_path):
    key = DkimKey("rsa")
    knot_dns.add_zone("gone.test", [f'sel._domainkey TXT {txt(key.record())}', '_dmarc TXT "v=DMARC1; p=reject"'])
    f = tmp_path / "m.eml"
    f.write_bytes(sign(message(frm="a@gone.test"), key, "gone.test", "sel"))
    code, out, err = run_cli(["scan", "--json", "--verify-auth", "--dns-server", knot_dns.server, str(f)])
    rec = tmp_path / "verdict.json"
    rec.write_text(out)
    knot_dns.add_zone("gone.test", ['_dmarc TXT "v=DMARC1; p=reject"'])
    code, out, err = run_cli(["reverify", "--json", "--live", "--dns-server", knot_dns.server, str(f), str(rec)])
    assert code == 0, err
    rep = json.loads(out)
    assert rep["recorded"]["dkim"] == ["gone.test/sel=pass"] == rep["from_evidence"]["dkim"]
    assert rep["live"]["dkim"] == ["gone.test/sel=permerror"]
    assert "key withdrawn" in rep["notes"][0]
    code, out, err = run_cli(["reverify", str(f), str(f)])
    assert code == 2 and "auth_verification" in (out + err)


def test_silent_server_times_out_within_budget(world, make_scanner):
    """A server that never answers: every lookup times out, the message's DNS budget (4 query
    timeouts) bounds the wait, the results are temperror, and the checks still all run."""
    import socket
    import time

    from lurelens.auth import AuthInputs, DnsPythonResolver

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        sc = make_scanner(verify_auth=True, resolver=DnsPythonResolver(f"127.0.0.1:{port}", timeout=0.3),
                          dns_timeout=0.3)
        t0 = time.monotonic()
        v = sc.scan(sign(message(), world.rsa, "news.test", "rsa"), auth_inputs=AuthInputs(IP_OK, "h", "b@news.test"))
        took = time.monotonic() - t0
    ver = v.message.verification
    assert ver.spf.result == "temperror" and ver.dkim[0].result == "temperror" and ver.dmarc.result == "temperror"
    assert any(d["rcode"] == "TIMEOUT" for d in ver.to_dict()["dns"])
    assert took < 5, took
    syms = {f.symbol for f in v.findings}
    assert "PARSE_LIMIT_TIME" not in syms and "VERIFY_DMARC_PASS" not in syms
