"""The HTML inventory's speed paths (docs/performance.md, "HTML, CSS and enrich") give exactly what
the plain code they replace gave: the plain forms are kept here as references and compared on every
HTML part of the dev corpus (each set of bench/common.py) and on generated input."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from lurelens.parse import css as cssmod
from lurelens.parse import html as htmlmod
from lurelens.parse.css import SheetInfo, SheetRule, hiding_reason, parse_inline_style

REPO = Path(__file__).resolve().parent.parent

# -- the plain forms, as they were before the fast paths --------------------------------------------


def _ref_strip_blocks(css: str, keyword: str) -> tuple[str, list[str]]:
    out, preludes, pos, low = [], [], 0, css.lower()
    while True:
        i = low.find(keyword, pos)
        if i == -1:
            out.append(css[pos:])
            break
        j = css.find("{", i)
        if j == -1:
            out.append(css[pos:])
            break
        preludes.append(css[i + len(keyword) : j].strip())
        depth, k = 1, j + 1
        while k < len(css) and depth:
            c = css[k]
            depth += c == "{"
            depth -= c == "}"
            k += 1
        out.append(css[pos:i])
        pos = k
    return "".join(out), preludes


def _ref_parse_sheet(css: str, info: SheetInfo | None = None) -> SheetInfo:
    """parse_sheet as it was: the regex hint, the character loop, every simple block read, no cache."""
    info = info or SheetInfo()
    if not cssmod._FETCH_HINT.search(css):
        css = re.sub(r"/\*.*?\*/", " ", css, flags=re.S)
        top, medias = _ref_strip_blocks(css, "@media")
        info.media_queries.extend(medias)
        for m in cssmod._SIMPLE_HIDING.finditer(top):
            if "none" in m.group(2) or "hidden" in m.group(2) or "opacity" in m.group(2) or "mso-hide" in m.group(2):
                decls = {}
                for piece in m.group(2).lower().split(";"):
                    name, sep, value = piece.partition(":")
                    if sep:
                        decls[name.strip()] = value.strip()
                hidden = hiding_reason(decls)
                if hidden:
                    info.rules.append(SheetRule(m.group(1).strip(), [], hidden, None))
        return info
    saved = cssmod._SPLIT_MIN
    cssmod._SPLIT_MIN = 1 << 62  # every sheet parsed whole
    try:
        return cssmod._parse_tokens(css, info)
    finally:
        cssmod._SPLIT_MIN = saved


class _NeverStores(dict):
    def __contains__(self, key) -> bool:
        return False

    def __setitem__(self, key, value) -> None:
        pass


@contextlib.contextmanager
def _plain_forms():
    """inventory() with every fast path swapped for its plain form, inside the block."""
    real_init = htmlmod._Walker.__init__

    def plain_init(self, tree, part):
        real_init(self, tree, part)
        self.style_hiding = _NeverStores()

    with pytest.MonkeyPatch.context() as m:
        m.setattr(htmlmod, "parse_sheet_cached", _ref_parse_sheet)
        m.setattr(htmlmod, "_setup_nodes", htmlmod._setup_nodes_plain)
        m.setattr(htmlmod._Walker, "style", lambda self, s: parse_inline_style(s))
        m.setattr(htmlmod._Walker, "__init__", plain_init)
        yield


# -- every HTML part of the dev corpus ---------------------------------------------------------------


def _corpus_html_parts(corpus: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location("_bench_common", REPO / "bench" / "common.py")
    assert spec and spec.loader
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    from lurelens.parse.mime import parse_message

    parts: list[str] = []
    for _name, folder, _kind in common.SETS:
        for f in common.message_files(corpus, folder):
            msg = parse_message(f.read_bytes())
            parts.extend(h for _p, h in msg.html_parts)
            for nested in msg.nested:
                parts.extend(h for _p, h in nested.html_parts)
    return parts


@pytest.fixture(scope="module")
def corpus_html(corpus) -> list[str]:
    parts = _corpus_html_parts(corpus)
    assert len(parts) > 2000  # the dev corpus holds thousands of HTML parts
    return parts


def test_inventory_same_as_plain_form_on_every_corpus_html_part(corpus_html):
    cssmod._sheet_cache.clear()
    with _plain_forms():
        plain = [dataclasses.asdict(htmlmod.inventory(h, "1")) for h in corpus_html]
    for h, want in zip(corpus_html, plain):
        assert dataclasses.asdict(htmlmod.inventory(h, "1")) == want
    # and again, now that the sheet cache answers
    for h, want in zip(corpus_html[:500], plain):
        assert dataclasses.asdict(htmlmod.inventory(h, "1")) == want


def _ids(nodes) -> list:
    return [None if n is None else n.mem_id for n in nodes]


def test_setup_query_same_as_four_queries_on_every_corpus_html_part(corpus_html):
    for h in corpus_html:
        tree = LexborHTMLParser(h)
        sheets, base, title, removed = htmlmod._setup_nodes(tree)
        p_sheets, p_base, p_title, p_removed = htmlmod._setup_nodes_plain(tree)
        assert sheets == p_sheets
        assert _ids([base, title]) == _ids([p_base, p_title])
        assert _ids(removed) == _ids(p_removed)


def test_style_sheets_same_as_plain_form_on_every_corpus_sheet(corpus_html):
    sheets = {n.text(deep=True) for h in corpus_html for n in LexborHTMLParser(h).css("style")}
    assert len(sheets) > 200
    cssmod._sheet_cache.clear()
    for css in sheets:
        want = dataclasses.asdict(_ref_parse_sheet(css))
        assert cssmod._has_fetch_hint(css) == bool(cssmod._FETCH_HINT.search(css))
        assert dataclasses.asdict(cssmod.parse_sheet(css)) == want
        assert dataclasses.asdict(cssmod.parse_sheet_cached(css, SheetInfo())) == want  # miss
        assert dataclasses.asdict(cssmod.parse_sheet_cached(css, SheetInfo())) == want  # hit
        if cssmod._has_fetch_hint(css):
            assert _tokens(css, 0) == want  # every rule split, whatever the sheet's length


# -- generated input ---------------------------------------------------------------------------------

# Characters that matter to the forms compared: braces, case (ASCII and the non-ASCII letters that
# fold to ASCII under re.I), white space of every kind, and the words the hiding logic reads.
_CSS_ALPHABET = st.sampled_from(list("{}();:,.#@ -_\t\n\r\f\v\x1c\x85\xa0\u2028\u3000/*'\"\\azAZ0")
                                + ["ſ", "K", "İ", "ı", "none", "hidden", "opacity", "mso-hide", "display:",
                                   "visibility:", "@media", "@MEDIA", "url(", "URL(", "@import", "image-set",
                                   "IMAGE-ſET", "@font-face", ".p", "div", "{display:none}"])
_css_text = st.lists(_CSS_ALPHABET, max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(_css_text)
def test_strip_blocks_equals_character_loop(css):
    assert cssmod._strip_blocks(css, "@media") == _ref_strip_blocks(css, "@media")


@settings(max_examples=400, deadline=None)
@given(_css_text)
def test_fetch_hint_equals_regex(css):
    assert cssmod._has_fetch_hint(css) == bool(cssmod._FETCH_HINT.search(css))


@settings(max_examples=400, deadline=None)
@given(_css_text)
def test_parse_sheet_equals_plain_form(css):
    want = dataclasses.asdict(_ref_parse_sheet(css))
    assert dataclasses.asdict(cssmod.parse_sheet(css)) == want
    padded = css + " " * cssmod._SHEET_CACHE_MIN  # long enough for the cache
    want = dataclasses.asdict(_ref_parse_sheet(padded))
    assert dataclasses.asdict(cssmod.parse_sheet_cached(padded, SheetInfo())) == want
    assert dataclasses.asdict(cssmod.parse_sheet_cached(padded, SheetInfo())) == want


_RULE_PIECES = st.sampled_from([
    ".a{color:red}", ".b{display:none}", "p{background:url(http://u.test/p.png)}", "@media (x){.m{color:red}}",
    "@media (y){.n{background:url(http://n.test/n.png)}}", "@import url(http://i.test/i.css);", "@import 'q.css';",
    "@font-face{src:url(f.woff)}", "a;b{visibility:hidden}", "}", "{", "(", ")", "[", "]", ";", "'", '"', "\n",
    "/*", "*/", "url(", "URL( 'x' )", "url(a b)", "url(a{b)", "url(\"q\")", "@", "@x", "@-y", "@1", " ", "\r",
    "\f", "src(", "image-set(", "-url(", "1url(", "#url(", ".c{opacity:0}", "x{mso-hide:all}", "d{overflow:hidden;height:0}",
    "e{position:absolute;left:-999px}", "f{clip:rect(0,0,0,0)}", "g{transform:scale(0)}", "h{color:blue;}", "ſ", "İ",
    "DISPLAY:NONE", "<!--", "-->", "@keyframes k{from{opacity:0}}", "@-webkit-x", "@--v", "@MEDIA", "@supports(",
    "@page{margin:0}", "@font-face{", "@é", "@_u", "@charset 'x';", "\\", "\x00", "{}", "i{background:url('http://q.test/q.png')}"])
_css_rules = st.lists(_RULE_PIECES, max_size=30).map("".join)


def _tokens(css: str, split_min: int) -> dict:
    saved = cssmod._SPLIT_MIN
    cssmod._SPLIT_MIN = split_min
    try:
        return dataclasses.asdict(cssmod._parse_tokens(css, SheetInfo()))
    finally:
        cssmod._SPLIT_MIN = saved


@settings(max_examples=1500, deadline=None)
@given(_css_rules)
def test_rule_split_changes_nothing(css):
    assert _tokens(css, 0) == _tokens(css, 1 << 62)


def test_rule_split_applies_and_drops_rules():
    css = ("p{color:red} .h{display:none} q{margin:0} i{background:url(http://x.test/i.png)} @media (x){r{color:red}"
           " .m{visibility:hidden}} @keyframes k{from{opacity:0}} @font-face{src:url(f.woff)} @-ms-viewport{width:1px}")
    kept = cssmod._relevant_rules(css)
    assert kept == (" .h{display:none} i{background:url(http://x.test/i.png)} @media (x){"
                    " .m{visibility:hidden}} @font-face{src:url(f.woff)}")
    assert cssmod._relevant_rules("a{b:c\\}") is None  # escapes: parsed whole


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_whitespace_join_equals_regex(text):
    assert " ".join(text.split()) == re.sub(r"\s+", " ", text).strip()


_TAGS = ["<div>", "</div>", "<p style='display:none'>", "<span style=\"color:red\">", "</span>", "</p>",
         "<img src='http://t.test/p.gif' width=1 height=1 style='width:1px'>", "<a href='http://l.test/'>",
         "</a>", "<style>.h{display:none} @media (x){.m{color:red}}</style>", "<td style='font-size:0'>",
         "<img src='http://i.test/a.png' style='width:1px;height:1px'>", "<div class=h>", "text", " \u00a0 ",
         "<div style='background:url(http://b.test/b.png)'>", "<div hidden>", "<textarea>", "</textarea>",
         "<base href='http://base.test/d/'>", "<base>", "<title>T</title>", "<TITLE>u", "<head>", "</head>",
         "<svg><title>s</title><style>.x{display:none}</style><image href='i.png'/></svg>", "<math><style>",
         "<template><style>.t{display:none}</style><img src='http://t.test/t'></template>", "<script>x</script>",
         "<STYLE>.h{visibility:hidden}</STYLE>", "<noframes>nf</noframes>", "<a href='x'>", "<img src='r.gif'>"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TAGS), max_size=40).map("".join))
def test_inventory_equals_plain_form_on_generated_html(html):
    fast = dataclasses.asdict(htmlmod.inventory(html, "1"))
    with _plain_forms():
        plain = dataclasses.asdict(htmlmod.inventory(html, "1"))
    assert fast == plain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TAGS), max_size=40).map("".join))
def test_setup_query_equals_four_queries_on_generated_html(html):
    tree = LexborHTMLParser(html)
    sheets, base, title, removed = htmlmod._setup_nodes(tree)
    p_sheets, p_base, p_title, p_removed = htmlmod._setup_nodes_plain(tree)
    assert (sheets, _ids([base, title]), _ids(removed)) == (p_sheets, _ids([p_base, p_title]), _ids(p_removed))


_URL_TEXT = st.lists(st.sampled_from(list("\t\n\r \x00\x01\x0b\x0c\x0e\x0f\x1f/:.?#ah") + ["//", "http://", "x.test"]),
                     max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(_URL_TEXT, st.sampled_from([None, "", "http://base.test/d/", "https://b.test"]))
def test_clean_attr_url_and_resolve_equal_plain_forms(url, base):
    from lurelens.parse import urls

    plain = re.sub(r"[\t\n\r]", "", url).strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f")
    assert urls.clean_attr_url(url) == plain
    assert urls.clean_attr_url(plain) == plain  # so resolve_clean may skip it
    assert urls.resolve(url, base) == urls.resolve_clean(plain, base)
