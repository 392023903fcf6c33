"""Cross-checks against independent implementations on the same real DNS server: Perl's
Mail::DKIM and Mail::SPF (Debian packages) must agree with lurelens on every case of
test_auth_verify.py's world, or the difference is listed here with its RFC reason. Also the
SpamAssassin DKIM/ARC test messages (../shared/corpus/auth-tests), whose keys SpamAssassin's test
data does not ship (docs/auth.md)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from authworld import IP_BAD, IP_OK, message, world_fixture  # noqa: F401 - the `world` fixture
from conftest import CORPUS, require_component
from dnsserver import sign

pytestmark = pytest.mark.services

PERL = Path(__file__).parent / "data" / "auth" / "crosscheck.pl"


def _perl_problem() -> str | None:
    if shutil.which("perl") is None:
        return "perl not found"
    for mod in ("Mail::DKIM::Verifier", "Mail::SPF", "Net::DNS"):
        r = subprocess.run(["perl", f"-M{mod}", "-e1"], capture_output=True, check=False)
        if r.returncode:
            return f"Perl module {mod} missing (scripts/install-knot.sh installs it)"
    return None


@pytest.fixture(scope="module")
def perl(knot_dns):
    require_component("Perl Mail::DKIM / Mail::SPF", _perl_problem())

    def run(*args: str, stdin: bytes = b"") -> list[list[str]]:
        r = subprocess.run(["perl", str(PERL), str(knot_dns.port), *args], input=stdin,
                           capture_output=True, timeout=60, check=False)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        return [line.split(" ", 4) for line in r.stdout.decode().splitlines()]

    return run


@pytest.fixture(scope="module")
def ours(world, knot_dns):
    from lurelens import Scanner
    from lurelens.auth import AuthInputs, DnsPythonResolver, verify_message

    resolver = DnsPythonResolver(knot_dns.server, timeout=1.0)
    parser = Scanner()

    def run(raw: bytes, ip: str = IP_OK, mail_from: str = "b@news.test", helo: str = "mx.news.test"):
        return verify_message(raw, parser.parse(raw), resolver, AuthInputs(ip, helo, mail_from, "test"))

    return run


SPF_CASES = [
    ("bounce@news.test", IP_OK), ("bounce@news.test", IP_BAD), ("x@soft.news.test", IP_BAD),
    ("x@neutral.news.test", IP_BAD), ("x@nospf.news.test", IP_BAD), ("x@slow.news.test", IP_OK),
    ("x@toomany.news.test", IP_BAD), ("x@badrec.news.test", IP_OK), ("x@tworec.news.test", IP_OK),
    ("x@inc.news.test", IP_OK), ("x@redir.news.test", IP_BAD), ("alice@macro.news.test", IP_OK),
    ("bob@macro.news.test", IP_OK), ("x@nowhere.news.test", IP_OK), ("", IP_OK),
]


@pytest.mark.parametrize("mail_from,ip", SPF_CASES)
def test_spf_agrees_with_mail_spf(perl, ours, mail_from, ip):
    helo = "mail.news.test"
    (line,) = perl("spf", ip, mail_from, helo)
    mine = ours(message(), ip=ip, mail_from=mail_from, helo=helo).spf.result
    if mail_from == "x@slow.news.test":
        # slow.news.test is delegated to a server that does not exist: our test server answers
        # with a referral (no AA, NS in authority). Net::DNS reads that as an empty answer, so
        # Mail::SPF says none; lurelens reads "this server does not know" as a DNS failure, so
        # temperror (RFC 7208 2.6.7: a transient DNS error), which is what a recursive resolver
        # would also give after failing to reach the delegated server.
        assert (line[1], mine) == ("none", "temperror")
        return
    assert line[1] == mine, f"Mail::SPF says {line[1]}, lurelens {mine}"


def _dkim_cases(world):
    ed_key_missing_perl = "Mail::DKIM needs Crypt::PK::Ed25519 for ed25519 (not in Debian's package deps)"
    base = message()
    return {
        "pass_rsa": (sign(base, world.rsa, "news.test", "rsa"), None),
        "body_tampered": (sign(base, world.rsa, "news.test", "rsa").replace(b"Today's news.", b"Click now!!"), None),
        "header_tampered": (sign(base, world.rsa, "news.test", "rsa").replace(b"Morning briefing", b"Reset password"), None),
        "l_tag_appended": (sign(base, world.rsa, "news.test", "rsa", length=True) + b"\r\nappended\r\n", None),
        "no_key": (sign(base, world.rsa, "news.test", "gone"), None),
        "revoked_key": (sign(base, world.rsa, "news.test", "revoked"), None),
        "wrong_key": (sign(base, world.other_key, "news.test", "rsa"), None),
        "two_signatures": (sign(sign(base, world.other_key, "other.test", "k1"), world.rsa, "news.test", "rsa"), None),
        "ed25519": (sign(base, world.ed, "news.test", "ed"), ed_key_missing_perl),
    }


# Mail::DKIM's result words -> lurelens's (RFC 8601 dkim results).
PERL_RESULT = {"pass": "pass", "fail": "fail", "invalid": "permerror", "temperror": "temperror", "none": "none",
               "neutral": "neutral"}


@pytest.mark.parametrize("case", ["pass_rsa", "body_tampered", "header_tampered", "l_tag_appended", "no_key",
                                  "revoked_key", "wrong_key", "two_signatures", "ed25519"])
def test_dkim_agrees_with_mail_dkim(perl, ours, world, case):
    raw, known = _dkim_cases(world)[case]
    theirs = [(d, s, PERL_RESULT.get(r, r), detail) for _, d, s, r, *rest in perl("dkim", stdin=raw)
              for detail in [rest[0] if rest else ""]]
    mine = [(s.d, s.s, s.result) for s in ours(raw).dkim]
    if known and [t[:3] for t in theirs] != mine:
        # Not a disagreement on the message: the Perl side lacks the algorithm.
        assert all(t[2] == "permerror" for t in theirs) and all(m[2] == "pass" for m in mine), (theirs, mine)
        return
    assert [t[:3] for t in theirs] == mine, f"Mail::DKIM: {theirs}"


# -- SpamAssassin's DKIM/ARC test messages ---------------------------------------------------------

SA = CORPUS / "auth-tests" / "spamassassin-t-data"


@pytest.fixture(scope="module")
def sa_dns(knot_dns):
    """What can be served for SpamAssassin's messages: the domains exist, the keys do not (they
    live only in SpamAssassin's live DNS zone; its t/data ships none)."""
    if not SA.exists():  # data, not a component: users outside the team do not have the corpus
        pytest.skip(f"shared corpus not present at {SA}")
    knot_dns.add_zone("spamassassin.org", ["sa-test A 127.0.0.1", "dmarc1 A 127.0.0.1", "dmarc2 A 127.0.0.1",
                                           "dmarc3 A 127.0.0.1", "dmarc4 A 127.0.0.1"])
    knot_dns.add_zone("dkim.org", ["@ A 127.0.0.1"])
    return knot_dns


def _sa_files():
    if not SA.exists():
        return []
    return sorted(p for p in SA.glob("*/*.eml") if b"DKIM-Signature" in p.read_bytes()[:20000]
                  or b"ARC-Seal" in p.read_bytes()[:20000])


@pytest.mark.corpus
def test_spamassassin_messages_fail_closed_without_keys(sa_dns, perl):
    """No message passes without its key; the body hash (checkable without a key) holds for every
    test-pass-* and for the *ok DMARC messages, and is broken for strictrejectko; pre-RFC 6376
    drafts (no v=, c=nowsp) are permerror; sa-test-nxd's key is NXDOMAIN. Mail::DKIM, asked the
    same server, never passes one either."""
    from lurelens import Scanner
    from lurelens.auth import AuthInputs, DnsPythonResolver, verify_message

    files = _sa_files()
    assert len(files) >= 40
    resolver = DnsPythonResolver(sa_dns.server, timeout=1.0)
    parser = Scanner()
    for f in files:
        raw = f.read_bytes()
        v = verify_message(raw, parser.parse(raw), resolver, AuthInputs())
        name = f.name
        assert all(s.result != "pass" for s in v.dkim), name
        assert v.arc.cv != "pass", name
        assert v.dmarc is None or v.dmarc.result != "pass", name
        if name.startswith("test-pass-") or name.endswith("ok.eml") and name.startswith("dmarc__"):
            assert all(s.body_hash_ok for s in v.dkim), (name, v.dkim)
        if name == "dmarc__strictrejectko.eml":
            assert v.dkim[0].body_hash_ok is False
        if name.startswith("dkim__"):
            assert all((s.result, s.failure) == ("permerror", "syntax") for s in v.dkim), name
        if name == "test-fail-09.msg.eml":
            assert v.dkim[0].failure == "no_key" and any(
                d["name"].endswith("sa-test-nxd.spamassassin.org") and d["rcode"] == "NXDOMAIN" for d in v.dns)
        if name == "arc__ko01.eml":
            assert v.arc.cv == "none"  # SpamAssassin's t/arc.t: "ko01.eml: no ARC headers"
        if name == "arc__ok01.eml":
            assert v.arc.cv == "fail" and v.arc.instances == 1  # would pass with t0768's key
        theirs = perl("dkim", stdin=raw)
        assert all(t[3] != "pass" for t in theirs), (name, theirs)


def test_arc_agrees_with_mail_dkim_arc(perl, ours, world):
    from dnsserver import arc_sign

    signed = sign(message(), world.rsa, "news.test", "rsa")
    ar = b"Authentication-Results: mx.forwarder.test; dkim=pass header.d=news.test; arc=none\r\n"
    sealed = arc_sign(ar + signed, world.arc_key, "forwarder.test", "arc", "mx.forwarder.test")
    cases = {"valid": sealed, "body changed": sealed.replace(b"Today's news.", b"Today's scam."),
             "unsealed": signed}
    for name, raw in cases.items():
        (line,) = perl("arc", stdin=raw)
        assert line[1] == ours(raw).arc.cv, (name, line)
