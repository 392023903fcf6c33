"""Host-free tracker patterns: every one runs (its pre-filter anchor is text each match contains)
and names only its own vendor's URLs, so an attacker's own beacon server stays unlisted."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lurelens.registry.data import MIN_ANCHOR, DataRegistry, TrackerIndex, _literal_anchor
from lurelens.testing import MessageBuilder, assert_fires

# pattern -> the anchor it must get (the longest literal every match contains, lowercased)
ANCHORS = {
    "/wf/open\\?upn=": "/wf/open?upn=",
    "/O/[a-z0-9_-]+": "/o/",  # not "a-z0-9_-", the inside of the class
    "/\\?x[ou]l=.+&(amp;)?eih=": "eih=",  # not "amp;", the optional group
    "/s/eo/[a-zA-Z0-9_-]+/[a-zA-Z0-9]+/[0-9][0-9]": "/s/eo/",
    "sellercentral(-europe)?(-japan)?.amazon.+/nms/img/": "sellercentral",
    "(?:open|view)/pixel": "/pixel",  # an alternation: only what follows it is required
    "pixel(abc)+track": "pixel",  # a repeated group's own runs are required, but not joined to "pixel"
    "x(abcdefg)+": "abcdefg",
    "abc(def)*ghi": "abc",  # may occur zero times: "abcghi" matches
    "xy(?:abcd|efgh)": "",  # nothing required outside the alternation, "xy" too short
    "xy(?:abcd|abce)": "xyabc",  # the parser factors out the alternatives' common prefix
    "ab?cdef": "cdef",  # "b" optional
    "^https?://(www\\.)?tracker\\.": "tracker.",
    "track\\b/open": "track/open",  # zero-width: the characters either side stay adjacent
    "[.]gif\\?id=": ".gif?id=",  # a one-character class is that character
    "(abc){0,3}xyzw": "xyzw",
    "q(?=abcdef)": "",  # a look-ahead is not consumed in sequence: not taken
    "/a[0-9]/b": "",  # too short ("/a", "/b"): runs on every URL
}


@pytest.mark.parametrize("pattern,anchor", sorted(ANCHORS.items()))
def test_anchor_table(pattern, anchor):
    assert _literal_anchor(pattern) == anchor


def _shipped() -> dict:
    from importlib import resources

    return json.loads((resources.files("lurelens") / "data" / "trackers.json").read_text(encoding="utf-8"))


def _free_patterns() -> list[str]:
    return sorted({p for v in _shipped()["vendors"] for p in v["host_free_patterns"]})


ALL_PATTERNS = sorted(set(ANCHORS) | set(_free_patterns()))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from(ALL_PATTERNS).flatmap(
    lambda p: st.tuples(st.just(p), st.from_regex(re.compile(p, re.I), alphabet=st.characters(codec="ascii")))))
def test_every_match_contains_the_anchor(case):
    pattern, text = case
    assert re.search(pattern, text, re.I)
    assert _literal_anchor(pattern) in text.lower()


def test_every_shipped_host_free_pattern_has_a_useful_anchor():
    """No shipped pattern falls back to running on every URL (and none is silently never run:
    the anchor is required text, checked above)."""
    short = [p for p in _free_patterns() if len(_literal_anchor(p)) < MIN_ANCHOR]
    assert short == []


def test_a_pattern_without_an_anchor_still_runs():
    idx = TrackerIndex.build([("test", {"vendors": [{"name": "Tiny", "patterns": ["/[a-z]/x"], "hosts": []},
                                                    {"name": "Long", "patterns": ["/open/pixel"], "hosts": []}]})])
    assert idx.match("https://t.example.net/q/x", "t.example.net") == "Tiny"
    assert idx.match("https://t.example.net/open/pixel", "t.example.net") == "Long"
    assert idx.match("https://t.example.net/q/y", "t.example.net") is None


def test_non_ascii_url_skips_the_prefilter():
    # Under IGNORECASE "s" matches the long s; lower() keeps it, so "/ss/o/" is not in the lowered URL.
    idx = TrackerIndex.build([("test", {"vendors": [{"name": "V", "patterns": ["/ss/o/[a-z]+"], "hosts": []}]})])
    assert idx.match("https://t.example.net/s\u017f/o/abc", "t.example.net") == "V"


def test_review_covers_the_patterns_that_never_ran():
    reviewed = {(r["vendor"], r["decision"]) for r in _shipped()["meta"]["reviewed_host_free_patterns"]}
    assert {v for v, _d in reviewed} >= {"beehiiv", "Epsilon", "Iterable", "Mailjet", "Ongage", "Optimove",
                                          "Sailthru", "Sendy"}
    assert ("Sendy", "dropped") in reviewed and ("Iterable", "kept") in reviewed
    assert ("beehiiv", "moved:SendGrid") in reviewed


@pytest.fixture(scope="module")
def trackers() -> TrackerIndex:
    return DataRegistry(None).trackers


def _host(url: str) -> str:
    return url.split("/")[2]


# URL shape from each vendor's published or observed tracking URLs; hosts made up where the vendor
# tracks on the sender's own domain.
FIRING = {
    "https://x1b2c.mjt.lu/oo/BAAAAC3pGzEAAAAAAAAAAbZ7QmQAAAAAAAIAAAAA/4f9a2c1e/e.gif": "Mailjet",
    # the token is base64url: '-' and '_' (the published pattern left them out and missed real pixels)
    "https://x1b2c.mjt.lu/oo/AXkAAB3pGzEAAchq-_4AAWUvPpkAAYC_d-wAnxi/0c3e5a7b/e.gif": "Mailjet",
    "https://links.example-shop.com/s/eo/Zk3mQ-r9_xT/AbC123xyz/18": "Iterable",
    "https://track.example-shop.com/?xol=MTIzNDU2Nzg5&amp;eih=a1b2c3d4": "Ongage",
    "https://track.example-shop.com/?xul=Zm9vYmFy&eih=a1b2c3d4": "Ongage",
    "https://url4021.example-news.com/ss/o/u0012.AbCdEf9/3k2/Xy_Z-qw12/ho.gif": "SendGrid",
    "https://link.mail.beehiiv.com/ss/o/AbC.dEf/4x7/Q1w-E2r/ho.gif": "SendGrid",
    "https://ctrk.klclick.com/o/AbCdEf12345": "Klaviyo",
    "https://ctrk.klclick3.com/o/AbCdEf12345/xyz": "Klaviyo",
    "https://email.example-shop.com/o/eJwNzEEOgjAQRuG7sM2kRmZqKaRZWUYqqg": "Mailgun",
    "https://ind.dell.com/O/abc123/def": "Epsilon",  # Epsilon's own host keeps its host pattern
    "https://sailthru.com/trk/abc": "Sailthru",
    "https://zc.maillist-manage.com/open.gif?od=11287eca1b2c3d": "Zoho",  # /open.gif gated on Zoho's hosts
    "https://mail.example-shop.pl/o/abc": "FreshMail",  # the kept FreshMail pattern
}

# An attacker's own beacon server, or an ordinary image: no vendor
NEAR_MISS = [
    "https://news-update.example.net/o/abc",
    "https://news-update.example.net/O/a8Fz3kQ9xL2m",
    "https://news-update.example.net/O/abc123/def456",
    "https://news-update.example.net/t/abc/def",  # was Sendy's shape
    "https://www.example.org/img/icons/facebook.gif",  # was Sailthru's shape
    "https://news-update.example.net/oo/abc/e.gif",  # Mailjet needs the 8-character field
    "https://news-update.example.net/oo/abc/12345678/e-gif",
    "https://news-update.example.net/s/eo/abc",  # Iterable needs two tokens and two digits
    "https://news-update.example.net/?xol=abc",  # Ongage needs eih=
    "https://news-update.example.net/ss/o/abc/ho.gif",
    "https://news-update.example.net/o/a8Fz3kQ9xL2m/p7vR4tY6wB1n",  # was FreshMail's second pattern
    "https://news-update.example.net/do/12337/850395/1.gif",  # was Aurea's
    "https://news-update.example.net/unsubscribe?id=bob@example.org",  # was Pepipost's
    "https://news-update.example.net/bcast/open.gif?mid=1251",  # was Zoho's, on any host
    "https://news-update.example.net/img/logo.png1",  # was Alida's
]


@pytest.mark.parametrize("url,vendor", sorted(FIRING.items()))
def test_vendor_url_fires(trackers, url, vendor):
    assert trackers.match(url, _host(url)) == vendor


@pytest.mark.parametrize("url", NEAR_MISS)
def test_unknown_host_shape_is_no_vendor(trackers, url):
    assert trackers.match(url, _host(url)) is None


PIXEL = '<p>Read the full story</p><img src="{}" width="1" height="1" alt="">'


def test_attacker_o_beacon_stays_unlisted(scanner):
    v = assert_fires(MessageBuilder().html(PIXEL.format("https://news-update.example.net/o/abc")).build(),
                     "TRACKER_UNLISTED_BEACON", scanner)
    assert "TRACKER_KNOWN_VENDOR" not in {f.symbol for f in v.findings}


@pytest.mark.parametrize("url,vendor", [("https://ctrk.klclick.com/o/AbCdEf12345", "Klaviyo"),
                                        ("https://email.example-shop.com/o/eJwNzEEOgjAQRuG7sM2kRmZqKaRZWUYqqg", "Mailgun"),
                                        ("https://x1b2c.mjt.lu/oo/BAAAAC3pGzEAAAAAAAAAAbZ7/4f9a2c1e/e.gif", "Mailjet")])
def test_vendor_pixel_keeps_its_vendor(scanner, url, vendor):
    v = assert_fires(MessageBuilder().html(PIXEL.format(url)).build(), "TRACKER_KNOWN_VENDOR", scanner)
    assert [f.evidence.split(":")[0] for f in v.findings if f.symbol == "TRACKER_KNOWN_VENDOR"] == [vendor]
    assert "TRACKER_UNLISTED_BEACON" not in {f.symbol for f in v.findings}
