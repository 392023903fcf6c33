"""The command line: ``lurelens scan PATH...``, ``render`` (what a real browser fetches), ``defuse``
(a copy safe to open) and ``symbols``.

Exit status of scan: 1 when any message is suspicious or worse (``--fail-on``), whatever else
happened; else 2 when any input could not be fully scanned, or on a usage or configuration error;
else 0. render and defuse: 2 when an input could not be rendered or defused (the other inputs are
still processed and reported), a missing browser, or a usage error. docs/cli.md has the details.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterator, List, NoReturn, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lurelens.adapters.batch import CsvWriter, RunSummary, make_progress
from lurelens.errors import ConfigError, LurelensError
from lurelens.model.verdict import LABELS
from lurelens.parse import Limits
from lurelens.render.browser import BrowserNotAvailable
from lurelens.report.text import print_error

__all__ = ["app", "main"]

def _plain_help_types() -> None:
    """Recent typer versions print Python type placeholders (``<bool>``, ``<list[str]>``) in
    ``--help``; show nothing for flags and only our own metavars (FILE, LABEL, N) elsewhere."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover - older typer: no placeholders to hide
        return
    for cls in (TyperOption, TyperArgument):
        original = getattr(cls, "display_type_rich", None)
        if original is None or getattr(original, "_lurelens", False):
            continue

        def display_type_rich(self, ctx, _original=original, _argument=cls is TyperArgument):
            if getattr(self, "is_flag", False) or (_argument and self.metavar):
                return None  # a flag takes no value; an argument's metavar is already its name
            if self.metavar:
                return self.metavar
            shown = _original(self, ctx)
            return None if shown and shown.startswith("<") else shown

        display_type_rich._lurelens = True  # type: ignore[attr-defined]
        setattr(cls, "display_type_rich", display_type_rich)  # a monkey-patch of typer's class


_plain_help_types()

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="lurelens: catch reconnaissance spear-phishing before the beacon fires.")

EXIT_OK, EXIT_SUSPICIOUS, EXIT_ERROR = 0, 1, 2
T = TypeVar("T")
_DEFAULTS = Limits()
# One meaning of --max-bytes in every command: a message is handled in full up to N bytes. Past
# it, scan scans the first N bytes and marks the verdict incomplete; render renders the first N;
# defuse refuses (a partial copy would not be safe). The default leaves room for ordinary large
# attachments (tens of MB), which defuse copies through untouched.
MAX_BYTES = 100 * 1024 * 1024
MAX_BYTES_HELP = ("Handle a message in full up to N bytes. Past it: scan scans the first N and marks the verdict "
                  "incomplete, render renders the first N, defuse refuses it.")


def iter_inputs(paths: list[str]) -> Iterator[tuple[str, Path | None, str | None]]:
    """(name, path or None for stdin, error) for every input of ``render`` and ``defuse``; directories
    are walked in order by the archive readers' walk, which skips FIFOs and other non-regular files,
    mail-store housekeeping files and files that are clearly not mail (``scan`` reads through
    lurelens.sources itself)."""
    from lurelens.sources.sniff import looks_like_mail

    for p in paths:
        if p == "-":
            yield "-", None, None
            continue
        path = Path(p)
        if path.is_dir():
            for fp in _walk_files(str(path)):
                try:
                    with open(fp, "rb") as fh:
                        head = fh.read(16384)
                except OSError as exc:
                    yield fp, None, f"cannot read: {exc.strerror or exc}"
                    continue
                if looks_like_mail(head.lstrip(b"\xef\xbb\xbf\r\n")) is None:
                    yield fp, Path(fp), None
        elif path.exists():
            yield str(path), path, None
        else:
            yield str(path), None, "no such file or directory"


def _walk_files(top: str) -> Iterator[str]:
    """The regular files of a walk, Maildirs found on the way included (their cur/ and new/)."""
    from lurelens.sources.files import walk

    for fp, st, note in walk(top):
        if note == "maildir":
            yield from _walk_files(fp)
        elif st is not None:
            yield fp


def read_input(path: Path | None, limit: int) -> bytes:
    if path is None:
        return sys.stdin.buffer.read(limit + 1)
    with open(path, "rb") as fh:
        return fh.read(limit + 1)


FORMATS = ("text", "json", "csv")
_LABEL_CHOICES = ", ".join(LABELS)


def _label_option(value: str | None, option: str, extra: tuple[str, ...] = ()) -> str | None:
    if value is not None and value not in LABELS + extra:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(LABELS + extra)}", param_hint=option)
    return value


def _scan_inputs(paths: list[str], glob: str | None, max_bytes: int, err: Console
                 ) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(display name, message bytes, error) for every message of every input, streamed: mbox files are
    split, containers opened, bytes normalised (lurelens.sources); skipped entries and notes go to stderr."""
    from lurelens.sources import display_name, iter_items

    for given in paths:
        for item in iter_items([given], glob=glob, stdin="message"):
            name = display_name(item, given)
            if item.note:
                _print_note(err, name, given, item.note)
            if item.skipped:
                continue
            if item.error is not None:
                yield name, None, item.error
            else:
                assert item.data is not None
                # --max-bytes: read at most this much of a message (the scanner cuts and says so).
                yield name, item.data[: max_bytes + 1], None


def _print_note(err: Console, name: str, given: str, note: str) -> None:
    """Notes go to stderr; of an mbox's per-message notes only the first is shown, saying it is split."""
    first, _, rest = note.partition("; ")
    if first.startswith("mbox: message "):
        count = first.split(" of ")[-1] if " of " in first else None
        if (first.startswith("mbox: message 1 ") or first == "mbox: message 1") and count != "1":
            err.print(f"[dim]note:[/dim] {escape(given)} is an mbox: split into "
                      f"{escape(count) + ' messages' if count else 'its messages'}")
        if not rest:
            return
        note = rest
    err.print(f"[dim]note:[/dim] {escape(name)}: {escape(note)}")


def _auth_options(verify: bool, dns_server: str | None, dns_timeout: float, client_ip: str | None,
                  helo: str | None, mail_from: str | None, hop: int, hop_host: str | None) -> dict:
    """Scanner keywords for --verify-auth and its options (none without it: no network)."""
    if not verify:
        if dns_server or client_ip or helo or mail_from is not None:
            raise ValueError("--dns-server, --client-ip, --helo and --mail-from need --verify-auth")
        return {}
    from lurelens.auth import AuthInputs

    if client_ip:
        import ipaddress

        client_ip = str(ipaddress.ip_address(client_ip))  # ValueError: reported as a usage error
    given = AuthInputs(client_ip, helo, mail_from, "cli") if (client_ip or helo or mail_from is not None) else None
    return {"verify_auth": True, "dns_server": dns_server, "dns_timeout": dns_timeout, "trusted_hop": hop,
            "trusted_hop_host": hop_host, "auth_inputs": given}


@app.command()
def scan(
    paths: List[str] = typer.Argument(..., metavar="PATH", help="Message files (.eml), directories (walked recursively), or - for stdin."),
    json_out: bool = typer.Option(False, "--json", help="Same as --format json: one JSON object per message (JSON Lines)."),
    fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help="text (readable report), json (JSON Lines, schema in lurelens/schema/verdict.schema.json) or csv (one row per message)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show zero-score findings, full URLs of every fetch and link."),
    scoring: Optional[Path] = typer.Option(None, "--scoring", metavar="FILE", help="Scoring file to use instead of the shipped one."),
    authserv_id: List[str] = typer.Option([], "--authserv-id", metavar="HOST", help="Trust only Authentication-Results from this host (repeatable). Default: the topmost header."),
    max_bytes: int = typer.Option(MAX_BYTES, "--max-bytes", metavar="N", help=MAX_BYTES_HELP),
    timeout: float = typer.Option(_DEFAULTS.timeout, "--timeout", metavar="SECONDS", help="Seconds of scanning per message before the rest is skipped (the verdict is then marked incomplete)."),
    render: bool = typer.Option(False, "--render", help="Also render each message in headless Chromium and merge what it fetched."),
    render_timeout: float = typer.Option(10.0, "--render-timeout", metavar="SECONDS", help="With --render: seconds of rendering per message."),
    fail_on: str = typer.Option("suspicious", "--fail-on", metavar="LABEL", help=f"Exit 1 when a message is labelled LABEL or worse ({_LABEL_CHOICES})."),
    only: List[str] = typer.Option([], "--only", metavar="LABEL", help="Print only messages with this label (repeatable; also 'error'). The summary and exit status still count every message."),
    summary: Optional[bool] = typer.Option(None, "--summary/--no-summary", help="End-of-run summary on stderr (counts per verdict, worst messages). Default: on when there is more than one input."),
    glob: Optional[str] = typer.Option(None, "--glob", metavar="PATTERN", help="In directories, read only files whose name matches this pattern (e.g. '*.eml')."),
    verify_auth: bool = typer.Option(False, "--verify-auth", help="Check SPF, DKIM, ARC and DMARC against DNS ourselves (needs the auth extra; docs/auth.md)."),
    dns_server: Optional[str] = typer.Option(None, "--dns-server", metavar="HOST[:PORT]", help="With --verify-auth: ask this DNS server (HOST[:PORT]) instead of the system's."),
    dns_timeout: float = typer.Option(2.0, "--dns-timeout", metavar="SECONDS", help="With --verify-auth: seconds per DNS query."),
    client_ip: Optional[str] = typer.Option(None, "--client-ip", metavar="IP", help="With --verify-auth: the SMTP client IP (default: from the trusted Received hop)."),
    helo: Optional[str] = typer.Option(None, "--helo", metavar="NAME", help="With --verify-auth: the HELO name (default: from the trusted Received hop)."),
    mail_from: Optional[str] = typer.Option(None, "--mail-from", metavar="ADDRESS", help="With --verify-auth: the MAIL FROM address, '' for <> (default: Return-Path)."),
    trusted_hop: int = typer.Option(1, "--trusted-hop", metavar="N", help="With --verify-auth: which Received header from the top describes the sending host."),
    trusted_hop_host: Optional[str] = typer.Option(None, "--trusted-hop-host", metavar="HOST", help="With --verify-auth: use the topmost Received header written by this host."),
) -> None:
    """Scan messages: the verdict and why, what opening each would fetch, links, sender.

    A path may be a message, an mbox (split into its messages; also .gz/.xz/.zst), a Maildir, a zip
    of messages, an Outlook .msg, or a directory (walked; files that are not mail are skipped).

    Exit status: 1 when any message is suspicious or worse (see --fail-on), even if others failed;
    else 2 when any input could not be fully scanned (unreadable, not mail, cut by a limit or the
    time limit, a failed check: verdict `incomplete` or the incomplete flag) or on a usage or
    configuration error; else 0. 141 when the reader of the output went away.
    """
    from lurelens.adapters.environment import settings_from_environment
    from lurelens.report.jsonout import dumps, error_to_dict, verdict_to_dict
    from lurelens.report.text import print_verdict
    from lurelens.scanner import Scanner

    _utf8_stdout()
    fmt = "json" if json_out else fmt
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of: {', '.join(FORMATS)}", param_hint="--format")
    _label_option(fail_on, "--fail-on")
    for o in only:
        _label_option(o, "--only", ("error",))
    out = _out_console(_QuietPipeConsole)  # rich would exit 1 on a broken pipe, which means "suspicious" here
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        limits = Limits(max_bytes=max_bytes, timeout=timeout)
        auth_kw = _auth_options(verify_auth, dns_server, dns_timeout, client_ip, helo, mail_from,
                                trusted_hop, trusted_hop_host)
        auth_inputs = auth_kw.pop("auth_inputs", None)
        settings = settings_from_environment(
            limits=limits, scoring_file=str(scoring) if scoring else None,
            trusted_authserv_ids=tuple(authserv_id), **auth_kw)
        scanner = Scanner.from_settings(settings)
        scanner.auth_inputs = auth_inputs
        scanner.warm()  # a bad data or overlay file stops the run here, before any verdict
    except ConfigError as exc:
        _config_error(err, exc)
    except (LurelensError, ValueError, ImportError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    renderer = None
    if render:
        from lurelens.render.merge import RenderStage

        # A Scanner stage: scan() renders and merges (the API and the milter get it the same way).
        renderer = scanner.render = _start_browser(err, lambda: RenderStage(timeout=render_timeout))
    tally = RunSummary(fail_on=fail_on)
    csv_out = CsvWriter() if fmt == "csv" else None
    progress = make_progress(err)
    try:
        for name, raw, problem in _scan_inputs(paths, glob, limits.max_bytes, err):
            if progress is not None:
                progress.advance(name)
            verdict = None
            if problem is None:
                assert raw is not None
                try:
                    verdict = scanner.scan(raw, file=name)
                except BrowserNotAvailable as exc:
                    _browser_missing(err, exc)
                except ConfigError as exc:
                    _config_error(err, exc)
                except Exception as exc:  # noqa: BLE001 - last line of defence: report, keep going
                    problem = f"internal error while scanning: {type(exc).__name__}: {exc}"
            label = verdict.label if verdict is not None else "error"
            tally.add(name, verdict, problem)
            if only and label not in only:
                continue
            if verdict is None:
                problem = problem or "no verdict"  # every path without a verdict sets a problem
                if fmt == "json":
                    sys.stdout.write(dumps(error_to_dict(name, problem)) + "\n")
                elif csv_out is not None:
                    csv_out.error(name, problem)
                else:
                    print_error(err, name, problem)
            elif fmt == "json":
                sys.stdout.write(dumps(verdict_to_dict(verdict)) + "\n")
            elif csv_out is not None:
                csv_out.verdict(verdict)
            else:
                print_verdict(out, verdict, verbose)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    finally:
        if progress is not None:
            progress.stop()
        if renderer is not None:
            renderer.close()
    if summary or (summary is None and tally.total > 1):
        tally.print(err)
    raise typer.Exit(tally.exit_status())


def _utf8_stdout() -> None:
    """Whatever the locale, standard output is UTF-8, and a character that cannot be encoded (a
    lone surrogate from undecodable header bytes) is replaced instead of stopping the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # TextIOWrapper's; a replaced stream may lack it
        try:
            if reconfigure is not None:
                reconfigure(encoding="utf-8", errors="replace")
        except (AttributeError, ValueError):  # not a TextIOWrapper (tests, embedding)
            pass


def _out_console(console: type[Console] = Console) -> Console:
    """Standard output. Piped or redirected, nothing is hard-wrapped (URLs and paths are copied
    whole) and no colour codes are written; on a terminal, rich wraps to its width."""
    if sys.stdout.isatty():
        return console(highlight=False, soft_wrap=True)
    return console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH, no_color=True)


_PIPE_WIDTH = 160  # rules and tables when piped; text lines themselves are never wrapped


def _config_error(err: Console, exc: Exception) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(str(exc))}")
    err.print("Fix or remove that file (a configuration error stops the run: no check is silently disabled).")
    raise typer.Exit(EXIT_ERROR)


def _browser_missing(err: Console, exc: Exception) -> NoReturn:
    err.print(f"[red]error:[/red] cannot render: {escape(str(exc))}")
    if "install-browser.sh" not in str(exc):
        err.print("To install the browser: [bold]sudo scripts/install-browser.sh[/bold] (Debian's chromium package).")
    raise typer.Exit(EXIT_ERROR)


def _start_browser(err: Console, factory: Callable[[], T]) -> T:
    """Start the one browser a command reuses; a missing Chromium is a clean exit 2."""
    try:
        return factory()
    except BrowserNotAvailable as exc:
        _browser_missing(err, exc)
    except (LurelensError, ImportError) as exc:
        err.print(f"[red]error:[/red] rendering is not available: {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)


@app.command()
def render(
    paths: List[str] = typer.Argument(..., help="Message files (.eml), directories (walked recursively), or - for stdin."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per message: file, requests [{url, host, type}]."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds of rendering per message; past it, what was recorded is listed."),
    max_bytes: int = typer.Option(MAX_BYTES, "--max-bytes", metavar="N", help=MAX_BYTES_HELP),
) -> None:
    """Render messages in headless Chromium (JavaScript off, network locked) and list what each tried to fetch."""
    from lurelens.render.browser import BrowserRenderer
    from lurelens.render.merge import displayed_html
    from lurelens.report.jsonout import dumps

    _utf8_stdout()
    out = _out_console()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    limits = Limits(max_bytes=max_bytes)
    renderer = _start_browser(err, lambda: BrowserRenderer().start())
    status = EXIT_OK
    try:
        for name, path, problem in iter_inputs(paths):
            entry: dict = {"file": name, "requests": [], "timed_out": False, "error": None}
            if problem is None:
                try:
                    raw = read_input(path, limits.max_bytes)
                    html, cids = displayed_html(raw, limits)
                    if html:
                        result = renderer.render(html, cid=cids, timeout=timeout)
                        entry["requests"] = [{"url": r.url, "host": r.host, "type": r.type} for r in result.requests]
                        entry["timed_out"], entry["error"] = result.timed_out, result.error
                    else:
                        entry["note"] = "no HTML body: a mail client fetches nothing"
                except OSError as exc:
                    problem = f"cannot read: {exc.strerror or exc}"
                except BrowserNotAvailable as exc:
                    _browser_missing(err, exc)
            if problem is not None or entry["error"]:
                status = EXIT_ERROR
                entry["error"] = entry["error"] or problem
            if json_out:
                sys.stdout.write(dumps(entry) + "\n")
            else:
                _print_render(out, entry)
    finally:
        renderer.close()
    sys.stdout.flush()
    raise typer.Exit(status)


def _print_render(out: Console, entry: dict) -> None:
    reqs = entry["requests"]
    out.rule(f"[bold]{escape(entry['file'])}[/bold]")
    if entry.get("error"):
        out.print(f"  [red]error:[/red] {escape(entry['error'])}")
    if entry.get("note"):
        out.print(f"  {entry['note']}")
    elif not entry.get("error") or reqs:
        hosts = sorted({r["host"] for r in reqs if r["host"]})
        out.print((f"  {_plural(len(reqs), 'request')} to {_plural(len(hosts), 'host')}"
                   " (all blocked: nothing left this machine)" if reqs else "  no network request")
                  + ("; [yellow]time limit reached, list may be incomplete[/yellow]" if entry["timed_out"] else ""))
        for r in reqs:
            out.print(f"  {r['type']:<11} {escape(r['host'] or '-'):<32} {escape(r['url'])}")


@app.command()
def defuse(
    paths: List[str] = typer.Argument(..., metavar="PATH", help="Message files (.eml), directories (walked recursively), or - for stdin."),
    output_arg: Optional[str] = typer.Option(None, "-o", "--output", metavar="OUT", help="SAFE.eml for one message, or a directory (DIR/) for many. Default: stdout for one message."),
    links: str = typer.Option("visible", "--links", metavar="MODE", help="How links are rewritten: visible (destination shown next to each), defang (hxxps://evil[.]example, not clickable), warn (replaced by a warning naming the destination)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per message: what was changed (schema in lurelens/schema/defuse.schema.json)."),
    max_bytes: int = typer.Option(MAX_BYTES, "--max-bytes", metavar="N", help=MAX_BYTES_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite output files that already exist (never the input itself)."),
) -> None:
    """Write a copy of each message that is safe to open in any mail client: no remote fetch, trackers removed, links shown.

    Attachments are copied through untouched. Existing output files are never replaced without
    --force; inputs with the same name get distinct output names (a.eml, a-2.eml). Exit status: 0
    when every message was defused, else 2.
    """
    from lurelens.adapters.environment import settings_from_environment
    from lurelens.defuse import LINK_MODES
    from lurelens.report.jsonout import dumps
    from lurelens.scanner import Scanner

    _utf8_stdout()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if links not in LINK_MODES:
        err.print(f"[red]error:[/red] --links must be one of: {', '.join(LINK_MODES)}")
        raise typer.Exit(EXIT_ERROR)
    jobs = list(_defuse_jobs(paths))
    # A str, not a Path: Path("out/") drops the slash that says "a directory".
    output = Path(output_arg) if output_arg else None
    to_dir = output is not None and (output.is_dir() or (output_arg or "").endswith(("/", os.sep)) or len(jobs) > 1)
    if output is None and len(jobs) != 1:
        err.print("[red]error:[/red] several messages: give an output directory with -o DIR/")
        raise typer.Exit(EXIT_ERROR)
    info = Console(stderr=output is None, highlight=False, soft_wrap=True)
    # The registries (with the user's overlay) of the Scanner the scan command would build.
    scanner = Scanner.from_settings(settings_from_environment())
    status = EXIT_OK
    taken: set[str] = set()
    for name, path, rel, problem in jobs:
        dest = _unique_dest(output / rel, taken) if to_dir and output is not None else output
        entry: dict = {"file": name, "output": str(dest) if dest else "-"}
        try:
            if problem is not None:
                raise ValueError(problem)
            raw = read_input(path, max_bytes)
            if len(raw) > max_bytes:
                raise ValueError(f"larger than --max-bytes ({max_bytes} bytes): not defused, since a partial copy "
                                 "would not be safe; raise --max-bytes to defuse it")
            if dest is not None and path is not None and dest.exists() and dest.resolve() == path.resolve():
                raise ValueError("refusing to overwrite the original message; choose another -o")
            if dest is not None and dest.exists() and not force:
                raise ValueError(f"{dest} already exists; not overwritten (use --force to replace it)")
            result = scanner.defuse(raw, links=links)
            if dest is None:
                sys.stdout.buffer.write(result.data)
                sys.stdout.buffer.flush()
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(result.data)
            entry.update(result.report.to_dict())
        except (OSError, ValueError) as exc:
            status = EXIT_ERROR
            entry["error"] = getattr(exc, "strerror", None) or str(exc)
        if json_out and output is not None:
            sys.stdout.write(dumps(entry) + "\n")
        elif "error" in entry:
            print_error(err, name, entry["error"])
        else:
            n, t, h = entry["fetches_removed"], entry["trackers_removed"], len(entry["hosts"])
            rewritten = entry["other"].get("links rewritten", 0)
            info.print(f"{escape(name)} -> {escape(entry['output'])}: removed {_plural(n, 'remote fetch', 'remote fetches')} "
                       f"({t} tracking) to {_plural(h, 'host')}; links {links} ({rewritten} rewritten)")
    sys.stdout.flush()
    raise typer.Exit(status)


def _defuse_jobs(paths: list[str]) -> Iterator[tuple[str, Path | None, Path, str | None]]:
    """(name, path, output path relative to DIR, error): a file keeps its name, a walked directory its layout."""
    for p in paths:
        top = Path(p)
        for name, path, problem in iter_inputs([p]):
            if path is None:
                yield name, None, Path("stdin.eml"), problem
            elif top.is_dir():
                yield name, path, path.relative_to(top), problem
            else:
                yield name, path, Path(path.name), problem


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _unique_dest(dest: Path, taken: set[str]) -> Path:
    """``dest``, or ``stem-2.ext``, ``stem-3.ext``... when an earlier input of this run already
    took that name (two inputs named a.eml from different folders)."""
    candidate, i = dest, 1
    while os.path.normcase(str(candidate)) in taken:
        i += 1
        candidate = dest.with_name(f"{dest.stem}-{i}{dest.suffix}")
    taken.add(os.path.normcase(str(candidate)))
    return candidate


@app.command()
def reverify(
    message: Path = typer.Argument(..., help="The message file that was scanned."),
    record: Path = typer.Argument(..., help="Its earlier `scan --json --verify-auth` output (or the auth_verification object)."),
    live: bool = typer.Option(False, "--live", help="Also verify again against today's DNS, to compare."),
    dns_server: Optional[str] = typer.Option(None, "--dns-server", help="With --live: ask this DNS server (HOST[:PORT])."),
    json_out: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Verify SPF/DKIM/ARC/DMARC again from the DNS answers recorded with an earlier verdict, so a
    DKIM key withdrawn since can be told apart from a message that was never validly signed."""
    import json

    from lurelens.scanner import Scanner

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        from lurelens import auth

        raw = message.read_bytes()
        first = next((ln for ln in record.read_text(encoding="utf-8").splitlines() if ln.strip()), "{}")
        try:
            rec = json.loads(first)
        except ValueError:
            rec = None
        rec = rec.get("auth_verification", rec) if isinstance(rec, dict) else None
        if not isinstance(rec, dict) or "dns" not in rec:
            raise ValueError(f"{record}: no auth_verification with recorded DNS answers (scan with --verify-auth --json)")
    except (OSError, ValueError, ImportError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    msg = Scanner().parse(raw)
    again = auth.reverify(raw, msg, rec)
    now = None
    if live:
        i = rec.get("inputs") or {}
        now = auth.verify_message(raw, msg, auth.DnsPythonResolver(dns_server),
                                  auth.AuthInputs(i.get("client_ip"), i.get("helo"), i.get("mail_from"), "recorded"))
    report = auth.reverify_report(rec, again, now)
    if json_out:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    out = Console(highlight=False, soft_wrap=True)
    for col in ("recorded", "from_evidence", "live"):
        if report[col] is not None:
            r = report[col]
            out.print(f"{col:14} spf={r.get('spf')} dkim={' '.join(r.get('dkim') or []) or 'none'} "
                      f"arc={r.get('arc')} dmarc={r.get('dmarc')}")
    for note in report["notes"]:
        out.print(f"  {escape(note)}")


@app.command()
def symbols(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per symbol (schema in lurelens/schema/symbols.schema.json)."),
) -> None:
    """List every symbol a check can emit, with its weight, group and description, then the composites."""
    from lurelens.report.jsonout import dumps
    from lurelens.scanner import Scanner

    _utf8_stdout()
    scanner = Scanner()
    cfg = scanner.scoring
    rows = []
    for name, sym in sorted(scanner.symbols.items()):
        s = cfg.symbols.get(name, {})
        rows.append({"symbol": name, "weight": float(s.get("weight", 0)), "group": s.get("group", "other"),
                     "kind": "symbol", "description": sym.description, "attack": list(s.get("attack", [])),
                     "expression": None})
    for c in cfg.composites:
        rows.append({"symbol": c.name, "weight": c.weight, "group": c.group, "kind": "composite",
                     "description": c.description, "attack": list(c.attack), "expression": c.expression})
    if json_out:
        sys.stdout.write("".join(dumps(r) + "\n" for r in rows))
    else:
        sys.stdout.write("".join(f"{r['symbol']:28} {r['weight']:+5.1f} {r['kind'] if r['kind'] == 'composite' else r['group']:12} "
                                 f"{r['description']}\n" for r in rows))
    sys.stdout.flush()


def _version(value: bool) -> None:
    if value:
        from lurelens import __version__

        sys.stdout.write(f"lurelens {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """lurelens: catch reconnaissance spear-phishing before the beacon fires.

    Exit status of scan: 1 when a message is suspicious or worse, else 2 when an input could not
    be fully scanned or on a usage or configuration error, else 0 (details: lurelens scan --help).
    """


_HUNT_EXTRA = "the hunt store needs the 'hunt' extra: pip install 'lurelens[hunt]'"


def _exc_line(exc: BaseException, empty: str = "") -> str:
    """The first line of an exception's text for a one-line error (``empty`` when it has none)."""
    text = str(exc)
    return text.splitlines()[0] if text else empty


def _shown_db(db: str) -> str:
    """``--db`` as printed: never the database password in a terminal or a cron log."""
    if "://" not in db:
        return db
    try:
        from sqlalchemy.engine import make_url

        return make_url(db).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: say that much
        return db.split("://", 1)[0] + "://..."


def _open_store(err: Console, db: str, *, create: bool = False, index: str | None = None):
    """The store at ``--db``, or a clean exit 2. ``create`` (hunt): created when missing and migrated
    to the newest schema. Otherwise never created nor upgraded: read-only at any schema revision this
    lurelens knows, or, with ``index`` (the name of a campaign command: they keep their campaign index
    in the store), writable at the newest revision only."""
    try:
        from lurelens.store import SchemaBehind, Store, sqlite_file
    except ImportError as exc:
        err.print(f"[red]error:[/red] {_HUNT_EXTRA} ({escape(str(exc))})")
        raise typer.Exit(EXIT_ERROR)
    shown = _shown_db(db)
    try:
        path = None if create else sqlite_file(db)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: Store() below says why
        path = None
    if path is not None and not path.exists():  # a typo must not leave an empty database behind
        err.print(f"[red]error:[/red] no store at {escape(shown)} (lurelens hunt SOURCE --db {escape(shown)} makes one)")
        raise typer.Exit(EXIT_ERROR)
    store = None
    try:
        if create:
            return Store(db).migrate()
        store = Store(db, readonly=index is None)
        return store.check(need_head=index is not None)
    except SchemaBehind as exc:
        if store is not None:
            store.close()
        err.print(f"[red]error:[/red] the store {escape(shown)} is at schema revision {exc.current}; lurelens {index} needs "
                  f"{exc.head} and never upgrades a store: lurelens migrate --db {escape(shown)} does (stored messages are kept)")
        raise typer.Exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001 - driver and server errors: one line, exit 2
        if store is not None:
            store.close()
        err.print(f"[red]error:[/red] cannot open the store {escape(shown)}: {escape(_exc_line(exc, type(exc).__name__))}")
        raise typer.Exit(EXIT_ERROR)


@app.command()
def hunt(
    sources: List[str] = typer.Argument(..., help="Archives to hunt: .eml files, directories, mbox (also .gz/.xz/.zst), Maildir, .msg, imaps://user@host/FOLDER."),
    db: str = typer.Option("lurelens.db", "--db", help="Store: a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB."),
    jobs: int = typer.Option(os.cpu_count() or 1, "-j", "--jobs", help="Local worker processes (default: one per core)."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Run on an existing Dask cluster: the scheduler's address (tcp://HOST:8786)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    glob: Optional[str] = typer.Option(None, "--glob", help="In directories, read only files whose name matches this pattern ('*.eml')."),
    partition_size: int = typer.Option(1000, "--partition-size", help="About this many messages per task."),
    scoring: Optional[Path] = typer.Option(None, "--scoring", help="Scoring file to use instead of the shipped one."),
    authserv_id: List[str] = typer.Option([], "--authserv-id", help="Trust only Authentication-Results from this host (repeatable)."),
    max_bytes: int = typer.Option(_DEFAULTS.max_bytes, "--max-bytes", help="Read at most this many bytes of a message."),
    timeout: float = typer.Option(_DEFAULTS.timeout, "--timeout", help="Seconds of scanning per message before the rest is skipped."),
) -> None:
    """Scan whole archives in parallel and keep every verdict in a store; run it again to resume."""
    from lurelens.adapters.environment import settings_from_environment

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if jobs < 1 or partition_size < 1:
        err.print("[red]error:[/red] -j and --partition-size must be at least 1")
        raise typer.Exit(EXIT_ERROR)
    from lurelens.adapters.hunt import prestart, run_hunt, summary_text

    # The same overlay and indicators as scan, resolved here so that every worker uses them.
    settings = settings_from_environment(limits=Limits(max_bytes=max_bytes, timeout=timeout),
                                         scoring_file=str(scoring) if scoring else None,
                                         trusted_authserv_ids=tuple(authserv_id))
    if dask is None:
        prestart(settings)  # the workers' start-up runs while the store is opened
    store = _open_store(err, db, create=True)
    progress = None
    on_plan = on_progress = None
    if err.is_terminal and not json_out:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        progress = Progress(TextColumn("hunting"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]} msg/s"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True)
        task = progress.add_task("hunt", total=None, rate="-")
        started = [0.0]

        def on_plan(total):  # noqa: F811 - set only with a terminal
            import time as _t

            # Called when the hunt starts (total None) and again once the listing knows the total.
            if not started[0]:
                started[0] = _t.monotonic()
                progress.start()
            progress.update(task, total=total)

        def on_progress(n):  # noqa: F811
            import time as _t

            progress.advance(task, n)
            done = progress.tasks[0].completed
            progress.update(task, rate=f"{done / max(_t.monotonic() - started[0], 1e-6):.0f}")
    try:
        result = run_hunt(list(sources), store, settings, jobs=jobs, dask=dask, partition_size=partition_size, glob=glob,
                          on_plan=on_plan, on_progress=on_progress)
    except Exception as exc:  # noqa: BLE001 - a store or cluster failure: one line, exit 2
        if progress is not None:
            progress.stop()
        err.print(f"[red]error:[/red] hunt stopped: {escape(type(exc).__name__)}: {escape(_exc_line(exc))}")
        err.print("Run the same command again to resume: finished partitions are kept.")
        raise typer.Exit(EXIT_ERROR)
    finally:
        if progress is not None:
            progress.stop()
        store.close()
    if json_out:
        from lurelens.report.jsonout import dumps

        sys.stdout.write(dumps(result.to_dict()) + "\n")
    else:
        Console(highlight=False, soft_wrap=True).print(escape(summary_text(result)))
    sys.stdout.flush()
    raise typer.Exit(EXIT_ERROR if result.source_errors else EXIT_OK)


@app.command()
def migrate(
    db: str = typer.Option(..., "--db", help="The store to upgrade: a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB."),
) -> None:
    """Bring an existing store to this lurelens's schema (stored messages are kept); never creates one."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    shown = _shown_db(db)
    store = _open_store(err, db)  # there, a lurelens store, at a revision this lurelens knows (read-only)
    try:
        before = store.revision()
    finally:
        store.close()
    from lurelens.store import Store

    try:
        with Store(db) as upgraded:
            after = upgraded.migrate().revision()
    except Exception as exc:  # noqa: BLE001 - driver and server errors: one line, exit 2
        err.print(f"[red]error:[/red] cannot upgrade the store {escape(shown)}: "
                  f"{escape(_exc_line(exc, type(exc).__name__))}")
        raise typer.Exit(EXIT_ERROR)
    out = Console(highlight=False, soft_wrap=True)
    if before == after:
        out.print(f"store {escape(shown)}: at the newest schema revision ({after}); nothing to do")
    else:
        out.print(f"store {escape(shown)}: schema revision {before} -> {after}; stored messages kept")


@app.command()
def hits(
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    verdict: List[str] = typer.Option([], "--verdict", help="Only these verdicts (repeatable): clean, incomplete, tracked, suspicious, phishing, recon, error."),
    all_: bool = typer.Option(False, "--all", help="Every stored message, whatever its verdict."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per message: the scan --json fields plus id, source, locator."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many, highest score first."),
) -> None:
    """List stored messages: by default those suspicious or worse, highest score first."""
    from lurelens.report.jsonout import dumps
    from lurelens.report.stored import print_hit_line

    from lurelens.model.verdict import LABELS

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # A typo would otherwise list nothing and look like "no such hits"; --limit -1 would list all.
    verdict = [v.lower() for v in verdict]
    unknown = [v for v in verdict if v not in (*LABELS, "error")]
    if unknown or (limit is not None and limit < 1):
        err.print(f"[red]error:[/red] --verdict is one of {', '.join((*LABELS, 'error'))}" if unknown
                  else "[red]error:[/red] --limit must be at least 1")
        raise typer.Exit(EXIT_ERROR)
    store = _open_store(err, db)
    out = _QuietPipeConsole(highlight=False, soft_wrap=True)
    n = 0
    try:
        for h in store.hits(verdict or None, all=all_, limit=limit):
            n += 1
            if json_out:
                sys.stdout.write(dumps(h) + "\n")
            else:
                print_hit_line(out, h)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    except Exception as exc:  # noqa: BLE001 - a store failure: one line, exit 2
        err.print(f"[red]error:[/red] cannot read the store {escape(db)}: {escape(type(exc).__name__)}: "
                  f"{escape(_exc_line(exc))}")
        raise typer.Exit(EXIT_ERROR)
    finally:
        store.close()
    if not json_out and err.is_terminal:
        err.print(f"[dim]{n} message{'s' if n != 1 else ''}[/dim]")


@app.command()
def show(
    message: int = typer.Argument(..., help="A stored message's id (from lurelens hits)."),
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    json_out: bool = typer.Option(False, "--json", help="The stored JSON report."),
) -> None:
    """Print the full stored report of one message."""
    from lurelens.report.jsonout import dumps
    from lurelens.report.stored import print_stored

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    store = _open_store(err, db)
    try:
        # Ids are 64-bit integers: a larger number is no stored message (not a driver overflow).
        d = store.get(message) if 0 < message < 2**63 else None
    except Exception as exc:  # noqa: BLE001 - a store failure: one line, exit 2
        err.print(f"[red]error:[/red] cannot read the store {escape(db)}: {escape(type(exc).__name__)}: "
                  f"{escape(_exc_line(exc))}")
        raise typer.Exit(EXIT_ERROR)
    finally:
        store.close()
    if d is None:
        err.print(f"[red]error:[/red] no message {message} in {escape(db)}")
        raise typer.Exit(EXIT_ERROR)
    if json_out:
        sys.stdout.write(dumps(d) + "\n")
    else:
        print_stored(Console(highlight=False, soft_wrap=True), d)
    raise typer.Exit(EXIT_SUSPICIOUS if d.get("verdict") in ("suspicious", "phishing", "recon") else EXIT_OK)


def _campaigns(err: Console, db: str, command: str, *, refresh: bool = True):
    """The campaigns of the store at ``--db``, brought up to date with what hunts stored since
    (``command``: the command's name, for an error message)."""
    store = _open_store(err, db, index=command)
    from lurelens.campaigns import Campaigns

    camps = Campaigns(store)
    if refresh:
        try:
            camps.update()
        except Exception as exc:  # noqa: BLE001 - a store failure: one line, exit 2
            store.close()
            err.print(f"[red]error:[/red] cannot cluster the store: {escape(type(exc).__name__)}: {escape(_exc_line(exc))}")
            raise typer.Exit(EXIT_ERROR)
    return store, camps


def _campaign_or_exit(err: Console, camps, cid: str, db: str) -> dict:
    s = camps.get(cid)
    if s is None:
        err.print(f"[red]error:[/red] no campaign {escape(cid)} in {escape(db)} (lurelens campaigns --db {escape(db)} lists them)")
        raise typer.Exit(EXIT_ERROR)
    return s


@app.command("campaigns")
def campaigns_cmd(
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per campaign (JSON Lines)."),
    min_messages: int = typer.Option(1, "--min-messages", help="Only campaigns of at least this many messages."),
) -> None:
    """Group the stored hits into campaigns (shared infrastructure, near-duplicate lures) and list them."""
    from lurelens.report.campaigns import print_campaign_rows
    from lurelens.report.jsonout import dumps

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    store, camps = _campaigns(err, db, "campaigns")
    try:
        rows = camps.list(min_messages=min_messages)
    finally:
        store.close()
    if json_out:
        sys.stdout.write("".join(dumps(r) + "\n" for r in rows))
    else:
        print_campaign_rows(Console(highlight=False, soft_wrap=True), rows)


@app.command("campaign")
def campaign_cmd(
    campaign: str = typer.Argument(..., help="A campaign id (from lurelens campaigns), or a unique prefix of one."),
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    json_out: bool = typer.Option(False, "--json", help="The full campaign as one JSON object."),
) -> None:
    """Show one campaign: its messages, recipients, senders, infrastructure and why they are linked."""
    from lurelens.report.campaigns import print_campaign
    from lurelens.report.jsonout import dumps

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    store, camps = _campaigns(err, db, "campaign")
    try:
        s = _campaign_or_exit(err, camps, campaign, db)
    finally:
        store.close()
    if json_out:
        sys.stdout.write(dumps(s) + "\n")
    else:
        print_campaign(Console(highlight=False, soft_wrap=True), s)


@app.command("who-else")
def who_else(
    message: Path = typer.Argument(..., help="A message file (.eml), e.g. one a user just reported."),
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    json_out: bool = typer.Option(False, "--json", help="The answer as one JSON object."),
    max_bytes: int = typer.Option(_DEFAULTS.max_bytes, "--max-bytes", help="Read at most this many bytes of the message."),
) -> None:
    """Who else received this lure: scan the message, find its campaign in the store, list every
    recipient and the sibling messages. Exit 0 when it belongs to a campaign, 1 when to none."""
    import hashlib

    from lurelens.adapters.environment import settings_from_environment
    from lurelens.report.campaigns import print_who_else
    from lurelens.report.jsonout import dumps
    from lurelens.scanner import Scanner

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        raw = read_input(message, max_bytes)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {escape(str(message))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    try:
        verdict = Scanner.from_settings(settings_from_environment(limits=Limits(max_bytes=max_bytes))).scan(raw)
    except (LurelensError, ValueError, ImportError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    report = verdict.to_dict()
    features = report.get("features") or {}
    store, camps = _campaigns(err, db, "who-else")
    try:
        # The same bytes as a hunt stored (an mbox keeps LF line ends and one final newline): the
        # stored message's campaign.
        lf = raw.replace(b"\r\n", b"\n")
        hashes = {hashlib.sha256(b).hexdigest() for b in (raw, lf, lf.rstrip(b"\n") + b"\n", lf.rstrip(b"\n"))}
        stored = sorted({i for h in hashes for i in camps.stored_ids(h)})
        cid = next((c for c in (camps.of_message(i) for i in stored) if c), None)
        evidence: list = []
        if cid is None:
            from lurelens.store.neardup import text_minhash

            msg = verdict.message
            found = camps.match(report, list(features.get("recipients") or []), list(features.get("claimed") or []),
                                minhash=text_minhash(msg.visible_text or msg.text) if msg is not None else None)
            if found:
                cid, evidence = found[0]["campaign"], found[0]["evidence"]
        s = camps.get(cid) if cid else None
    finally:
        store.close()
    out = {"file": str(message), "verdict": verdict.label, "score": verdict.score, "stored": stored,
           "campaign": None if s is None else {k: s[k] for k in ("id", "name", "first_seen", "last_seen", "infrastructure",
                                                                   "claimed", "verdicts", "why")},
           "evidence": evidence, "recipients": s["recipients"] if s else [],
           "siblings": [m for m in s["messages"] if m["id"] not in stored] if s else []}
    if json_out:
        sys.stdout.write(dumps(out) + "\n")
    else:
        print_who_else(Console(highlight=False, soft_wrap=True), out)
    raise typer.Exit(EXIT_OK if s is not None else EXIT_SUSPICIOUS)


@app.command("watchlist")
def watchlist(
    campaign: str = typer.Option(..., "--campaign", help="The campaign id (from lurelens campaigns)."),
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    fmt: str = typer.Option("csv", "--format", help="csv or json (JSON Lines)."),
) -> None:
    """Who opened: the campaign's per-recipient tracking tokens as host + URL template + token ->
    recipient, to search proxy and DNS logs for."""
    from lurelens.report.campaigns import watchlist_csv
    from lurelens.report.jsonout import dumps

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if fmt not in ("csv", "json"):
        err.print("[red]error:[/red] --format is csv or json")
        raise typer.Exit(EXIT_ERROR)
    store, camps = _campaigns(err, db, "watchlist")
    try:
        s = _campaign_or_exit(err, camps, campaign, db)
        rows = camps.watchlist(s["id"])
    finally:
        store.close()
    sys.stdout.write(watchlist_csv(rows) if fmt == "csv" else "".join(dumps(r) + "\n" for r in rows))


@app.command("export")
def export(
    campaign: str = typer.Option(..., "--campaign", help="The campaign id (from lurelens campaigns)."),
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    fmt: str = typer.Option("stix", "--format", help="stix (a STIX 2.1 bundle) or misp (a MISP event JSON)."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
    tlp: str = typer.Option("amber+strict", "--tlp", help="TLP 2.0 marking: clear, green, amber, amber+strict, red."),
    include_recipients: bool = typer.Option(False, "--include-recipients", help="Recipient addresses in clear (default: keyed-hash pseudonyms)."),
    pseudonym_key: Optional[str] = typer.Option(None, "--pseudonym-key", envvar="LURELENS_PSEUDONYM_KEY",
                                                help="Secret key of the recipient pseudonyms (keep it to match them later); default: a random one."),
) -> None:
    """Export a campaign for a CERT or partners: a STIX 2.1 bundle (campaign, indicators, beacon
    infrastructure, e-mail observables, ATT&CK, TLP marking) or a MISP event (e-mail, domain-ip, url,
    tracking-id objects, relationships, TLP and ATT&CK tags)."""
    from lurelens.report.jsonout import dumps

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if fmt not in ("stix", "misp"):
        err.print(f"[red]error:[/red] --format {escape(fmt)} is not supported (stix or misp)")
        raise typer.Exit(EXIT_ERROR)
    try:
        from lurelens.campaigns.details import message_details
        from lurelens.campaigns.stix import TLP_LEVELS, stix_bundle
        if fmt == "misp":
            from lurelens.campaigns.misp import misp_event
            import pymisp  # noqa: F401 - the MISP export needs it; say so before touching the store
    except ImportError as exc:
        err.print(f"[red]error:[/red] the export needs the 'campaigns' extra: pip install 'lurelens[campaigns]' ({escape(str(exc))})")
        raise typer.Exit(EXIT_ERROR)
    level = tlp.lower().removeprefix("tlp:")
    if level not in TLP_LEVELS:
        err.print(f"[red]error:[/red] --tlp is one of {', '.join(TLP_LEVELS)}")
        raise typer.Exit(EXIT_ERROR)
    key = (pseudonym_key or "").encode()
    if not include_recipients and not key:
        key = os.urandom(32)
        err.print("[dim]recipients pseudonymised with a random key (--pseudonym-key to choose one)[/dim]")
    store, camps = _campaigns(err, db, "export")
    try:
        s = _campaign_or_exit(err, camps, campaign, db)
        watch = camps.watchlist(s["id"])
        details = message_details(store, [m["id"] for m in s["messages"]])
    finally:
        store.close()
    try:
        if fmt == "misp":
            doc = misp_event(s, watch, details, tlp=level, include_recipients=include_recipients, key=key)
        else:
            doc = stix_bundle(s, watch, tlp=level, include_recipients=include_recipients, key=key, details=details)
    except Exception as exc:  # noqa: BLE001 - a stored value the library refuses: one error line, not a traceback
        err.print(f"[red]error:[/red] cannot build the {fmt.upper()} export of {escape(s['id'])}: {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    try:
        output.write_text(dumps(doc) + "\n", encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write {escape(str(output))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(EXIT_ERROR)


intel_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Local threat-intel indicator lists (docs/intel.md).")
app.add_typer(intel_app, name="intel")


@intel_app.command("import")
def intel_import(
    file: Path = typer.Argument(..., metavar="FILE", help="A STIX 2.1 bundle or a MISP event JSON."),
    directory: Optional[Path] = typer.Option(None, "--dir", help="The intel directory to write to (default: the first of "
                                             "$LURELENS_INTEL_DIR, else <data overlay>/iocs)."),
    name: Optional[str] = typer.Option(None, "--name", help="File name to write (default: imported-<format>-<source id>.csv)."),
    json_out: bool = typer.Option(False, "--json", help="Print what was imported as JSON."),
) -> None:
    """Import the indicators of a STIX 2.1 bundle or a MISP event (domains, URLs, IPs, sender
    addresses, file hashes) into a local intel list that scan matches."""
    from lurelens.adapters.environment import data_overlay_dir, intel_dirs
    from lurelens.registry.intel_import import IntelImportError, import_file
    from lurelens.report.jsonout import dumps

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if directory is None:
        dirs = [d for d in intel_dirs() if not d.is_file()]
        overlay = data_overlay_dir() or Path(os.path.expanduser("~/.config/lurelens/data.d"))
        directory = dirs[0] if dirs else overlay / "iocs"
    try:
        res = import_file(file, directory, name=name)
    except IntelImportError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    if json_out:
        sys.stdout.write(dumps(res.to_dict()) + "\n")
        return
    by = ", ".join(f"{n} {t}" for t, n in res.counts().items())
    print(f"{len(res.indicators)} indicators ({by}) from {res.format.upper()} {res.source_id} -> {res.path}")
    for reason, n in sorted(res.skipped.items()):
        err.print(f"[dim]skipped {n}: {escape(reason)}[/dim]")
@app.command("report")
def report_cmd(
    db: str = typer.Option("lurelens.db", "--db", help="The store a hunt wrote."),
    output: Path = typer.Option(..., "-o", "--output", help="The HTML file to write."),
    title: str = typer.Option("lurelens campaign report", "--title", help="The report's title."),
    detailed: int = typer.Option(25, "--detailed", help="Campaigns with a detail section (most threatening first)."),
) -> None:
    """Write the campaigns as one self-contained HTML report (no remote asset, no script): campaigns
    ranked by threat, timeline, who was targeted, infrastructure graph, what opening leaked."""
    try:
        from lurelens.report.campaign_html import ReportLimits, build_report
    except ImportError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] the report needs the 'report' extra: pip install 'lurelens[report]' ({escape(str(exc))})")
        raise typer.Exit(EXIT_ERROR)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    store = _open_store(err, db, index="report")
    bar = _report_progress(err)
    try:
        page = build_report(store, title=title, limits=ReportLimits(detailed=max(detailed, 0)),
                            progress=bar.update if bar else None)
    except Exception as exc:  # noqa: BLE001 - a store failure: one line, exit 2
        err.print(f"[red]error:[/red] cannot build the report: {escape(type(exc).__name__)}: {escape(_exc_line(exc))}")
        raise typer.Exit(EXIT_ERROR)
    finally:
        if bar:
            bar.stop()
        store.close()
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write {escape(str(output))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(EXIT_ERROR)
    err.print(f"wrote {escape(str(output))} ({len(page.encode()) / 1e6:.1f} MB)")


class _ReportBar:
    """The report's steps as a rich progress bar on standard error (transient)."""

    def __init__(self, err: Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("report: {task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=err, transient=True)
        self._task = self._p.add_task("", total=None)
        self._p.start()

    def update(self, step: str, done: int, total: int) -> None:
        self._p.update(self._task, description=step, completed=done, total=total)

    def stop(self) -> None:
        self._p.stop()


def _report_progress(err: Console) -> _ReportBar | None:
    # Only on a terminal: nothing is written into a pipe or a log file.
    return _ReportBar(err) if err.is_terminal else None


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; other than loopback only with tokens."),
    port: int = typer.Option(8025, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", help="Worker processes, each with its own warm scanner."),
    db: Optional[str] = typer.Option(None, "--db", help="The hunt's store, to serve /v1/hits."),
    tokens_file: Optional[Path] = typer.Option(None, "--tokens-file", help="Bearer tokens, one a line (also: $LURELENS_API_TOKENS)."),
    max_body: int = typer.Option(_DEFAULTS.max_bytes, "--max-body", help="Larger request bodies are refused (413)."),
    max_pending: int = typer.Option(8, "--max-pending", help="Scans running or waiting per worker; past it: 503 with Retry-After."),
    request_timeout: float = typer.Option(15.0, "--request-timeout", help="Seconds a request waits for its scan (then 503)."),
    scoring: Optional[Path] = typer.Option(None, "--scoring", help="Scoring file to use instead of the shipped one."),
    authserv_id: List[str] = typer.Option([], "--authserv-id", help="Trust only Authentication-Results from this host (repeatable)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The data overlay directory (default: $LURELENS_DATA_DIR); analysts' allow and block actions are written there."),
    verify_auth: bool = typer.Option(False, "--verify-auth", help="Check SPF, DKIM, ARC and DMARC against DNS ourselves (needs the auth extra; docs/auth.md). /checkv2 uses the client IP, HELO and sender the MTA sent."),
    dns_server: Optional[str] = typer.Option(None, "--dns-server", metavar="HOST[:PORT]", help="With --verify-auth: ask this DNS server (HOST[:PORT]) instead of the system's."),
    dns_timeout: float = typer.Option(2.0, "--dns-timeout", metavar="SECONDS", help="With --verify-auth: seconds per DNS query."),
    access_log: bool = typer.Option(False, "--access-log", help="Log a line per request (uvicorn's access log)."),
) -> None:
    """Serve the HTTP API (/v1/scan, /v1/defuse, rspamd's /checkv2, /metrics) and the analyst page at /."""
    try:
        from lurelens.adapters.api import ServeConfig, load_tokens, run_server
    except ImportError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {exc.name} is missing: pip install 'lurelens[serve]'")
        raise typer.Exit(EXIT_ERROR)
    from lurelens.adapters.environment import settings_from_environment

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # Checked before the server starts: uvicorn would listen on "port 99999" or log an error and go on.
    bad = next((msg for ok, msg in (
        (0 <= port <= 65535, f"--port {port} is not a TCP port (0-65535)"),
        (workers >= 1 and max_pending >= 1 and max_body >= 1, "--workers, --max-pending and --max-body must be at least 1"),
        (request_timeout > 0 and dns_timeout > 0, "--request-timeout and --dns-timeout must be more than 0 seconds"),
        (db is None or _store_file_present(db), f"no store at {db} (lurelens hunt --db {db} makes one)"),
    ) if not ok), None)
    if bad:
        err.print(f"[red]error:[/red] {escape(bad)}")
        raise typer.Exit(EXIT_ERROR)
    try:
        auth_kw = _auth_options(verify_auth, dns_server, dns_timeout, None, None, None, 1, None)
        auth_kw.pop("auth_inputs", None)
        if data_dir is not None:
            auth_kw["data_dir"] = str(data_dir)
        settings = settings_from_environment(limits=Limits(max_bytes=max_body), scoring_file=str(scoring) if scoring else None,
                                             trusted_authserv_ids=tuple(authserv_id), **auth_kw)
        if verify_auth:
            import lurelens.auth  # noqa: F401 - the auth extra is missing: say so here, not in every worker
        config = ServeConfig(settings=settings, tokens=load_tokens(tokens_file), max_body=max_body, db=db,
                             max_pending=max_pending, request_timeout=request_timeout)
        run_server(config, host, port, workers, access_log=access_log)
    except (OSError, ValueError, LurelensError, ImportError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)


def _store_file_present(db: str) -> bool:
    """False when ``--db`` names a SQLite file (a path or a sqlite:/// URL) that is not there: the
    server opens the store without creating it, but SQLite would create an empty file."""
    try:
        from lurelens.store import sqlite_file

        path = sqlite_file(db)
    except Exception:  # noqa: BLE001 - no hunt extra, or not a URL: the server says so when it opens the store
        path = None if "://" in db else Path(db).expanduser()
    return path is None or path.is_file()


@app.command()
def milter(
    socket: str = typer.Option("inet:8894@127.0.0.1", "--socket", help="Where Postfix connects: inet:PORT@HOST or unix:/PATH."),
    on_error: str = typer.Option("tempfail", "--on-error", help="When the scanner fails, times out or is overloaded: tempfail (defer with 4xx, the default) or accept (pass unscanned, logged and marked)."),
    action_clean: str = typer.Option("accept", "--action-clean", help="accept, tag, quarantine, reject or defuse."),
    action_incomplete: str = typer.Option("accept", "--action-incomplete", help="A verdict on what could be read (stamped incomplete, never clean)."),
    action_tracked: str = typer.Option("accept", "--action-tracked"),
    action_suspicious: str = typer.Option("tag", "--action-suspicious"),
    action_phishing: str = typer.Option("quarantine", "--action-phishing"),
    action_recon: str = typer.Option("quarantine", "--action-recon"),
    timeout: float = typer.Option(20.0, "--timeout", help="Seconds a scan may take before the message is deferred."),
    workers: int = typer.Option(2, "--workers", help="Scanner processes."),
    max_pending: int = typer.Option(0, "--max-pending", help="Scans queued or running before new mail is deferred (0: 4 per worker)."),
    metrics: Optional[str] = typer.Option(None, "--metrics", help="HOST:PORT for a Prometheus /metrics endpoint (needs the milter extra)."),
    keep_originals: Optional[Path] = typer.Option(None, "--keep-originals", help="Directory where the original of each defused message is kept."),
    scoring: Optional[Path] = typer.Option(None, "--scoring", help="Scoring file to use instead of the shipped one."),
    authserv_id: List[str] = typer.Option([], "--authserv-id", help="Trust only Authentication-Results from this host (repeatable)."),
    verify_auth: bool = typer.Option(False, "--verify-auth", help="Check SPF (with the real SMTP client), DKIM, ARC and DMARC against DNS ourselves (auth extra)."),
    dns_server: Optional[str] = typer.Option(None, "--dns-server", help="With --verify-auth: ask this DNS server (HOST[:PORT])."),
) -> None:
    """Run as a Postfix/Sendmail milter: stamp each message with its verdict, then act on it (see docs/milter.md)."""
    import logging

    from lurelens.adapters.milter import MilterConfig, run as run_milter
    from lurelens.registry.data import overlay_dir
    from lurelens.settings import ScannerSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    actions = {"clean": action_clean, "incomplete": action_incomplete, "tracked": action_tracked, "suspicious": action_suspicious,
               "phishing": action_phishing, "recon": action_recon}
    try:
        cfg = MilterConfig(actions=actions, on_error=on_error, timeout=timeout, workers=workers,
                           max_pending=max_pending, keep_originals=str(keep_originals) if keep_originals else None)
        settings = ScannerSettings(scoring_file=str(scoring) if scoring else None,
                                   trusted_authserv_ids=tuple(authserv_id),
                                   data_dir=str(overlay_dir()) if overlay_dir() else None,
                                   verify_auth=verify_auth, dns_server=dns_server)
        run_milter(settings, cfg, socket, metrics)
    except (ValueError, LurelensError, ImportError, OSError) as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR)


def main() -> None:
    try:
        app(prog_name="lurelens")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        _quiet_broken_pipe()


class _QuietPipeConsole(Console):
    """Standard output that stops quietly when the reader goes away (see _quiet_broken_pipe)."""

    def on_broken_pipe(self) -> None:
        _quiet_broken_pipe()


def _quiet_broken_pipe() -> None:
    """The reader went away (``lurelens scan ... | head``): stop quietly, as shell tools do,
    with 141 (128 + SIGPIPE) so it is not mistaken for "suspicious" (1)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    sys.exit(141)


if __name__ == "__main__":
    main()
