"""CSS as a mail client reads it: which url()s it fetches, and which declarations hide an element.

Style sheets (`<style>`, @import, @font-face, @media) are tokenised with tinycss2 so escapes,
comments and strings are handled as a browser does. Inline ``style`` attributes are far more
numerous and rarely hold a url(); they take a plain split unless they contain one (or an escape),
which keeps the common case cheap.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import tinycss2

__all__ = ["InlineStyle", "SheetInfo", "parse_inline_style", "parse_sheet", "parse_sheet_cached", "px"]

_URL_FUNCS = {"url", "src"}
_IMAGE_SET = {"image-set", "-webkit-image-set"}
_NUM = re.compile(r"^\s*(-?\d*\.?\d+)\s*(px|pt|em|rem|%|cm|mm|in|pc|vw|vh)?\s*(!important)?\s*$", re.I)


def px(value: str | None) -> float | None:
    """A CSS or HTML length in px, None when it is not a plain length (auto, calc(), ...)."""
    if value is None:
        return None
    m = _NUM.match(value)
    if not m:
        return None
    n = float(m.group(1))
    unit = (m.group(2) or "px").lower()
    if unit == "%":
        return None
    factor = {"px": 1.0, "pt": 4 / 3, "em": 16.0, "rem": 16.0, "cm": 37.8, "mm": 3.78, "in": 96.0, "pc": 16.0}
    if unit in ("vw", "vh"):
        return n * 8  # an 800 px viewport: only 0 matters for hiding
    return n * factor.get(unit, 1.0)


def _urls_in_tokens(tokens, out: list[str]) -> None:
    for tok in tokens:
        t = tok.type
        if t == "url":
            out.append(tok.value)
        elif t == "function":
            name = tok.lower_name
            if name in _URL_FUNCS:
                for arg in tok.arguments:
                    if arg.type == "string":
                        out.append(arg.value)
                        break
            elif name in _IMAGE_SET:
                for arg in tok.arguments:
                    if arg.type == "string":
                        out.append(arg.value)
                _urls_in_tokens(tok.arguments, out)
            else:
                _urls_in_tokens(tok.arguments, out)
        elif t in ("() block", "[] block", "{} block"):
            _urls_in_tokens(tok.content, out)


def hiding_reason(decls: dict[str, str]) -> str | None:
    """Why these declarations hide the element (and everything in it), or None."""
    d = decls.get("display")
    if d and d.split("!")[0].strip() == "none":
        return "display:none"
    v = decls.get("visibility")
    if v and v.split("!")[0].strip() in ("hidden", "collapse"):
        return "visibility:hidden"
    o = decls.get("opacity")
    if o:
        try:
            if float(o.split("!")[0].strip().rstrip("%")) <= 0.01:
                return "opacity:0"
        except ValueError:
            pass
    if decls.get("mso-hide", "").startswith("all"):
        return "mso-hide:all"
    ov = decls.get("overflow", "") + decls.get("overflow-y", "") + decls.get("overflow-x", "")
    if "hidden" in ov or "clip" in ov:
        for prop in ("height", "max-height", "width", "max-width"):
            n = px(decls.get(prop))
            if n is not None and n <= 0:
                return f"{prop}:0 with overflow:hidden"
    pos = decls.get("position", "")
    if pos.startswith(("absolute", "fixed")):
        for prop in ("left", "top", "right", "bottom"):
            n = px(decls.get(prop))
            if n is not None and n <= -500:
                return f"off-screen ({prop}:{decls[prop].strip()})"
    clip = decls.get("clip", "")
    if clip.replace(" ", "").startswith("rect(0") and clip.replace(" ", "").replace("px", "") in (
        "rect(0,0,0,0)",
        "rect(0000)",
    ):
        return "clip:rect(0,0,0,0)"
    tr = decls.get("transform", "").replace(" ", "")
    if tr.startswith("scale(0)") or tr.startswith("scale(0,"):
        return "transform:scale(0)"
    return None


@dataclass(slots=True)
class InlineStyle:
    decls: dict[str, str]
    urls: list[str]


def _decls_from_tokens(tokens, cuts: "_Cuts | None" = None) -> tuple[dict[str, str], list[str]]:
    decls: dict[str, str] = {}
    urls: list[str] = []
    for item in tinycss2.parse_blocks_contents(tokens, skip_comments=True, skip_whitespace=True):
        if item.type == "declaration":
            decls[item.lower_name] = tinycss2.serialize(item.value).strip().lower()
            _urls_in_tokens(item.value, urls)
    if cuts:
        decls = {k: cuts.restore(v, lower=True) for k, v in decls.items()}
        urls = [cuts.restore(u) for u in urls]
    return decls, urls


# Embedded fonts and images (long ``url(data:...)`` values) are most of the characters of the
# style sheets that can fetch, and the tokenizer reads them one character at a time although
# nothing is fetched from them. Each such run of characters that the tokenizer copies verbatim
# (no quote, bracket, backslash, space or control) is swapped for a short placeholder of the same
# kind before tokenising and swapped back in every string read out, so the result is unchanged;
# on the phishing corpus this removes three quarters of the tokenizer's input.
_DATA_RUN = re.compile(r"(?:^|(?<=[:,(\s]))((?i:url)\([ \t\n\r\f]*[\"']?)(data:[A-Za-z0-9+/=%,;:._\-]{512,})")
_HEX_ESCAPE_END = re.compile(r"\\[0-9A-Fa-f]{1,6}[ \t\n\r\f]?\Z")  # "\\a url(": url( continues the escape's name
_CUT_TAG = "zlurelenscutz"


class _Cuts(dict):
    """Placeholder -> the run it stands for."""

    def restore(self, s: str, lower: bool = False) -> str:
        if _CUT_TAG not in s:
            return s
        for ph, run in self.items():
            s = s.replace(ph, run.lower() if lower else run)
        return s


def _cut_data_uris(css: str) -> tuple[str, "_Cuts | None"]:
    if "data:" not in css or _CUT_TAG in css:
        return css, None
    cuts = _Cuts()

    def cut(m: re.Match) -> str:
        if _HEX_ESCAPE_END.search(css, max(0, m.start() - 8), m.start()):
            return m.group(0)
        ph = f"data:{_CUT_TAG}{len(cuts):06d}{_CUT_TAG}"
        cuts[ph] = m.group(2)
        return m.group(1) + ph

    out = _DATA_RUN.sub(cut, css)
    return (out, cuts) if cuts else (css, None)


def parse_inline_style(style: str) -> InlineStyle:
    low = style.lower()
    if "url(" in low or "\\" in style or "image-set" in low or "/*" in style:
        decls, urls = _decls_from_tokens(style)
        return InlineStyle(decls, urls)
    decls = {}
    for piece in low.split(";"):
        name, sep, value = piece.partition(":")
        if sep:
            decls[name.strip()] = value.strip()
    return InlineStyle(decls, [])


@dataclass(slots=True)
class SheetRule:
    selector: str
    urls: list[str]
    hidden: str | None
    condition: str | None  # enclosing @media / @supports prelude


@dataclass(slots=True)
class SheetInfo:
    imports: list[tuple[str, str | None]] = field(default_factory=list)  # (url, media condition)
    fonts: list[tuple[str, str | None]] = field(default_factory=list)
    rules: list[SheetRule] = field(default_factory=list)
    media_queries: list[str] = field(default_factory=list)  # every @media prelude seen


_FETCH_HINT = re.compile(r"url\(|@import|image-set|@font-face", re.I)
_BRACE = re.compile(r"[{}]")
_SIMPLE_HIDING = re.compile(
    r"(?:^|[}\s,])((?:[.#][A-Za-z_][\w\-]*|[A-Za-z][\w\-]*)(?:\s*,\s*(?:[.#][A-Za-z_][\w\-]*|[A-Za-z][\w\-]*))*)"
    r"\s*\{([^{}]*)\}"
)


def _strip_blocks(css: str, keyword: str) -> tuple[str, list[str]]:
    """Remove ``@keyword ... { ... }`` blocks (balanced braces); return the rest and the preludes."""
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
        # The block ends after the brace that balances the one at j (or at the end of the text);
        # jumping from brace to brace is what a character loop did, without the loop.
        depth, k = 1, len(css)
        for b in _BRACE.finditer(css, j + 1):
            depth += 1 if b.group() == "{" else -1
            if not depth:
                k = b.end()
                break
        out.append(css[pos:i])
        pos = k
    return "".join(out), preludes


def _has_fetch_hint(css: str) -> bool:
    """``_FETCH_HINT.search(css)``: plain substring tests on the lower-cased text when it is ASCII
    (where ASCII case folding is all re.I does), the regex otherwise."""
    if css.isascii():
        low = css.lower()
        return "url(" in low or "@import" in low or "image-set" in low or "@font-face" in low
    return _FETCH_HINT.search(css) is not None


def _parse_simple(css: str, info: SheetInfo) -> SheetInfo:
    """A sheet that cannot fetch: its @media preludes and top-level simple hiding rules."""
    css = re.sub(r"/\*.*?\*/", " ", css, flags=re.S)
    top, medias = _strip_blocks(css, "@media")
    info.media_queries.extend(medias)
    # Only a block naming one of these words can hide; a sheet without any has no match to read.
    if "none" in top or "hidden" in top or "opacity" in top or "mso-hide" in top:
        for m in _SIMPLE_HIDING.finditer(top):
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


def parse_sheet(css: str, info: SheetInfo | None = None, condition: str | None = None, depth: int = 0,
                cuts: _Cuts | None = None) -> SheetInfo:
    """Fetches and hiding rules of a style sheet.

    Mail templates carry large sheets with no url() at all; those skip the tokenizer and only
    their top-level simple hiding rules (``.preheader{display:none}``) are read, which is all the
    inventory needs from them. A sheet that can fetch is tokenised in full.
    """
    info = info or SheetInfo()
    if depth == 0 and isinstance(css, str) and not _has_fetch_hint(css):
        return _parse_simple(css, info)
    return _parse_tokens(css, info, condition, depth, cuts)


# A style sheet that can fetch is mostly rules that neither fetch nor hide (colours, margins, fonts),
# and tinycss2 reads a few hundred kilobytes per second. Each top-level rule parses on its own (the
# tokenizer has no state between rules and the parser starts afresh after each), and a qualified
# rule adds to SheetInfo only when it has a url()/src()/image-set() or a declaration that
# hiding_reason reads, none of which can be written without one of these words (no escapes: a sheet
# with a backslash is parsed whole). So the rules whose text has none of them are dropped before
# tokenising; at-rules are always kept. The splitter follows tinycss2's tokenizer for what decides
# where a rule ends (blocks, strings, comments, url tokens) and gives up, parsing the whole sheet,
# on anything it does not model.
_RULE_WORDS = ("url(", "src(", "image-set", "display", "visibility", "opacity", "mso-hide", "overflow",
               "position", "clip", "transform")
_SPLIT_STOP = re.compile(r"[{}()\[\];\"'@]|/\*|(?i:url)\(")
_SPLIT_MIN = 1024  # characters; a shorter sheet is parsed whole
_SKIP_WS = re.compile(r"[ \t\n\r\f]*")
_CLOSERS = {"{": "}", "(": ")", "[": "]"}


def _ws_end(css: str, pos: int) -> int:
    m = _SKIP_WS.match(css, pos)  # always matches (possibly nothing)
    return m.end() if m else pos
_URL_BODY_BAD = re.compile(r"[{}\[\]()\"']|/\*")


def _relevant_rules(css: str) -> str | None:
    """The text of the rules that can add to SheetInfo (see above), or None to parse all."""
    if "\\" in css or "<!--" in css or "-->" in css or "\0" in css:
        return None
    try:
        kept, _pos = _reduce_rules(css, 0, nested=False)
    except _Unsure:
        return None
    return kept


class _Unsure(Exception):
    """The splitter met something it does not model: parse the whole sheet."""


# At-rules parse_sheet reads: the fetching ones are kept whole, the grouping ones are kept with their
# block reduced in turn; every other at-rule (@keyframes, @page, @charset, ...) adds nothing.
_KEEP_AT = ("import", "font-face")
_GROUP_AT = ("media", "supports", "document", "layer", "container")
_AT_NAME = re.compile(r"(?:--|-?[A-Za-z_])[A-Za-z0-9_\-]*")


def _skip_space(css: str, pos: int) -> int:
    """Past white space and comments (tinycss2 skips both between rules)."""
    n = len(css)
    while True:
        pos = _ws_end(css, pos)
        if not css.startswith("/*", pos):
            return pos
        end = css.find("*/", pos + 2)
        if end == -1:
            return n
        pos = end + 2


def _reduce_rules(css: str, pos: int, nested: bool) -> tuple[str, int]:
    """The kept text of the rule list from ``pos``: to the end of the sheet, or in a block (nested)
    to the '}' that closes it (the position returned is that '}', or the end)."""
    n = len(css)
    kept: list[str] = []
    start = pos
    while True:
        pos = _skip_space(css, pos)
        if pos >= n or (nested and css[pos] == "}"):
            return "".join(kept), pos
        at_name = None
        if css[pos] == "@":
            m = _AT_NAME.match(css, pos + 1)
            if m is None or (m.end() < n and (css[m.end()] >= "\x80")):
                raise _Unsure  # not a plain at-keyword
            at_name = m.group().lower()
            pos = m.end()
        end, how = _rule_end(css, pos, at_name is not None, nested, stop_at_block=at_name in _GROUP_AT)
        if how == "block":  # a grouping at-rule's block opens at ``end``: reduce what is inside
            inner, close = _reduce_rules(css, end, nested=True)
            if close >= n:  # the block runs to the end of the sheet
                kept.append(css[start:end] + inner)
                return "".join(kept), n
            kept.append(css[start:end] + inner + "}")
            pos = start = close + 1
            continue
        text = css[start:end]
        if how != "end":  # cut short by the end of the sheet or of the enclosing block: kept as it is
            kept.append(text)
            return "".join(kept), end
        if at_name is not None:
            if at_name in _KEEP_AT:
                kept.append(text)
        elif any(w in text.lower() for w in _RULE_WORDS):
            kept.append(text)
        pos = start = end


def _rule_end(css: str, pos: int, at_rule: bool, nested: bool, stop_at_block: bool) -> tuple[int, str]:
    """Where the rule whose first token is at (or before) ``pos`` ends, following tinycss2: ("end",
    after its '}' or, for an at-rule, its ';'), ("block", after the '{' of a grouping at-rule's
    block), ("close", at the '}' closing the enclosing block) or ("eof", the end)."""
    n = len(css)
    stack: list[str] = []
    while True:
        m = _SPLIT_STOP.search(css, pos)
        if m is None:
            return n, "eof"
        tok = m.group()
        pos = m.end()
        if tok in ("{", "(", "["):
            if tok == "{" and stop_at_block and not stack:
                return pos, "block"
            stack.append(_CLOSERS[tok])
        elif tok in ("}", ")", "]"):
            if stack and stack[-1] == tok:
                stack.pop()
                if tok == "}" and not stack:
                    return pos, "end"
            elif tok == "}" and nested and not stack:
                return pos - 1, "close"
            # else: an unmatched closer is a parse error token inside the rule
        elif tok == ";":
            if at_rule and not stack:
                return pos, "end"
        elif tok in ('"', "'"):
            end = pos
            while end < n and css[end] not in (tok, "\n", "\r", "\f"):
                end += 1
            pos = end + 1 if end < n and css[end] == tok else end  # a bad string stops before the newline
        elif tok == "/*":
            end = css.find("*/", pos)
            pos = n if end == -1 else end + 2
        elif tok == "@":
            pass  # inside a rule: an at-keyword or a delimiter, nothing structural
        else:  # url( : a url token, or a function whose argument is quoted or plain
            q = _ws_end(css, pos)
            if q < n and css[q] in "\"'":
                stack.append(")")  # a function block either way; the string is read next
            else:
                close = css.find(")", pos)
                if close == -1 or _URL_BODY_BAD.search(css, pos, close):
                    raise _Unsure  # tokenised differently as a url token and as a function block
                pos = close + 1


def _parse_tokens(css, info: SheetInfo, condition: str | None = None, depth: int = 0,
                  cuts: _Cuts | None = None) -> SheetInfo:
    """The tokenised path of parse_sheet: a sheet (or an at-rule's block) that can fetch."""
    if depth > 8:
        return info
    if isinstance(css, str):
        css, cuts = _cut_data_uris(css)
        if depth == 0:
            reduced = _relevant_rules(css) if len(css) >= _SPLIT_MIN else None
            css = css if reduced is None else reduced
    restore = cuts.restore if cuts else (lambda s, lower=False: s)
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True) if isinstance(css, str) else (
        tinycss2.parse_rule_list(css, skip_comments=True, skip_whitespace=True)
    )
    for rule in rules:
        if rule.type == "qualified-rule":
            decls, urls = _decls_from_tokens(rule.content, cuts)
            hidden = hiding_reason(decls)
            if urls or hidden:
                selector = restore(tinycss2.serialize(rule.prelude).strip())
                info.rules.append(SheetRule(selector, urls, hidden, condition))
        elif rule.type == "at-rule":
            kw = rule.lower_at_keyword
            prelude = restore(tinycss2.serialize(rule.prelude).strip())
            if kw == "import":
                urls = []
                for tok in rule.prelude:
                    if tok.type == "string":
                        urls.append(tok.value)
                        break
                    if tok.type in ("url", "function"):
                        _urls_in_tokens([tok], urls)
                        break
                for u in urls[:1]:
                    info.imports.append((restore(u), condition))
            elif kw == "font-face" and rule.content is not None:
                decls, urls = _decls_from_tokens(rule.content, cuts)
                for u in urls:
                    info.fonts.append((u, condition))
            elif kw in ("media", "supports", "document", "layer", "container") and rule.content is not None:
                cond = f"@{kw} {prelude}".strip()
                if kw == "media":
                    info.media_queries.append(prelude)
                _parse_tokens(rule.content, info, cond if condition is None else f"{condition} and {cond}", depth + 1, cuts)
    return info


# Mail from one template (a campaign, a newsletter) carries the same style sheets message after
# message: on the first 600 phishing_pot messages, 388 sheets are 160 distinct texts. The fetches
# and hiding rules of a sheet depend on its text alone, so the result of either path is kept per
# sheet text (keyed by a BLAKE2 digest, not the text: bounded memory, and no crafted sheet can take
# another's entry), for the last _SHEET_CACHE_SIZE sheets.
_SHEET_CACHE_SIZE = 1024
_SHEET_CACHE_MIN = 256  # characters; a shorter sheet costs less to parse than to look up
_sheet_cache: OrderedDict[bytes, SheetInfo] = OrderedDict()
_sheet_lock = threading.Lock()


def parse_sheet_cached(css: str, info: SheetInfo) -> SheetInfo:
    """``parse_sheet(css, info)``, reusing the result for a sheet seen recently. The cached
    entries are shared between messages: callers only read them."""
    fetch = _has_fetch_hint(css)
    if len(css) < _SHEET_CACHE_MIN:
        return _parse_tokens(css, info) if fetch else _parse_simple(css, info)
    key = hashlib.blake2b(css.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _sheet_lock:
        hit = _sheet_cache.get(key)
        if hit is not None:
            _sheet_cache.move_to_end(key)
    if hit is None:
        try:
            hit = _parse_tokens(css, SheetInfo()) if fetch else _parse_simple(css, SheetInfo())
        except Exception:  # noqa: BLE001 - let the plain call leave what it read and raise
            return parse_sheet(css, info)
        with _sheet_lock:
            _sheet_cache[key] = hit
            while len(_sheet_cache) > _SHEET_CACHE_SIZE:
                _sheet_cache.popitem(last=False)
    info.imports.extend(hit.imports)
    info.fonts.extend(hit.fonts)
    info.rules.extend(hit.rules)
    info.media_queries.extend(hit.media_queries)
    return info
