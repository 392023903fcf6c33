"""Archive readers shared by ``lurelens scan`` and ``lurelens hunt``: files, directories, mbox (plain
and compressed), Maildir, Outlook .msg, zip, IMAP(S) and lists of paths, each read in a streaming way.

``open_source(spec)`` sniffs what a spec is and returns a :class:`Source`; its ``partitions()`` are
picklable chunks a worker reads itself; ``iter_items(specs)`` reads everything in order. Every
message gets an identity (source, locator, sha256) and every unreadable one a per-item error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from lurelens.errors import LurelensError
from lurelens.sources._model import Item, Partition, Source
from lurelens.sources.files import DirSource, FileSource, PathListSource, open_path
from lurelens.sources.maildir import MaildirSource
from lurelens.sources.mbox import split_mbox_bytes
from lurelens.sources.sniff import MAX_MESSAGE_BYTES, sniff

__all__ = [
    "DirSource",
    "FileSource",
    "Item",
    "MaildirSource",
    "Partition",
    "PathListSource",
    "Source",
    "SourceError",
    "display_name",
    "iter_items",
    "open_source",
    "sniff",
]


class SourceError(LurelensError, ValueError):
    """A source spec that cannot be opened at all (missing path, bad URL, IMAP login refused)."""


def _is_imap(spec: str) -> bool:
    return spec.lower().startswith(("imap://", "imaps://"))


def open_source(spec: str, *, glob: str | None = None, imap_password: str | None = None) -> Source:
    """The source a spec names: ``-`` (a list of paths on stdin), ``imap://`` / ``imaps://`` URL,
    a Maildir, a directory, or a file (message, mbox, compressed, zip, .msg).

    Raises :class:`SourceError` when the spec names nothing that can be read."""
    if spec == "-":
        return PathListSource("-", glob=glob)
    if _is_imap(spec):
        from lurelens.sources.imap import ImapSource

        return ImapSource.from_url(spec, password=imap_password)
    try:
        return open_path(spec, glob=glob)
    except FileNotFoundError:
        raise SourceError(f"{spec}: no such file or directory") from None
    except OSError as exc:
        raise SourceError(f"{spec}: unreadable: {(exc.strerror or str(exc)).lower()}") from None


def _stdin_message(max_bytes: int) -> Iterator[Item]:
    data = sys.stdin.buffer.read(max_bytes + 1)
    if len(data) > max_bytes:
        yield Item("-", "-", None, f"unreadable: more than {max_bytes} bytes on stdin")
    elif data.startswith(b"From "):
        yield from split_mbox_bytes("-", data)
    else:
        out, err, note = sniff(data)
        yield Item("-", "-", out, err, note)


def iter_items(specs: list[str], *, glob: str | None = None, imap_password: str | None = None,
               stdin: str = "paths", target: int = 1000) -> Iterator[Item]:
    """Every item of every source, in order. A spec that cannot be opened yields one error item
    (its error is the SourceError's message without the spec). ``stdin="message"`` makes ``-`` mean
    one message (or an mbox) on standard input, as ``lurelens scan -`` has it; the default reads a
    list of paths, as ``lurelens hunt -``."""
    for spec in specs:
        if spec == "-" and stdin == "message":
            yield from _stdin_message(MAX_MESSAGE_BYTES)
            continue
        try:
            src = open_source(spec, glob=glob, imap_password=imap_password)
            for part in src.partitions(target):
                yield from part.read()
        except SourceError as exc:
            msg = str(exc)
            yield Item(spec if _is_imap(spec) else os.path.abspath(spec), "",
                       None, msg[len(spec) + 2:] if msg.startswith(spec + ": ") else msg)


def display_name(item: Item, given: str) -> str:
    """A name for reports, written the way the user gave the source: ``mail/a.eml``,
    ``archive.mbox@1234``, ``export.zip/msg1.eml``, ``imaps://u@host/INBOX/7:42``."""
    src, loc = item.source, item.locator
    if given == "-":  # stdin: a message ("-", "-@1234") or a list of paths (absolute locators)
        if src == "-":
            return "-" if loc in ("-", "") else f"-{loc}"
        given = src
    if not loc or loc == src:
        return given
    if loc.startswith("@"):
        return f"{given}{loc}"
    if loc.startswith(src + os.sep):
        return os.path.join(given, loc[len(src) + 1:])
    if os.path.isabs(loc):
        return loc
    return f"{given.rstrip('/')}/{loc}"
