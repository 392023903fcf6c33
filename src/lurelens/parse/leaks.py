"""The per-host leak account of a message (lurelens.model.leaks.HostLeak), from the static inventory
and, when the message was rendered, the browser's requests. A media query counts only when it
guards a remote fetch, because only then does the answer reach a server. The scanner computes it
during the scan; the render stage computes it again with the browser's requests."""

from __future__ import annotations

from typing import Any

from lurelens.model import Message, RemoteResource
from lurelens.model.leaks import HostLeak, learns_for

__all__ = ["open_leaks"]


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


def open_leaks(msg: Message | None, requests: list[dict[str, Any]] | None = None) -> list[HostLeak]:
    """One entry per host contacted on open, static inventory first, then browser-only hosts."""
    if msg is None:
        return []
    resources: list[RemoteResource] = list(msg.resources)
    by_host: dict[str, list[RemoteResource]] = {}
    for r in resources:
        by_host.setdefault(r.host, []).append(r)
    choices = msg.srcset_choices
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
