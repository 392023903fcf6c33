"""HTML without remote fetches, for the defused copy: tracking images removed, other remote images
replaced by their alt text or a local placeholder, frames, scripts, remote style sheets, fonts, media,
refreshes and ``<base>`` removed, CSS defused, and links shown, defanged or disabled.

Edited in place with selectolax (lexbor, an HTML5 parser that reads markup as Chromium does, with
scripting off, so ``<noscript>`` content is seen as elements). ``remote_references`` re-reads the
result to prove nothing remote is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from selectolax.lexbor import LexborHTMLParser

from lurelens.parse.html import inventory
from lurelens.parse.srcset import srcset_candidates, srcset_urls
from lurelens.parse.urls import clean_attr_url, resolve, scheme_of, split_url
from lurelens.defuse.css import css_remote_urls, defuse_css, defuse_data_css, defuse_style_attr, is_remote

__all__ = ["LINK_MODES", "HtmlContext", "defuse_html", "remote_references", "defang"]

LINK_MODES = ("visible", "defang", "warn")
PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
_DROP = "script, template, iframe, frame, frameset, embed, bgsound, base, portal, fencedframe"
_UNWRAP = "object, applet"
_ATTRS_DROP = ("background", "poster", "lowsrc", "dynsrc", "longdesc", "codebase", "archive", "manifest", "profile")
_ALWAYS_DROP = ("ping", "action", "formaction")
_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
_URL_TEXT = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*://|www\.)\S+\s*$", re.I)
_TEXT_URL = re.compile(r"\b(?:https?|ftps?)://[^\s<>\"']+|\bwww\.[a-z0-9\-]+\.[^\s<>\"']+", re.I)
_CONDITIONAL = re.compile(r"<!--\s*\[if", re.I)
_CC_FETCH = re.compile(r"src|href|url\s*\(|background|@import|<link|<style", re.I)
_BANNER_STYLE = ("border:1px solid #b58900;background:#fdf6e3;color:#222;padding:6px 10px;margin:0 0 12px 0;"
                 "font:13px/1.4 sans-serif")
_NOTE_STYLE = "color:#6c5700;font-size:90%"


def defang(url: str) -> str:
    """hxxps://evil[.]example/path: readable, not clickable, not auto-linked."""
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):(//)?([^/?#]*)(.*)$", url, re.S)
    if not m:
        return url.replace(".", "[.]")
    scheme, slashes, host, rest = m.groups()
    scheme = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps"}.get(scheme.lower(), scheme)
    return f"{scheme}{'[:]' if not slashes else ':'}{slashes or ''}{host.replace('.', '[.]')}{rest}"


def defang_text(text: str) -> str:
    return _TEXT_URL.sub(lambda m: defang(m.group(0)), text)


@dataclass
class HtmlContext:
    """What the defuser needs besides the HTML: link mode, and how to tell a tracker (``is_tracker``
    gets a resolved URL and answers with a reason or None) and a redirect's destination."""

    links: str = "visible"
    is_tracker: Callable[[str], str | None] = lambda url: None
    destination: Callable[[str], str | None] = lambda url: None
    banner: str | None = None  # plain text; None: no banner
    record: Callable[[str, str, bool], None] = lambda url, kind, tracker: None
    other: dict[str, int] = field(default_factory=dict)  # non-fetch changes: links, scripts, handlers

    def note(self, what: str, n: int = 1) -> None:
        self.other[what] = self.other.get(what, 0) + n


def _new(tree: LexborHTMLParser, tag: str, text: str, style: str | None = None, **attrs: str) -> Any:
    node = tree.create_node(tag)
    if style:
        node.attrs["style"] = style
    for k, v in attrs.items():
        node.attrs[k] = v
    node.insert_child(text)
    return node


class _Defuser:
    def __init__(self, tree: LexborHTMLParser, ctx: HtmlContext, html: str):
        self.tree, self.ctx, self.html = tree, ctx, html
        base = tree.css_first("base[href]")
        href = clean_attr_url(base.attributes.get("href") or "") if base is not None else ""
        self.base = href if split_url(href) else None
        self._hidden: dict[str, str] | None = None

    @property
    def hidden(self) -> dict[str, str]:
        """URL -> why it is hidden or tiny, as the scanner's inventory sees it (built on first need)."""
        if self._hidden is None:
            self._hidden = {r.url: r.hidden_reason or "tiny" for r in inventory(self.html).resources
                            if r.hidden or r.tiny}
        return self._hidden

    def rec(self, url: str, kind: str, tracker: bool = False) -> None:
        self.ctx.record(resolve(url, self.base), kind, tracker)

    def listed(self, url: str) -> bool:
        return bool(self.ctx.is_tracker(resolve(url, self.base)))

    def tracking(self, url: str) -> bool:
        full = resolve(url, self.base)
        return full in self.hidden or bool(self.ctx.is_tracker(full))

    def run(self) -> None:
        t = self.tree
        for node in reversed(t.css(_DROP)):
            src = node.attributes.get("src") or node.attributes.get("href")
            if src and is_remote(src):
                self.rec(src, "frame" if node.tag in ("iframe", "frame", "portal", "fencedframe") else (node.tag or ""))
                if node.tag in ("iframe", "frame"):
                    node.insert_before(_new(t, "span", f"[embedded web page removed: {defang(src)[:120]}]",
                                            _NOTE_STYLE))
            elif node.tag == "script":
                self.ctx.note("scripts removed")
            if node.attributes.get("srcdoc"):  # a whole document in an attribute, fetches and all
                for u in remote_references(node.attributes["srcdoc"] or ""):
                    self.rec(u, "frame")
            node.decompose()
        for node in reversed(t.css(_UNWRAP)):
            data = node.attributes.get("data") or node.attributes.get("code") or ""
            if data and is_remote(data):
                self.rec(data, "object")
            node.unwrap(delete_empty=True)  # the fallback content inside is what a blocked client shows
        for node in reversed(t.css("param")):
            node.decompose()
        self.meta()
        self.link_elements()
        for node in t.css("style"):
            self.style_element(node)
        for node in t.css('[style*="("]'):
            style = node.attributes.get("style") or ""
            new = defuse_style_attr(style, lambda u, k: self.rec(u, k, self.tracking(u)))
            if new != style:
                node.attrs["style"] = new
        for node in reversed(t.css("img")):
            self.img(node)
        self.media()
        for name in _ATTRS_DROP:
            for node in t.css(f"[{name}]"):
                value = node.attributes.get(name) or ""
                if is_remote(value):
                    if name in ("background", "poster"):
                        self.rec(value, name, self.tracking(value))
                    del node.attrs[name]
        for name in _ALWAYS_DROP:
            for node in t.css(f"[{name}]"):
                self.ctx.note("forms disabled" if "action" in name else "pings removed")
                del node.attrs[name]
        if "<svg" in self.html.lower() or "<math" in self.html.lower():
            self.foreign()
        self.links()
        if _HANDLER.search(self.html):
            self.handlers()
        if _CONDITIONAL.search(self.html):
            for node in reversed(_conditional_comments(self.tree)):
                self.ctx.note("Outlook-only conditional comments removed")
                node.decompose()
        if self.ctx.banner is not None:
            self.add_banner()

    def meta(self) -> None:
        for node in reversed(self.tree.css("meta")):
            attrs = node.attributes
            equiv = (attrs.get("http-equiv") or "").strip().lower()
            if equiv in ("refresh", "link", "set-cookie", "content-security-policy-report-only"):
                m = re.search(r"url\s*=\s*['\"]?([^'\"\s>]+)", attrs.get("content") or "", re.I)
                if m and is_remote(m.group(1)):
                    self.rec(m.group(1), "meta-refresh")
                node.decompose()
            elif equiv == "content-type":
                node.attrs["content"] = "text/html; charset=utf-8"
            elif "charset" in attrs:
                node.attrs["charset"] = "utf-8"

    def link_elements(self) -> None:
        for node in reversed(self.tree.css("link")):
            attrs = node.attributes
            href = attrs.get("href") or ""
            rels = (attrs.get("rel") or "").lower().split()
            remote_set = [u for u in srcset_urls(attrs.get("imagesrcset") or "") if is_remote(u)]
            if is_remote(href) or remote_set:
                for u in ([href] if is_remote(href) else []) + remote_set:
                    self.rec(u, rels[0] if rels else "link")
                node.decompose()
            elif "stylesheet" in rels and scheme_of(clean_attr_url(href)) == "data":
                new = defuse_data_css(href, lambda u, k: self.rec(u, k))
                if new is None:
                    node.decompose()
                elif new != href:
                    node.attrs["href"] = new

    def style_element(self, node: Any) -> None:
        css = node.text(deep=True)
        new = defuse_css(css, lambda u, k: self.rec(u, k, self.listed(u)))
        if new != css:
            for child in list(node.iter(include_text=True)):
                child.decompose()
            node.insert_child(new)

    def filter_srcset(self, node: Any, attr: str) -> list[str]:
        """Drop remote candidates from a srcset; return the dropped URLs."""
        value = node.attributes.get(attr)
        if not value:
            return []
        cands = srcset_candidates(value)
        keep = [f"{u} {d}".strip() for u, d in cands if not is_remote(u)]
        dropped = [u for u, _d in cands if is_remote(u)]
        if dropped:
            if keep:
                node.attrs[attr] = ", ".join(keep)
            else:
                del node.attrs[attr]
        return dropped

    def img(self, node: Any) -> None:
        attrs = node.attributes
        src = attrs.get("src") or ""
        remote_src = is_remote(src)
        urls = ([src] if remote_src else []) + [u for u in srcset_urls(attrs.get("srcset") or "") if is_remote(u)]
        if not urls:
            return
        tracker = any(self.tracking(u) for u in urls)
        for i, u in enumerate(urls):
            self.rec(u, "img" if (remote_src and i == 0) else "srcset", tracker)
        if tracker:
            node.decompose()
            return
        self.filter_srcset(node, "srcset")
        if not remote_src:
            return
        alt = " ".join((attrs.get("alt") or "").split())
        if alt:
            node.insert_before(_new(self.tree, "span", f"[image: {alt}]", _NOTE_STYLE))
            node.decompose()
        else:
            node.attrs["src"] = PLACEHOLDER
            node.attrs["title"] = f"remote image removed by lurelens ({defang(src)[:100]})"

    def media(self) -> None:
        t = self.tree
        for node in reversed(t.css("source, track")):
            src = node.attributes.get("src") or ""
            dropped = self.filter_srcset(node, "srcset")
            for u in dropped:
                self.rec(u, "srcset", self.tracking(u))
            if is_remote(src):
                self.rec(src, "media")
            if is_remote(src) or (dropped and "srcset" not in node.attributes):
                node.decompose()
        for node in t.css("[src]"):  # video, audio, input type=image, mglyph, leftovers
            src = node.attributes.get("src") or ""
            if is_remote(src):
                self.rec(src, "img" if node.tag == "input" else "media")
                del node.attrs["src"]
        for node in t.css("[srcset], [imagesrcset]"):
            for attr in ("srcset", "imagesrcset"):
                for u in self.filter_srcset(node, attr):
                    self.rec(u, "srcset")

    def foreign(self) -> None:
        """SVG and MathML: <image href>, <use href>, feImage, and url() in presentation attributes."""
        for node in reversed(self.tree.css("svg *, math *")):
            attrs = node.attributes
            for name, value in list(attrs.items()):
                value = value or ""
                if name.endswith("href") and node.tag != "a" and is_remote(value):
                    self.rec(value, "svg-image" if node.tag == "image" else "svg-href")
                    del node.attrs[name]
                elif "url(" in value.lower() and name != "style":
                    if css_remote_urls(value, inline=True):
                        self.rec(value, "css-url")
                        del node.attrs[name]

    def links(self) -> None:
        mode = self.ctx.links
        for node in self.tree.css("a, area"):
            attrs = node.attributes
            for attr in ("href", "xlink:href"):
                href = attrs.get(attr)
                if href is None:
                    continue
                dest = clean_attr_url(href)
                if not dest or dest.startswith("#"):
                    continue
                if scheme_of(dest) in ("javascript", "vbscript", "data"):
                    del node.attrs[attr]
                    self.ctx.note("script links removed")
                    continue
                self.ctx.note("links rewritten")
                full = resolve(dest, self.base)
                final = self.ctx.destination(full)
                shown = final or full
                via = split_url(full) if final else None
                where = f"{shown} (via {via.host})" if via else shown
                text = " ".join(node.text(deep=True, separator=" ").split())
                if mode == "visible":
                    if node.tag == "area":
                        node.attrs["title"] = f"destination: {where}"
                    elif text.rstrip("/") != full.rstrip("/"):
                        node.insert_after(_new(self.tree, "span", f" [destination: {where}]", _NOTE_STYLE))
                    continue
                del node.attrs[attr]
                if _URL_TEXT.match(text):  # a URL as link text: some clients would link it again
                    for child in list(node.iter(include_text=True)):
                        child.decompose()
                    node.insert_child(defang(text))
                    if mode == "defang" and text.rstrip("/") == full.rstrip("/"):
                        continue  # the text already is the (now defanged) destination
                shown_d = defang(shown) + (f" (via {defang(via.host)})" if via else "")
                note = (f" [{shown_d}]" if mode == "defang"
                        else f" [link disabled by lurelens; it led to {shown_d}]")
                if node.tag == "area":
                    node.attrs["title"] = note.strip(" []")
                else:
                    node.insert_after(_new(self.tree, "span", note, _NOTE_STYLE))

    def handlers(self) -> None:
        root = self.tree.root
        if root is None:
            return
        for node in root.traverse():
            names = [n for n in node.attributes if n.lower().startswith("on")] if node.is_element_node else []
            for name in names:
                del node.attrs[name]
            if names:
                self.ctx.note("event handlers removed", len(names))

    def add_banner(self) -> None:
        t = self.tree
        body = t.body
        if body is None:
            return
        banner = _new(t, "div", self.ctx.banner or "", _BANNER_STYLE, id="lurelens-defused")
        first = body.child
        if first is not None:
            first.insert_before(banner)
        else:
            body.insert_child(banner)


def _conditional_comments(tree: LexborHTMLParser) -> list[Any]:
    """``<!--[if mso]>...<![endif]-->`` blocks that can fetch: a comment to browsers, but Outlook's
    Word engine renders them (VML backgrounds, images)."""
    root = tree.root
    if root is None:
        return []
    return [n for n in root.traverse(include_text=True)
            if n.is_comment_node and (n.comment_content or "").lstrip().lower().startswith("[if")
            and _CC_FETCH.search(n.comment_content or "")]


def defuse_html(html: str, ctx: HtmlContext) -> str:
    """One pass over an HTML document; the caller re-checks with ``remote_references``."""
    tree = LexborHTMLParser(html)
    _Defuser(tree, ctx, html).run()
    return tree.html or ""


def remote_references(html: str) -> list[str]:
    """Every remote reference a client could still fetch from this HTML (empty when safe): the
    scanner's own inventory plus a stricter sweep of every fetching element, attribute and sheet."""
    found = [r.url for r in inventory(html).resources]
    tree = LexborHTMLParser(html)
    for node in tree.css(_DROP + ", " + _UNWRAP + ", meta[http-equiv=refresh i]"):
        found.append(f"<{node.tag}>")
    for node in tree.css("link"):
        href = node.attributes.get("href") or ""
        if is_remote(href):
            found.append(href)
        elif scheme_of(clean_attr_url(href)) == "data" and defuse_data_css(href, None) != href:
            found.append(href[:80])
    for node in tree.css("style"):
        found.extend(css_remote_urls(node.text(deep=True)))
    for node in tree.css('[style*="("]'):
        found.extend(css_remote_urls(node.attributes.get("style") or "", inline=True))
    for name in ("src", "srcset", "imagesrcset") + _ATTRS_DROP:
        for node in tree.css(f"[{name}]"):
            value = node.attributes.get(name) or ""
            urls = srcset_urls(value) if "srcset" in name else [value]
            found.extend(u for u in urls if is_remote(u))
    if _CONDITIONAL.search(html):
        found.extend(f"<!--{(n.comment_content or '')[:40]}" for n in _conditional_comments(tree))
    for node in tree.css("svg *, math *"):
        for attr, attr_value in node.attributes.items():
            if attr.endswith("href") and node.tag != "a" and is_remote(attr_value or ""):
                found.append(attr_value or "")
    return found
