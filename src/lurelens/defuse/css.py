"""CSS without remote fetches, for the defused copy: every remote ``url()``, ``image-set()`` or
``@import`` is replaced by ``none`` or dropped; ``cid:``, ``data:`` and ``#fragment`` references stay.

Tokenised with tinycss2, so escapes, comments and strings are read as a browser reads them. A sheet
that needs no change is returned byte for byte; ``data:`` style sheets are defused recursively.
"""

from __future__ import annotations

import base64
import re
from typing import Callable
from urllib.parse import unquote

import tinycss2
from tinycss2.ast import IdentToken, URLToken

from lurelens.parse.urls import clean_attr_url, resolve, scheme_of, split_url

__all__ = ["is_remote", "host_of", "defuse_css", "defuse_style_attr", "css_remote_urls", "defuse_data_css"]

_LOCAL_SCHEMES = frozenset({"cid", "mid", "data", "about"})
_URL_FUNCS = frozenset({"url", "src"})
_IMAGE_FUNCS = frozenset({"image-set", "-webkit-image-set", "image", "cross-fade", "-webkit-cross-fade",
                          "-moz-image-rect", "-moz-element", "element"})
# Every fetch needs one of these (an escape can spell the rest): sheets without any skip the tokenizer.
_MAY_FETCH = re.compile(r"url\(|src\(|image(?:-set|-rect)?\(|cross-fade\(|element\(|@import|\\", re.I)
_DATA_URL = re.compile(r"^data:([^,]*?)(;base64)?,(.*)$", re.I | re.S)

Record = Callable[[str, str], None]  # (url, kind) of a removed fetch


def is_remote(url: str | None) -> bool:
    """Could loading this reference leave the machine? Only cid:, mid:, data:, about: and
    in-document #fragments are local; everything else, relative URLs included, is treated as remote."""
    if url is None:
        return False
    u = clean_attr_url(url)
    if not u or u.startswith("#"):
        return False
    return scheme_of(u) not in _LOCAL_SCHEMES


def host_of(url: str) -> str:
    info = split_url(resolve(url, None))
    return info.host if info else "(relative or other)"


def _none() -> IdentToken:
    return IdentToken(0, 0, "none")


def _urls_in(tokens) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        if tok.type == "url":
            out.append(tok.value)
        elif tok.type == "string":
            out.append(tok.value)
        elif tok.type == "function":
            out.extend(_urls_in(tok.arguments))
        elif tok.type in ("() block", "[] block", "{} block"):
            out.extend(_urls_in(tok.content))
    return out


def _tokens(tokens, record: Record | None, depth: int = 0) -> tuple[list, bool]:
    """Replace remote url()/image functions by ``none``; return (tokens, changed)."""
    out, changed = [], False
    for tok in tokens:
        t = tok.type
        if t == "error":
            continue  # a bad url or string: browsers ignore it; serialised it would become a relative URL
        if t == "url":
            if is_remote(tok.value):
                record and record(tok.value, "css-url")
                out.append(_none())
                changed = True
                continue
        elif t == "function":
            name = tok.lower_name
            if name in _URL_FUNCS or name in _IMAGE_FUNCS:
                urls = [a.value for a in tok.arguments if a.type in ("string", "url")] if name in _URL_FUNCS \
                    else _urls_in(tok.arguments)
                remote = [u for u in urls if is_remote(u)]
                if remote:
                    for u in remote:
                        record and record(u, "css-url")
                    out.append(_none())
                    changed = True
                    continue
            if depth < 32:
                args, ch = _tokens(tok.arguments, record, depth + 1)
                if ch:
                    tok.arguments, changed = args, True
        elif t in ("() block", "[] block", "{} block") and depth < 32:
            content, ch = _tokens(tok.content, record, depth + 1)
            if ch:
                tok.content, changed = content, True
        out.append(tok)
    return out, changed


def _import_url(rule) -> str | None:
    for tok in rule.prelude:
        if tok.type in ("string", "url"):
            return tok.value
        if tok.type == "function" and tok.lower_name == "url":
            for arg in tok.arguments:
                if arg.type == "string":
                    return arg.value
            return ""
        if tok.type not in ("whitespace", "comment"):
            return None
    return None


def defuse_data_css(url: str, record: Record | None, depth: int = 0) -> str | None:
    """A ``data:`` style sheet with its own fetches defused, re-encoded; None if undecodable."""
    m = _DATA_URL.match(clean_attr_url(url))
    if not m:
        return None
    try:
        raw = base64.b64decode(unquote(m.group(3)) + "===", validate=False) if m.group(2) else unquote(m.group(3)).encode("utf-8", "surrogatepass")
        css = raw.decode("utf-8", "replace")
    except (ValueError, UnicodeError):
        return None
    new = defuse_css(css, record, depth + 1)
    if new == css:
        return url
    return "data:text/css;base64," + base64.b64encode(new.encode("utf-8")).decode("ascii")


def defuse_css(css: str, record: Record | None = None, depth: int = 0) -> str:
    """A style sheet with no remote fetch. Unchanged sheets come back as given."""
    if not _MAY_FETCH.search(css):
        return css
    rules = tinycss2.parse_stylesheet(css, skip_comments=False, skip_whitespace=False)
    out, changed = [], False
    for rule in rules:
        if rule.type == "error":
            continue
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            url = _import_url(rule)
            if url is None or is_remote(url) or (scheme_of(clean_attr_url(url)) == "data" and depth > 4):
                record and record(url or "(unparsed @import)", "css-import")
                changed = True
                continue
            if scheme_of(clean_attr_url(url)) == "data":
                new = defuse_data_css(url, record, depth)
                if new is None:
                    record and record("(undecodable data: @import)", "css-import")
                    changed = True
                    continue
                if new != url:
                    i = next(i for i, t in enumerate(rule.prelude) if t.type in ("string", "url", "function"))
                    rule.prelude[i] = URLToken(0, 0, new, f"url({new})")  # base64: nothing to escape
                    changed = True
        elif rule.type == "at-rule" and rule.lower_at_keyword == "namespace":
            pass  # a namespace URI names, never fetches
        elif rule.type in ("at-rule", "qualified-rule") and rule.content is not None:
            content, ch = _tokens(rule.content, record)
            if ch:
                rule.content, changed = content, True
        out.append(rule)
    if not changed:
        return css
    # Inside <style>, "</style" would end the element: escape the slash (CSS reads "\/" as "/").
    return tinycss2.serialize(out).replace("</", "<\\/")


def defuse_style_attr(style: str, record: Record | None = None) -> str:
    """An inline ``style`` attribute with no remote fetch."""
    if "(" not in style or not _MAY_FETCH.search(style):
        return style
    tokens = tinycss2.parse_component_value_list(style, skip_comments=True)
    new, changed = _tokens(tokens, record)
    return tinycss2.serialize(new) if changed else style


def css_remote_urls(css: str, inline: bool = False) -> list[str]:
    """Remote references left in CSS (used to verify a defused copy): empty when it is safe."""
    found: list[str] = []

    def rec(url: str, kind: str) -> None:
        found.append(url)

    if inline:
        defuse_style_attr(css, rec)
    else:
        defuse_css(css, rec)
    return found
