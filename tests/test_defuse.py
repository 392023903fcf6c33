"""``lurelens defuse`` and the leak report, without a browser: every fetch kind removed, cid:/data:
kept, links rewritten in each mode, headers and MIME structure preserved, and the words a reader sees
kept. The browser proof (zero requests, zero server hits) is in test_defuse_browser.py."""

from __future__ import annotations

import email
import json
from email import policy

import pytest

from defuse_lures import BASE_KIND, KINDS, RECIPIENT, apt31_lure, everything_lure, fill, newsletter_lure, page
from lurelens.render.merge import displayed_html
from lurelens.defuse import HEADER, defuse, visible_words, word_retention
from lurelens.defuse.css import defuse_css, is_remote
from lurelens.defuse.html import defang, remote_references
from lurelens.report.jsonout import verdict_to_dict
from lurelens.report.leaks import open_leaks
from lurelens.testing import MessageBuilder

B = "https://beacon.example.net"


def html_of(raw: bytes) -> str:
    return displayed_html(raw)[0]


def one(markup: str, **kw) -> tuple[str, str]:
    raw = MessageBuilder().header("To", RECIPIENT).html(page(markup, B, **kw)).build()
    return html_of(raw), html_of(defuse(raw).data)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_fetch_kind_is_removed(kind):
    before, after = one(KINDS[kind])
    assert B in before
    assert remote_references(after) == []
    assert B not in after  # not even as text: placeholders name it defanged
    assert word_retention(visible_words(before), visible_words(after)) >= 0.95


def test_base_href_and_body_background_are_removed():
    before, after = one('<p>x</p><img src="rel.png" alt="Rel">', head=BASE_KIND.split("<img")[0],
                        body_attrs=' background="{B}/body.png"')
    assert "<base" in before and "body.png" in before
    assert "<base" not in after and "rel.png" not in after and "[image: Rel]" in after
    assert B not in after and remote_references(after) == []


def test_everything_lure_is_safe_and_readable():
    raw = everything_lure(B)
    res = defuse(raw)
    after = html_of(res.data)
    assert remote_references(after) == [] and B not in after
    assert res.report.fetches >= len(KINDS)
    assert word_retention(visible_words(html_of(raw)), visible_words(after)) >= 0.95


def test_cid_and_data_content_are_kept():
    raw = newsletter_lure(B)
    res = defuse(raw)
    html, cids = displayed_html(res.data)
    assert 'src="cid:logo@news"' in html
    assert "url(data:image/png;base64," in html
    assert "logo@news" in cids  # the related image part is still there
    assert remote_references(html) == []
    assert "[image: Hero]" in html  # a visible remote image becomes its alt text


def test_tracking_pixel_removed_and_counted():
    res = defuse(apt31_lure(B))
    html = html_of(res.data)
    assert "o.gif" not in html and "1x1" not in html
    assert res.report.trackers >= 1
    assert res.report.hosts == {"beacon.example.net": 2}


def test_image_without_alt_gets_a_local_placeholder():
    _before, after = one(KINDS["img_src"])
    assert 'src="data:image/gif;base64,' in after and 'width="300"' in after


def test_headers_kept_and_defused_header_added():
    raw = apt31_lure(B)
    raw = raw.replace(b"Subject:", f"{HEADER}: forged, nothing to see\r\nSubject:".encode(), 1)
    res = defuse(raw)
    orig = email.message_from_bytes(raw, policy=policy.compat32)
    new = email.message_from_bytes(res.data, policy=policy.compat32)
    kept = [(k, v) for k, v in orig.items() if k != HEADER]
    assert [(k, v) for k, v in new.items() if k != HEADER] == kept
    values = new.get_all(HEADER)
    assert len(values) == 1 and "removed=2" in values[0] and "forged" not in values[0]


def test_copy_is_valid_mime_with_the_same_structure():
    for raw in (apt31_lure(B), newsletter_lure(B), everything_lure(B)):
        res = defuse(raw)
        for pol in (policy.compat32, policy.default):
            a = email.message_from_bytes(raw, policy=pol)
            b = email.message_from_bytes(res.data, policy=pol)
            assert [p.get_content_type() for p in a.walk()] == [p.get_content_type() for p in b.walk()]
        new = email.message_from_bytes(res.data, policy=policy.default)
        assert not any(p.defects for p in new.walk())
        for part in new.walk():
            if part.get_content_maintype() == "text":
                assert part.get_content_charset() == "utf-8"
                assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
                part.get_content()  # decodes


def test_non_ascii_text_survives_both_encodings():
    cjk = "東京の記者会見について、ご意見をお聞かせください。" * 20
    for body in ("Grüße aus Zürich — café", cjk):
        raw = MessageBuilder().text(body).html(f"<p>{body}</p><img src='{B}/x.png'>").build()
        new = email.message_from_bytes(defuse(raw).data, policy=policy.default)
        parts = {p.get_content_type(): p for p in new.walk()}
        assert body in parts["text/plain"].get_content()
        assert body in parts["text/html"].get_content()
        enc = parts["text/html"]["Content-Transfer-Encoding"]
        assert enc == ("base64" if body == cjk else "quoted-printable")


def test_banner_in_html_and_text():
    res = defuse(apt31_lure(B))
    new = email.message_from_bytes(res.data, policy=policy.default)
    parts = {p.get_content_type(): p.get_content() for p in new.walk() if p.get_content_maintype() == "text"}
    assert parts["text/plain"].startswith("[Defused copy made by lurelens: 2 remote fetches")
    assert 'id="lurelens-defused"' in parts["text/html"]
    assert "beacon.example.net" in parts["text/html"].split("</div>")[0]


@pytest.mark.parametrize("mode", ["visible", "defang", "warn"])
def test_link_modes(mode):
    raw = apt31_lure(B)
    html = html_of(defuse(raw, links=mode).data)
    words = " ".join(visible_words(html))
    if mode == "visible":
        assert 'href="https://track.example.net/r?u=' in html
        assert "[destination: https://news.example.com/draft (via track.example.net)]" in html
    else:
        assert "track.example.net/r" not in html and "href=" not in html.split("</style>")[-1].split("<a")[1]
        assert "hxxps://news[.]example[.]com/draft (via track[.]example[.]net)" in html
        if mode == "warn":
            assert "link disabled by lurelens" in html
    assert "the draft article" in html and "read the draft" in words


def test_plain_text_urls_defanged_outside_visible_mode():
    raw = apt31_lure(B)
    text = {p.get_content_type(): p.get_content()
            for p in email.message_from_bytes(defuse(raw, links="defang").data, policy=policy.default).walk()
            if p.get_content_maintype() == "text"}["text/plain"]
    assert "hxxps://news[.]example[.]com/draft" in text and "https://news.example.com" not in text


def test_javascript_links_and_handlers_removed():
    _b, after = one('<a href="javascript:alert(1)">x</a><p onclick="x()" onmouseover="y()">p</p><form action="https://p.example.net/post"><input name=q></form>')
    assert "javascript:" not in after and "onclick" not in after and "onmouseover" not in after
    assert "action=" not in after


def test_css_defusing_keeps_local_and_unchanged_sheets_verbatim():
    sheet = ".a{color:red} @media (max-width:600px){.b{margin:0}}"
    assert defuse_css(sheet) == sheet
    out = defuse_css('@namespace svg url(http://www.w3.org/2000/svg); .x{background:#fff url(http://t.example/a.png)}'
                     ' .y{filter:url(#f)} .z{content:"</style><img src=x>";background:url(cid:k)}')
    assert "t.example" not in out and "#fff none" in out and "url(#f)" in out and "url(cid:k)" in out
    assert "</style" not in out  # cannot close the <style> element it is written back into
    assert "@namespace svg url(http://www.w3.org/2000/svg)" in out


def test_text_css_part_is_defused():
    raw = (MessageBuilder().html('<link rel="stylesheet" href="cid:sheet"><p>styled</p>')
           .related("sheet", "text/css", f".p{{background:url({B}/css-part.png)}}".encode()).build())
    res = defuse(raw)
    assert B.encode() not in res.data and res.report.removed["css-url"] == 1


def test_nested_message_is_defused():
    inner = apt31_lure(B)
    outer = (b"From: a@example.com\r\nTo: b@example.org\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
             b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
             b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--o--\r\n")
    res = defuse(outer)
    assert B.encode() not in res.data and res.report.fetches == 2


def test_defusing_twice_changes_nothing_more():
    once = defuse(everything_lure(B)).data
    twice = defuse(once)
    assert twice.report.fetches == 0


@pytest.mark.parametrize("raw", [b"", b"\x00\xff garbage", b"Subject: x\r\nContent-Type: text/html\r\n\r\n<html><img src=http://x.example/a>",
                                 b"Content-Type: text/x-unknown\r\n\r\n<html><img src=http://x.example/a>",
                                 b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n!!not base64"])
def test_odd_input_never_raises(raw):
    res = defuse(raw)
    assert res.data.startswith(f"{HEADER}:".encode()) or HEADER.encode() in res.data
    assert b"x.example/a" not in res.data


def test_defang():
    assert defang("https://evil.example.com/a.b?c=d.e") == "hxxps://evil[.]example[.]com/a.b?c=d.e"
    assert defang("mailto:bob@evil.example") == "mailto[:]bob@evil[.]example"
    assert not is_remote("cid:x") and not is_remote("data:,x") and not is_remote("#top")
    assert is_remote("//evil.example/x") and is_remote("file://host/share") and is_remote("rel.png")


def test_visible_words_and_retention():
    assert visible_words("<head><title>T</title><style>p{}</style></head><p>Hello, <b>World</b></p><script>x</script>") == ["hello", "world"]
    assert word_retention(["a", "b", "b"], ["b", "a"]) == pytest.approx(2 / 3)
    assert word_retention([], []) == 1.0


# -- the leak report ---------------------------------------------------------------------------

def _leaks(raw: bytes, requests=None):
    from lurelens.testing import scan

    v = scan(raw)
    return {h.host: h for h in open_leaks(v.message, requests)}, v


def test_leak_report_ip_ua_time_and_recipient():
    leaks, v = _leaks(apt31_lure(B))
    h = leaks["beacon.example.net"]
    text = " ".join(h.learns)
    assert "IP address" in text and "User-Agent" in text and "time of opening" in text
    assert h.recipient_token == "email:base64" and "which recipient" in text
    assert h.fetches == 2 and h.hidden and h.seen_by == ["static"]
    d = verdict_to_dict(v)
    assert d["open_leaks"][0]["host"] == "beacon.example.net"
    json.dumps(d)


def test_media_queries_reveal_only_when_guarding_a_fetch():
    raw = MessageBuilder().html(page(KINDS["media_queries"], B)).build()
    learns = " ".join(_leaks(raw)[0]["beacon.example.net"].learns)
    assert "dark or light mode" in learns and "printed" in learns and "screen or window size" in learns
    quiet = MessageBuilder().html(page(
        "<style>@media (prefers-color-scheme: dark){.m{color:#fff}} @media (max-width:600px){.m{margin:0}}</style>"
        + fill(KINDS["img_src"], B), B)).build()
    learns = " ".join(_leaks(quiet)[0]["beacon.example.net"].learns)
    assert "dark" not in learns and "size" not in learns


def test_srcset_and_picture_reveal_screen():
    raw = MessageBuilder().html(page(KINDS["img_sizes"] + KINDS["img_srcset"] + KINDS["picture"], B)).build()
    h = _leaks(raw)[0]["beacon.example.net"]
    learns = " ".join(h.learns)
    assert "viewport width" in learns and "pixel density" in learns and "screen or window size" in learns
    assert "media (max-width: 600px)" in h.conditions


def test_rendered_requests_merge_into_leaks():
    reqs = [{"url": f"{B}/o.gif", "host": "beacon.example.net", "type": "image"},
            {"url": "https://hidden.example.org/x.png?u=" + "a" * 5, "host": "hidden.example.org", "type": "image"}]
    leaks, _ = _leaks(apt31_lure(B), reqs)
    assert leaks["beacon.example.net"].seen_by == ["static", "browser"]
    assert leaks["hidden.example.org"].seen_by == ["browser"] and leaks["hidden.example.org"].kinds == ["render:image"]


def test_text_report_has_leak_section():
    from io import StringIO

    from rich.console import Console

    from lurelens.report.text import print_verdict

    _l, v = _leaks(apt31_lure(B))
    buf = StringIO()
    print_verdict(Console(file=buf, width=200), v)
    out = buf.getvalue()
    assert "What opening it tells each host" in out and "which recipient opened it" in out


# -- the command line ------------------------------------------------------------------------

def test_cli_defuse_file_dir_and_stdout(run_cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.eml").write_bytes(apt31_lure(B))
    (src / "b.eml").write_bytes(newsletter_lure(B))
    code, out, err = run_cli(["defuse", src / "a.eml", "-o", tmp_path / "safe.eml"])
    assert code == 0, err
    assert B.encode() not in (tmp_path / "safe.eml").read_bytes() and "removed 2 remote fetches" in out
    code, out, err = run_cli(["defuse", src, "-o", f"{tmp_path / 'outdir'}/", "--json", "--links", "defang"])
    assert code == 0, err
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["fetches_removed"] > 0 for r in rows] == [True, True]
    assert sorted(p.name for p in (tmp_path / "outdir").iterdir()) == ["a.eml", "b.eml"]
    code, out, err = run_cli(["defuse", "-"], stdin=apt31_lure(B))
    assert code == 0 and out.startswith(HEADER) is False and HEADER in out and B not in out


def test_cli_defuse_errors(run_cli, tmp_path):
    p = tmp_path / "a.eml"
    p.write_bytes(apt31_lure(B))
    assert run_cli(["defuse", p, "--links", "nope"])[0] == 2
    code, _out, err = run_cli(["defuse", p, "-o", p])
    assert code == 2 and "overwrite" in err and B.encode() in p.read_bytes()
    code, _out, err = run_cli(["defuse", p, tmp_path / "missing.eml"])
    assert code == 2 and "-o DIR/" in err


def test_cli_render_without_browser_is_a_clear_error(run_cli, tmp_path, monkeypatch):
    p = tmp_path / "a.eml"
    p.write_bytes(apt31_lure(B))
    monkeypatch.setenv("LURELENS_CHROMIUM", str(tmp_path / "no-chromium"))
    for args in (["render", p], ["render", "--json", p], ["scan", "--render", p]):
        code, _out, err = run_cli(args)
        assert code == 2
        assert "install-browser.sh" in err and "Traceback" not in err


def test_outlook_conditional_comments_and_read_receipts():
    vml = ('<!--[if gte mso 9]><v:rect><v:fill type="tile" src="' + B + '/vml.png"/></v:rect><![endif]-->'
           "<!--[if mso]><p>Outlook only text</p><![endif]--><p>Body text</p>")
    raw = MessageBuilder().header("Disposition-Notification-To", "spy@example.net").html(page(vml, B)).build()
    res = defuse(raw)
    assert B.encode() not in res.data and b"Outlook only text" in res.data
    new = email.message_from_bytes(res.data, policy=policy.compat32)
    assert new["Disposition-Notification-To"] is None
    assert new["X-Lurelens-Disabled-Disposition-Notification-To"] == "spy@example.net"
    assert "read-receipt-requests-disabled=1" in new[HEADER]


def test_srcset_urls_with_commas_and_data_candidates():
    _b, after = one('<img src="cid:a" srcset="data:image/png;base64,AAAA 1x, ' + B + '/x,y.png 2x" alt="A">')
    assert 'srcset="data:image/png;base64,AAAA 1x"' in after and B not in after


def test_delivery_status_blocks_are_left_alone():
    raw = (b"From: MAILER-DAEMON@example.org\r\nTo: b@example.org\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
           b"--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
           b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
           b"Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--r--\r\n")
    out = defuse(raw).data
    assert b"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; x@example.net\r\nAction: failed" in out
    assert out.count(b"Defused copy made by lurelens") == 1
