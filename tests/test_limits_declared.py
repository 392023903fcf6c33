"""Per-check caps live in Limits and are never silent: past one, a CHECK_LIMIT_* finding gives the
count, and the riskiest items (hosts unrelated to the sender) are checked first."""

from __future__ import annotations

from lurelens.parse import Limits
from lurelens.testing import MessageBuilder

TARGET = '<a href="https://login.paypa1.com/signin">sign in</a>'


def _symbols(v) -> set[str]:
    return {f.symbol for f in v.findings}


def test_250_harmless_links_before_the_lookalike_do_not_hide_it(scanner):
    # The evasion of issue 9: 250 links to the sender's own site placed first used to push the
    # look-alike link past the lookalike check's silent cap of 200 links.
    harmless = "".join(f'<a href="https://www.example.com/article/{i}">story {i}</a> ' for i in range(250))
    raw = MessageBuilder().sender('"Example News" <news@example.com>').html(f"<p>{harmless}{TARGET}</p>").build()
    v = scanner.scan(raw)
    assert "LOOKALIKE_DOMAIN_EDIT" in _symbols(v)


def test_many_distinct_hosts_reach_the_cap_and_say_so(make_scanner):
    # 250 distinct hosts of the sender's own domain, then the look-alike: over the cap the
    # unrelated host is looked up first, and the finding names the count.
    own = "".join(f'<a href="https://s{i}.example.com/">s{i}</a> ' for i in range(250))
    raw = MessageBuilder().sender('"Example News" <news@example.com>').html(f"<p>{own}{TARGET}</p>").build()
    v = make_scanner(limits=Limits(check_link_hosts=100)).scan(raw)
    assert "LOOKALIKE_DOMAIN_EDIT" in _symbols(v)
    ev = [f.evidence for f in v.findings if f.symbol == "CHECK_LIMIT_ITEMS"]
    assert any("lookalike: checked 100 of 251 link hosts" in e for e in ev), ev
    assert max(f.score for f in v.findings if f.symbol == "CHECK_LIMIT_ITEMS") > 0


def test_links_check_cap_is_declared(make_scanner):
    links = "".join(f'<a href="https://www.example.com/a/{i}">a{i}</a> ' for i in range(30))
    raw = MessageBuilder().sender('"Example" <news@example.com>').html(
        f'<p>{links}<a href="https://paypal.com@login.example.net/">x</a></p>').build()
    v = make_scanner(limits=Limits(check_links=10)).scan(raw)
    assert "LINK_USERINFO" in _symbols(v)  # the link to an unrelated host came first
    assert any("links: checked 10 of 31 links" in f.evidence for f in v.findings if f.symbol == "CHECK_LIMIT_ITEMS")


def test_under_the_caps_nothing_is_said(scanner):
    raw = MessageBuilder().html(f"<p>{TARGET}</p>").build()
    assert not _symbols(scanner.scan(raw)) & {"CHECK_LIMIT_ITEMS", "CHECK_LIMIT_TEXT"}


def test_long_text_is_declared(make_scanner):
    raw = MessageBuilder().text("word " * 3000).build()
    v = make_scanner(limits=Limits(check_text_chars=1000, lure_text_chars=500)).scan(raw)
    ev = [f.evidence for f in v.findings if f.symbol == "CHECK_LIMIT_TEXT"]
    assert any("read the first 1000 of" in e for e in ev) and any("read the first 500 of" in e for e in ev)


def test_every_cap_is_a_limits_field():
    names = {"check_links", "check_link_hosts", "check_resource_hosts", "check_received", "check_text_chars",
             "lure_text_chars", "intel_text_chars"}
    assert names <= set(Limits.__dataclass_fields__)


def test_skipped_items_make_the_verdict_incomplete_a_long_text_does_not(make_scanner):
    links = "".join(f'<a href="https://h{i}.example.org/">l{i}</a> ' for i in range(30))
    cut_items = make_scanner(limits=Limits(check_links=10)).scan(MessageBuilder().html(f"<p>{links}</p>").build())
    assert "CHECK_LIMIT_ITEMS" in _symbols(cut_items) and cut_items.incomplete
    long_text = make_scanner(limits=Limits(lure_text_chars=500)).scan(MessageBuilder().text("word " * 3000).build())
    assert "CHECK_LIMIT_TEXT" in _symbols(long_text)
    assert not long_text.incomplete and long_text.label == "clean"
