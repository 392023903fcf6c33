"""The command line: ``lurelens scan PATH...`` and friends.

Exit status: 0 when no message is suspicious or worse, 1 when one is, 2 on a usage or I/O error
(the other inputs are still scanned and reported).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.console import Console

from lurelens.errors import LurelensError
from lurelens.parse import Limits

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="lurelens: catch reconnaissance spear-phishing before the beacon fires.")

EXIT_OK, EXIT_SUSPICIOUS, EXIT_ERROR = 0, 1, 2
_DEFAULTS = Limits()


def iter_inputs(paths: list[str]) -> Iterator[tuple[str, Path | None, str | None]]:
    """(name, path or None for stdin, error) for every input; directories are walked in order."""
    for p in paths:
        if p == "-":
            yield "-", None, None
            continue
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if not f.startswith("."):
                        fp = Path(root) / f
                        yield str(fp), fp, None
        elif path.exists():
            yield str(path), path, None
        else:
            yield str(path), None, "no such file or directory"


def read_input(path: Path | None, limit: int) -> bytes:
    if path is None:
        return sys.stdin.buffer.read(limit + 1)
    with open(path, "rb") as fh:
        return fh.read(limit + 1)


@app.command()
def scan(
    paths: List[str] = typer.Argument(..., help="Message files (.eml), directories (walked recursively), or - for stdin."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per message (JSON Lines)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show zero-score findings and every link."),
    scoring: Optional[Path] = typer.Option(None, "--scoring", help="Scoring file to use instead of the shipped one."),
    authserv_id: List[str] = typer.Option([], "--authserv-id", help="Trust only Authentication-Results from this host (repeatable). Default: the topmost header."),
    max_bytes: int = typer.Option(_DEFAULTS.max_bytes, "--max-bytes", help="Read at most this many bytes of a message."),
    timeout: float = typer.Option(_DEFAULTS.timeout, "--timeout", help="Seconds of scanning per message before the rest is skipped."),
    render: bool = typer.Option(False, "--render", help="Also render each message in headless Chromium and merge what it fetched."),
) -> None:
    """Scan messages: the verdict and why, what opening each would fetch, links, sender."""
    from lurelens.report.jsonout import dumps, error_to_dict, verdict_to_dict
    from lurelens.report.text import print_error, print_verdict
    from lurelens.scanner import Scanner

    out = Console(highlight=False, soft_wrap=False)
    err = Console(stderr=True, highlight=False)
    try:
        limits = Limits(max_bytes=max_bytes, timeout=timeout)
        scanner = Scanner(limits=limits, scoring=scoring, trusted_authserv_ids=authserv_id or None)
    except LurelensError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_ERROR)
    renderer = None
    if render:
        try:
            from lurelens.render.merge import RenderStage
            renderer = RenderStage()
        except LurelensError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_ERROR)
        except ImportError as exc:
            err.print(f"[red]error:[/red] rendering is not available: {exc}")
            raise typer.Exit(EXIT_ERROR)
    status = EXIT_OK
    io_error = False
    inputs = list(iter_inputs(paths))
    show_progress = len(inputs) > 20 and err.is_terminal
    done = 0
    try:
        for name, path, problem in inputs:
            done += 1
            if show_progress and done % 50 == 0:
                err.print(f"[dim]{done}/{len(inputs)} scanned[/dim]", end="\r")
            if problem is None:
                try:
                    raw = read_input(path, limits.max_bytes)
                except OSError as exc:
                    problem = f"cannot read: {exc.strerror or exc}"
            if problem is not None:
                io_error = True
                if json_out:
                    sys.stdout.write(dumps(error_to_dict(name, problem)) + "\n")
                else:
                    print_error(err, name, problem)
                continue
            try:
                verdict = scanner.scan(raw, file=name)
                if renderer is not None:
                    renderer.apply(scanner, verdict, raw)
            except Exception as exc:  # noqa: BLE001 - last line of defence: report, keep going
                io_error = True
                msg = f"internal error while scanning: {type(exc).__name__}: {exc}"
                if json_out:
                    sys.stdout.write(dumps(error_to_dict(name, msg)) + "\n")
                else:
                    print_error(err, name, msg)
                continue
            if verdict.suspicious_or_worse:
                status = EXIT_SUSPICIOUS
            if json_out:
                sys.stdout.write(dumps(verdict_to_dict(verdict)) + "\n")
            else:
                print_verdict(out, verdict, verbose)
    finally:
        if renderer is not None:
            renderer.close()
    sys.stdout.flush()
    raise typer.Exit(EXIT_ERROR if io_error else status)


@app.command()
def symbols() -> None:
    """List every symbol a check can emit, with its weight, group and description."""
    from lurelens.checks import all_symbols
    from lurelens.scoring import load_scoring

    cfg = load_scoring()
    out = Console(highlight=False)
    for name, sym in sorted(all_symbols().items()):
        s = cfg.symbols.get(name, {})
        out.print(f"{name:28} {s.get('weight', 0):+5.1f} {s.get('group', '-'):12} {sym.description}")
    for c in cfg.composites:
        out.print(f"{c.name:28} {c.weight:+5.1f} {'composite':12} {c.description}")


def main() -> None:
    try:
        app(prog_name="lurelens")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
