"""Threat-intel matching: lurelens.registry.intel (IntelStore) and lurelens.checks.intel.

Test indicators use reserved names only (example.*, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32); the shipped APT31 list is tested through its own entries.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lurelens.checks import CHECKS
from lurelens.checks import intel
from lurelens.registry.intel import IntelStore, default_store, normalise_url, refang
from lurelens.scanner import Scanner
from lurelens.scoring import load_scoring
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet, scan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "lurelens" / "data"
CORPUS = ROOT.parent / "shared" / "corpus"

PAYLOAD = b"%PDF-1.7 not really a pdf, but listed\n"
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()

INDICATORS = f"""\
# test indicators
domain badnews.example.net      # test: news lookalike
domain relay.example.org        # test: attacker relay
domain beacon.example.com       # test: beacon host
ip 203.0.113.7                  # test: single address
ip 198.51.100.0/25              # test: range
ip 2001:db8:bad::/48            # test: v6 range
url https://portal.example.com/login.php   # test: credential page
url http://files.example.com/drop/         # test: a directory
sha256 {PAYLOAD_SHA256}  # test: payload
md5 {PAYLOAD_MD5}  # test: payload md5 (never matched against attachments: the model has sha256 only)
email spy@example.org           # test: persona
"""

# The suggested scores.toml lines for this check (see the report to the lead).
SUGGESTED_GROUP = """[groups.intel]
cap = 9.0
description = "Indicators on a threat-intel list"
"""
SUGGESTED_SYMBOLS = """INTEL_DOMAIN_LISTED = { weight = 5.0, group = "intel", attack = ["T1583.001", "T1566"] }
INTEL_IP_LISTED = { weight = 4.0, group = "intel", attack = ["T1583"] }
INTEL_URL_LISTED = { weight = 6.0, group = "intel", attack = ["T1566.002", "T1598.003"] }
INTEL_LINK_DOMAIN_LISTED = { weight = 5.0, group = "intel", attack = ["T1566.002", "T1583.001"] }
INTEL_RESOURCE_DOMAIN_LISTED = { weight = 5.0, group = "intel", attack = ["T1598.003", "T1590.005", "T1583.001"] }
INTEL_ATTACHMENT_HASH_LISTED = { weight = 8.0, group = "intel", attack = ["T1566.001", "T1204.002"] }
INTEL_EMAIL_LISTED = { weight = 5.0, group = "intel", attack = ["T1585.002", "T1566"] }
"""


@pytest.fixture(scope="module")
def scoring_file(tmp_path_factory) -> Path:
    """The shipped scores.toml plus the intel group and symbols (unless the lead already added them)."""
    text = (ROOT / "src" / "lurelens" / "scoring" / "scores.toml").read_text(encoding="utf-8")
    shipped = load_scoring()
    lines = [ln for ln in SUGGESTED_SYMBOLS.splitlines() if ln.split(" =", 1)[0] not in shipped.symbols]
    insert = ("" if "intel" in shipped.groups else SUGGESTED_GROUP) + "[symbols]\n" + "".join(ln + "\n" for ln in lines)
    text = text.replace("[symbols]\n", insert, 1)
    p = tmp_path_factory.mktemp("scoring") / "scores.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def intel_store(tmp_path_factory) -> IntelStore:
    d = tmp_path_factory.mktemp("intel")
    (d / "test.txt").write_text(INDICATORS, encoding="utf-8")
    return IntelStore([d], shipped=False, env=False, overlay=None, recheck_seconds=0)


@pytest.fixture(scope="module")
def iscanner(intel_store, scoring_file) -> Scanner:
    s = Scanner(checks=WITH_INTEL, scoring=scoring_file)
    s.context.extras["intel"] = intel_store
    return s


# The lead registers intel.CHECK in lurelens.checks.CHECKS; until then it is added here.
WITH_INTEL = CHECKS if intel.CHECK in CHECKS else CHECKS + (intel.CHECK,)


def _ev(v, symbol):
    return [f.evidence for f in v.findings if f.symbol == symbol]


def _msg(**kw) -> bytes:
    b = MessageBuilder()
    for name, value in kw.get("headers", []):
        b.header(name, value)
    for value in kw.get("received", []):
        b.prepend_header("Received", value)
    if "html" in kw:
        b.html(kw["html"])
    if "text" in kw:
        b.text(kw["text"])
    for a in kw.get("attach", []):
        b.attach(*a)
    return b.build()


# ----------------------------------------------------------------------------- every symbol fires / stays quiet


@pytest.mark.parametrize(
    "header,value",
    [
        ("From", '"Reporter" <desk@badnews.example.net>'),
        ("From", "desk@cdn.BadNews.example.net"),
        ("Reply-To", "desk@badnews.example.net"),
        ("Return-Path", "<bounce@mail.badnews.example.net>"),
        ("Sender", "desk@badnews.example.net"),
    ],
)
def test_domain_listed_sender(iscanner, header, value):
    v = assert_fires(_msg(headers=[(header, value)]), "INTEL_DOMAIN_LISTED", iscanner)
    ev = _ev(v, "INTEL_DOMAIN_LISTED")[0]
    assert header in ev and "badnews.example.net" in ev and "test.txt" in ev and "news lookalike" in ev


@pytest.mark.parametrize("addr", ["desk@goodnews.example.net", "desk@example.net", "desk@badnews.example.net.evil.test"])
def test_domain_listed_near_miss(iscanner, addr):
    assert_quiet(_msg(headers=[("From", addr), ("Reply-To", addr)]), "INTEL_DOMAIN_LISTED", iscanner)


def test_domain_listed_received_hop(iscanner):
    rcv = "from relay.example.org (relay.example.org [192.0.2.10]) by mx.example.org with ESMTP id X; Tue, 10 Nov 2026 08:00:00 +0000"
    v = assert_fires(_msg(received=[rcv]), "INTEL_DOMAIN_LISTED", iscanner)
    assert "Received hop 1 host relay.example.org" in _ev(v, "INTEL_DOMAIN_LISTED")[0]
    helo = "from unknown (HELO smtp.relay.example.org) (192.0.2.11) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000"
    assert_fires(_msg(received=[helo]), "INTEL_DOMAIN_LISTED", iscanner)
    near = "from notrelay.example.org (notrelay.example.org [192.0.2.10]) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000"
    assert_quiet(_msg(received=[near]), "INTEL_DOMAIN_LISTED", iscanner)


@pytest.mark.parametrize(
    "rcv",
    [
        "from mail.example.net (mail.example.net [203.0.113.7]) by mx.example.org with ESMTPS id Q; Tue, 10 Nov 2026 08:00:00 +0000",
        "from mail.example.net ([198.51.100.5]) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000",
        "from [198.51.100.77] (port=4431 helo=x) by mx.example.org with esmtpa; Tue, 10 Nov 2026 08:00:00 +0000",
        "from unknown (HELO mail.example.net) (203.0.113.7) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000",
        "from mail.example.net (mail.example.net [IPv6:2001:db8:bad::25]) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000",
    ],
)
def test_ip_listed_received(iscanner, rcv):
    v = assert_fires(_msg(received=[rcv]), "INTEL_IP_LISTED", iscanner)
    assert "Received hop 1 IP" in _ev(v, "INTEL_IP_LISTED")[0]


def test_ip_listed_range_evidence_and_near_miss(iscanner):
    rcv = "from mail.example.net (mail.example.net [198.51.100.5]) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000"
    v = assert_fires(_msg(received=[rcv]), "INTEL_IP_LISTED", iscanner)
    assert "198.51.100.5 is covered by listed ip 198.51.100.0/25" in _ev(v, "INTEL_IP_LISTED")[0]
    for ip in ("198.51.100.200", "203.0.113.8", "127.0.0.1"):
        near = f"from mail.example.net (mail.example.net [{ip}]) by mx.example.org; Tue, 10 Nov 2026 08:00:00 +0000"
        assert_quiet(_msg(received=[near]), "INTEL_IP_LISTED", iscanner)


def test_ip_listed_link_and_resource(iscanner):
    v = assert_fires(_msg(html='<a href="http://198.51.100.9/x">open</a>'), "INTEL_IP_LISTED", iscanner)
    assert "link host 198.51.100.9" in _ev(v, "INTEL_IP_LISTED")[0]
    v = assert_fires(_msg(html='<img src="http://203.0.113.7/o.gif" width="1" height="1">'), "INTEL_IP_LISTED", iscanner)
    assert "fetched on open" in _ev(v, "INTEL_IP_LISTED")[0]
    assert_quiet(_msg(html='<a href="http://198.51.100.129/x">open</a><img src="http://203.0.113.70/o.gif">'),
                 "INTEL_IP_LISTED", iscanner)


def test_url_listed(iscanner):
    v = assert_fires(_msg(html='<a href="HTTPS://Portal.Example.com:443/login.php?user=bob#top">log in</a>'),
                     "INTEL_URL_LISTED", iscanner)
    ev = _ev(v, "INTEL_URL_LISTED")[0]
    assert "portal.example.com/login.php" in ev and "credential page" in ev
    # A listed URL ending in "/" covers the paths below it; resources count too.
    assert_fires(_msg(html='<img src="http://files.example.com/drop/a/b.png">'), "INTEL_URL_LISTED", iscanner)
    assert_fires(_msg(text="see http://portal.example.com/login.php now\r\n"), "INTEL_URL_LISTED", iscanner)


def test_url_listed_near_miss(iscanner):
    html = ('<a href="https://portal.example.com/login2.php">x</a><a href="https://portal.example.com/">y</a>'
            '<a href="http://files.example.com/dropbox/a">z</a><a href="https://www.portal.example.com/login.php">w</a>')
    assert_quiet(_msg(html=html), "INTEL_URL_LISTED", iscanner)


def test_link_domain_listed(iscanner):
    v = assert_fires(_msg(html='<a href="https://cdn.badnews.example.net/story">read</a>'), "INTEL_LINK_DOMAIN_LISTED", iscanner)
    ev = _ev(v, "INTEL_LINK_DOMAIN_LISTED")[0]
    assert "link host cdn.badnews.example.net is covered by listed domain badnews.example.net" in ev
    assert_quiet(_msg(html='<a href="https://goodnews.example.net/story">read</a><a href="https://example.net/">h</a>'),
                 "INTEL_LINK_DOMAIN_LISTED", iscanner)


def test_resource_domain_listed(iscanner):
    v = assert_fires(_msg(html='<p>hi</p><img src="http://beacon.example.com/o.gif?id=42" width="1" height="1">'),
                     "INTEL_RESOURCE_DOMAIN_LISTED", iscanner)
    assert "fetched on open from beacon.example.com" in _ev(v, "INTEL_RESOURCE_DOMAIN_LISTED")[0]
    v = assert_quiet(_msg(html='<img src="http://beacon2.example.com/o.gif"><img src="http://example.com/o.gif">'),
                     "INTEL_RESOURCE_DOMAIN_LISTED", iscanner)
    # A link to the beacon host is a link finding, not a resource one.
    v = assert_quiet(_msg(html='<a href="http://beacon.example.com/">x</a>'), "INTEL_RESOURCE_DOMAIN_LISTED", iscanner)
    assert _ev(v, "INTEL_LINK_DOMAIN_LISTED")


def test_attachment_hash_listed(iscanner):
    v = assert_fires(_msg(text="see attached\r\n", attach=[("report.pdf", "application/pdf", PAYLOAD)]),
                     "INTEL_ATTACHMENT_HASH_LISTED", iscanner)
    ev = _ev(v, "INTEL_ATTACHMENT_HASH_LISTED")[0]
    assert PAYLOAD_SHA256 in ev and "report.pdf" in ev
    assert_quiet(_msg(text="see attached\r\n", attach=[("report.pdf", "application/pdf", PAYLOAD + b" ")]),
                 "INTEL_ATTACHMENT_HASH_LISTED", iscanner)


def test_email_listed(iscanner):
    v = assert_fires(_msg(headers=[("From", '"A Journalist" <Spy@Example.org>')]), "INTEL_EMAIL_LISTED", iscanner)
    assert "From address spy@example.org is listed" in _ev(v, "INTEL_EMAIL_LISTED")[0]
    assert_fires(_msg(headers=[("Reply-To", "spy@example.org")]), "INTEL_EMAIL_LISTED", iscanner)
    assert_fires(_msg(html='<a href="mailto:spy@example.org?subject=hi">write</a>'), "INTEL_EMAIL_LISTED", iscanner)
    assert_fires(_msg(text="Reply to spy@example.org please.\r\n"), "INTEL_EMAIL_LISTED", iscanner)
    assert_quiet(_msg(headers=[("From", "spy2@example.org"), ("Reply-To", "spy@example.org.test")],
                      text="Reply to nospy@example.org please.\r\n"), "INTEL_EMAIL_LISTED", iscanner)


def test_clean_message_fires_nothing_and_no_check_error(iscanner):
    v = scan(_msg(html='<a href="https://www.example.com/">x</a><img src="https://img.example.com/a.png">'), iscanner)
    assert not [f for f in v.findings if f.symbol.startswith("INTEL_") or f.symbol == "CHECK_ERROR"]


def test_scored_in_intel_group(iscanner):
    v = scan(_msg(headers=[("From", "desk@badnews.example.net")]), iscanner)
    f = next(f for f in v.findings if f.symbol == "INTEL_DOMAIN_LISTED")
    assert f.group == "intel" and f.score > 0 and "T1583.001" in f.attack
    assert v.suspicious_or_worse


def test_run_directly_on_parsed_message(intel_store):
    from lurelens.checks.base import Context
    from lurelens.registry import DataRegistry

    s = Scanner()
    msg = s.parse(_msg(headers=[("From", "x@badnews.example.net")]))
    ctx = Context(data=DataRegistry(extra_dir=None), extras={"intel": intel_store})
    assert [f.symbol for f in intel.run(msg, ctx)] == ["INTEL_DOMAIN_LISTED"]
    assert {s.name for s in intel.SYMBOLS} >= {f.symbol for f in intel.run(msg, ctx)}


# ----------------------------------------------------------------------------- shipped APT31 list


def test_shipped_apt31_list_through_default_store():
    s = Scanner(checks=WITH_INTEL)
    assert "intel" not in s.context.extras
    v = assert_fires(_msg(headers=[("From", "editor@wshnews.com")]), "INTEL_DOMAIN_LISTED", s)
    assert "apt31-maltrail.txt" in _ev(v, "INTEL_DOMAIN_LISTED")[0]
    v = assert_fires(_msg(html='<img src="http://p1.offline-microsoft.com/a.gif" width=1 height=1>'),
                     "INTEL_RESOURCE_DOMAIN_LISTED", s)
    assert_quiet(_msg(headers=[("From", "editor@wshnews.co")]), "INTEL_DOMAIN_LISTED", s)


def test_shipped_apt31_entries():
    st = default_store(None)
    assert st.errors == 0
    assert st.match_domain("wshnews.com").source_file == "lurelens/data/iocs/apt31-maltrail.txt"
    assert st.match_domain("x.api.flushcdn.com") is not None
    assert st.match_domain("notwshnews.com") is None
    # only the subdomain cdn.microsoft-official.com is listed, not its parent
    assert st.match_domain("cdn.microsoft-official.com") is not None
    assert st.match_domain("microsoft-official.com") is None
    hit = st.match_ip("20.11.11.67")
    assert hit is not None and "port 443" in hit.comment
    assert st.match_ip("20.11.11.68") is None


def test_shipped_file_header_and_licence():
    text = (DATA / "iocs" / "apt31-maltrail.txt").read_text(encoding="utf-8")
    head = "\n".join(ln for ln in text.splitlines() if ln.startswith("#"))
    items = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "# source: https://github.com/stamparm/maltrail" in head
    assert "# commit: 8adace159e1e9418ca4dd1a4b07f84917c3b6155" in head
    assert "# path: trails/static/malware/apt_judgmentpanda.txt" in head
    assert "# licence: MIT" in head and "# date: 2026-11-23" in head
    assert f"# count: {len(items)}" in head and len(items) == 25
    assert all(ln.split()[0] in ("domain", "ip") for ln in items)
    lic = (DATA / "LICENSES" / "maltrail-LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in lic and "Maltrail developers" in lic


def test_build_iocs_check_is_clean():
    if not (CORPUS / "iocs" / "maltrail-apt31").is_dir():
        pytest.skip("development corpus not present")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_iocs.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------------- store: reload, parsing, errors


def _bump(p: Path, text: str) -> None:
    st = p.stat()
    p.write_text(text, encoding="utf-8")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_reload_on_change(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("domain old.example.net  # first\n", encoding="utf-8")
    st = IntelStore([tmp_path], shipped=False, overlay=None, recheck_seconds=0)
    assert st.match_domain("a.old.example.net").comment == "first"
    assert st.match_domain("new.example.net") is None
    _bump(f, "domain new.example.net  # second\n")
    assert st.match_domain("new.example.net").comment == "second"
    assert st.match_domain("old.example.net") is None
    # an added file is read, a removed one forgotten, unchanged files are not re-read
    (tmp_path / "more.csv").write_text("type,value,comment\nip,192.0.2.0/24,added\n", encoding="utf-8")
    assert st.match_ip("192.0.2.99").comment == "added"
    n = st.reloads
    assert st.match_ip("192.0.2.99") is not None and st.reloads == n
    (tmp_path / "more.csv").unlink()
    assert st.match_ip("192.0.2.99") is None
    assert st.match_domain("new.example.net") is not None


def test_recheck_interval_is_honoured(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("domain old.example.net\n", encoding="utf-8")
    st = IntelStore([tmp_path], shipped=False, env=False, overlay=None, recheck_seconds=3600)
    assert st.match_domain("old.example.net") is not None
    _bump(f, "domain new.example.net\n")
    assert st.match_domain("new.example.net") is None  # not rechecked yet
    st.reload()
    assert st.match_domain("new.example.net") is not None


def test_overlay_iocs_dir(tmp_path):
    (tmp_path / "iocs").mkdir()
    (tmp_path / "iocs" / "org.csv").write_text('domain,"leak.example.net","ours, internal"\n', encoding="utf-8")
    st = IntelStore(overlay=tmp_path, recheck_seconds=0)
    hit = st.match_domain("leak.example.net")
    assert hit.comment == "ours, internal" and hit.source_file.endswith("org.csv")
    assert st.match_domain("wshnews.com") is not None  # shipped list still there


@pytest.mark.parametrize(
    "line,lookup,arg",
    [
        ("domain evil[.]example[.]net", "match_domain", "www.evil.example.net"),
        ("domain evil(dot)example(dot)net.", "match_domain", "evil.example.net"),
        ("domain EVIL.Example.NET.", "match_domain", "evil.example.net"),
        ("domain *.evil.example.net", "match_domain", "a.evil.example.net"),
        ("domain bücher.example", "match_domain", "xn--bcher-kva.example"),
        ("domain xn--bcher-kva.example", "match_domain", "www.bücher.example"),
        ("url hxxps://evil[.]example[.]net/a.php", "match_url", "https://evil.example.net/a.php"),
        ("url hxxp[:]//evil[.]example[.]net:80/a.php", "match_url", "http://EVIL.example.net/a.php#x"),
        ("url evil[.]example[.]net/path", "match_url", "https://evil.example.net/path"),
        ("ip 203.0.113[.]5", "match_ip", "203.0.113.5"),
        ("ip 203.0.113.5:8443", "match_ip", "::ffff:203.0.113.5"),
        ("ip [2001:db8::5]:443", "match_ip", "2001:db8:0::5"),
        ("email bad[@]example[.]net", "match_email", "Bad@Example.NET"),
        ("email bad [at] example [dot] net", "match_email", "bad@example.net"),
        ("hash " + "A" * 64, "match_hash", "a" * 64),
        ("sha1 " + "b" * 40, "match_hash", "B" * 40),
        ("hxxps://evil[.]example[.]net/x", "match_url", "http://evil.example.net/x"),  # type inferred
        ("198.51.100.0/24", "match_ip", "198.51.100.1"),
        ("c" * 32, "match_hash", "c" * 32),
        ("evil[.]example[.]org", "match_domain", "evil.example.org"),
    ],
)
def test_defanged_and_varied_input(tmp_path, line, lookup, arg):
    (tmp_path / "x.txt").write_text(line + "  # c\n", encoding="utf-8")
    st = IntelStore([tmp_path], shipped=False, env=False, overlay=None)
    assert st.errors == 0, st.problems
    hit = getattr(st, lookup)(arg)
    assert hit is not None and hit.comment == "c" and hit.source_file.endswith("x.txt")


def test_refang_and_normalise_url():
    assert refang("hxxps[:]//a[.]b[.]example/x") == "https://a.b.example/x"
    assert normalise_url("HTTPS://A.Example.:443/p?q=1#f") == "a.example/p?q=1"
    assert normalise_url("http://a.example") == "a.example/"


def test_malformed_lines_are_counted_not_raised(tmp_path):
    (tmp_path / "bad.txt").write_text(
        "domain good.example.net\n"
        "domain not a domain!!\n"
        "ip 999.1.1.1\n"
        "ip 0.0.0.0/0\n"
        "sha256 abc\n"
        "md5 " + "a" * 64 + "\n"
        "frobnicate x y\n"
        "email nobody\n"
        "url http://\n"
        "# a comment\n\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.csv").write_text("type,value,comment\nip,not-an-ip,x\ndomain,ok.example.net,fine\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x01garbage\n")
    st = IntelStore([tmp_path], shipped=False, env=False, overlay=None)
    assert st.errors == 8 + 1 + 1
    assert any("bad.txt:2" in p for p in st.problems)
    assert st.match_domain("good.example.net") is not None and st.match_domain("ok.example.net") is not None
    assert st.stats()["indicators"] == 2


def test_missing_and_empty_dirs(tmp_path):
    st = IntelStore([tmp_path / "absent", tmp_path], shipped=False, env=False, overlay=None, recheck_seconds=0)
    assert len(st) == 0 and st.errors == 0
    assert st.match_domain("example.net") is None and st.match_ip("192.0.2.1") is None


def test_md5_and_sha1_lookups_but_attachments_by_sha256_only(intel_store):
    assert intel_store.match_hash(PAYLOAD_MD5).type == "md5"
    assert intel_store.match_hash(PAYLOAD_SHA256).type == "sha256"


def test_received_parsing():
    hosts, ips = intel.received_hosts_and_ips(
        "from a.example.net (b.example.net [203.0.113.1]) (using TLSv1.3) by mx.example.org (Postfix) "
        "with ESMTPS id 4Xy for <x@example.org>; Tue, 10 Nov 2026 08:00:00 +0000 (1.2.3.4)"
    )
    assert hosts == ["a.example.net", "b.example.net", "mx.example.org"]
    assert [str(i) for i in ips] == ["203.0.113.1"]  # nothing from the date part
    hosts, ips = intel.received_hosts_and_ips("from [127.0.0.1] (localhost [127.0.0.1]) by x.example.org; now")
    assert ips == []


def test_lookups_while_reloading(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("domain a.example.net\n", encoding="utf-8")
    st = IntelStore([tmp_path], shipped=False, env=False, overlay=None, recheck_seconds=0)
    errors: list[BaseException] = []

    def reader():
        try:
            for _ in range(300):
                st.match_domain("x.a.example.net")
                st.match_ip("192.0.2.1")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        _bump(f, f"domain a.example.net\nip 192.0.2.{i}\n")
    for t in threads:
        t.join()
    assert errors == []
    assert st.match_domain("a.example.net") is not None
