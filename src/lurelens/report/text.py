"""The readable report: the verdict and why, what opening it would fetch and leak, links, sender.

The report is built as plain lines with a style each, then written in one go: piped or
redirected, it is plain text that is never wrapped (URLs and paths are copied whole); on a
terminal the styles become colours. Building lines instead of rich tables also keeps the text
report about as fast as the JSON one.
"""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.text import Text

from lurelens.model import Message, RemoteResource, Verdict
from lurelens.model.leaks import LEARN_IP, LEARN_TIME, LEARN_UA, HostLeak

__all__ = ["print_verdict", "print_error", "print_leaks", "verdict_lines", "plural", "cut", "printable", "printable_tree",
           "spreadsheet_cell"]

_COLOR = {"clean": "green", "incomplete": "magenta", "tracked": "cyan", "suspicious": "yellow", "phishing": "red",
          "recon": "bold red"}
MAX_ROWS = 25  # rows per section with -v; 10 without
ELLIPSIS = "…"

Line = tuple[str, str]  # (text, rich style or "")


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 host``, ``2 hosts``, ``1 fetch``, ``3 fetches``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def cut(text: str, n: int) -> str:
    """``text`` on one line, at most ``n`` characters, with an ellipsis where it was cut."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + ELLIPSIS


# C0 and C1 control characters (but tab) and DEL, shown as \xNN: from a hostile header or name they
# would reach the analyst's terminal as escape sequences (clear the screen, retitle the window, write
# the clipboard) or break a one-line report into several.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F, *range(0x80, 0xA0))}
# Unicode bidirectional controls (embeddings, overrides, isolates, marks), shown as \uNNNN: a From
# name or subject holding U+202E would make the terminal show the rest of the line reversed, so
# "gnp.exe" reads as "exe.png" and the analyst reads what the sender arranged, not what is there.
# Arabic and Hebrew letters are not controls and print as they are.
_BIDI = {c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_CONTROLS.update(_BIDI)


def printable(text: str) -> str:
    """``text`` with its control characters written as ``\\xNN`` and its bidirectional controls as
    ``\\uNNNN`` (inert on any terminal)."""
    return text.translate(_CONTROLS)


def printable_tree(value):
    """A JSON-like value (a stored report) with :func:`printable` applied to every string in it."""
    if isinstance(value, str):
        return value.translate(_CONTROLS)
    if isinstance(value, dict):
        return {k: printable_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable_tree(v) for v in value]
    return value


def spreadsheet_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting with ``= + - @`` (or a tab or CR) would be
    run as a formula (``=HYPERLINK(...)`` in a hostile subject), so it gets a leading ``'``. A lone
    character (``-`` for standard input) is no formula and stays as it is. Bidirectional controls are
    written as ``\\uNNNN``: a spreadsheet reorders the cell's text by them as a terminal does."""
    text = text.translate(_BIDI)
    return "'" + text if len(text) > 1 and text[0] in "=+-@\t\r" else text


def _emit(console: Console, lines: Iterable[Line]) -> None:
    if console.is_terminal:
        for text, style in lines:
            console.print(Text(text.translate(_CONTROLS), style=style), soft_wrap=True)
    else:
        console.file.write("".join(text.translate(_CONTROLS) + "\n" for text, _ in lines))


def print_error(console: Console, file: str | None, error: str) -> None:
    _emit(console, [(f"{file or '-'}: error {error}", "red")])


def _fetches(msg: Message) -> list[tuple[str | None, RemoteResource]]:
    """(attached-message path or None, resource) for the message and the messages attached in it."""
    out: list[tuple[str | None, RemoteResource]] = []

    def walk(m: Message, path: str | None) -> None:
        out.extend((path, r) for r in m.resources)
        for i, sub in enumerate(m.nested):
            walk(sub, f"{path}.{i + 1}" if path else str(i + 1))

    walk(msg, None)
    return out


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Columns aligned to their widest cell; nothing is wrapped."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _leak_lines(leaks: list[HostLeak], verbose: bool) -> list[Line]:
    if not leaks:
        return []
    common = [LEARN_IP, LEARN_UA, LEARN_TIME]
    hosts = [h for h in leaks if "read-receipt" not in h.kinds]
    receipts = [h for h in leaks if "read-receipt" in h.kinds]
    out: list[Line] = [("", ""), ("What opening it tells each host"
                                  f" ({plural(len(hosts), 'host')}" + (f", {plural(len(receipts), 'read-receipt request')}" if receipts else "")
                                  + ")", "bold")]
    if hosts:
        out.append(("  Each host learns your " + "; ".join(common) + ", unless noted. In addition:", ""))
    limit = MAX_ROWS if verbose else 10
    for h in hosts[:limit]:
        tags = [t for t in (h.tracker, "hidden" if h.hidden else None,
                            "browser only" if h.seen_by == ["browser"] else None,
                            ("in attached message " + ", ".join(h.attached)) if h.attached else None) if t]
        extra = [x for x in h.learns if x not in common]
        if not set(common) <= set(h.learns):
            extra = ["only: " + "; ".join(h.learns)]
        out.append((f"  {h.host} ({plural(h.fetches, 'fetch', 'fetches')}" + (f"; {', '.join(tags)}" if tags else "") + ")"
                    + (": " + "; ".join(extra) if extra else ": nothing more"), ""))
    if len(hosts) > limit:
        out.append((f"  {ELLIPSIS} and {plural(len(hosts) - limit, 'more host')} (use -v or --json)", "dim"))
    for h in receipts:
        where = f" (in attached message {', '.join(h.attached)})" if h.attached else ""
        out.append((f"  {h.host}{where}: {'; '.join(h.learns)}", ""))
    return out


def _leaks_of(msg: Message | None, requests: list | None, leaks: list[HostLeak] | None) -> list[HostLeak]:
    if leaks is not None:
        return leaks
    from lurelens.parse.leaks import open_leaks

    return open_leaks(msg, requests)


def print_leaks(console: Console, msg: Message | None, requests: list | None = None, verbose: bool = False,
                leaks: list[HostLeak] | None = None) -> None:
    """The per-host account: what each host contacted on open learns about the reader (``leaks``
    as the scan computed them; without them they are computed from ``msg`` and ``requests``)."""
    _emit(console, _leak_lines(_leaks_of(msg, requests, leaks), verbose))


def verdict_lines(v: Verdict, verbose: bool = False, width: int = 80) -> list[Line]:
    """The report of one verdict as (text, style) lines."""
    msg: Message = v.message
    color = _COLOR.get(v.label, "")
    title = f" {v.file or '-'} "
    out: list[Line] = [("──" + title + "─" * max(3, width - len(title) - 2), "bold")]
    out.append((f"Verdict: {v.label.upper()}  score {v.score:g}" + (f"  ATT&CK {', '.join(v.attack)}" if v.attack else ""),
                color))
    for i, r in enumerate(v.reasons):
        out.append((("  - " if i else "  ") + r, ""))
    for e in v.errors:
        out.append((f"  error: {e}", "red"))
    if v.incomplete:
        out.append(("  Scan incomplete (not fully scanned: never read this as clean):", "magenta"))
        out.extend((f"    - {r}", "") for r in v.incomplete_reasons[:10])

    frm = msg.from_[0] if msg.from_ else None
    out += [("", ""), ("Sender", "bold")]
    out.append((f"  From: {frm.display_name + ' ' if frm and frm.display_name else ''}<{frm.addr if frm else '?'}>", ""))
    if msg.reply_to:
        out.append((f"  Reply-To: {', '.join(a.addr for a in msg.reply_to)}", ""))
    if msg.return_path:
        out.append((f"  Return-Path: {msg.return_path}", ""))
    out.append((f"  Subject: {cut(msg.subject, 300) if not verbose else ' '.join(msg.subject.split())}", ""))
    auth = msg.auth
    if auth.get("present"):
        res = auth["results"]
        out.append(("  Authentication: " + ", ".join(
            f"{m}={res[m].result if m in res else 'not checked'}" for m in ("spf", "dkim", "dmarc")), ""))
    else:
        out.append(("  Authentication: not checked (no trusted Authentication-Results)", "yellow"))

    fetches = _fetches(msg)
    urls = list(dict.fromkeys(r.url for _, r in fetches))
    hosts = list(dict.fromkeys(r.host for _, r in fetches))
    out += [("", ""), (f"Opening it would fetch {plural(len(urls), 'URL')} from {plural(len(hosts), 'host')}", "bold")]
    if not fetches:
        out.append(("  nothing: no remote content", ""))
    else:
        limit = MAX_ROWS if verbose else 10
        rows = [["host", "kind", "hidden", "tracker", "recipient", "leaks", "in"]]
        full: list[str] = []
        seen: set[str] = set()
        for path, res in fetches:
            if res.url in seen:
                continue
            seen.add(res.url)
            if len(rows) > limit:
                break
            rows.append([res.host, res.kind, (res.hidden_reason or "hidden") if res.hidden else "", res.tracker or "",
                         res.recipient_token or "",
                         "IP, device, time" + (", who" if res.recipient_token else ""),
                         f"attached {path}" if path else ""])
            full.append(res.url)
        if not any(r[-1] for r in rows[1:]):
            rows = [row[:-1] for row in rows]  # no attached message: no "in" column
        table = _table(rows)
        out.append((table[0], "bold"))
        for line, url in zip(table[1:], full):
            out.append((line, ""))
            if verbose:
                out.append((f"      {url}", "dim"))
        if len(urls) > limit:
            out.append((f"  {ELLIPSIS} and {plural(len(urls) - limit, 'more URL')} (use -v or --json)", "dim"))

    requests = v.extra.get("requests")
    if requests is not None:
        static = {r.host for _, r in fetches}
        unlisted = sorted({q["host"] for q in requests if q.get("host") and q["host"] not in static})
        out += [("", ""), (f"Rendered in headless Chromium ({plural(len(requests), 'request')}, all blocked)", "bold")]
        for q in requests[: MAX_ROWS if verbose else 10]:
            u = q.get("url", "")
            out.append((f"  {q.get('type', ''):10} {u if verbose else cut(u, 120)}", ""))
        if unlisted:
            out.append(("  contacted by the browser but not in the static inventory: " + ", ".join(unlisted), "yellow"))
    out += _leak_lines(_leaks_of(msg, requests, v.open_leaks), verbose)

    limit = MAX_ROWS if verbose else 10
    out += [("", ""), (f"Links ({len(msg.links)})", "bold")]
    for lk in msg.links[:limit]:
        text = cut(lk.text, 60)
        if verbose:
            out.append((f"  \"{text}\"", ""))
            out.append((f"      {lk.href}", ""))
            if lk.final_url:
                out.append((f"      -> {lk.final_url}", ""))
        else:
            dest = f" -> {lk.final_host}" if lk.final_host else ""
            out.append((f"  {lk.host or cut(lk.href, 60)}{dest}  \"{text}\"", ""))
    if len(msg.links) > limit:
        out.append((f"  {ELLIPSIS} and {plural(len(msg.links) - limit, 'more link')} (use -v or --json)", "dim"))

    out += [("", ""), ("Findings", "bold")]
    for f in v.findings:
        if f.score == 0 and not verbose:
            continue
        nested = f" [attached {f.nested}]" if f.nested else ""
        out.append((f"  {f.score:+5.1f} {f.symbol}{nested}: {f.evidence if verbose else cut(f.evidence, 200)}", ""))
    out.append(("", ""))
    return out


def print_verdict(console: Console, v: Verdict, verbose: bool = False) -> None:
    """Write the report of one verdict to ``console`` (plain, unwrapped text when it is not a terminal)."""
    _emit(console, verdict_lines(v, verbose, width=min(console.width, 120) if console.is_terminal else 80))
