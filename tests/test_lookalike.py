"""Tests for the untwist lookalike index (lurelens.registry.lookalike)."""

from __future__ import annotations

import random
import socket
import sys
from pathlib import Path

import idna
import pytest

try:
    from lurelens.registry import lookalike as la
except ImportError:  # a checkout without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from lurelens.registry import lookalike as la
from lurelens.registry.lookalike import confusables, distance

LookalikeIndex = la.LookalikeIndex
LookalikeMatch = la.LookalikeMatch

PROTECTED = [
    ("nytimes.com", "nytimes"),
    ("nyt.com", "nytimes"),
    ("reuters.com", "reuters"),
    ("washingtonpost.com", "wapo"),
    ("theguardian.com", "guardian"),
    ("bbc.co.uk", "bbc"),
    ("bbc.com", "bbc"),
    ("apnews.com", "ap"),
    ("ap.org", "ap"),
    ("cnn.com", "cnn"),
    ("cnbc.com", "cnbc"),
    ("ft.com", "ft"),
    ("dw.com", "dw"),
    ("nhk.or.jp", "nhk"),
    ("thetimes.co.uk", "thetimes"),
    ("microsoft.com", "microsoft"),
    ("dailymail.co.uk", "dmg"),
]

CYR_A, CYR_O, CYR_E, CYR_ES, CYR_I = "\u0430", "\u043e", "\u0435", "\u0441", "\u0456"
GREEK_O = "\u03bf"


@pytest.fixture(scope="module")
def index() -> LookalikeIndex:
    return LookalikeIndex(PROTECTED)


def one(index: LookalikeIndex, domain: str) -> LookalikeMatch:
    m = index.check(domain)
    assert m is not None, f"{domain!r} not flagged"
    return m


# --------------------------------------------------------------------------- homoglyphs


@pytest.mark.parametrize(
    "domain, imitates, owner, char",
    [
        (f"nyt{CYR_I}mes.com", "nytimes.com", "nytimes", CYR_I),
        (f"nytim{CYR_E}s.com", "nytimes.com", "nytimes", CYR_E),
        (f"r{CYR_E}uters.com", "reuters.com", "reuters", CYR_E),
        (f"r{CYR_E}ut{CYR_E}rs.com", "reuters.com", "reuters", CYR_E),
        (f"bb{CYR_ES}.co.uk", "bbc.co.uk", "bbc", CYR_ES),
        (f"bb{CYR_ES}.com", "bbc.com", "bbc", CYR_ES),
        (f"washingt{CYR_O}npost.com", "washingtonpost.com", "wapo", CYR_O),
        (f"thegu{CYR_A}rdian.com", "theguardian.com", "guardian", CYR_A),
        (f"{CYR_A}pnews.com", "apnews.com", "ap", CYR_A),
        (f"apn{CYR_E}ws.com", "apnews.com", "ap", CYR_E),
    ],
)
def test_homoglyph(index, domain, imitates, owner, char):
    m = one(index, domain)
    assert (m.imitates, m.owner, m.technique, m.distance) == (imitates, owner, "homoglyph", 0)
    assert m.domain == domain
    assert f"U+{ord(char):04X}" in m.detail and "Cyrillic" in m.detail
    assert "in place of Latin" in m.detail


def test_homoglyph_detail_wording(index):
    m = one(index, f"nyt{CYR_I}mes.com")
    assert m.detail.startswith("Cyrillic '\u0456' (U+0456) in place of Latin 'i'")


def test_latin_diacritic_and_greek(index):
    m = one(index, "reut\u00e9rs.com")  # é
    assert (m.imitates, m.technique) == ("reuters.com", "homoglyph")
    m = one(index, f"reuters.c{GREEK_O}m.evil.net")  # Greek omicron in a spelled-out host
    assert m.imitates == "reuters.com"
    m = one(index, f"washingt{GREEK_O}npost.com")
    assert (m.imitates, m.technique) == ("washingtonpost.com", "homoglyph")
    assert "Greek" in m.detail


def test_homoglyph_under_other_suffix(index):
    m = one(index, f"nyt{CYR_I}mes.net")
    assert (m.imitates, m.technique) == ("nytimes.com", "homoglyph")
    assert "instead of .com" in m.detail


# --------------------------------------------------------------------------- punycode


@pytest.mark.parametrize(
    "unicode_label, suffix, imitates",
    [
        (f"nyt{CYR_I}mes", "com", "nytimes.com"),
        (f"r{CYR_E}uters", "com", "reuters.com"),
        (f"bb{CYR_ES}", "co.uk", "bbc.co.uk"),
        (f"thegu{CYR_A}rdian", "com", "theguardian.com"),
        (f"washingt{CYR_O}npost", "com", "washingtonpost.com"),
        (f"{CYR_A}pnews", "com", "apnews.com"),
    ],
)
def test_punycode(index, unicode_label, suffix, imitates):
    a_label = idna.encode(unicode_label).decode()
    assert a_label.startswith("xn--")
    m = one(index, f"{a_label}.{suffix}")
    assert (m.imitates, m.technique, m.distance) == (imitates, "punycode", 0)
    assert m.domain == f"{unicode_label}.{suffix}"  # reported in decoded form
    assert a_label in m.detail and "Cyrillic" in m.detail


def test_punycode_upper_case_and_subdomain(index):
    a_label = idna.encode(f"r{CYR_E}uters").decode().upper()
    m = one(index, f"WWW.{a_label}.COM")
    assert (m.imitates, m.technique) == ("reuters.com", "punycode")
    assert m.domain == f"www.r{CYR_E}uters.com"


@pytest.mark.parametrize("bad", ["xn--zz-.com", "xn--.com", "xn--a.xn--b.com", "xn--80ak6aa92e"])
def test_invalid_punycode_does_not_raise(index, bad):
    index.check(bad)  # falls back gracefully; any answer is fine


# --------------------------------------------------------------------------- mixed script


@pytest.mark.parametrize(
    "domain, imitates",
    [
        (f"nyt{CYR_I}mes-news.com", "nytimes.com"),
        (f"r{CYR_E}utersmedia.net", "reuters.com"),
        (f"washingt{GREEK_O}npost-alerts.com", "washingtonpost.com"),
        (f"thegu{CYR_A}rdain.com", "theguardian.com"),  # Cyrillic а plus a transposition
    ],
)
def test_mixed_script(index, domain, imitates):
    m = one(index, domain)
    assert (m.imitates, m.technique) == (imitates, "mixed_script")
    assert "mixes Latin and" in m.detail


def test_mixed_script_punycode_form(index):
    a_label = idna.encode(f"nyt{CYR_I}mes-news").decode()
    m = one(index, f"{a_label}.com")
    assert (m.imitates, m.technique) == ("nytimes.com", "mixed_script")
    assert a_label in m.detail


# --------------------------------------------------------------------------- combosquats


@pytest.mark.parametrize(
    "domain, imitates",
    [
        ("nytimes-news.com", "nytimes.com"),
        ("nytimesdaily.net", "nytimes.com"),
        ("wwwnytimes.com", "nytimes.com"),
        ("reutersmedia.net", "reuters.com"),
        ("reuters-press-desk.com", "reuters.com"),
        ("washingtonpost-secure.com", "washingtonpost.com"),
        ("washingtonpostlogin.info", "washingtonpost.com"),
        ("theguardian-support.org", "theguardian.com"),
        ("mytheguardian.com", "theguardian.com"),
        ("bbc-breaking.org", "bbc.com"),
        ("bbcnews-uk.com", "bbc.com"),
        ("breaking-bbc.net", "bbc.com"),
        ("apnews-alert.com", "apnews.com"),
        ("apnewsdaily.org", "apnews.com"),
        ("cnn-breaking.com", "cnn.com"),
        ("dailymail-uk.com", "dailymail.co.uk"),
    ],
)
def test_combosquat(index, domain, imitates):
    m = one(index, domain)
    assert m.technique == "combosquat"
    assert m.imitates == imitates or (imitates == "bbc.com" and m.imitates == "bbc.co.uk")
    assert "combined with" in m.detail


def test_combosquat_detail_shows_raw_words(index):
    m = one(index, "nytimes-news.com")
    assert m.detail == "'nytimes' combined with '-news'"
    m = one(index, "reutersmedia.net")
    assert m.detail.startswith("'reuters' combined with 'media'")


def test_short_label_combos_need_separator_or_listed_word(index):
    assert index.check("bbcx.com") is None  # no separator, not a listed word
    assert index.check("cnnxyz.com") is None
    assert one(index, "bbc-xyz.com").technique == "combosquat"  # separator
    assert one(index, "cnnlive.com").technique == "combosquat"  # listed word
    # two-letter labels only with a listed word
    assert index.check("ft-tools.com") is None
    assert index.check("dwx.com") is None
    assert one(index, "ft-news.com").imitates == "ft.com"


# --------------------------------------------------------------------------- subdomain tricks


@pytest.mark.parametrize(
    "domain, imitates, real",
    [
        ("reuters.com.press-desk.net", "reuters.com", "press-desk.net"),
        ("login.microsoft.com-secure.info", "microsoft.com", "com-secure.info"),
        ("nytimes.com.account-verify.io", "nytimes.com", "account-verify.io"),
        ("www.washingtonpost.com-update.info", "washingtonpost.com", "com-update.info"),
        ("theguardian.com.mailer.example.org", "theguardian.com", "example.org"),
        ("bbc.co.uk.news-alerts.net", "bbc.co.uk", "news-alerts.net"),
        ("apnews.com.secure-mail.xyz", "apnews.com", "secure-mail.xyz"),
    ],
)
def test_subdomain(index, domain, imitates, real):
    m = one(index, domain)
    assert (m.imitates, m.technique) == (imitates, "subdomain")
    assert real in m.detail


def test_subdomain_detail(index):
    m = one(index, "reuters.com.press-desk.net")
    assert m.detail == "'reuters.com' used as a subdomain of press-desk.net"


def test_subdomain_label_only(index):
    m = one(index, "nytimes.press-desk.net")
    assert (m.imitates, m.technique) == ("nytimes.com", "subdomain")
    assert m.detail == "'nytimes' used as a subdomain of press-desk.net"
    # ... but not a tenant name on a hosting domain that looks like nothing in particular
    assert index.check("reuters.iheart.com") is None


# --------------------------------------------------------------------------- TLD swaps


@pytest.mark.parametrize(
    "domain, imitates",
    [
        ("apnews.org", "apnews.com"),
        ("nytimes.co", "nytimes.com"),
        ("reuters.net", "reuters.com"),
        ("washingtonpost.news", "washingtonpost.com"),
        ("theguardian.co.uk", "theguardian.com"),
        ("nytimes.com.co", "nytimes.com"),
        ("www.reuters.info", "reuters.com"),
    ],
)
def test_tld_swap(index, domain, imitates):
    m = one(index, domain)
    assert (m.imitates, m.technique) == (imitates, "tld_swap")
    assert "instead of .com" in m.detail


def test_tld_swap_short_and_two_letter(index):
    assert one(index, "bbc.net").technique == "tld_swap"
    assert index.check("ft.org") is None  # two letters: too many real sites
    assert index.check("dw.de") is None


# --------------------------------------------------------------------------- edit distance


@pytest.mark.parametrize(
    "domain, imitates, distance, words",
    [
        ("nytmes.com", "nytimes.com", 1, "omitted"),
        ("nytimse.com", "nytimes.com", 1, "transposed"),
        ("nyttimes.com", "nytimes.com", 1, "repeated"),
        ("reutets.com", "reuters.com", 1, "neighbouring key"),
        ("reutirs.com", "reuters.com", 1, "vowel"),
        ("reuter.com", "reuters.com", 1, "omitted"),
        ("washingtonpots.com", "washingtonpost.com", 1, "transposed"),
        ("washimgtonpost.com", "washingtonpost.com", 1, "neighbouring key"),
        ("washlngtonpost.com", "washingtonpost.com", 1, "reads alike"),
        ("washingtnpots.com", "washingtonpost.com", 2, "omitted"),
        ("theguardain.com", "theguardian.com", 1, "transposed"),
        ("theguardiann.com", "theguardian.com", 1, "repeated"),
        ("washington-post.com", "washingtonpost.com", 1, "hyphen inserted"),
        ("theguardian.co", "theguardian.com", None, None),  # tld swap, see above
    ],
)
def test_edit_distance(index, domain, imitates, distance, words):
    m = one(index, domain)
    assert m.imitates == imitates
    if distance is None:
        return
    assert (m.technique, m.distance) == ("edit_distance", distance)
    assert words in m.detail


@pytest.mark.parametrize(
    "domain, imitates, words",
    [
        ("rnicrosoft.com", "microsoft.com", "'rn' in place of 'm'"),
        ("nytirnes.com", "nytimes.com", "'rn' in place of 'm'"),
        ("micr0soft.com", "microsoft.com", "'0' in place of 'o'"),
        ("reuters-vv.com", None, None),
    ],
)
def test_ascii_lookalike_spellings(index, domain, imitates, words):
    m = index.check(domain)
    if imitates is None:
        return
    assert m is not None and (m.imitates, m.technique, m.distance) == (
        imitates, "edit_distance", 0)
    assert words in m.detail and "reads alike" in m.detail


def test_edit_distance_budget_scales_with_length(index):
    assert index.check("nytmse.com") is None  # 2 edits on a 7-letter label
    assert index.check("cnm.com") is None  # short labels: no typos at all
    assert index.check("bbd.co.uk") is None
    assert index.check("nkh.or.jp") is None
    assert index.check("reuter.de") is None  # 1 edit AND another suffix on a 7-letter label
    m = one(index, "washingtonpos.net")  # 14 letters: 1 edit plus another suffix is fine
    assert (m.imitates, m.technique) == ("washingtonpost.com", "edit_distance")


def test_a_listed_word_is_not_a_typo():
    idx = LookalikeIndex([("eonline.com", "eonline"), ("emails.com", "x")])
    assert idx.check("online.com") is None
    assert idx.check("email.com") is None
    assert idx.check("eonlne.com") is not None


def test_edit_distance_rejects_non_typos(index):
    assert index.check("reutxrs.com") is None  # x is neither a neighbour of e nor a vowel
    assert index.check("reuters2.com") is None  # digits are not typos


# --------------------------------------------------------------------------- near misses


@pytest.mark.parametrize(
    "domain",
    [
        "google.com", "gmail.com", "yahoo.com", "github.com", "amazon.com", "apple.com",
        "times.com", "timesofindia.com", "indiatimes.com", "thetimes.co.uk", "latimes.com",
        "bbc.co.uk", "news.bbc.co.uk", "www.bbc.com", "nytimes.com", "www.nytimes.com",
        "static01.nyt.com", "nyt.com", "cnbc.com", "cnn.com", "edition.cnn.com", "reuters.com",
        "reuter.de", "bbb.org", "bc.com", "abc.com", "nbc.com", "ftc.gov", "dwell.com",
        "cnn2.com", "worldnews.com", "usnews.com", "dailynews.com", "newsmail.com",
        "microsoftonline.com", "wordpress.com", "apple.news", "guardian.ng",
        "washington.edu", "post.ch", "theatlantic.com", "the-guardian-angels.org",
        "abc-supply.com", "express-scripts.com",
    ],
)
def test_near_misses_stay_quiet(index, domain):
    assert index.check(domain) is None, index.check_all(domain)


@pytest.mark.parametrize(
    "domain",
    ["", "   ", ".", "com", "co.uk", "localhost", "192.168.0.1", "[::1]", "10.0.0.1:8080",
     "https://www.reuters.com/world/", "REUTERS.COM.", "user@nytimes.com", "nytimes.com:443",
     "http://[2001:db8::1]/x"],
)
def test_legitimate_or_unparseable_input(index, domain):
    assert index.check(domain) is None
    assert index.check_all(domain) == []


def test_other_protected_domain_is_never_a_lookalike():
    idx = LookalikeIndex([("cnn.com", "cnn"), ("cnbc.com", "cnbc"), ("reuters.com", "reuters"),
                          ("reuters.tv", "reuters")])
    assert idx.check("cnbc.com") is None
    assert idx.check("reuters.tv") is None
    assert idx.check("www.reuters.tv") is None


def test_same_owner_domains_are_legitimate(index):
    assert index.check("nyt.com") is None
    assert index.check("www.nyt.com") is None
    assert index.check("ap.org") is None


def test_thetimes_is_not_nytimes_even_unprotected():
    idx = LookalikeIndex([("nytimes.com", "nytimes")])
    for d in ("thetimes.co.uk", "times.com", "timesofindia.com", "nytime.org"):
        assert idx.check(d) is None, (d, idx.check_all(d))


# --------------------------------------------------------------------------- API details


def test_check_all_best_first(index):
    all_ = index.check_all("ap-news.com")
    assert all_ and all_[0] == index.check("ap-news.com")
    assert {m.imitates for m in all_} >= {"apnews.com"}
    assert all_[0].imitates == "apnews.com"
    assert all(isinstance(m, LookalikeMatch) for m in all_)
    assert all(m.technique in la.TECHNIQUES for m in all_)


def test_check_all_returns_a_fresh_list(index):
    a = index.check_all("nytimes-news.com")
    a.clear()
    assert index.check_all("nytimes-news.com")


def test_match_is_frozen(index):
    m = one(index, "nytmes.com")
    with pytest.raises(AttributeError):
        m.imitates = "x"  # type: ignore[misc]


def test_domain_is_lowercased_and_decoded(index):
    a_label = idna.encode(f"nyt{CYR_I}mes").decode()
    m = one(index, f"  {a_label.upper()}.COM.  ")
    assert m.domain == f"nyt{CYR_I}mes.com"
    m = one(index, "NYTIMES-NEWS.COM")
    assert m.domain == "nytimes-news.com"


def test_protected_given_in_punycode_or_unicode():
    idx = LookalikeIndex([("xn--mnchen-3ya.de", "muenchen"), ("reuters.com", None)])
    assert idx.check("münchen.de") is None
    assert idx.check("xn--mnchen-3ya.de") is None
    m = idx.check("reuters-news.com")
    assert m is not None and m.owner is None


def test_skeleton():
    assert la.skeleton(f"r{CYR_E}ut{CYR_E}rs") == "reuters"
    assert la.skeleton("rnicrosoft") == "microsoft"
    assert la.skeleton("g00gle") == "google"
    assert la.skeleton("reut\u00e9rs") == "reuters"


def test_no_network_needed(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from publicsuffixlist import PublicSuffixList

    assert PublicSuffixList().publicsuffix("a.co.uk") == "co.uk"  # the bundled suffix list loads offline
    confusables._confusables.cache_clear()
    idx = LookalikeIndex(PROTECTED)
    assert idx.check(f"nyt{CYR_I}mes.com").technique == "homoglyph"


def test_confusables_data_shipped_with_licence():
    data = Path(confusables.__file__).resolve().parent.parent.parent / "data"
    head = (data / "confusables.txt").read_text(encoding="utf-8-sig")[:400]
    assert "confusables.txt" in head and "Unicode" in head
    licence = (data / "LICENSES" / "Unicode-DFS-2016.txt").read_text(encoding="utf-8")
    assert "UNICODE, INC. LICENSE AGREEMENT" in licence
    assert len(confusables._confusables()) > 6000


# --------------------------------------------------------------------------- index vs brute force


def _names(rng: random.Random, n: int) -> list[str]:
    syll = ("ka ri to ne mo sa lu vex dor pin tal gra hel bur ston field wick ham ley port "
            "ville gaz ette trib une her ald cour ier").split()
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(syll) for _ in range(rng.randint(2, 5))))
    return sorted(out)


def _typo(rng: random.Random, s: str) -> str:
    kind = rng.randrange(4)
    i = rng.randrange(len(s) - 1)
    if kind == 0:
        return s[:i] + s[i + 1:]  # omission
    if kind == 1:
        return s[:i] + s[i] + s[i:]  # repetition
    if kind == 2:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]  # transposition
    c = s[i]
    return s[:i] + (distance._KEYS.get(c, c)[0]) + s[i + 1:]  # keyboard neighbour


def test_index_finds_what_a_full_scan_finds():
    """The prefix deletion index must not lose typos a scan over every label would find."""
    rng = random.Random(20240611)
    names = _names(rng, 400)
    idx = LookalikeIndex((f"{n}.com", n) for n in names)
    by_name = set(names)
    checked = 0
    for name in names:
        if len(name) < 5:
            continue
        typo = _typo(rng, name)
        if len(name) >= 9 and rng.random() < 0.5:
            typo = _typo(rng, typo)
        if typo in by_name or typo == name or len(typo) < 2:
            continue
        expected = {
            f"{n}.com" for n in names
            if distance._budget(n) and distance._osa(la.skeleton(typo), la.skeleton(n), distance._budget(n))
            <= distance._budget(n)
        }
        found = {m.imitates for m in idx.check_all(f"{typo}.com")
                 if m.technique == "edit_distance"}
        # Every edit-distance finding is real, and none is lost unless the edits were
        # judged not to be typos (non-typo letters, two weak edits, a chopped end).
        assert found <= expected
        for d in expected - found:
            n = d[:-4]
            assert distance._judge_edit(n, typo, la.skeleton(n), la.skeleton(typo),
                                  distance._osa(la.skeleton(typo), la.skeleton(n), 2)) is None
        checked += 1
    assert checked > 300
