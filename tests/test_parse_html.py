"""lurelens.parse.html: the remote-resource inventory (every fetch an HTML mail client makes on
open), hiding, recipient tokens and links."""

from __future__ import annotations

import base64
import hashlib

import pytest

from lurelens.parse.html import inventory
from lurelens.testing import MessageBuilder


def fetches(html: str) -> list[tuple[str, str]]:
    return [(r.kind, r.url) for r in inventory(html, "1").resources]


def one(html: str):
    res = inventory(html, "1").resources
    assert len(res) == 1, [(r.kind, r.url) for r in res]
    return res[0]


U = "https://a.example.net/r"
V = "https://b.example.net/r"

# -- one test per fetch kind -------------------------------------------------------------------

FETCH_KINDS = [
    ("img-src", f'<img src="{U}.png">', [("img", f"{U}.png")]),
    ("img-srcset", f'<img srcset="{U}1.png 1x, {V}2.png 2x">', [("srcset", f"{U}1.png"), ("srcset", f"{V}2.png")]),
    ("img-srcset-w", f'<img srcset="{U}-320.jpg 320w,{V}-640.jpg 640w" sizes="50vw">',
     [("srcset", f"{U}-320.jpg"), ("srcset", f"{V}-640.jpg")]),
    ("picture-source", f'<picture><source srcset="{U}.webp" type="image/webp"><img src="{V}.png"></picture>',
     [("srcset", f"{U}.webp"), ("img", f"{V}.png")]),
    ("body-background", f'<body background="{U}.png"><p>x</p></body>', [("background", f"{U}.png")]),
    ("table-background", f'<table background="{U}.png"><tr><td>x</td></tr></table>', [("background", f"{U}.png")]),
    ("td-background", f'<table><tr><td background="{U}.png">x</td></tr></table>', [("background", f"{U}.png")]),
    ("inline-style-url", f"<div style=\"background-image:url('{U}.png')\">x</div>", [("css-url", f"{U}.png")]),
    ("inline-style-escaped", '<div style="background:u\\72l(https://a.example.net/e.png)">x</div>',
     [("css-url", "https://a.example.net/e.png")]),
    ("style-rule-matching", f"<style>.hero{{background:url({U}.png)}}</style><div class=hero>x</div>",
     [("css-url", f"{U}.png")]),
    ("style-import-url", f'<style>@import url("{U}.css");</style>', [("css-import", f"{U}.css")]),
    ("style-import-string", f'<style>@import "{U}.css" screen;</style>', [("css-import", f"{U}.css")]),
    ("font-face", f'<style>@font-face{{font-family:F;src:url({U}.woff2) format("woff2")}}</style>',
     [("font", f"{U}.woff2")]),
    ("link-stylesheet", f'<link rel="stylesheet" href="{U}.css">', [("stylesheet", f"{U}.css")]),
    ("link-icon", f'<link rel="icon" href="{U}.ico">', [("icon", f"{U}.ico")]),
    ("link-shortcut-icon", f'<link rel="shortcut icon" href="{U}.ico">', [("icon", f"{U}.ico")]),
    ("link-preload", f'<link rel="preload" as="image" href="{U}.png">', [("preload", f"{U}.png")]),
    ("link-prefetch", f'<link rel="prefetch" href="{U}">', [("prefetch", U)]),
    ("video-poster-src", f'<video poster="{U}.jpg" src="{V}.mp4"></video>', [("poster", f"{U}.jpg"), ("media", f"{V}.mp4")]),
    ("video-source", f'<video><source src="{U}.mp4" type="video/mp4"></video>', [("media", f"{U}.mp4")]),
    ("audio-src", f'<audio src="{U}.mp3"></audio>', [("media", f"{U}.mp3")]),
    ("object-data", f'<object data="{U}.svg"></object>', [("object", f"{U}.svg")]),
    ("embed-src", f'<embed src="{U}.swf">', [("object", f"{U}.swf")]),
    ("iframe-src", f'<iframe src="{U}.html"></iframe>', [("frame", f"{U}.html")]),
    ("input-image", f'<input type="image" src="{U}.png">', [("img", f"{U}.png")]),
    ("meta-refresh", f'<meta http-equiv="refresh" content="0; url={U}">', [("meta-refresh", U)]),
    ("svg-image-href", f'<svg width="10" height="10"><image href="{U}.png" width="10" height="10"/></svg>',
     [("img", f"{U}.png")]),
    ("svg-image-xlink", f'<svg><image xlink:href="{U}.png"/></svg>', [("img", f"{U}.png")]),
    ("scheme-relative", '<img src="//a.example.net/x.png">', [("img", "https://a.example.net/x.png")]),
]


@pytest.mark.parametrize("html, expected", [pytest.param(h, e, id=i) for i, h, e in FETCH_KINDS])
def test_fetch_kind(html, expected):
    assert fetches(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(f"<style>.hero{{background:url({U}.png)}}</style><div class=other>x</div>", id="style-unmatched"),
        pytest.param(f"<style>#nope td{{background:url({U}.png)}}</style><table><tr><td>x</td></tr></table>",
                     id="style-unmatched-descendant"),
        pytest.param(f'<link rel="alternate" href="{U}">', id="link-alternate"),
        pytest.param(f'<link rel="canonical" href="{U}">', id="link-canonical"),
        pytest.param(f'<input type="text" src="{U}.png">', id="input-text"),
        pytest.param(f'<meta http-equiv="content-type" content="text/html; url={U}">', id="meta-not-refresh"),
        pytest.param(f'<a href="{U}">a link is not fetched on open</a>', id="anchor"),
        pytest.param('<img src="cid:logo@example.com">', id="cid"),
        pytest.param('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">', id="data"),
        pytest.param('<div style="background:url(data:image/png;base64,AAAA)">x</div>', id="css-data"),
        pytest.param('<img src="javascript:alert(1)">', id="javascript"),
        pytest.param('<img src="logo.png"><img src="/img/a.png"><td background="bg.png">', id="relative-no-base"),
    ],
)
def test_not_fetched(html):
    assert fetches(html) == []


def test_relative_urls_resolved_against_base():
    html = ('<head><base href="https://cdn.example.com/mail/"></head>'
            '<img src="logo.png"><img src="/abs.png"><style>@import "x.css";</style>')
    got = fetches(html)
    assert ("img", "https://cdn.example.com/mail/logo.png") in got
    assert ("img", "https://cdn.example.com/abs.png") in got
    assert ("css-import", "https://cdn.example.com/mail/x.css") in got
    assert inventory(html).base == "https://cdn.example.com/mail/"


def test_relative_urls_without_base_counted_not_listed():
    inv = inventory('<img src="logo.png"><img src="./x.png">')
    assert inv.resources == [] and inv.relative_skipped == 2


def test_media_condition_recorded():
    r = one(f'<picture><source srcset="{U}.webp" media="(min-width: 600px)"></picture>')
    assert r.condition == "media (min-width: 600px)"
    r = one(f"<style>@media (max-width: 480px) {{ .m {{ background:url({U}.png) }} }}</style><p class=m>x</p>")
    assert r.condition and "max-width: 480px" in r.condition


def test_resource_facts():
    r = one('<p><img src="https://Img.Example.NET:8443/a/b.png?x=1"></p>')
    assert (r.host, r.domain, r.element, r.part) == ("img.example.net", "example.net", "img", "1")


def test_ip_literal_host_is_its_own_domain():
    r = one('<img src="http://192.0.2.5/p.gif">')
    assert (r.host, r.domain) == ("192.0.2.5", "192.0.2.5")


def test_broken_css_does_not_hide_other_fetches():
    got = fetches(f'<style>@import url("{U}.css"; }} {{{{ broken</style><img src="{V}.png">')
    assert ("img", f"{V}.png") in got


# -- hiding ---------------------------------------------------------------------------------------

IMG = f'<img src="{U}.png"'

HIDDEN = [
    ("ancestor-display-none", f'<div style="display:none"><p><span>{IMG}></span></p></div>', "display:none"),
    ("display-none-important", f'{IMG} style="display: none !important">', "display:none"),
    ("visibility-hidden", f'{IMG} style="visibility:hidden">', "visibility:hidden"),
    ("opacity-0", f'{IMG} style="opacity:0">', "opacity:0"),
    ("hidden-attribute", f"<div hidden>{IMG}></div>", "hidden attribute"),
    ("attr-0x0", f'{IMG} width="0" height="0">', "tiny"),
    ("attr-1x1", f'{IMG} width="1" height="1">', "tiny"),
    ("attr-2x2", f'{IMG} width="2" height="2">', "tiny"),
    ("attr-width-1-only", f'{IMG} width="1">', "tiny"),
    ("attr-0-by-300", f'{IMG} width="0" height="300">', "tiny"),
    ("css-1px", f'{IMG} style="width:1px;height:1px">', "tiny"),
    ("css-0", f'{IMG} style="width:0;height:0">', "tiny"),
    ("zero-height-overflow-hidden", f'<div style="height:0;overflow:hidden">{IMG} width="600" height="300"></div>',
     "height:0 with overflow:hidden"),
    ("max-height-0-overflow-hidden", f'<div style="max-height:0px;overflow:hidden">{IMG}></div>', "max-height:0"),
    ("off-screen-absolute", f'<div style="position:absolute;left:-9999px">{IMG} width="100" height="50"></div>',
     "off-screen"),
    ("off-screen-top", f'<div style="position:fixed;top:-2000px">{IMG}></div>', "off-screen"),
    ("class-rule-display-none", f"<style>.preheader{{display:none}}</style><div class=preheader>{IMG}></div>",
     "display:none (class .preheader)"),
    ("id-rule-display-none", f"<style>#pre{{display:none}}</style><div id=pre>{IMG}></div>", "display:none"),
    ("mso-hide-all", f'<div style="mso-hide:all">{IMG}></div>', "mso-hide:all"),
    ("transform-scale-0", f'{IMG} style="transform:scale(0)">', "transform:scale(0)"),
    ("clip-rect-0", f'<div style="position:absolute;clip:rect(0,0,0,0)">{IMG}></div>', "clip"),
]


@pytest.mark.parametrize("html, reason", [pytest.param(h, r, id=i) for i, h, r in HIDDEN])
def test_hidden(html, reason):
    r = one(html)
    assert r.hidden and reason in r.hidden_reason


def test_tiny_flag():
    assert one(f'{IMG} width="1" height="1">').tiny is True
    assert one(f'{IMG} width="100" height="50">').tiny is False


NOT_HIDDEN = [
    ("100x50", f'{IMG} width="100" height="50">'),
    ("3x3", f'{IMG} width="3" height="3">'),
    ("display-block", f'{IMG} style="display:block">'),
    ("ancestor-display-block", f'<div style="display:block">{IMG}></div>'),
    ("opacity-half", f'{IMG} style="opacity:0.5">'),
    ("overflow-hidden-with-height", f'<div style="overflow:hidden;height:200px">{IMG}></div>'),
    ("height-0-no-overflow", f'<div style="height:0">{IMG}></div>'),
    ("absolute-on-screen", f'<div style="position:absolute;left:10px">{IMG}></div>'),
    ("negative-margin-not-positioned", f'<div style="left:-9999px">{IMG}></div>'),
    ("other-class-hidden", f"<style>.pre{{display:none}}</style><div class=content>{IMG}></div>"),
    ("hiding-only-in-media-query",
     f"<style>@media (max-width:480px){{.desk{{display:none}}}}</style><div class=desk>{IMG}></div>"),
    ("percent-width", f'{IMG} width="100%">'),
    ("sibling-hidden", f'<div style="display:none">x</div><div>{IMG}></div>'),
]


@pytest.mark.parametrize("html", [pytest.param(h, id=i) for i, h in NOT_HIDDEN])
def test_not_hidden(html):
    r = one(html)
    assert not r.hidden and r.hidden_reason is None


def test_link_rel_and_meta_are_never_marked_hidden():
    for html in (f'<div style="display:none"><link rel="stylesheet" href="{U}.css"></div>',
                 f'<meta http-equiv="refresh" content="5;URL=\'{U}\'">'):
        assert one(html).hidden is False


# -- recipient tokens (filled by enrich during Scanner.parse) ------------------------------------

RCPT = "Bob.Jones@example.org"
LOW = RCPT.lower()


def tokens(url: str, scanner, to: str = RCPT):
    raw = MessageBuilder().header("To", to).html(f'<img src="{url}" width="1" height="1">').build()
    (r,) = scanner.parse(raw).resources
    return r.recipient_token, r.token_evidence


def _b64_at(prefix: bytes, urlsafe: bool = False) -> str:
    data = prefix + LOW.encode() + b"&campaign=77&t=1"
    enc = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    return enc.decode().rstrip("=")


@pytest.mark.parametrize(
    "url, label",
    [
        pytest.param(f"https://t.example.net/o?e={LOW}", "email:plain", id="plain"),
        pytest.param(f"https://t.example.net/o?e={RCPT.upper()}", "email:plain", id="plain-case"),
        pytest.param(f"https://t.example.net/o/{LOW}/p.gif", "email:plain", id="plain-path"),
        pytest.param(f"https://t.example.net/o?e={LOW.encode().hex()}", "email:hex", id="hex"),
        pytest.param(f"https://t.example.net/o?e={LOW.encode().hex().upper()}", "email:hex", id="hex-upper"),
        pytest.param(f"https://t.example.net/o?h={hashlib.md5(LOW.encode()).hexdigest()}", "email:md5", id="md5"),
        pytest.param(f"https://t.example.net/o?h={hashlib.sha1(LOW.encode()).hexdigest()}", "email:sha1", id="sha1"),
        pytest.param(f"https://t.example.net/o/{hashlib.sha256(LOW.encode()).hexdigest()}.gif", "email:sha256",
                     id="sha256"),
        pytest.param(f"https://t.example.net/o?h={hashlib.md5(RCPT.encode()).hexdigest()}", "email:md5",
                     id="md5-as-written"),
    ],
)
def test_recipient_token(url, label, scanner):
    assert tokens(url, scanner)[0] == label


@pytest.mark.parametrize("prefix", [b"", b"u", b"uid", b"uid=4211;", b"uid=42117&"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_recipient_token_base64_any_alignment(prefix, urlsafe, scanner):
    url = f"https://t.example.net/o/{_b64_at(prefix, urlsafe)}.gif"
    assert tokens(url, scanner)[0] == "email:base64"


def test_recipient_token_base64_in_query(scanner):
    assert tokens(f"https://t.example.net/o?d={_b64_at(b'v=2;')}", scanner)[0] == "email:base64"


def test_recipient_token_urlencoded_is_detected(scanner):
    label, _ = tokens(f"https://t.example.net/o?e={LOW.replace('@', '%40')}", scanner)
    assert label is not None and label.startswith("email:")


def test_recipient_token_urlencoded_label(scanner):
    assert tokens(f"https://t.example.net/o?e={LOW.replace('@', '%40')}", scanner)[0] == "email:urlencoded"


def test_recipient_from_delivered_to(scanner):
    raw = (MessageBuilder().header("To", "undisclosed-recipients:;").header("Delivered-To", "carol@example.org")
           .html('<img src="https://t.example.net/o?e=carol@example.org" width=1 height=1>').build())
    assert scanner.parse(raw).resources[0].recipient_token == "email:plain"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"https://t.example.net/o?h={hashlib.md5(b'carol@example.org').hexdigest()}", id="other-md5"),
        pytest.param("https://t.example.net/o?e=carol%40example.org", id="other-address"),
        pytest.param("https://t.example.net/o?e=bob.jones", id="local-part-only"),
        pytest.param(f"https://t.example.net/o/{base64.b64encode(b'carol.smith@example.org').decode()}", id="other-b64"),
    ],
)
def test_no_recipient_token(url, scanner):
    label, _ = tokens(url, scanner)
    assert label is None or label == "opaque_id"


@pytest.mark.parametrize(
    "url",
    [
        "https://t.example.net/o/a8Fz3kQ9xL2mP7vR4tY6wB1n",
        "https://t.example.net/open?id=Zx81kPq0Lr5Tm2Wn7Yb4Vc9d&v=1",
        "https://t.example.net/o/8f14e45fceea167a5a36dedd4bea2543c0ffee12/p",
    ],
)
def test_opaque_id_on_high_entropy_token(url, scanner):
    label, evidence = tokens(url, scanner)
    assert label == "opaque_id" and len(evidence) >= 16


@pytest.mark.parametrize(
    "url",
    [
        "https://t.example.net/images/logo.png",
        "https://t.example.net/assets/logo.5f3a9c8b7d6e4f2a1b0c.png",  # a hashed asset name
        "https://t.example.net/o/aaaaaaaaaaaaaaaaaaaaaaaa1",  # long but low entropy
        "https://t.example.net/newsletter/november/edition",
        "https://t.example.net/o?id=12345",
    ],
)
def test_no_opaque_id(url, scanner):
    assert tokens(url, scanner)[0] is None


def test_readable_slug_is_not_an_opaque_id(scanner):
    assert tokens("https://t.example.net/campaign/2026-11-10-newsletter", scanner)[0] is None


def test_tokens_looked_for_in_nested_messages(scanner):
    inner = MessageBuilder().header("To", "dave@example.org").html(
        '<img src="https://t.example.net/o?e=dave@example.org" width=1 height=1>').build()
    outer = (b"From: a@example.com\r\nTo: x@example.org\r\nMIME-Version: 1.0\r\n"
             b'Content-Type: multipart/mixed; boundary="Q"\r\n\r\n--Q\r\nContent-Type: message/rfc822\r\n\r\n'
             + inner + b"\r\n--Q--\r\n")
    m = scanner.parse(outer)
    assert m.nested[0].resources[0].recipient_token == "email:plain"


# -- links ------------------------------------------------------------------------------------------


def test_links_collected_with_visible_text():
    inv = inventory(
        '<a href="https://www.example.com/a">  Read\n the <b>draft</b> </a>'
        '<a href="https://www.example.com/b"><img src="cid:x" alt="Logo"></a>'
        '<map><area href="https://www.example.net/area" alt="x"></map>'
        '<form action="https://forms.example.org/submit"><input></form>'
        '<a name="anchor-without-href">x</a>'
    )
    got = [(lk.kind, lk.href, lk.text, lk.host, lk.domain) for lk in inv.links]
    assert got == [
        ("a", "https://www.example.com/a", "Read the draft", "www.example.com", "example.com"),
        ("a", "https://www.example.com/b", "Logo", "www.example.com", "example.com"),
        ("area", "https://www.example.net/area", "", "www.example.net", "example.net"),
        ("form", "https://forms.example.org/submit", "", "forms.example.org", "example.org"),
    ]


def test_link_href_resolved_against_base_and_cleaned():
    inv = inventory('<base href="https://www.example.com/x/"><a href="\n  page\t.html ">p</a>')
    assert inv.links[0].href == "https://www.example.com/x/page.html"


def test_visible_text_excludes_style_script_and_head():
    inv = inventory("<head><title>T</title><style>p{}</style></head><body><script>var a</script><p>Hello  there</p></body>")
    assert inv.visible_text == "Hello there"
    assert inv.title == "T"


def test_huge_html_does_not_raise():
    html = "<div>" * 5000 + IMG + ' width="1" height="1">' + "</div>" * 5000
    r = one(html)
    assert r.hidden
