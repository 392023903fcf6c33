"""mbox reading: find message boundaries ("From " lines) by a regex over an mmap (plain files) or a
line-by-line pass over a decompressing stream (.gz/.xz/.zst/.bz2), and cut byte-range partitions.

A boundary is a line starting with "From " at the start of the file or after a blank line, or one in
the strict envelope form ("From sender Mon Jan  1 00:00:00 2024") where a writer left no blank line;
a "From " inside a body that is not preceded by a blank line is body text. ">From " lines are
unquoted (mboxrd). A last message cut short (no final newline) is reported as an error item.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import mmap
import os
import re
from typing import BinaryIO, Iterator

from lurelens.sources._model import Item, Partition, register_reader
from lurelens.sources.sniff import MAX_MESSAGE_BYTES, sniff

_FROM = re.compile(rb"^From ", re.M)
_STRICT = re.compile(rb"From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
                     rb"|Nov|Dec) +\d{1,2} +\d{1,2}:\d\d")
_QUOTED = re.compile(rb"^>(>*From )", re.M)
COMPRESSED_SUFFIXES = {".gz": "gzip", ".xz": "xz", ".zst": "zstd", ".bz2": "bzip2"}


def _is_boundary(buf, p: int, start: int) -> bool:
    if p == start:
        return True
    if buf[p - 2:p] == b"\n\n" or buf[p - 3:p] == b"\n\r\n":
        return True
    return _STRICT.match(buf, p) is not None


def iter_boundaries(buf, start: int = 0, end: int | None = None) -> Iterator[int]:
    """Offsets of the "From " lines that start a message in ``buf[start:end]`` (``start`` must be
    the start of a From line or of the file)."""
    end = len(buf) if end is None else end
    for m in _FROM.finditer(buf, start, end):
        if _is_boundary(buf, m.start(), start):
            yield m.start()


def message_bytes(raw: bytes) -> bytes:
    """The message from an mbox chunk (From line to the next From line): envelope line dropped, the
    separating blank line removed, >From lines unquoted."""
    nl = raw.find(b"\n")
    body = raw[nl + 1:] if nl >= 0 else b""
    if body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    elif body.endswith(b"\n\n"):
        body = body[:-1]
    if b">From " in body:
        body = _QUOTED.sub(rb"\1", body)
    return body


def _item(source: str, locator: str, raw: bytes, last_of_file: bool, note: str) -> Item:
    if last_of_file and not raw.endswith(b"\n"):
        return Item(source, locator, None,
                    f"torn last message: the file ends mid-line after {len(raw)} bytes (still being written, "
                    "or cut short); re-run when complete", note)
    if len(raw) > MAX_MESSAGE_BYTES:
        return Item(source, locator, None, f"unreadable: message larger than {MAX_MESSAGE_BYTES} bytes", note)
    data, err, snote = sniff(message_bytes(raw))
    if snote and snote != "mbox envelope line removed":
        note = f"{note}; {snote}"
    return Item(source, locator, data, err, note)


def is_mbox_head(head: bytes) -> bool:
    return head.startswith(b"From ")


def count_messages(path: str) -> int:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return 0
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return sum(1 for _ in iter_boundaries(mm))


def _fingerprint(mm, start: int, end: int) -> str:
    h = hashlib.sha1(f"{start}-{end}".encode())
    h.update(mm[start:min(end, start + 4096)])
    h.update(mm[max(start, end - 4096):end])
    return h.hexdigest()


def mbox_partitions(source: str, path: str, target: int, locator_prefix: str = "",
                    options: tuple = ()) -> Iterator[Partition]:
    """Byte-range partitions of about ``target`` messages each, from one streaming scan of the file.
    The boundaries fall at multiples of ``target`` messages, so keys stay stable when mail is appended
    (only the last partition changes)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            total = sum(1 for _ in iter_boundaries(mm))
            first, index, start = 0, 0, 0
            for p in iter_boundaries(mm):
                if index and index % target == 0:
                    yield Partition(source, "mbox", f"{locator_prefix}bytes:{start}-{p}", _fingerprint(mm, start, p),
                                    index - first, (path, start, p, first, total, locator_prefix), options)
                    first, start = index, p
                index += 1
            if index:
                yield Partition(source, "mbox", f"{locator_prefix}bytes:{start}-{size}", _fingerprint(mm, start, size),
                                index - first, (path, start, size, first, total, locator_prefix), options)


@register_reader("mbox")
def read_mbox_partition(part: Partition) -> Iterator[Item]:
    path, start, end, first, total, prefix = part.params
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield Item(part.source, f"{prefix}@{start}", None, f"unreadable: {exc.strerror or exc}")
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size < end:
            yield Item(part.source, f"{prefix}@{start}", None,
                       f"unreadable: the mbox shrank to {size} bytes since it was indexed")
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if start >= end or not mm[start:start + 5] == b"From ":
                yield Item(part.source, f"{prefix}@{start}", None,
                           "unreadable: the mbox changed since it was indexed (no From line at this offset)")
                return
            bounds = list(iter_boundaries(mm, start, end))
            for i, p in enumerate(bounds):
                q = bounds[i + 1] if i + 1 < len(bounds) else end
                yield _item(part.source, f"{prefix}@{p}", mm[p:q], q == size,
                            f"mbox: message {first + i + 1} of {total}")


def open_stream(path: str, kind: str) -> BinaryIO:
    """A decompressing binary stream for a compressed file (read in chunks, never whole)."""
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "zstd":
        import zstandard  # optional extra: lurelens[hunt]

        raw = open(path, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True), 1 << 20)
    raise ValueError(kind)


def iter_mbox_stream(source: str, fh: BinaryIO, prefix: str = "") -> Iterator[Item]:
    """Split an mbox read from a (decompressing) stream line by line; locators are offsets in the
    decompressed stream. Memory holds one message at a time."""
    cur: list[bytes] = []
    cur_off = 0
    cur_size = 0
    off = 0
    prev_blank = True
    n = 0
    oversize = False
    for line in iter(fh.readline, b""):
        if line.startswith(b"From ") and (prev_blank or _STRICT.match(line)):
            if cur or oversize:
                n += 1
                yield _emit(source, f"{prefix}@{cur_off}", cur, oversize, False, n)
            cur, cur_off, cur_size, oversize = [line], off, len(line), False
        elif not cur and not oversize and n == 0 and off == 0:
            yield Item(source, f"{prefix}@0", None, "not an e-mail message: not an mbox (no From line at the start)")
            return
        elif not oversize:
            cur.append(line)
            cur_size += len(line)
            if cur_size > MAX_MESSAGE_BYTES:
                cur, oversize = [], True
        prev_blank = line in (b"\n", b"\r\n")
        off += len(line)
    if cur or oversize:
        n += 1
        yield _emit(source, f"{prefix}@{cur_off}", cur, oversize, True, n)


def _emit(source: str, locator: str, lines: list[bytes], oversize: bool, last: bool, n: int) -> Item:
    note = f"mbox: message {n}"
    if oversize:
        return Item(source, locator, None, f"unreadable: message larger than {MAX_MESSAGE_BYTES} bytes", note)
    return _item(source, locator, b"".join(lines), last, note)


@register_reader("mbox-stream")
def read_mbox_stream_partition(part: Partition) -> Iterator[Item]:
    path, kind, prefix = part.params
    try:
        with open_stream(path, kind) as fh:
            yield from iter_mbox_stream(part.source, fh, prefix)
    except ImportError:
        yield Item(part.source, f"{prefix}@0", None, f"unreadable: {kind}-compressed; install lurelens[hunt] for zstandard")
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        yield Item(part.source, f"{prefix}@?", None, f"unreadable: corrupt {kind} stream: {exc}")


def split_mbox_bytes(source: str, data: bytes, prefix: str = "") -> Iterator[Item]:
    """Split an mbox already in memory (stdin, a zip member)."""
    bounds = list(iter_boundaries(data))
    for i, p in enumerate(bounds):
        q = bounds[i + 1] if i + 1 < len(bounds) else len(data)
        yield _item(source, f"{prefix}@{p}", data[p:q], q == len(data), f"mbox: message {i + 1} of {len(bounds)}")
