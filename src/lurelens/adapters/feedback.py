"""Analyst feedback from the web page and the API: mark a false positive, allow a sender or host, or
block one. Allow and block entries are written into the data overlay the scanners read
(``allowed_senders.txt``, ``allowed_hosts.txt``, ``iocs/lurelens-feedback.txt``), so the lists stay
data outside the code that an operator can read, edit and version; every action is also appended to
``feedback.jsonl`` there, an append-only log of who decided what about which message.

Several worker processes may write at once: each write holds an exclusive ``flock`` on
``.feedback.lock`` in the same directory.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import re
from collections import deque
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

from lurelens.errors import InputError
from lurelens.parse.urls import PSL
from lurelens.registry.intel import normalise_domain, normalise_email
from lurelens.registry.local import ALLOWED_HOSTS, ALLOWED_SENDERS

__all__ = ["ACTIONS", "FEEDBACK_LOG", "INTEL_FILE", "MAX_LINE", "Feedback", "FeedbackError"]

FEEDBACK_LOG = "feedback.jsonl"
# The longest log line read (the newline not counted). An entry is a few hundred bytes; a longer line
# (a hand edit, another program's output) is skipped with a per-line problem, read in pieces and never
# held whole, so a multi-gigabyte line cannot exhaust the server's memory.
MAX_LINE = 1024 * 1024
_SKIP_CHUNK = 64 * 1024
_PROBLEMS_SHOWN = 10
INTEL_FILE = "iocs/lurelens-feedback.txt"  # read by the indicator store as part of the overlay's iocs/
# action -> (what the value is, the file it is added to)
ACTIONS: dict[str, tuple[str | None, str | None]] = {
    "false_positive": (None, None),
    "allow_sender": ("sender", ALLOWED_SENDERS),
    "allow_host": ("host", ALLOWED_HOSTS),
    "block_sender": ("sender", INTEL_FILE),
    "block_host": ("host", INTEL_FILE),
}


class FeedbackError(InputError, ValueError):
    """The action or its value is not acceptable (the client's error)."""


# A value is written as one line of a list file: whitespace, a control character or "#" in it would
# split it into other entries (a newline in an address's local part would add a line of its own) or
# cut it at a comment.
# A lone surrogate (JSON "\\udcff") cannot be written as UTF-8 at all.
_NOT_IN_A_LINE = re.compile(r"[\s#\x00-\x1f\x7f\ud800-\udfff]")


def _domain(value: str) -> str | None:
    v = normalise_domain(value)
    if v is not None and PSL.is_public(v):
        # "co.uk" or "github.io" would allow or block every domain under it.
        raise FeedbackError(f"{v} is a public suffix: name the host or the registered domain")
    return v


def _sender(value: str) -> tuple[str, str]:
    """(intel type, normalised value) of an address or a domain."""
    if "@" in value:
        v = normalise_email(value)
        if v is None or _NOT_IN_A_LINE.search(v):
            raise FeedbackError(f"not an e-mail address: {value!r}")
        return "email", v
    v = _domain(value)
    if v is None:
        raise FeedbackError(f"not an address or a domain: {value!r}")
    return "domain", v


def _host(value: str) -> tuple[str, str]:
    try:
        return "ip", str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        pass
    v = _domain(value)
    if v is None:
        raise FeedbackError(f"not a host name or an IP address: {value!r}")
    return "domain", v


def _one_line(text: str | None, limit: int = 300) -> str:
    return " ".join((text or "").split())[:limit].encode("utf-8", "replace").decode("utf-8")


class Feedback:
    """The feedback files of one data overlay directory (created on first write)."""

    def __init__(self, data_dir: str | Path):
        self.dir = Path(data_dir)
        self.log = self.dir / FEEDBACK_LOG

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".feedback.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def stamp(self) -> tuple[int, int] | None:
        """The log's (mtime, size): it changes with every action, so a worker compares it to know
        when to re-read the lists."""
        try:
            st = os.stat(self.log)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def record(self, action: str, value: str | None = None, *, hit: int | None = None,
               note: str | None = None, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """Apply one action and log it. ``message``: what is known of the message it is about
        (verdict, score, symbols, sender, subject). Returns the log entry."""
        if action not in ACTIONS:
            raise FeedbackError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
        kind, target = ACTIONS[action]
        entry: dict[str, Any] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "action": action}
        line = None
        if kind is not None:
            if not value or not value.strip():
                raise FeedbackError(f"{action} needs a value (the {kind})")
            itype, norm = _sender(value) if kind == "sender" else _host(value)
            if action.startswith("allow") and itype == "ip":
                raise FeedbackError("allow_host takes a host name; an IP address cannot be allowed")
            entry["value"] = norm
            entry["file"] = target
            comment = f"lurelens feedback {entry['at']}" + (f" hit {hit}" if hit is not None else "")
            line = (f"{itype} {norm}" if target == INTEL_FILE else norm) + f"  # {comment}"
        elif hit is None:
            raise FeedbackError("false_positive needs the stored message (hit)")
        if hit is not None:
            entry["hit"] = hit
        if note:
            entry["note"] = _one_line(note)
        if message:
            entry["message"] = message
        with self._locked():
            if line is not None and target is not None:
                entry["added"] = self._append_once(self.dir / target, entry["value"], line)
            # backslashreplace: a lone surrogate in ``message`` is written as its JSON escape, so the
            # log line is always written once the list changed (never an action without its entry).
            with open(self.log, "ab") as f:
                f.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8", "backslashreplace"))
        return entry

    @staticmethod
    def _append_once(path: Path, value: str, line: str) -> bool:
        """Add ``line`` unless ``value`` is listed already. True when added."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        for old in text.splitlines():
            words = old.split("#", 1)[0].split()
            if words and words[-1].lower() == value:
                return False
        # Written in one call (O_APPEND): a reader sees the line whole or not at all.
        with open(path, "a", encoding="utf-8") as f:
            f.write(("" if not text or text.endswith("\n") else "\n") + line + "\n")
        return True

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The last ``limit`` entries of the log, newest first (unreadable lines skipped)."""
        return self.read(limit)[0]

    def read(self, limit: int = 100) -> tuple[list[dict[str, Any]], list[str]]:
        """(the last ``limit`` entries of the log, newest first; what was skipped, one problem a line:
        a line that is not a JSON object or is longer than :data:`MAX_LINE`). At most ``limit`` lines
        of up to MAX_LINE bytes are held at once."""
        skipped: list[tuple[int, str]] = []
        try:
            f = open(self.log, "rb")
        except FileNotFoundError:
            return [], []
        with f:
            lines = deque(_bounded_lines(f, skipped), maxlen=limit)
        out = []
        for n, line in reversed(lines):
            try:
                entry = json.loads(line.decode("utf-8", "replace"))
            except json.JSONDecodeError:
                entry = None
            if isinstance(entry, dict):
                out.append(entry)
            elif line.strip():
                skipped.append((n, "not a JSON object"))
        problems = [f"{FEEDBACK_LOG} line {n}: {why}, skipped" for n, why in sorted(skipped)[:_PROBLEMS_SHOWN]]
        if len(skipped) > _PROBLEMS_SHOWN:
            problems.append(f"... and {len(skipped) - _PROBLEMS_SHOWN} more lines skipped")
        return out, problems


def _bounded_lines(f, skipped: list[tuple[int, str]]) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a binary file; a line longer than MAX_LINE is read past in pieces,
    never whole, and added to ``skipped`` instead."""
    n = 0
    while line := f.readline(MAX_LINE + 1):
        n += 1
        if len(line) <= MAX_LINE or line.endswith(b"\n"):
            yield n, line
            continue
        size = len(line)
        while piece := f.readline(_SKIP_CHUNK):
            if piece.endswith(b"\n"):
                size += len(piece) - 1
                break
            size += len(piece)
        skipped.append((n, f"longer than {MAX_LINE // (1024 * 1024)} MiB ({size} bytes)"))
