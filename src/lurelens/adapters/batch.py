"""What a batch run of ``lurelens scan`` says besides the reports: progress on a terminal, the
end-of-run summary and exit status, and the CSV output. Kept apart from the command so that other
front ends (the hunt, a service) can tally verdicts the same way."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from lurelens.model import Verdict
from lurelens.model.verdict import LABELS, SEVERITY
from lurelens.report.text import spreadsheet_cell

__all__ = ["RunSummary", "CsvWriter", "Progress", "make_progress", "CSV_COLUMNS"]

EXIT_OK, EXIT_FAIL, EXIT_INCOMPLETE = 0, 1, 2
WORST_SHOWN = 5


@dataclass
class RunSummary:
    """Counts per verdict, the worst messages, and the exit status of a run.

    Exit status: 1 when any message is labelled ``fail_on`` or worse, whatever else happened;
    else 2 when any input could not be read or was not fully scanned; else 0.
    """

    fail_on: str = "suspicious"
    counts: Counter = field(default_factory=Counter)
    incomplete: int = 0
    worst: list[tuple[int, float, str, str]] = field(default_factory=list)  # (severity, score, label, name)
    failed: bool = False

    def add(self, name: str, verdict: Verdict | None, problem: str | None = None) -> None:
        if verdict is None:
            self.counts["error"] += 1
            self.incomplete += 1
            return
        self.counts[verdict.label] += 1
        if verdict.incomplete:
            self.incomplete += 1
        sev = SEVERITY.get(verdict.label, 0)
        if sev >= SEVERITY[self.fail_on]:
            self.failed = True
        if sev >= SEVERITY["suspicious"]:
            self.worst.append((sev, verdict.score, verdict.label, name))
            self.worst.sort(reverse=True)
            del self.worst[WORST_SHOWN:]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def exit_status(self) -> int:
        if self.failed:
            return EXIT_FAIL
        return EXIT_INCOMPLETE if self.incomplete else EXIT_OK

    def print(self, err: Console) -> None:
        n = self.total
        parts = [f"{self.counts[lbl]} {lbl}" for lbl in reversed(LABELS) if self.counts[lbl]]
        if self.counts["error"]:
            parts.append(f"{self.counts['error']} not scanned (unreadable or not mail)")
        err.print(f"[bold]Scanned {n} input{'s' if n != 1 else ''}:[/bold] " + (", ".join(parts) or "nothing"))
        if self.incomplete:
            err.print(f"  {self.incomplete} not fully scanned (unreadable, not mail, cut by a limit, a failed check): exit status 2 unless a message failed")
        if self.worst:
            err.print("  Worst:")
            for _sev, score, label, name in self.worst:
                err.print(f"    {label:<10} {score:6.1f}  {escape(name)}")


CSV_COLUMNS = ("file", "verdict", "score", "incomplete", "symbols", "fetch_hosts", "from", "subject", "reason", "error")


class CsvWriter:
    """One row per message on standard output; the header row first. Fields are plain text (a
    spreadsheet opens it as is); ``symbols`` and ``fetch_hosts`` are space-separated."""

    def __init__(self, stream=None):
        self._w = csv.writer(stream or sys.stdout, lineterminator="\n")
        self._w.writerow(CSV_COLUMNS)

    def verdict(self, v: Verdict) -> None:
        msg = v.message
        frm = msg.from_[0].addr if msg is not None and msg.from_ else ""
        hosts = " ".join(dict.fromkeys(r.host for r in msg.resources if r.host)) if msg is not None else ""
        symbols = " ".join(f.symbol for f in v.findings if f.score > 0)
        reason = v.reasons[1] if len(v.reasons) > 1 else (v.reasons[0] if v.reasons else "")
        c = spreadsheet_cell  # text from the message: never a formula in the analyst's spreadsheet
        self._w.writerow([c(v.file or "-"), v.label, f"{v.score:g}", "yes" if v.incomplete else "no", symbols,
                          hosts, c(frm), c((msg.subject or "") if msg is not None else ""), c(reason), c("; ".join(v.errors))])

    def error(self, name: str, problem: str) -> None:
        self._w.writerow([spreadsheet_cell(name), "error", "0", "yes", "", "", "", "", "", spreadsheet_cell(problem)])


class Progress:
    """A rich progress bar on standard error, transient (it disappears when the run ends)."""

    def __init__(self, err: Console, total: int | None = None):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _P

        columns = ((BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) if total
                   else (TextColumn("{task.completed} messages"),))
        self._p = _P(TextColumn("scanning"), *columns, TextColumn("{task.description}"), console=err, transient=True)
        self._task = self._p.add_task("", total=total)
        self._p.start()

    def advance(self, name: str) -> None:
        self._p.update(self._task, advance=1, description=escape(name[-60:]))

    def stop(self) -> None:
        self._p.stop()


def make_progress(err: Console, total: int | None = None) -> Progress | None:
    """A progress display on standard error when it is a terminal (``total`` unknown when the
    inputs are streamed: it then counts messages); none when there is one input of a known total."""
    if err.is_terminal and (total is None or total > 1):
        return Progress(err, total)
    return None
