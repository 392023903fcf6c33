"""mbox reading: find message boundaries ("From " lines) by a regex over chunks read from the file
(plain files, cut into byte-range partitions) or from a decompressing stream (.gz/.xz/.zst/.bz2,
one partition per file), with one boundary rule for both.

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
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from lurelens.sources._model import Item, Partition, register_reader, register_slicer
from lurelens.sources.sniff import MAX_MESSAGE_BYTES, sniff

__all__ = ["iter_boundaries", "iter_mbox_stream", "mbox_partitions", "message_bytes", "open_stream", "read_mbox_partition", "scan_boundaries", "slice_mbox_partition", "split_mbox_bytes"]

_FROM = re.compile(rb"^From ", re.MULTILINE)
_STRICT = re.compile(rb"From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
                     rb"|Nov|Dec) +\d{1,2} +\d{1,2}:\d\d")
_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)
COMPRESSED_SUFFIXES = {".gz": "gzip", ".xz": "xz", ".zst": "zstd", ".bz2": "bzip2"}


def _is_boundary(buf, p: int, start: int) -> bool:
    if p == start:
        return True
    if buf[p - 2:p] == b"\n\n" or buf[p - 3:p] == b"\n\r\n":
        return True
    return _STRICT.match(buf, p) is not None


def _from_lines(buf, search: int) -> Iterator[int]:
    """Offsets >= ``search`` of lines starting with "From " (bytes.find is far faster than a
    multi-line regex anchor)."""
    if search == 0 and buf[:5] == b"From ":
        yield 0
    i = max(search - 1, 0)
    while True:
        i = buf.find(b"\nFrom ", i)
        if i < 0:
            return
        i += 1
        if i >= search:
            yield i


def iter_boundaries(buf, start: int = 0, end: int | None = None) -> Iterator[int]:
    """Offsets of the "From " lines that start a message in ``buf[start:end]`` (``start`` must be
    the start of a From line or of the file)."""
    end = len(buf) if end is None else end
    for p in _from_lines(buf, start):
        if p + 5 > end:
            return
        if _is_boundary(buf, p, start):
            yield p


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


_CHUNK = 8 << 20  # bytes read at a time when indexing: memory stays flat whatever the file size
_LOOKAHEAD = 256  # bytes after a "From " kept in view to check the strict envelope form


def scan_boundaries(fh: BinaryIO, start: int, end: int) -> Iterator[int]:
    """Offsets of message boundaries in ``[start, end)`` of a seekable file, read in chunks (a file
    read this way does not stay mapped in the process, unlike an mmap of the whole archive)."""
    lookbehind = min(start, 3)
    fh.seek(start - lookbehind)
    buf = fh.read(lookbehind)
    base, search, pos = start - lookbehind, lookbehind, start
    while True:
        data = fh.read(min(_CHUNK, end - pos)) if pos < end else b""
        pos += len(data)
        buf += data
        last = pos >= end or not data
        limit = len(buf) if last else len(buf) - _LOOKAHEAD
        if limit <= search:
            continue  # not enough bytes in view yet
        for p in _from_lines(buf, search):
            if p >= limit:
                break
            if _is_boundary(buf, p, start - base):
                yield base + p
        if last:
            return
        keep = max(0, limit - 3)
        buf, base, search = buf[keep:], base + keep, limit - keep


def _fingerprint(fh: BinaryIO, start: int, end: int) -> str:
    h = hashlib.sha1(f"{start}-{end}".encode())
    fh.seek(start)
    h.update(fh.read(min(4096, end - start)))
    tail = max(start, end - 4096)
    fh.seek(tail)
    h.update(fh.read(end - tail))
    return h.hexdigest()


# A partition also records where every SLICES-th part of it starts, so that a hunt can hand out
# smaller tasks than a partition (lurelens.sources.split_partition) without indexing it again.
SLICES = 8


def mbox_partitions(source: str, path: str, target: int, locator_prefix: str = "",
                    options: tuple = ()) -> Iterator[Partition]:
    """Byte-range partitions of about ``target`` messages each, yielded as a streaming scan of the file
    finds them (a hunt starts on the first while the rest is indexed). The boundaries fall at
    multiples of ``target`` messages, so keys stay stable when mail is appended (only the last
    partition changes). Only the last partition knows the file's message count (its notes say
    "message k of N"; the others "message k")."""
    step = max(1, -(-target // SLICES))  # messages per slice
    with open(path, "rb") as fh, open(path, "rb") as fp:
        size = os.fstat(fh.fileno()).st_size
        index = first = start = 0
        cuts: list[tuple[int, int]] = []  # (offset, message index) where each slice after the first starts

        def part(end: int, total: int | None) -> Partition:
            key = f"{locator_prefix}:bytes:{start}-{end}" if locator_prefix else f"bytes:{start}-{end}"
            return Partition(source, "mbox", key, _fingerprint(fp, start, end), index - first,
                             (path, start, end, first, total, locator_prefix, tuple(cuts)), options)

        for p in scan_boundaries(fh, 0, size):
            if index and index % target == 0:
                yield part(p, None)
                first, start, cuts = index, p, []
            elif index > first and (index - first) % step == 0:
                cuts.append((p, index))
            index += 1
        if index:
            yield part(size, index)


@register_slicer("mbox")
def slice_mbox_partition(part: Partition) -> list[Partition]:
    """The slices of a partition (same key and fingerprint, narrower byte ranges): read one after
    the other they give exactly the partition's items."""
    path, start, end, first, total, prefix, *rest = part.params
    cuts = rest[0] if rest else ()
    if not cuts:
        return [part]
    bounds = [(start, first), *cuts, (end, first + (part.estimated_messages or 0))]
    return [replace(part, estimated_messages=bounds[i + 1][1] - f, params=(path, s, bounds[i + 1][0], f, total, prefix, ()))
            for i, (s, f) in enumerate(bounds[:-1])]


@register_reader("mbox")
def read_mbox_partition(part: Partition) -> Iterator[Item]:
    path, start, end, first, total, prefix, *_cuts = part.params
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below; open errors become items
    except OSError as exc:
        yield Item(part.source, f"{prefix}@{start}", None, f"unreadable: {exc.strerror or exc}")
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(start)
        if size < end or start >= end or fh.read(5) != b"From ":
            yield Item(part.source, f"{prefix}@{start}", None,
                       "unreadable: the mbox changed since it was indexed (no From line at this offset)")
            return
        bounds = list(scan_boundaries(fh, start, end))
        for i, p in enumerate(bounds):
            q = bounds[i + 1] if i + 1 < len(bounds) else end
            note = f"mbox: message {first + i + 1}" + (f" of {total}" if total is not None else "")
            if q - p > MAX_MESSAGE_BYTES + _LOOKAHEAD:
                yield Item(part.source, f"{prefix}@{p}", None, f"unreadable: message larger than {MAX_MESSAGE_BYTES} bytes", note)
                continue
            fh.seek(p)
            yield _item(part.source, f"{prefix}@{p}", fh.read(q - p), q == size, note)


def open_stream(path: str, kind: str) -> io.BufferedIOBase:
    """A decompressing binary stream for a compressed file (read in chunks, never whole)."""
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "zstd":
        import zstandard  # optional extra: lurelens[hunt]

        raw = open(path, "rb")  # noqa: SIM115 - owned and closed by the returned stream (closefd)
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True), 1 << 20)
    raise ValueError(kind)


def iter_mbox_stream(source: str, fh: BinaryIO | io.BufferedIOBase, prefix: str = "") -> Iterator[Item]:
    """Split an mbox read from a (decompressing) stream in chunks; locators are offsets in the
    decompressed stream. Memory holds the current message and one chunk."""
    buf = b""
    base = search = n = 0  # stream offset of buf[0]; where the search resumes in buf; messages so far
    cur: int | None = None  # offset in buf of the current message's From line
    oversize_at: int | None = None  # stream offset of a message dropped for its size
    while True:
        data = fh.read(_CHUNK)
        eof = not data
        buf += data
        limit = len(buf) if eof else len(buf) - _LOOKAHEAD
        if limit > search:
            for p in _from_lines(buf, search):
                if p >= limit:
                    break
                if not _is_boundary(buf, p, -base):  # -base: offset 0 of the stream is a boundary
                    continue
                if cur is None and oversize_at is None and base + p > 0:
                    yield Item(source, f"{prefix}@0", None, "not an e-mail message: not an mbox (no From line at the start)")
                    return
                if cur is not None or oversize_at is not None:
                    n += 1
                    yield _emit(source, prefix, buf, cur, p, base, oversize_at, False, n)
                cur, oversize_at = p, None
            search = limit
        if cur is None and oversize_at is None and (eof or len(buf) > _LOOKAHEAD) and not buf.startswith(b"From "):
            if buf:
                yield Item(source, f"{prefix}@0", None, "not an e-mail message: not an mbox (no From line at the start)")
            return
        if eof:
            if cur is not None or oversize_at is not None:
                n += 1
                yield _emit(source, prefix, buf, cur, len(buf), base, oversize_at, True, n)
            return
        if cur is not None and len(buf) - cur > MAX_MESSAGE_BYTES + _CHUNK:
            oversize_at, cur = base + cur, None  # drop it; keep looking for the next boundary
        keep = max(0, search - 3) if cur is None else min(cur, max(0, search - 3))
        buf, base, search = buf[keep:], base + keep, search - keep
        if cur is not None:
            cur -= keep


def _emit(source: str, prefix: str, buf: bytes, cur: int | None, end: int, base: int, oversize_at: int | None,
          last: bool, n: int) -> Item:
    note = f"mbox: message {n}"
    if oversize_at is not None or cur is None:
        return Item(source, f"{prefix}@{oversize_at}", None, f"unreadable: message larger than {MAX_MESSAGE_BYTES} bytes", note)
    return _item(source, f"{prefix}@{base + cur}", buf[cur:end], last, note)


def split_mbox_bytes(source: str, data: bytes, prefix: str = "") -> Iterator[Item]:
    """Split an mbox already in memory (stdin, a zip member)."""
    bounds = list(iter_boundaries(data))
    for i, p in enumerate(bounds):
        q = bounds[i + 1] if i + 1 < len(bounds) else len(data)
        yield _item(source, f"{prefix}@{p}", data[p:q], q == len(data), f"mbox: message {i + 1} of {len(bounds)}")
