"""The three shapes every archive reader shares: an :class:`Item` (one message or one per-item error),
a picklable :class:`Partition` (a chunk of work a worker reads itself) and the :class:`Source` protocol.

Partitions carry only paths, offsets and UIDs, never message bytes, so a scheduler (local pool or Dask)
ships descriptors and each worker reads its own chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["Item", "Partition", "Source", "register_reader", "register_slicer"]


@dataclass(frozen=True, slots=True)
class Item:
    """One message (or one per-item error) read from a source.

    ``data`` is None when ``error`` is set, and also for a skipped entry (``note`` says why, e.g.
    "skipped: not mail (PNG image)"): a consumer scans ``data``, reports ``error`` as an unscanned
    message, and may show ``note``.
    """

    source: str
    locator: str
    data: bytes | None
    error: str | None
    note: str | None = None

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None

    @property
    def skipped(self) -> bool:
        """True for an entry that is not a message and was deliberately passed over (not an error)."""
        return self.data is None and self.error is None


# kind -> function(partition) -> items; filled by the reader modules when they are imported, so a
# Partition stays a plain picklable record and a worker process finds its reader by name.
_READERS: dict[str, Callable[[Partition], Iterator[Item]]] = {}
# kind -> function(partition) -> its slices, for the kinds that can be cut without reading again.
_SLICERS: dict[str, Callable[[Partition], list[Partition]]] = {}

_F = TypeVar("_F", bound=Callable)


def _registrar(table: dict[str, Any], kind: str) -> Callable[[_F], _F]:
    """A decorator that files its function under ``kind`` in ``table`` and returns it unchanged."""
    def deco(fn: _F) -> _F:
        table[kind] = fn
        return fn

    return deco


def register_reader(kind: str) -> Callable[[_F], _F]:
    return _registrar(_READERS, kind)


def register_slicer(kind: str) -> Callable[[_F], _F]:
    return _registrar(_SLICERS, kind)


@dataclass(frozen=True)
class Partition:
    """A picklable descriptor of a chunk of a source (about ``target`` messages).

    ``key`` is stable across runs for the same chunk; ``fingerprint`` changes when the chunk's content
    may have changed, so a resumed hunt can skip partitions it finished and that are unchanged.
    ``params`` holds what the reader needs (paths, byte range, UID range; never message bytes).
    """

    source: str
    kind: str
    key: str
    fingerprint: str
    estimated_messages: int | None = None
    params: tuple = ()
    options: tuple = ()  # (name, value) pairs of reader options, e.g. (("glob", "*.eml"),)

    def read(self) -> Iterator[Item]:
        """Read this chunk's items; errors become per-item error Items, never exceptions."""
        from lurelens import sources  # noqa: F401 - importing the package registers every reader

        reader = _READERS.get(self.kind)
        if reader is None:
            yield Item(self.source, self.key, None, f"unreadable: no reader for partition kind {self.kind!r}")
            return
        yield from reader(self)

    def slices(self) -> list[Partition]:
        """This partition cut into smaller tasks (same source, key and fingerprint; a handful, from
        what the listing recorded, never by reading the source again): read in order, they give
        exactly this partition's items. ``[self]`` for a kind that cannot be cut (a compressed
        stream, an IMAP window) or a partition too small to cut."""
        from lurelens import sources  # noqa: F401 - importing the package registers every slicer

        slicer = _SLICERS.get(self.kind)
        return slicer(self) if slicer is not None else [self]

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


@runtime_checkable
class Source(Protocol):
    """An archive: a file, directory, mbox, Maildir, .msg, IMAP folder or a list of paths."""

    spec: str

    def partitions(self, target: int = 1000) -> Iterator[Partition]: ...

    def total(self) -> int | None: ...
