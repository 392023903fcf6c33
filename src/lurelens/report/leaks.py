"""What each host learns when the message is opened: IP, User-Agent, time, which recipient, and what
the media queries or image choices that guard its fetches reveal (screen size, dark mode, print).

Built from the static inventory and, when the message was rendered, the browser's requests; a media
query counts only when it guards a remote fetch, because only then does the answer reach a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from lurelens.model import Message, RemoteResource

__all__ = ["HostLeak", "open_leaks", "learns_for", "recipient_phrase", "condition_reveals", "LEARN_IP", "LEARN_UA", "LEARN_TIME"]

LEARN_IP = "IP address (hence approximate location and network)"
LEARN_UA = "User-Agent (device, operating system, mail client)"
LEARN_TIME = "time of opening"
LEARN_DNS = "time of opening and the reader's DNS resolver (network or provider), via a DNS lookup"
_NO_HTTP = {"dns-prefetch", "preconnect"}  # no HTTP request: no User-Agent, no URL

_REVEALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:min-|max-)?(?:device-)?(?:width|height)|aspect-ratio", re.I),
     "screen or window size (a width/height media query decides the fetch)"),
    (re.compile(r"resolution|device-pixel-ratio", re.I), "screen pixel density (high-DPI display or not)"),
    (re.compile(r"prefers-color-scheme", re.I), "dark or light mode setting"),
    (re.compile(r"\bprint\b", re.I), "that the message was printed"),
    (re.compile(r"orientation", re.I), "device orientation (portrait or landscape)"),
    (re.compile(r"\b(?:any-)?(?:hover|pointer)\b", re.I), "touch screen or mouse"),
    (re.compile(r"prefers-(?:reduced-motion|contrast|reduced-transparency)|forced-colors|inverted-colors", re.I),
     "accessibility settings (reduced motion, contrast)"),
    (re.compile(r"@supports", re.I), "which CSS features the client supports (fingerprints the mail client)"),
]
_SRCSET_DESC = re.compile(r"\s(\d+(?:\.\d+)?)([wx])\s*$", re.I)


@dataclass(slots=True)
class HostLeak:
    host: str
    fetches: int = 0
    kinds: list[str] = field(default_factory=list)
    learns: list[str] = field(default_factory=list)
    recipient_token: str | None = None
    conditions: list[str] = field(default_factory=list)
    tracker: str | None = None
    hidden: bool = False
    seen_by: list[str] = field(default_factory=list)  # "static", "browser"

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "fetches": self.fetches,
            "kinds": self.kinds,
            "learns": self.learns,
            "recipient_token": self.recipient_token,
            "conditions": self.conditions,
            "tracker": self.tracker,
            "hidden": self.hidden,
            "seen_by": self.seen_by,
        }


def recipient_phrase(token: str | None) -> str | None:
    if not token:
        return None
    if token.startswith("email:"):
        return f"which recipient opened it (the address, as {token[6:]}, is in the URL)"
    if token == "opaque_id":
        return "probably which recipient opened it (a unique identifier is in the URL)"
    return f"which recipient opened it ({token})"


def condition_reveals(condition: str | None) -> list[str]:
    """What a fetch guarded by this condition (``@media ...``, ``media ...``) tells its host."""
    if not condition:
        return []
    return [text for pat, text in _REVEALS if pat.search(condition)]


def _srcset_choices(msg: Message) -> dict[str, str]:
    """URL -> what choosing it reveals, for images offered in several sizes or densities."""
    from selectolax.lexbor import LexborHTMLParser

    from lurelens.parse.srcset import srcset_candidates
    from lurelens.parse.urls import resolve

    out: dict[str, str] = {}
    for _path, html in msg.html_parts:
        if "srcset" not in html.lower():
            continue
        tree = LexborHTMLParser(html)
        base_node = tree.css_first("base[href]")
        base = resolve(base_node.attributes.get("href") or "", None) if base_node is not None else None
        for node in tree.css("img[srcset], source[srcset]"):
            cands = srcset_candidates(node.attributes.get("srcset") or "")
            kinds = {m.group(2).lower() for _u, d in cands if (m := _SRCSET_DESC.search(" " + d))}
            urls = [u for u, _d in cands]
            src = node.attributes.get("src")
            if src:
                urls.append(src)
            if len(set(urls)) < 2:
                continue  # no choice to make: the fetch says nothing about the screen
            what = ("viewport width and pixel density (the client picks an image size)" if "w" in kinds
                    else "screen pixel density (the client picks a 1x/2x image)")
            for u in urls:
                out[resolve(u, base)] = what
    return out


def _sheet_conditions(msg: Message) -> dict[str, str]:
    """URL -> guarding @media/@supports condition, from the HTML's style sheets (render mode only)."""
    from selectolax.lexbor import LexborHTMLParser

    from lurelens.parse.css import SheetInfo, parse_sheet

    out: dict[str, str] = {}
    for _path, html in msg.html_parts:
        sheet = SheetInfo()
        for node in LexborHTMLParser(html).css("style"):
            try:
                parse_sheet(node.text(deep=True), sheet)
            except Exception:  # noqa: BLE001 - broken CSS: no condition known
                continue
        for rule in sheet.rules:
            for u in rule.urls:
                if rule.condition:
                    out.setdefault(u, rule.condition)
        for u, cond in sheet.imports + sheet.fonts:
            if cond:
                out.setdefault(u, cond)
    return out


def learns_for(kinds: Iterable[str], token: str | None, conditions: list[str], extra: list[str]) -> list[str]:
    kinds = set(kinds)
    if kinds and kinds <= _NO_HTTP:
        out = [LEARN_IP, LEARN_TIME] if "preconnect" in kinds else [LEARN_DNS]
    else:
        out = [LEARN_IP, LEARN_UA, LEARN_TIME]
        phrase = recipient_phrase(token)
        if phrase:
            out.append(phrase)
    for cond in conditions:
        out.extend(condition_reveals(cond))
    out.extend(extra)
    if kinds & {"frame", "meta-refresh", "object"}:
        out.append("loads a whole web page: cookies and further fingerprinting are possible")
    if kinds & {"css-import", "stylesheet", "render:stylesheet"}:
        out.append("serves a style sheet that can trigger further fetches")
    return list(dict.fromkeys(out))


def open_leaks(msg: Message | None, requests: list[dict[str, Any]] | None = None) -> list[HostLeak]:
    """One entry per host contacted on open, static inventory first, then browser-only hosts."""
    if msg is None:
        return []
    resources: list[RemoteResource] = list(msg.resources)
    by_host: dict[str, list[RemoteResource]] = {}
    for r in resources:
        by_host.setdefault(r.host, []).append(r)
    choices = _srcset_choices(msg) if any(r.kind == "srcset" for r in resources) else {}
    static_urls = {r.url for r in resources}
    rendered: dict[str, list[dict[str, Any]]] = {}
    for req in requests or []:
        if req.get("host"):
            rendered.setdefault(req["host"], []).append(req)
    out: list[HostLeak] = []
    for host, rs in by_host.items():
        conditions = list(dict.fromkeys(r.condition for r in rs if r.condition))
        extra = list(dict.fromkeys(choices[r.url] for r in rs if r.url in choices))
        token = next((r.recipient_token for r in rs if r.recipient_token and r.recipient_token.startswith("email:")),
                     None) or next((r.recipient_token for r in rs if r.recipient_token), None)
        kinds = list(dict.fromkeys(r.kind for r in rs))
        browser_only = [q for q in rendered.get(host, []) if q.get("url") not in static_urls]
        kinds += list(dict.fromkeys(f"render:{q.get('type') or 'other'}" for q in browser_only))
        seen = ["static"] + (["browser"] if host in rendered else [])
        out.append(HostLeak(
            host=host,
            fetches=len({r.url for r in rs}) + len({q.get("url") for q in browser_only}),
            kinds=kinds,
            learns=learns_for(kinds, token, conditions, extra),
            recipient_token=token,
            conditions=conditions,
            tracker=next((r.tracker for r in rs if r.tracker), None),
            hidden=any(r.hidden for r in rs),
            seen_by=seen,
        ))
    unlisted = [h for h in rendered if h not in by_host]
    sheet_conds = _sheet_conditions(msg) if unlisted else {}
    for host in unlisted:
        qs = rendered[host]
        conditions = list(dict.fromkeys(c for q in qs if (c := sheet_conds.get(q.get("url", "")))))
        kinds = list(dict.fromkeys(f"render:{q.get('type') or 'other'}" for q in qs))
        token = _token_for(msg, [q.get("url", "") for q in qs])
        out.append(HostLeak(
            host=host,
            fetches=len({q.get("url") for q in qs}),
            kinds=kinds,
            learns=learns_for(kinds, token, conditions, []),
            recipient_token=token,
            conditions=conditions,
            seen_by=["browser"],
        ))
    return out


def _token_for(msg: Message, urls: list[str]) -> str | None:
    """The recipient token in a browser-only URL, found as the enrichment step finds it."""
    from lurelens.parse.classify import UrlClassifier

    classify = UrlClassifier(msg.recipients)
    for url in urls:
        found = classify.recipient_token(url)
        if found:
            return found[0]
    for url in urls:
        found = classify.token(url)
        if found:
            return found[0]
    return None
