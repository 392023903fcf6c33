"""Files and directories: one file (a message, an mbox, a compressed mbox or message, a zip of messages,
an Outlook .msg), a directory walked in order, or a list of paths on stdin.

Every open is guarded: ``os.stat`` first, walks skip anything that is not a regular file (a FIFO in a
folder must never hang a run), files are opened with O_NONBLOCK and re-checked with ``fstat``, and
reads are bounded. In a walk, files that are clearly not mail are skipped with a note; named
explicitly, they are an error item (never a silent ``clean``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import stat
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO, cast

from lurelens.sources import maildir
from lurelens.sources._model import Item, Partition, register_reader, register_slicer
from lurelens.sources.mbox import (
    COMPRESSED_SUFFIXES,
    iter_mbox_stream,
    SLICES,
    mbox_partitions,
    open_stream,
    split_mbox_bytes,
)
from lurelens.sources.pst import PST_MAGIC, pst_partitions, read_pst
from lurelens.sources.sniff import MAX_MESSAGE_BYTES, NOT_MAIL, container_kind, sniff

__all__ = ["DirSource", "FileSource", "PathListSource", "is_housekeeping", "open_path", "read_file_partition", "read_note_partition", "read_path", "read_paths_partition", "single_file_partitions", "walk"]

# A batch of small files goes in one partition; a bigger file that may be an mbox gets its own.
_PEEK_ABOVE = 1 << 20
# Mail-store housekeeping files that are never messages (Dovecot, Courier, mutt, Thunderbird).
_HOUSEKEEPING_PREFIXES = ("dovecot", "courierimap", "subscriptions", "maildirfolder", ".imap", "msgs.db")
_HOUSEKEEPING_SUFFIXES = (".msf", ".index", ".lock", ".db", ".sqlite", ".sqlite-wal", ".sqlite-shm")


def _kind_of_mode(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "directory")):
        if test(mode):
            return name
    return "special file"


def _oserror(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    return f"unreadable: {(exc.strerror or str(exc)).lower()}"


def _not_mail_to_skip(item: Item) -> Item:
    """In a walk, a file that is clearly not mail is passed over with a note, not an error."""
    if item.error and item.error.startswith(NOT_MAIL):
        why = item.error[len(NOT_MAIL):].lstrip(": ")
        return Item(item.source, item.locator, None, None, f"skipped: not mail ({why})")
    return item


def is_housekeeping(name: str) -> bool:
    low = name.lower()
    return low.startswith(_HOUSEKEEPING_PREFIXES) or low.endswith(_HOUSEKEEPING_SUFFIXES)


def _open_guarded(path: str, walked: bool) -> tuple[BinaryIO | None, os.stat_result | None, Item | None]:
    """Open ``path`` for reading without ever blocking on a FIFO found in a walk."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, None, Item(path, path, None, _oserror(exc))
    if not stat.S_ISREG(st.st_mode) and walked:
        return None, st, Item(path, path, None, None, f"skipped: not a regular file ({_kind_of_mode(st.st_mode)})")
    if stat.S_ISDIR(st.st_mode):
        return None, st, Item(path, path, None, "unreadable: is a directory")
    # O_NONBLOCK: in a walk, a FIFO swapped in after the stat must not wait for a writer forever. A
    # special file named explicitly (bash's <(...)) is opened blocking: waiting for its writer is
    # what the user asked for, and a non-blocking open would read EOF if the writer is not there yet.
    nonblock = getattr(os, "O_NONBLOCK", 0) if walked or stat.S_ISREG(st.st_mode) else 0
    try:
        fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, st, Item(path, path, None, _oserror(exc))
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        os.set_blocking(fd, True)
    elif walked:  # swapped for a special file between stat and open
        os.close(fd)
        return None, st, Item(path, path, None, None, f"skipped: not a regular file ({_kind_of_mode(st.st_mode)})")
    else:
        # Named explicitly (e.g. bash's <(...)): read it as a stream, blocking for its writer.
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=1 << 16), st, None


def read_path(source: str, path: str, *, walked: bool, prefix: str | None = None) -> Iterator[Item]:
    """Every item of one file: a message, each message of an mbox (plain or compressed), each member
    of a zip. ``prefix`` is the locator prefix ('' when the file is the source itself)."""
    pre = path if prefix is None else prefix
    fh, st, problem = _open_guarded(path, walked)
    if problem is not None:
        yield Item(source, path, problem.data, problem.error, problem.note)
        return
    assert fh is not None and st is not None
    with fh:
        items = _read_open_file(source, path, pre, fh, st)
        for item in items:
            # Only a whole file is passed over; a not-mail message inside an mbox or zip stays an error.
            yield _not_mail_to_skip(item) if walked and item.locator == path else item


def _read_open_file(source: str, path: str, pre: str, fh: BinaryIO, st: os.stat_result) -> Iterator[Item]:
    try:
        head = fh.peek(64)[:64] if hasattr(fh, "peek") else b""
    except OSError as exc:
        yield Item(source, path, None, _oserror(exc))
        return
    kind = container_kind(head)
    suffix = os.path.splitext(path)[1].lower()
    if kind in ("gzip", "xz", "zstd", "bzip2") and stat.S_ISREG(st.st_mode):
        yield from _read_compressed(source, path, pre, kind)
        return
    if kind == "zip" and stat.S_ISREG(st.st_mode):
        yield from _read_zip(source, path, pre, fh)
        return
    if head.startswith(b"From ") and stat.S_ISREG(st.st_mode):
        yield from _read_mbox_file(source, path, pre)
        return
    if head.startswith(PST_MAGIC) and stat.S_ISREG(st.st_mode):
        yield from read_pst(source, path, pre)
        return
    if st.st_size > MAX_MESSAGE_BYTES:
        yield Item(source, path, None, f"unreadable: larger than {MAX_MESSAGE_BYTES} bytes and not an mbox")
        return
    try:
        data = fh.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        yield Item(source, path, None, _oserror(exc))
        return
    if head.startswith(b"From "):  # a stream (FIFO) holding an mbox
        yield from split_mbox_bytes(source, data, pre)
        return
    data_out, err, note = sniff(data)
    if err is None and suffix in COMPRESSED_SUFFIXES and kind is None:
        note = "; ".join(filter(None, [note, f"named {suffix} but not compressed"]))
    yield Item(source, path, data_out, err, note)


def _read_mbox_file(source: str, path: str, pre: str) -> Iterator[Item]:
    for part in mbox_partitions(source, path, 1 << 30, locator_prefix=pre):
        yield from part.read()


def _read_compressed(source: str, path: str, pre: str, kind: str) -> Iterator[Item]:
    """A compressed file: an mbox is split while streaming; anything else is one message."""
    try:
        stream = open_stream(path, kind)
    except ImportError:
        yield Item(source, path, None, f"unreadable: {kind}-compressed; install lurelens[hunt] for zstandard")
        return
    except OSError as exc:
        yield Item(source, path, None, _oserror(exc))
        return
    try:
        with stream:
            head = stream.peek(5)[:5] if hasattr(stream, "peek") else b""
            if head.startswith(b"From "):
                for item in iter_mbox_stream(source, stream, pre):
                    yield Item(item.source, item.locator, item.data, item.error,
                               f"{item.note}; {kind}-compressed" if item.note else f"{kind}-compressed")
                return
            data = stream.read(MAX_MESSAGE_BYTES + 1)
    except Exception as exc:  # noqa: BLE001 - corrupt archives raise many types; report, never crash
        yield Item(source, path, None, f"unreadable: corrupt {kind} data: {exc}")
        return
    if len(data) > MAX_MESSAGE_BYTES:
        yield Item(source, path, None, f"unreadable: larger than {MAX_MESSAGE_BYTES} bytes when decompressed")
        return
    out, err, note = sniff(data)
    yield Item(source, path, out, err, "; ".join(filter(None, [f"{kind}-compressed", note])))


def _read_zip(source: str, path: str, pre: str, fh: BinaryIO) -> Iterator[Item]:
    zpre = f"{pre}/" if pre else ""
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield Item(source, path, None, f"unreadable: corrupt zip archive: {exc}")
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            loc = f"{zpre}{info.filename}"
            try:
                with zf.open(info) as member:
                    # a ZipExtFile (typed IO[bytes]) is a raw-enough stream: it has readinto()
                    buffered = io.BufferedReader(cast(io.RawIOBase, member), 1 << 16)
                    if buffered.peek(5)[:5].startswith(b"From "):
                        yield from iter_mbox_stream(source, buffered, loc)
                        continue
                    if info.file_size > MAX_MESSAGE_BYTES:
                        yield Item(source, loc, None, f"unreadable: zip member larger than {MAX_MESSAGE_BYTES} bytes")
                        continue
                    data = buffered.read(MAX_MESSAGE_BYTES + 1)
            except Exception as exc:  # noqa: BLE001 - encrypted, corrupt, unsupported method...
                yield Item(source, loc, None, f"unreadable: zip member: {exc}")
                continue
            out, err, note = sniff(data)
            if err and err.startswith(NOT_MAIL):  # a README or image next to the messages
                yield Item(source, loc, None, None, f"skipped: not mail ({err[len(NOT_MAIL) + 2:]})")
                continue
            yield Item(source, loc, out, err, "; ".join(filter(None, ["from a zip", note])))


# -- partitions ------------------------------------------------------------------------------------


@register_reader("paths")
def read_paths_partition(part: Partition) -> Iterator[Item]:
    """params: ((source, path, walked), ...)."""
    for source, path, walked in part.params:
        yield from read_path(source, path, walked=walked, prefix=path)


@register_slicer("paths")
def slice_paths_partition(part: Partition) -> list[Partition]:
    """A list of files cut into about ``SLICES`` shorter lists."""
    n = len(part.params)
    step = max(1, -(-n // SLICES))
    if n <= 1:
        return [part]
    return [replace(part, estimated_messages=None if part.estimated_messages is None else len(part.params[i:i + step]),
                    params=part.params[i:i + step]) for i in range(0, n, step)]


@register_reader("file")
def read_file_partition(part: Partition) -> Iterator[Item]:
    """The whole of one named file (a message, a .msg, a zip, a compressed mbox)."""
    (path,) = part.params
    yield from read_path(part.source, path, walked=False, prefix="")


def _fp(entries: Iterable[tuple[str, os.stat_result]]) -> tuple[str, str]:
    keyh, fph = hashlib.sha1(), hashlib.sha1()
    for path, st in entries:
        keyh.update(path.encode("utf-8", "surrogateescape") + b"\0")
        fph.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode("utf-8", "surrogateescape"))
    return keyh.hexdigest(), fph.hexdigest()


def _file_fingerprint(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def _batcher(source_default: str, target: int, options: tuple):
    """Collects (source, path, walked, stat) into 'paths' partitions of ``target`` files."""
    batch: list[tuple[str, str, bool, os.stat_result]] = []

    def flush() -> Iterator[Partition]:
        if batch:
            key, fp = _fp((p, st) for _, p, _, st in batch)
            yield Partition(source_default, "paths", f"paths:{key}", fp, len(batch),
                            tuple((s, p, w) for s, p, w, _ in batch), options)
            batch.clear()

    return batch, flush


def single_file_partitions(source: str, path: str, target: int) -> Iterator[Partition]:
    """One named file: byte ranges for a plain mbox, one streamed partition otherwise."""
    head = b""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as fh:
                head = fh.read(64)
    except OSError:
        pass
    if head.startswith(b"From "):
        yield from mbox_partitions(source, path, target, locator_prefix="")
        return
    if head.startswith(PST_MAGIC):
        yield from pst_partitions(source, path, target)
        return
    kind = container_kind(head)
    yield Partition(source, "file", "file", _file_fingerprint(path),
                    None if kind in ("gzip", "xz", "zstd", "bzip2", "zip") else 1, (path,))


@dataclass
class FileSource:
    """One file named by the user."""

    spec: str
    path: str
    # total() indexes an mbox once; partitions() with the same target reuses that index.
    _cache: tuple[int, list[Partition]] | None = field(default=None, repr=False)

    def partitions(self, target: int = 1000) -> Iterator[Partition]:
        if self._cache is not None and self._cache[0] == target:
            parts, self._cache = self._cache[1], None
            yield from parts
            return
        yield from single_file_partitions(self.spec, self.path, target)

    def total(self, target: int = 1000) -> int | None:
        """The number of messages: one pass over a plain mbox, known at once for a single message,
        unknown (None) for a compressed file or a zip."""
        parts = list(single_file_partitions(self.spec, self.path, target))
        self._cache = (target, parts)
        if all(p.estimated_messages is not None for p in parts):
            return sum(p.estimated_messages or 0 for p in parts)
        return None


def walk(top: str, glob: str | None = None, _root: str | None = None
         ) -> Iterator[tuple[str, os.stat_result | None, str | None]]:
    """(path, stat or None, note) for each entry of a directory tree in sorted order: regular files
    get their stat; a Maildir gets note 'maildir'; skipped entries get a note. Dot files and
    directories are skipped (hidden); mail-store housekeeping files are skipped silently."""
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError as exc:
        yield top, None, _oserror(exc)
        return
    for e in entries:
        if e.name.startswith(".") or is_housekeeping(e.name):
            continue
        path = os.path.join(top, e.name)
        try:
            st = os.stat(path)  # follows symlinks, as the user would expect
        except OSError as exc:
            yield path, None, _oserror(exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            if maildir.is_maildir(path):
                yield path, st, "maildir"
            else:
                yield from walk(path, glob, _root or top)
        elif not stat.S_ISREG(st.st_mode):
            yield path, None, f"skipped: not a regular file ({_kind_of_mode(st.st_mode)})"
        elif glob is not None and not fnmatch.fnmatch(
                e.name if "/" not in glob else os.path.relpath(path, _root or top), glob):
            continue
        else:
            yield path, st, None


@register_reader("note")
def read_note_partition(part: Partition) -> Iterator[Item]:
    """params: (locator, error, note): one entry that needs no reading (skipped, unreadable)."""
    locator, error, note = part.params
    yield Item(part.source, locator, None, error, note)


def _tree_partitions(source: str, top: str, target: int, glob: str | None,
                     item_source: str | None = None) -> Iterator[Partition]:
    options = (("glob", glob),) if glob else ()
    batch, flush = _batcher(source, target, options)
    for path, st, note in walk(top, glob):
        if note == "maildir":
            yield from flush()
            yield from maildir.maildir_partitions(source, path, target, prefix=path)
            continue
        if st is None:
            yield from flush()
            err = note if note and not note.startswith("skipped") else None
            yield Partition(source, "note", f"note:{path}", note or "", 0, (path, err, None if err else note))
            continue
        big = st.st_size > _PEEK_ABOVE
        if big:
            try:
                with open(path, "rb") as fh:
                    head = fh.read(64)
            except OSError:
                head = b""
            kind = container_kind(head)
            if head.startswith((b"From ", PST_MAGIC)) or kind in ("gzip", "xz", "zstd", "bzip2", "zip"):
                yield from flush()
                if head.startswith(b"From "):
                    yield from mbox_partitions(item_source or source, path, target, locator_prefix=path)
                elif head.startswith(PST_MAGIC):
                    yield from pst_partitions(item_source or source, path, target, prefix=path, options=options)
                else:
                    yield Partition(item_source or source, "paths", f"file:{path}", _file_fingerprint(path), None,
                                    ((item_source or source, path, True),), options)
                continue
        batch.append((item_source or source, path, True, st))
        if len(batch) >= target:
            yield from flush()
    yield from flush()


@dataclass
class DirSource:
    """A directory tree of message files (and mbox/zip/compressed files inside it)."""

    spec: str
    path: str
    glob: str | None = None

    def partitions(self, target: int = 1000) -> Iterator[Partition]:
        yield from _tree_partitions(self.spec, self.path, target, self.glob)

    def total(self) -> int | None:
        return None


@dataclass
class PathListSource:
    """``-``: a list of paths, one a line, on stdin (e.g. from ``find``); each is read as if named."""

    spec: str = "-"
    stream: BinaryIO | None = None
    glob: str | None = None

    def _paths(self) -> Iterator[str]:
        fh = self.stream if self.stream is not None else sys.stdin.buffer
        for raw in fh:
            p = raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            if p:
                yield os.path.abspath(p)

    def partitions(self, target: int = 1000) -> Iterator[Partition]:
        batch, flush = _batcher(self.spec, target, ())
        for path in self._paths():
            try:
                st = os.stat(path)
            except OSError as exc:
                yield from flush()
                yield Partition(path, "note", f"note:{path}", "missing", 0, (path, _oserror(exc), None))
                continue
            if stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_size > _PEEK_ABOVE):
                yield from flush()
                yield from open_path(path, glob=self.glob).partitions(target)
                continue
            batch.append((path, path, False, st))
            if len(batch) >= target:
                yield from flush()
        yield from flush()

    def total(self) -> int | None:
        return None


def open_path(spec: str, *, glob: str | None = None):
    """A file, directory or Maildir source for a local path (raises FileNotFoundError)."""
    path = os.path.abspath(spec)
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        if maildir.is_maildir(path):
            return maildir.MaildirSource(path, path)
        return DirSource(path, path, glob)
    return FileSource(path, path)
