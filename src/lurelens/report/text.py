"""The readable report: the verdict and why, what opening it would fetch and leak, links, sender."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lurelens.model import Message, Verdict
from lurelens.model.leaks import LEARN_IP, LEARN_TIME, LEARN_UA, HostLeak, leak_summary

__all__ = ["print_verdict", "print_error", "print_leaks"]

_COLOR = {"clean": "green", "tracked": "cyan", "suspicious": "yellow", "phishing": "red", "recon": "bold red"}
MAX_ROWS = 25


def print_error(console: Console, file: str | None, error: str) -> None:
    console.print(f"[bold]{escape(file or '-')}[/bold]: [red]error[/red] {escape(error)}")


def print_leaks(console: Console, msg: Message | None, requests: list | None = None, verbose: bool = False,
                leaks: list[HostLeak] | None = None) -> None:
    """The per-host account: what each host contacted on open learns about the reader (``leaks``
    as the scan computed them; without them they are computed from ``msg`` and ``requests``)."""
    if leaks is None:
        from lurelens.parse.leaks import open_leaks

        leaks = open_leaks(msg, requests)
    if not leaks:
        return
    common = [LEARN_IP, LEARN_UA, LEARN_TIME]
    console.print(f"\n[bold]What opening it tells each host[/bold] ({len(leaks)} hosts)")
    console.print("  Each host learns your " + "; ".join(common) + ", unless noted. In addition:")
    limit = MAX_ROWS if verbose else 10
    for h in leaks[:limit]:
        tags = [t for t in (h.tracker, "hidden" if h.hidden else None,
                            "browser only" if h.seen_by == ["browser"] else None) if t]
        extra = [x for x in h.learns if x not in common]
        if not set(common) <= set(h.learns):
            extra = ["only: " + "; ".join(h.learns)]
        console.print(f"  [bold]{escape(h.host)}[/bold] ({h.fetches} fetch{'es' if h.fetches != 1 else ''}"
                      + (f"; {escape(', '.join(tags))}" if tags else "") + ")"
                      + (": " + escape("; ".join(extra)) if extra else ": nothing more"))
    if len(leaks) > limit:
        console.print(f"  ... and {len(leaks) - limit} more hosts (use --json for all)")


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

    requests = v.extra.get("requests")
    if requests is not None:
        static = {r.host for r in msg.resources}
        unlisted = sorted({q["host"] for q in requests if q.get("host") and q["host"] not in static})
        console.print(f"\n[bold]Rendered in headless Chromium[/bold] ({len(requests)} requests, all blocked)")
        for q in requests[: MAX_ROWS if verbose else 10]:
            console.print(f"  {q.get('type', ''):10} {escape(q.get('url', '')[:120])}")
        if unlisted:
            console.print(f"  [yellow]contacted by the browser but not in the static inventory:[/yellow] "
                          f"{escape(', '.join(unlisted))}")
    print_leaks(console, msg, requests, verbose, leaks=v.open_leaks)

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
