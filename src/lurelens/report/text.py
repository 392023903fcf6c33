"""The readable report: the verdict and why, what opening it would fetch and leak, links, sender."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lurelens.model import Message, Verdict
from lurelens.report.explain import leak_summary

__all__ = ["print_verdict", "print_error"]

_COLOR = {"clean": "green", "tracked": "cyan", "suspicious": "yellow", "phishing": "red", "recon": "bold red"}
MAX_ROWS = 25


def print_error(console: Console, file: str | None, error: str) -> None:
    console.print(f"[bold]{escape(file or '-')}[/bold]: [red]error[/red] {escape(error)}")


def print_verdict(console: Console, v: Verdict, verbose: bool = False) -> None:
    msg: Message = v.message
    color = _COLOR.get(v.label, "white")
    console.rule(f"[bold]{escape(v.file or '-')}[/bold]")
    console.print(f"Verdict: [{color}]{v.label.upper()}[/{color}]  score {v.score:g}"
                  + (f"  ATT&CK {', '.join(v.attack)}" if v.attack else ""))
    for i, r in enumerate(v.reasons):
        console.print(("  " if i else "  ") + ("- " if i else "") + escape(r))
    for e in v.errors:
        console.print(f"  [red]error:[/red] {escape(e)}")

    frm = msg.from_[0] if msg.from_ else None
    console.print("\n[bold]Sender[/bold]")
    console.print(f"  From: {escape(frm.display_name + ' ' if frm and frm.display_name else '')}<{escape(frm.addr if frm else '?')}>")
    if msg.reply_to:
        console.print(f"  Reply-To: {escape(', '.join(a.addr for a in msg.reply_to))}")
    if msg.return_path:
        console.print(f"  Return-Path: {escape(msg.return_path)}")
    console.print(f"  Subject: {escape(msg.subject[:200])}")
    auth = msg.auth
    if auth.get("present"):
        res = auth["results"]
        console.print("  Authentication: " + ", ".join(
            f"{m}={res[m].result if m in res else 'not checked'}" for m in ("spf", "dkim", "dmarc")))
    else:
        console.print("  Authentication: [yellow]not checked[/yellow] (no trusted Authentication-Results)")

    console.print(f"\n[bold]Opening it would fetch[/bold] ({len(msg.resources)} requests)")
    if not msg.resources:
        console.print("  nothing: no remote content")
    else:
        t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("host", "kind", "hidden", "tracker", "recipient", "leaks"):
            t.add_column(col, overflow="fold")
        for r in msg.resources[:MAX_ROWS]:
            t.add_row(escape(r.host), r.kind, escape(r.hidden_reason or "") if r.hidden else "",
                      escape(r.tracker or ""), escape(r.recipient_token or ""),
                      escape(leak_summary(r.kind, r.hidden, r.recipient_token)) if verbose else "IP, device, time"
                      + (", who" if r.recipient_token else ""))
        console.print(t)
        if len(msg.resources) > MAX_ROWS:
            console.print(f"  ... and {len(msg.resources) - MAX_ROWS} more (use --json for all)")

    console.print(f"\n[bold]Links[/bold] ({len(msg.links)})")
    for lk in msg.links[: MAX_ROWS if verbose else 10]:
        text = lk.text[:60].replace("\n", " ")
        dest = f" -> {lk.final_host}" if lk.final_host else ""
        console.print(f"  {escape(lk.host or lk.href[:40])}{escape(dest)}  \"{escape(text)}\"")
    if len(msg.links) > (MAX_ROWS if verbose else 10):
        console.print(f"  ... and {len(msg.links) - (MAX_ROWS if verbose else 10)} more")

    console.print("\n[bold]Findings[/bold]")
    for f in v.findings:
        if f.score == 0 and not verbose:
            continue
        nested = f" [attached {f.nested}]" if f.nested else ""
        console.print(f"  {f.score:+5.1f} {f.symbol}{nested}: {escape(f.evidence[:160])}")
    console.print()
