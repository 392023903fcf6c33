"""The remote-resource inventory: every fetch an HTML mail client makes when the message is opened.

The client modelled here displays HTML with remote content allowed and JavaScript off, as most
desktop and webmail clients do once a user clicks "load images", and as a real browser engine does
(the evaluation compares this inventory with headless Chromium). For each fetch it records the URL,
host, kind, whether the element is hidden from the reader, and whether the URL identifies the
recipient. Links are collected in the same pass.

The walk queries only elements that can fetch (a handful per message) and computes hiding by
walking up their ancestors with a memo, instead of styling every node: mail HTML is mostly table
cells that fetch nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from lurelens.model import Link, RemoteResource
from lurelens.parse.css import InlineStyle, SheetInfo, hiding_reason, parse_inline_style, parse_sheet_cached, px
from lurelens.parse.srcset import srcset_candidates, srcset_urls
from lurelens.parse.urls import clean_attr_url, resolve, resolve_clean, scheme_of, split_url

__all__ = ["HtmlInventory", "inventory"]

_FETCH_SELECTOR = ",".join(
    [
        "img",
        "image",
        "source",
        "video",
        "audio",
        "track",
        "object[data]",
        "embed[src]",
        "iframe[src]",
        "frame[src]",
        "input[src]",
        "link[href]",
        "meta[http-equiv]",
        "[background]",
        '[style*="url(" i]',
        '[style*="\\\\"]',
    ]
)
_LINK_SELECTOR = "a[href], area[href], form[action]"
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s>]+)", re.I)
_LOCAL_SCHEMES = {"cid", "data", "about", "blob", "javascript", "mailto", "tel", "sms", "file", "mid", ""}
_FETCH_LINK_RELS = {
    "stylesheet": "stylesheet",
    "icon": "icon",
    "shortcut": "icon",
    "apple-touch-icon": "icon",
    "apple-touch-icon-precomposed": "icon",
    "mask-icon": "icon",
    "preload": "preload",
    "prefetch": "prefetch",
    "modulepreload": "preload",
    "prerender": "prefetch",
    "dns-prefetch": "dns-prefetch",
    "preconnect": "preconnect",
}
_AUTO = object()  # compute hiding from the element and its ancestors

_SRCSET_DESC = re.compile(r"\s(\d+(?:\.\d+)?)([wx])\s*$", re.I)

@dataclass(slots=True)
class HtmlInventory:
    resources: list[RemoteResource] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    visible_text: str = ""
    base: str | None = None
    media_queries: list[str] = field(default_factory=list)
    relative_skipped: int = 0  # relative URLs with no <base>: a mail client cannot fetch them
    title: str = ""
    alt_texts: list[str] = field(default_factory=list)
    srcset_choices: dict[str, str] = field(default_factory=dict)  # URL -> what choosing it reveals
    hidden_text_chars: int = 0
    truncated: bool = False


class _Walker:
    def __init__(self, tree: LexborHTMLParser, part: str):
        self.tree = tree
        self.part = part
        self.hidden_memo: dict[int, str | None] = {}
        self.class_hiding: dict[str, str] = {}  # ".name" / "#id" / "tag" -> reason
        self.base: str | None = None
        self.inv = HtmlInventory()
        # Mail repeats the same style attribute on hundreds of cells: each distinct string is
        # read once per document (the readings are only read afterwards, never changed).
        self.styles: dict[str, InlineStyle] = {}
        self.style_hiding: dict[str, str | None] = {}

    def style(self, style: str) -> InlineStyle:
        st = self.styles.get(style)
        if st is None:
            st = self.styles[style] = parse_inline_style(style)
        return st

    # -- hiding ---------------------------------------------------------------------------------
    def own_hiding(self, node) -> str | None:
        attrs = node.attributes
        if "hidden" in attrs:
            return "hidden attribute"
        style = attrs.get("style")
        if style:
            if style in self.style_hiding:
                reason = self.style_hiding[style]
            else:
                reason = self.style_hiding[style] = hiding_reason(self.style(style).decls)
            if reason:
                return reason
        if self.class_hiding:
            cls = attrs.get("class")
            if cls:
                for c in cls.split():
                    r = self.class_hiding.get("." + c)
                    if r:
                        return f"{r} (class .{c})"
            ident = attrs.get("id")
            if ident and ("#" + ident) in self.class_hiding:
                return f"{self.class_hiding['#' + ident]} (#{ident})"
            r = self.class_hiding.get(node.tag)
            if r:
                return f"{r} ({node.tag})"
        return None

    def hidden(self, node) -> str | None:
        """Why this node is hidden, by itself or by an ancestor; memoised per node."""
        chain = []
        cur = node
        result = None
        while cur is not None and cur.tag not in ("html", "-document", "body"):
            key = cur.mem_id
            if key in self.hidden_memo:
                result = self.hidden_memo[key]
                break
            chain.append(cur)
            cur = cur.parent
        # Resolve from the top of the unresolved chain down, inheriting as we go.
        for n in reversed(chain):
            if result is None:
                result = self.own_hiding(n)
            self.hidden_memo[n.mem_id] = result
        return result

    # -- recording ------------------------------------------------------------------------------
    def add(self, url: str, kind: str, element: str, node=None, *, condition: str | None = None,
            hidden: object = _AUTO) -> None:
        if not url:
            return
        url = clean_attr_url(url)
        if self.base is None and url.startswith("//") and condition is None:
            # With no base a browser resolves "//host/x" against the document's own scheme:
            # nothing for a message opened as about:blank or mailbox:, https in most webmail.
            condition = "protocol-relative URL: fetched only by clients that resolve it as https"
        url = resolve_clean(url, self.base)
        scheme = scheme_of(url)
        if scheme in _LOCAL_SCHEMES:
            if scheme == "":
                self.inv.relative_skipped += 1
            return
        info = split_url(url)
        if info is None:
            return
        tiny = False
        if hidden is _AUTO:
            hidden = self.hidden(node) if node is not None else None
        assert hidden is None or isinstance(hidden, str)  # a reason, None, or _AUTO (resolved above)
        if node is not None:
            if element in ("img", "input[type=image]", "svg:image"):
                tiny = _is_tiny(node, self.style)
                if tiny and hidden is None:
                    hidden = "tiny image (0-2 px)"
            elif kind in ("css-url", "background", "poster"):
                # A background or poster on a 0-2 px element is a pixel by other means.
                tiny = _is_tiny(node, self.style)
                if tiny and hidden is None:
                    hidden = f"tiny element (0-2 px) carrying a {kind}"
        self.inv.resources.append(
            RemoteResource(
                url=url,
                host=info.host,
                domain=info.domain,
                kind=kind,
                element=element,
                hidden=hidden is not None,
                hidden_reason=hidden,
                tiny=tiny,
                condition=condition,
                part=self.part,
            )
        )

    # -- the walk -------------------------------------------------------------------------------
    def run(self, sheets_text: list[str], base) -> HtmlInventory:
        """The walk, given the document's style sheet texts and its first ``base[href]`` node (or None)."""
        tree = self.tree
        if base is not None:
            href = base.attributes.get("href") or ""
            if split_url(resolve(href, None)):
                self.base = resolve(href, None)
                self.inv.base = self.base

        sheet = SheetInfo()
        for css in sheets_text:
            try:
                parse_sheet_cached(css, sheet)
            except Exception:  # noqa: BLE001 - broken CSS must not hide the rest of the inventory
                continue
        self.inv.media_queries = sheet.media_queries
        for rule in sheet.rules:
            if rule.hidden and rule.condition is None:
                for sel in rule.selector.split(","):
                    sel = sel.strip()
                    if re.fullmatch(r"[.#]?[A-Za-z_][\w\-]*", sel):
                        self.class_hiding.setdefault(sel.lower() if sel[0] not in ".#" else sel, rule.hidden)

        for url, cond in sheet.imports:
            self.add(url, "css-import", "@import", condition=cond)
        for url, cond in sheet.fonts:
            self.add(url, "font", "@font-face", condition=cond)
        for rule in sheet.rules:
            if not rule.urls:
                continue
            matched = self._selector_node(rule.selector)
            if matched is False:
                continue  # no element matches: the client never fetches it
            for url in rule.urls:
                self.add(url, "css-url", "<style>", matched if matched is not True else None,
                         condition=rule.condition)

        for node in tree.css(_FETCH_SELECTOR):
            self._element(node)
        for node in tree.css(_LINK_SELECTOR):
            self._link(node)
        return self.inv

    def _selector_node(self, selector: str):
        """The first node a style rule applies to, False if none, True if we cannot tell."""
        for sel in selector.split(","):
            sel = re.sub(r"::?[a-zA-Z\-]+(\([^)]*\))?", "", sel).strip()
            if not sel:
                return True
            try:
                node = self.tree.css_first(sel)
            except (SelectolaxError, ValueError):
                return True
            except Exception:  # noqa: BLE001
                return True
            if node is not None:
                return node
        return False

    def _srcset_choice(self, srcset: str, src: str | None) -> None:
        """Record what the client's pick among several images reveals (screen size or density)."""
        cands = srcset_candidates(srcset)
        urls = [u for u, _d in cands] + ([src] if src else [])
        if len(set(urls)) < 2:
            return  # no choice to make: the fetch says nothing about the screen
        kinds = {m.group(2).lower() for _u, d in cands if (m := _SRCSET_DESC.search(" " + d))}
        what = ("viewport width and pixel density (the client picks an image size)" if "w" in kinds
                else "screen pixel density (the client picks a 1x/2x image)")
        for u in urls:
            self.inv.srcset_choices[resolve(u, self.base)] = what

    def _element(self, node) -> None:
        tag = node.tag
        attrs = node.attributes
        style = attrs.get("style")
        if style:
            st = self.style(style)
            for url in st.urls:
                self.add(url, "css-url", f"{tag}[style]", node)
        bg = attrs.get("background")
        if bg:
            self.add(bg, "background", f"{tag}[background]", node)
        if tag == "img":
            src = attrs.get("src")
            if src:
                self.add(src, "img", "img", node)
            srcset = attrs.get("srcset")
            if srcset:
                for u in srcset_urls(srcset):
                    self.add(u, "srcset", "img", node)
                self._srcset_choice(srcset, src)
            alt = attrs.get("alt")
            if alt:
                self.inv.alt_texts.append(alt.strip())
        elif tag == "image":  # SVG <image href> / xlink:href
            u = attrs.get("href") or attrs.get("xlink:href")
            if u:
                self.add(u, "img", "svg:image", node)
        elif tag == "source":
            parent = node.parent.tag if node.parent is not None else ""
            media = attrs.get("media")
            if attrs.get("srcset"):
                for u in srcset_urls(attrs["srcset"]):
                    self.add(u, "srcset", f"{parent}>source", node, condition=f"media {media}" if media else None)
                self._srcset_choice(attrs["srcset"], attrs.get("src"))
            if attrs.get("src") and parent in ("video", "audio"):
                self.add(attrs["src"], "media", f"{parent}>source", node)
        elif tag in ("video", "audio"):
            if attrs.get("poster"):
                self.add(attrs["poster"], "poster", tag, node)
            if attrs.get("src"):
                self.add(attrs["src"], "media", tag, node)
        elif tag == "track":
            if attrs.get("src"):
                self.add(attrs["src"], "media", "track", node)
        elif tag == "object":
            self.add(attrs.get("data") or "", "object", "object", node)
        elif tag in ("embed", "iframe", "frame"):
            self.add(attrs.get("src") or "", "frame" if tag != "embed" else "object", tag, node)
        elif tag == "input":
            if (attrs.get("type") or "").lower() == "image":
                self.add(attrs.get("src") or "", "img", "input[type=image]", node)
        elif tag == "link":
            rels = (attrs.get("rel") or "").lower().split()
            for rel in rels:
                kind = _FETCH_LINK_RELS.get(rel)
                if kind:
                    self.add(attrs.get("href") or "", kind, f"link[rel={rel}]", node,
                             condition=f"media {attrs['media']}" if attrs.get("media") else None, hidden=None)
                    break
        elif tag == "meta":
            if (attrs.get("http-equiv") or "").lower() == "refresh":
                m = _REFRESH_URL.search(attrs.get("content") or "")
                if m:
                    self.add(m.group(1), "meta-refresh", "meta[refresh]", node, hidden=None)

    def _link(self, node) -> None:
        tag = node.tag
        attrs = node.attributes
        href = attrs.get("href") if tag != "form" else attrs.get("action")
        if not href:
            return
        url = resolve(href, self.base)
        info = split_url(url)
        text = " ".join(node.text(deep=True, separator=" ").split()) if tag != "form" else ""
        if not text and tag == "a":
            img = node.css_first("img[alt]")
            if img is not None:
                text = (img.attributes.get("alt") or "").strip()
        self.inv.links.append(
            Link(
                href=url,
                text=text[:500],
                host=info.host if info else "",
                domain=info.domain if info else "",
                part=self.part,
                kind="form" if tag == "form" else tag,
            )
        )


def _is_tiny(node, style_of: Callable[[str], InlineStyle] = parse_inline_style) -> bool:
    attrs = node.attributes
    w = px(attrs.get("width"))
    h = px(attrs.get("height"))
    style = attrs.get("style")
    if style:
        d = style_of(style).decls
        w = px(d.get("width")) if d.get("width") else w
        h = px(d.get("height")) if d.get("height") else h
        if w is None and d.get("max-width"):
            mw = px(d.get("max-width"))
            w = mw if mw is not None and mw <= 2 else w
    dims = [x for x in (w, h) if x is not None]
    if not dims:
        return False
    if any(x <= 0 for x in dims):
        return True
    if len(dims) == 2:
        return max(dims) <= 2
    return dims[0] <= 2


# font-size:0 is left out: mail layouts set it on cells to close gaps and reset it inside.
_HIDING_SELECTOR = '[hidden],[style*="none"],[style*="hidden"],[style*="opacity"],noframes,textarea'


def _hidden_text(tree: LexborHTMLParser, walker: _Walker) -> int:
    """Characters of text a reader never sees: inside hidden elements (outermost only)."""
    total = 0
    counted: set[int] = set()
    for node in tree.css(_HIDING_SELECTOR)[:2000]:
        if node.tag not in ("noframes", "textarea"):
            if walker.own_hiding(node) is None:
                continue
        parent, nested = node.parent, False
        while parent is not None:
            if parent.mem_id in counted:
                nested = True
                break
            parent = parent.parent
        if nested:
            continue
        counted.add(node.mem_id)
        total += len(" ".join(node.text(deep=True, separator=" ").split()))
    return total


# Each selector query walks the whole tree (about as long as parsing a small message), so the
# nodes the inventory reads before its walk are found in one query and told apart by tag: these
# type selectors match disjoint tags, so a node's tag says which one it matched.
_SETUP_SELECTOR = "style, base[href], title, script, template, head"
_REMOVED_TAGS = ("style", "script", "template", "head")


def _setup_nodes(tree: LexborHTMLParser) -> tuple[list[str], Any, Any, list]:
    """(style sheet texts, the first base[href], the first title, the nodes whose text is not shown),
    as ``css("style")``, ``css_first("base[href]")``, ``css_first("title")`` and
    ``css("style, script, template, head")`` give them, from one query."""
    sheets, base, title, removed = [], None, None, []
    for n in tree.css(_SETUP_SELECTOR):
        tag = n.tag
        if tag == "style":
            sheets.append(n.text(deep=True))
            removed.append(n)
        elif tag == "base":
            if base is None:
                base = n
        elif tag == "title":
            if title is None:
                title = n
        elif tag in _REMOVED_TAGS:
            removed.append(n)
        else:  # a tag we cannot attribute to one selector: ask each query on its own
            return _setup_nodes_plain(tree)
    return sheets, base, title, removed


def _setup_nodes_plain(tree: LexborHTMLParser) -> tuple[list[str], Any, Any, list]:
    """_setup_nodes by four queries (the general form, and its reference in the tests)."""
    sheets = [n.text(deep=True) for n in tree.css("style")]
    return sheets, tree.css_first("base[href]"), tree.css_first("title"), tree.css(", ".join(_REMOVED_TAGS))


def inventory(html: str, part: str = "", max_nodes: int = 200_000) -> HtmlInventory:
    """Walk one HTML document."""
    tree = LexborHTMLParser(html)
    sheets, base, title, removed = _setup_nodes(tree)
    walker = _Walker(tree, part)
    inv = walker.run(sheets, base)
    inv.title = title.text().strip()[:300] if title is not None else ""
    for n in removed:
        n.decompose()
    inv.hidden_text_chars = _hidden_text(tree, walker)
    body = tree.body or tree.root
    text = body.text(deep=True, separator=" ") if body is not None else ""
    # str.split() and re's \s agree on what is white space (str.isspace): one join, no regex.
    inv.visible_text = " ".join(text.split())
    return inv
