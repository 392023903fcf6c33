"""The speed rewrites give exactly what the plain code they replace gave (docs/performance.md):
each fast path is compared with the straightforward form on random and tricky inputs."""

from __future__ import annotations

import random
import re

import pytest

from lurelens.parse.text import email_matches


@pytest.mark.parametrize("min_local", [1, 2])
def test_email_matches_equals_finditer(min_local):
    plain = re.compile(rf"[\w.+\-]{{{min_local},64}}@([\w\-]+(?:\.[\w\-]+)+)")
    rnd = random.Random(min_local)
    texts = ["x" * 100 + "@a.com " + "y" * 64 + "@b.org " + "z" * 65 + "@c.net a@b.c @d.e",
             "write to me: jane.doe+x@mail.example.com, or b@c", "@@a.b a@@b.c é@ü.de _@_._"]
    texts += ["".join(rnd.choice("ab.+-_@ é1\n") for _ in range(rnd.randint(0, 90))) for _ in range(20000)]
    for t in texts:
        want = [(m.start(), m.group(0), m.group(1)) for m in plain.finditer(t)]
        assert list(email_matches(t, min_local)) == want, t


def _sheet_cases() -> list[str]:
    rnd = random.Random(7)
    b64 = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(3000))
    hid = b64[:700] + "hiddenCLIP" + b64[700:1400] + "=="
    data = f"data:image/png;base64,{b64}"
    return [
        f".a{{background:url({data})}} .b{{display:none}} @import url(http://x.test/i.css);",
        f".a{{background-image: url('{data}')}} img.t{{width:1px}} .c{{background:url(https://t.test/p.gif)}}",
        f'@font-face{{font-family:x;src:url("{data}") format("woff"), url(https://f.test/a.woff)}}',
        f"@media (min-width:600px){{.m{{background:URL( {data} )}} .n{{background:url(https://m.test/n.png)}}}}",
        f'a[href="url({data})"]{{background:url(https://s.test/s.png)}}',
        f".o{{overflow:url(data:{hid});height:0;background:url(https://o.test/o.png)}}",
        f".e{{background:\\a url({data})}} .f{{background:-url({data}) url(https://e.test/e.png)}}",
        f"/* url({data}) */ .g{{background:url({data}x\\29)}} .h{{background:url(https://h.test/h.png)}}",
        f'.i{{background:url("{data}\nbroken")}} .j{{content:"url({data}"; background:url(https://j.test/j.png)}}',
        f".k{{background:url({data}", f".l{{background:url('{data}",
    ]


@pytest.mark.parametrize("css", _sheet_cases())
def test_style_sheet_data_uri_cut_changes_nothing(css, monkeypatch):
    import dataclasses

    from lurelens.parse import css as cssmod

    fast = dataclasses.asdict(cssmod.parse_sheet(css))
    monkeypatch.setattr(cssmod, "_cut_data_uris", lambda s: (s, None))
    assert dataclasses.asdict(cssmod.parse_sheet(css)) == fast


def test_style_sheet_data_uri_cut_applies_to_the_common_forms():
    from lurelens.parse import css as cssmod

    for css in _sheet_cases()[:4]:
        cut, cuts = cssmod._cut_data_uris(css)
        assert cuts and len(cut) < len(css) / 2


def test_style_sheet_cache_gives_what_a_fresh_parse_gives():
    import dataclasses

    from lurelens.parse import css as cssmod

    for css in _sheet_cases():
        css = css + " .pad{color:red}" * 200  # above the cache's size floor
        want = dataclasses.asdict(cssmod.parse_sheet(css, cssmod.SheetInfo(media_queries=["before"])))
        for _ in range(2):  # a miss, then a hit
            got = cssmod.parse_sheet_cached(css, cssmod.SheetInfo(media_queries=["before"]))
            assert dataclasses.asdict(got) == want


def test_header_block_end_and_line_split_equal_the_regexes():
    from lurelens.parse.author import _blank_line

    blank = re.compile(rb"\r?\n\r?\n")
    rnd = random.Random(11)
    for _ in range(30000):
        raw = bytes(rnd.choice(b"ab:\r\n \t") for _ in range(rnd.randint(0, 30)))
        m = blank.search(raw)
        assert _blank_line(raw) == (m.start() if m else -1), raw
        text = raw.decode()
        assert text.replace("\r\n", "\n").split("\n") == re.split(r"\r?\n", text), raw


def test_expanded_lure_phrases_match_as_the_plain_alternation():
    from lurelens.registry.data import DataRegistry, load_json
    from lurelens.registry.phrases import expand

    assert expand("(?:your )?account (?:has been|was)") == ["(?:your )account (?:has been|was)", "account (?:has been|was)"]
    assert expand("(?:a|b)?c|d") == ["ac", "bc", "c", "d"]
    cats: dict[str, list[str]] = {}
    for _src, doc in load_json("lure_phrases.json", None):
        for cat, pats in doc.get("categories", {}).items():
            cats.setdefault(cat, []).extend(pats)
    body = "|".join(f"(?P<g{i}>" + "|".join(f"(?:{p})" for p in pats) + ")" for i, pats in enumerate(cats.values()))
    plain = re.compile(r"(?<!\w)(?:" + body + r")(?!\w|['’]t\b)")
    scanner = DataRegistry().lure_scanner
    names = list(cats)
    # Texts made of the phrases' own words, so that phrases match, overlap and nearly match.
    words = re.findall(r"[^\W\d_]+|\d+|[$€,.+]", " ".join(p for pats in cats.values() for p in pats))
    rnd = random.Random(5)
    for _ in range(5000):
        t = " ".join(rnd.choice(words) + rnd.choice(["", "", " ", ",", "'t", "s", "1"]) for _ in range(rnd.randint(1, 14)))
        want = [(names[int(m.lastgroup[1:])], m.span()) for m in plain.finditer(t)]
        assert [(cat, m.span()) for cat, m in scanner.finditer(t)] == want, t


def test_unfold_equals_the_crlf_aware_substitution():
    from lurelens.parse.headers import unfold

    fold = re.compile(r"\r?\n[ \t]+")
    rnd = random.Random(13)
    for _ in range(30000):
        v = "".join(rnd.choice("ab \t\r\n") for _ in range(rnd.randint(0, 20)))
        assert unfold(v) == fold.sub(" ", v).replace("\r", "").replace("\n", ""), repr(v)
