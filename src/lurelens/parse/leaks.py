"""The per-host leak account of a message (lurelens.model.leaks.HostLeak), from the static inventory
and, when the message was rendered, the browser's requests. A media query counts only when it
guards a remote fetch, because only then does the answer reach a server. The scanner computes it
during the scan; the render stage computes it again with the browser's requests."""

from __future__ import annotations

from typing import Any

from lurelens.model import Message, RemoteResource
from lurelens.model.leaks import HostLeak, learns_for

__all__ = ["open_leaks", "read_receipt_requests", "READ_RECEIPT_HEADERS"]


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


READ_RECEIPT_HEADERS = ("Disposition-Notification-To", "Return-Receipt-To", "X-Confirm-Reading-To")
LEARN_RECEIPT = ("that and when the message was opened, if the reader's client sends the read receipt it asks for "
                 "(most ask the reader first)")


def read_receipt_requests(msg: Message) -> list[tuple[str, str]]:
    """(header name, address) for every read-receipt request the message carries."""
    out = []
    for name in READ_RECEIPT_HEADERS:
        for value in msg.header_all(name):
            out.append((name, " ".join(value.split())[:200]))
    return out


def _with_nested(msg: Message, path: str | None = None):
    """(attached-message path or None, message) for the message and every message attached in it."""
    yield path, msg
    for i, sub in enumerate(msg.nested):
        yield from _with_nested(sub, f"{path}.{i + 1}" if path else str(i + 1))


def open_leaks(msg: Message | None, requests: list[dict[str, Any]] | None = None) -> list[HostLeak]:
    """One entry per host contacted on open, static inventory first (the message's own fetches and
    those of messages attached in it, which a client shows when the attachment is opened), then
    browser-only hosts, then read-receipt requests (an address, not a host)."""
    if msg is None:
        return []
    resources: list[RemoteResource] = []
    by_host: dict[str, list[RemoteResource]] = {}
    attached: dict[str, list[str]] = {}
    receipts: list[tuple[str | None, str, str]] = []
    choices: dict[str, str] = {}
    for path, m in _with_nested(msg):
        resources.extend(m.resources)
        choices.update(m.srcset_choices)
        for r in m.resources:
            by_host.setdefault(r.host, []).append(r)
            if path and path not in attached.setdefault(r.host, []):
                attached[r.host].append(path)
        receipts.extend((path, name, addr) for name, addr in read_receipt_requests(m))
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
            attached=attached.get(host, []),
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
    for path, name, addr in receipts:
        out.append(HostLeak(host=addr, kinds=["read-receipt"], learns=[LEARN_RECEIPT, f"asked for by {name}"],
                            seen_by=["header"], attached=[path] if path else []))
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
