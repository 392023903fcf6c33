"""Readable report of a stored verdict (the ``scan --json`` object kept by a hunt), for
``lurelens show`` and ``lurelens hits``: rendered from the JSON alone, without the message."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from lurelens.report.text import printable_tree

__all__ = ["print_stored", "print_hit_line"]

_COLOURS = {"clean": "green", "tracked": "cyan", "suspicious": "yellow", "phishing": "red", "recon": "bold red",
            "error": "magenta"}
MAX_ROWS = 40


def _addr(a: dict[str, Any] | None) -> str:
    if not a:
        return ""
    name, addr = a.get("display_name") or "", a.get("addr") or ""
    return f"{name} <{addr}>" if name else addr


def print_hit_line(console: Console, d: dict[str, Any]) -> None:
    d = printable_tree(d)  # stored values come from hostile mail: no control character reaches the terminal
    label = d.get("verdict", "?")
    sender = d.get("sender") or {}
    frm = _addr((sender.get("from") or [None])[0])
    subject = (sender.get("subject") or "")[:80]
    score = d.get("score")
    console.print(f"{d['id']:>8}  [{_COLOURS.get(label, 'white')}]{label:<10}[/]  "
                  f"{score if score is not None else '':>6}  {escape(frm[:50]):<50}  {escape(subject)}  "
                  f"[dim]{escape(str(d.get('source')))} {escape(str(d.get('locator')))}[/dim]")


def print_stored(console: Console, d: dict[str, Any]) -> None:
    d = printable_tree(d)
    label = d.get("verdict", "?")
    console.rule(f"[bold]#{d['id']}[/bold] {escape(str(d.get('source')))} {escape(str(d.get('locator')))}")
    console.print(f"[{_COLOURS.get(label, 'white')}]{label.upper()}[/]  score {d.get('score')}"
                  + (f"  sha256 {d['sha256']}" if d.get("sha256") else ""))
    for r in d.get("reasons") or []:
        console.print(f"  - {escape(str(r))}")
    for e in d.get("errors") or []:
        console.print(f"  [red]error:[/red] {escape(str(e))}")
    sender = d.get("sender")
    if sender:
        console.print("\n[bold]Sender[/bold]")
        lines = [
            ("From", ", ".join(_addr(a) for a in sender.get("from") or []), True),
            ("Sender", _addr(sender.get("sender")), False),
            ("Reply-To", ", ".join(_addr(a) for a in sender.get("reply_to") or []), False),
            ("Return-Path", sender.get("return_path") or "", False),
            ("Subject", (sender.get("subject") or "")[:200], True),
            ("Date", sender.get("date") or "", False),
            ("Message-ID", sender.get("message_id") or "", False),
        ]
        for name, value, always in lines:
            if value or always:
                console.print(f"  {name}: {escape(value)}")
    if d.get("recipients"):
        named = ", ".join(f"{r['address']} ({r['kind']})" for r in d["recipients"][:20])
        console.print(f"  Recipients: {escape(named)}")
    auth = d.get("auth")
    if auth:
        methods = ", ".join(f"{k}={v.get('result')}" for k, v in (auth.get("methods") or {}).items())
        console.print(f"  Authentication ({escape(str(auth.get('authserv_id') or 'no trusted header'))}): {escape(methods)}")
    findings = d.get("findings") or []
    if findings:
        console.print(f"\n[bold]Findings[/bold] ({len(findings)})")
        for f in findings:
            if not f.get("score") and len(findings) > 12:
                continue
            console.print(f"  {f.get('score', 0):+5.1f}  {f.get('symbol'):<30} {escape(str(f.get('evidence') or ''))[:160]}")
    res = d.get("remote_resources") or []
    console.print(f"\n[bold]Opening it would fetch[/bold] ({len(res)} requests)")
    for r in res[:MAX_ROWS]:
        flags = " ".join(x for x in ("hidden" if r.get("hidden") else "", r.get("tracker") or "") if x)
        console.print(f"  {r.get('kind', ''):<11} {escape(str(r.get('host') or '-')):<32} {escape(flags)}")
    if len(res) > MAX_ROWS:
        console.print(f"  ... and {len(res) - MAX_ROWS} more (use --json for all)")
    links = d.get("links") or []
    console.print(f"\n[bold]Links[/bold] ({len(links)})")
    for lk in links[:10]:
        dest = lk.get("final_url") or lk.get("href") or ""
        console.print(f"  {escape(str(lk.get('text') or '')[:40]):<40} -> {escape(dest[:120])}")
    if len(links) > 10:
        console.print(f"  ... and {len(links) - 10} more")
    atts = d.get("attachments") or []
    if atts:
        console.print(f"\n[bold]Attachments[/bold] ({len(atts)})")
        for a in atts:
            name = escape(str(a.get("filename") or "-"))
            console.print(f"  {name}  {a.get('content_type')}  {a.get('size')} bytes  {a.get('sha256')}")
