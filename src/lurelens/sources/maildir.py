"""Maildir reading: ``cur/`` and ``new/`` of the top folder and of every sub-folder (Maildir++ ``.Folder``
directories as Dovecot and Courier write them, and plain sub-directories of Dovecot's ``LAYOUT=fs``).

``tmp/`` holds deliveries in progress and is skipped, as are Dovecot's index, uidlist and keyword files.
The locator is ``FOLDER/KEY`` (the key is the file name before the ``:2,FLAGS`` info, so it survives a
message moving from new/ to cur/ or its flags changing).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from lurelens.sources._model import Item, Partition, register_reader

__all__ = ["MaildirSource", "folders", "is_maildir", "maildir_key", "maildir_partitions", "read_maildir_partition"]


def is_maildir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "cur")) and os.path.isdir(os.path.join(path, "new"))


def maildir_key(name: str) -> str:
    for sep in (":", "!"):  # "!" is the info separator some tools use where ":" is not allowed
        i = name.find(sep + "2,")
        if i >= 0:
            return name[:i]
    return name


def folders(root: str) -> Iterator[tuple[str, str]]:
    """(folder label, directory) for the root ('' label) and each sub-folder, sorted."""
    yield "", root
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return
    for name in names:
        if name in ("cur", "new", "tmp"):
            continue
        path = os.path.join(root, name)
        if not os.path.isdir(path) or os.path.islink(path):
            continue
        if is_maildir(path):
            for label, sub in folders(path):
                yield (f"{name}/{label}" if label else name), sub
        elif not name.startswith("."):
            # Dovecot LAYOUT=fs may have a parent folder that is not itself a Maildir.
            for label, sub in folders(path):
                if label:
                    yield f"{name}/{label}", sub


def _message_names(folder_dir: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for sub in ("new", "cur"):
        try:
            with os.scandir(os.path.join(folder_dir, sub)) as it:
                for e in it:
                    if not e.name.startswith("."):
                        out.append((sub, e.name))
        except OSError:
            continue
    out.sort(key=lambda t: (maildir_key(t[1]), t[0]))
    return out


def maildir_partitions(source: str, root: str, target: int, prefix: str = "") -> Iterator[Partition]:
    for label, folder_dir in folders(root):
        names = _message_names(folder_dir)
        loc_folder = "/".join(filter(None, [prefix, label]))
        for i in range(0, len(names), target):
            chunk = tuple(names[i:i + target])
            keyh = hashlib.sha1("\n".join(maildir_key(n) for _, n in chunk).encode("utf-8", "surrogateescape"))
            fph = hashlib.sha1("\n".join(f"{s}/{n}" for s, n in chunk).encode("utf-8", "surrogateescape"))
            yield Partition(source, "maildir", f"maildir:{loc_folder or '.'}:{keyh.hexdigest()}", fph.hexdigest(),
                            len(chunk), (folder_dir, loc_folder, chunk))


@register_reader("maildir")
def read_maildir_partition(part: Partition) -> Iterator[Item]:
    from lurelens.sources.files import read_path

    folder_dir, loc_folder, chunk = part.params
    moved: dict[str, str] | None = None
    for sub, name in chunk:
        key = maildir_key(name)
        loc = f"{loc_folder}/{key}" if loc_folder else key
        path = os.path.join(folder_dir, sub, name)
        if not os.path.lexists(path):
            # Moved new/ -> cur/ or flags changed since the listing: find it by its key.
            if moved is None:
                moved = {maildir_key(n): os.path.join(folder_dir, s, n) for s, n in _message_names(folder_dir)}
            path = moved.get(key, path)
        items = list(read_path(part.source, path, walked=True, prefix=path))
        if len(items) == 1:
            it = items[0]
            if it.error == "no such file or directory":
                it = Item(it.source, loc, None, None, "skipped: deleted since the folder was listed")
            yield Item(it.source, loc, it.data, it.error, it.note)
        else:
            yield from items


@dataclass
class MaildirSource:
    spec: str
    path: str

    def partitions(self, target: int = 1000) -> Iterator[Partition]:
        yield from maildir_partitions(self.spec, self.path, target)

    def total(self) -> int | None:
        return sum(len(_message_names(d)) for _, d in folders(self.path))
