"""Readable output of the campaign commands (``campaigns``, ``campaign``, ``who-else``,
``watchlist``), rendered from the stored campaign summaries alone."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.console import Console
from rich.markup import escape

from lurelens.report.text import printable_tree

__all__ = ["print_campaign_rows", "print_campaign", "print_who_else", "watchlist_csv", "WATCHLIST_FIELDS"]

WATCHLIST_FIELDS = ["campaign", "host", "template", "token", "encoding", "recipient", "message", "url"]
MAX_ROWS = 50


def _verdicts(v: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in v.items())


def print_campaign_rows(console: Console, rows: list[dict[str, Any]]) -> None:
    rows = printable_tree(rows)  # names and subjects come from hostile mail
    for r in rows:
        console.print(f"[bold]{r['id']}[/bold]  {r['messages']:>5} msg  {r['recipients']:>5} rcpt  "
                      f"{(r['first_seen'] or '?')[:10]} .. {(r['last_seen'] or '?')[:10]}  {escape(r['name'])}  "
                      f"[dim]{escape(_verdicts(r['verdicts']))}[/dim]")


def print_campaign(console: Console, s: dict[str, Any]) -> None:
    s = printable_tree(s)  # names and subjects come from hostile mail
    console.rule(f"[bold]{s['id']}[/bold] {escape(s['name'])}")
    console.print(f"{len(s['messages'])} messages to {len(s['recipients'])} recipients, "
                  f"{s['first_seen'] or '?'} .. {s['last_seen'] or '?'}; {escape(_verdicts(s['verdicts']))}")
    if s["claimed"]:
        console.print("claims to be: " + escape(", ".join(f"{c['name']} ({c['messages']})" for c in s["claimed"])))
    infra = s["infrastructure"]
    for label, key in (("beacon hosts", "beacon_hosts"), ("hosts", "hosts"), ("domains", "domains"), ("IPs", "ips"),
                       ("tracker templates", "tracker_templates")):
        if infra.get(key):
            console.print(f"{label}: " + escape(", ".join(infra[key][:MAX_ROWS])))
    if s["attack"]:
        console.print("ATT&CK: " + ", ".join(s["attack"]))
    if s["why"]:
        console.print("[bold]linked by[/bold]")
        for w in s["why"]:
            console.print(f"  {escape(w['label'])} [bold]{escape(w['value'])}[/bold] ({w['messages']} messages)")
    console.print("[bold]recipients (who else got it)[/bold]")
    for a in s["recipients"][:MAX_ROWS * 4]:
        console.print("  " + escape(a))
    console.print("[bold]messages[/bold]")
    for m in s["messages"][:MAX_ROWS]:
        console.print(f"  {m['id']:>8}  {(m['date'] or '?')[:16]}  {m['verdict']:<10}  {escape((m['from'] or '')[:40]):<40}  "
                      f"{escape((m['subject'] or '')[:60])}")
    if len(s["messages"]) > MAX_ROWS:
        console.print(f"  [dim]... {len(s['messages']) - MAX_ROWS} more (--json for all)[/dim]")


def print_who_else(console: Console, d: dict[str, Any]) -> None:
    d = printable_tree(d)  # names and subjects come from hostile mail
    if d["campaign"] is None:
        console.print(f"{escape(d['file'])}: {d['verdict']}; in no known campaign")
        return
    s = d["campaign"]
    console.print(f"{escape(d['file'])}: {d['verdict']}; campaign [bold]{s['id']}[/bold] {escape(s['name'])}"
                  + (" (stored)" if d["stored"] else " (matched: " + escape("; ".join(
                      f"{e['kind']} {e['value']}" for e in d["evidence"])) + ")"))
    console.print(f"[bold]{len(d['recipients'])} recipients[/bold]")
    for a in d["recipients"]:
        console.print("  " + escape(a))
    console.print(f"[bold]{len(d['siblings'])} sibling messages[/bold]")
    for m in d["siblings"][:MAX_ROWS]:
        console.print(f"  {m['id']:>8}  {(m['date'] or '?')[:16]}  {escape(', '.join(m['recipients'])[:50]):<50}  "
                      f"{escape((m['subject'] or '')[:60])}")


def watchlist_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=WATCHLIST_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()
