"""Outlook ``.pst``/``.ost`` mail stores, read with libpff's Python binding (``pypff``, the opt-in
``lurelens[pst]`` extra: libpff is LGPL-3.0-or-later, so it is never a core dependency).

The folder tree is walked in the driver (counts only) and cut into partitions of about ``target``
messages, each a list of (folder, first, last) message ranges a worker reads itself, one message at a
time, so memory does not grow with the store's size. A message keeps its transport headers when
Outlook stored them; the body is rebuilt from its bodies and attachments as for ``.msg`` files. The
locator is the folder path and the message's identifier in the store (``Inbox/Lures#2097188``).
"""

from __future__ import annotations

import codecs
import email.utils
import hashlib
import os
from collections.abc import Iterator

from lurelens.sources._model import Item, Partition, register_reader
from lurelens.sources._outlook import rebuild_rfc822
from lurelens.sources.sniff import MAX_MESSAGE_BYTES

__all__ = ["PST_MAGIC", "pst_partitions", "read_pst", "read_pst_partition"]

PST_MAGIC = b"!BDN"
NO_READER = ("unreadable: Outlook .pst/.ost file; install lurelens[pst] (libpff-python, LGPL-3.0-or-later) "
             "to read it")
# MAPI property tags read from a message's or an attachment's record set.
_MESSAGE_CLASS, _SENDER_EMAIL, _INTERNET_CPID = 0x001A, 0x0C1F, 0x3FDE
_ATTACH_METHOD, _ATTACH_MIME = 0x3705, 0x370E
_RECIPIENT_SMTP, _RECIPIENT_EMAIL = 0x39FE, 0x3003
_PT_STRING8, _PT_UNICODE, _PT_LONG = 0x001E, 0x001F, 0x0003
_ATTACH_BY_VALUE = 1
# Item classes that are mail; others (contacts, appointments, tasks, notes) are passed over.
_MAIL_CLASSES = ("ipm.note", "ipm.schedule.meeting", "ipm.post", "report.")
# Windows code pages whose Python codec name is not simply "cp<N>".
_CODEPAGES = {65001: "utf-8", 20127: "ascii", 65000: "utf-7", 1200: "utf-16-le", 50220: "iso2022_jp",
              51932: "euc_jp", 52936: "hz", 936: "gbk", 949: "cp949", 20866: "koi8_r", 21866: "koi8_u",
              **{28590 + n: f"iso8859_{n}" for n in range(1, 16)}}


def _open(path: str):
    import pypff  # the lurelens[pst] extra

    f = pypff.file()
    f.open(path)
    return f


def _escape(name: str) -> str:
    # A folder name may hold the characters the locator uses as separators.
    return name.replace("%", "%25").replace("/", "%2F").replace("#", "%23")


def _folders(folder, indexes: tuple[int, ...] = (), names: tuple[str, ...] = ()) -> Iterator[tuple]:
    """(index path, folder path, folder) for every folder, depth first in the store's order."""
    yield indexes, "/".join(names), folder
    for j in range(folder.get_number_of_sub_folders()):
        sub = folder.get_sub_folder(j)
        yield from _folders(sub, (*indexes, j), (*names, _escape(sub.name or f"folder-{j}")))


def _folder_at(root, indexes: tuple[int, ...]):
    folder = root
    for j in indexes:
        folder = folder.get_sub_folder(j)
    return folder


def _fingerprint(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def pst_partitions(source: str, path: str, target: int, prefix: str = "", options: tuple = ()) -> Iterator[Partition]:
    """Partitions of about ``target`` messages: runs of consecutive messages of one or more folders.
    The fingerprint is the file's (size, mtime, inode): Outlook rewrites the store in place, so any
    change re-reads it all (the store's identity key keeps every message once)."""
    try:
        pst = _open(path)
    except ImportError:
        yield Partition(source, "note", f"note:{path}", "no-reader", 0, (prefix or path, NO_READER, None))
        return
    except Exception as exc:  # noqa: BLE001 - pypff raises OSError and others on a corrupt file
        yield _unreadable(source, path, prefix, exc)
        return
    try:
        fp = _fingerprint(path)
        ranges: list[tuple[tuple[int, ...], str, int, int]] = []
        count = 0

        def flush() -> Partition:
            key = hashlib.sha1(repr([(i, a, b) for i, _, a, b in ranges]).encode()).hexdigest()[:16]
            return Partition(source, "pst", f"{prefix}:pst:{key}" if prefix else f"pst:{key}", fp, count,
                             (path, prefix, tuple(ranges)), options)

        for indexes, name, folder in _folders(pst.get_root_folder()):
            n = folder.get_number_of_sub_messages()
            start = 0
            while start < n:
                take = min(n - start, target - count)
                ranges.append((indexes, name, start, start + take))
                count += take
                start += take
                if count >= target:
                    yield flush()
                    ranges, count = [], 0
        if ranges:
            yield flush()
    except Exception as exc:  # noqa: BLE001 - a damaged folder tree: what was listed stays listed
        yield _unreadable(source, path, prefix, exc)
    finally:
        pst.close()


def _unreadable(source: str, path: str, prefix: str, exc: Exception) -> Partition:
    return Partition(source, "note", f"note:{path}", "unreadable", 0,
                     (prefix or path, f"unreadable: corrupt Outlook .pst/.ost file: {type(exc).__name__}: {exc}", None))


def read_pst(source: str, path: str, prefix: str = "") -> Iterator[Item]:
    """Every message of a store, in folder order (a .pst met in a directory walk)."""
    for part in pst_partitions(source, path, 1 << 30, prefix):
        yield from part.read()


@register_reader("pst")
def read_pst_partition(part: Partition) -> Iterator[Item]:
    path, prefix, ranges = part.params
    pre = f"{prefix}/" if prefix else ""
    try:
        pst = _open(path)
    except ImportError:
        yield Item(part.source, prefix or path, None, NO_READER)
        return
    except Exception as exc:  # noqa: BLE001 - pypff raises IOError and others on a corrupt or vanished file
        yield Item(part.source, prefix or path, None, f"unreadable: Outlook .pst/.ost file: {exc}")
        return
    try:
        root = pst.get_root_folder()
        for indexes, name, start, stop in ranges:
            try:
                folder = _folder_at(root, indexes)
            except Exception as exc:  # noqa: BLE001 - the store changed since it was listed
                yield Item(part.source, f"{pre}{name}", None, f"unreadable: folder changed since it was listed: {exc}")
                continue
            for i in range(start, stop):
                yield _read_message(part.source, f"{pre}{name}", folder, i)
    finally:
        pst.close()


def _read_message(source: str, folder_loc: str, folder, i: int) -> Item:
    try:
        m = folder.get_sub_message(i)
        ident = m.identifier
    except Exception as exc:  # noqa: BLE001 - a damaged index entry: say which, go on
        return Item(source, f"{folder_loc}#index-{i}", None, f"unreadable: Outlook item {i} of the folder: {exc}")
    loc = f"{folder_loc}#{ident}"
    try:
        props = _props(m)
        headers = m.transport_headers
        cls = _text(props.get(_MESSAGE_CLASS)) or ""
        if not headers and cls and not cls.lower().startswith(_MAIL_CLASSES):
            return Item(source, loc, None, None, f"skipped: not mail (Outlook {cls} item)")
        data = rebuild_rfc822("Outlook .pst", headers, _body_text(m.plain_text_body), _html(m.html_body, props),
                              _attachments(m), sender=_sender(m, props), recipients=_recipients(m),
                              subject=m.subject, date=m.client_submit_time or m.delivery_time)
    except Exception as exc:  # noqa: BLE001 - libpff raises IOError and others on damaged items
        return Item(source, loc, None, f"unreadable: Outlook item: {type(exc).__name__}: {exc}")
    if len(data) > MAX_MESSAGE_BYTES:
        return Item(source, loc, None, f"unreadable: message larger than {MAX_MESSAGE_BYTES} bytes")
    return Item(source, loc, data, None, "Outlook .pst item converted to RFC 822")


def _props(item, index: int = 0) -> dict[int, tuple[int, bytes | None]]:
    """{property id: (value type, raw bytes)} of one record set of an item."""
    out: dict[int, tuple[int, bytes | None]] = {}
    if item.get_number_of_record_sets() <= index:
        return out
    for e in item.get_record_set(index).entries:
        try:
            out.setdefault(e.entry_type, (e.value_type, e.data))
        except Exception:  # noqa: BLE001,S112 - an unreadable property is left out
            continue
    return out


def _text(prop: tuple[int, bytes | None] | None) -> str | None:
    if prop is None:
        return None
    vtype, raw = prop
    if raw is None:
        return None
    if vtype == _PT_UNICODE:
        return raw.decode("utf-16-le", "replace").rstrip("\x00")
    if vtype == _PT_STRING8:
        return raw.decode("latin-1").rstrip("\x00")
    return None


def _body_text(raw: bytes | None) -> str | None:
    # libpff returns the plain-text body as UTF-8.
    return raw.decode("utf-8", "replace").rstrip("\x00") if raw else None


def _html(raw: bytes | None, props: dict) -> str | None:
    """The HTML body, stored as bytes in the message's Internet code page."""
    if not raw:
        return None
    cpid = props.get(_INTERNET_CPID)
    codec = "utf-8"
    if cpid and cpid[1] and len(cpid[1]) >= 4:
        n = int.from_bytes(cpid[1][:4], "little")
        codec = _CODEPAGES.get(n, f"cp{n}")
        try:
            codecs.lookup(codec)
        except LookupError:
            codec = "utf-8"
    return raw.decode(codec, "replace").rstrip("\x00")


def _sender(m, props: dict) -> str | None:
    name, addr = m.sender_name, _text(props.get(_SENDER_EMAIL))
    if addr and "@" in addr:
        return email.utils.formataddr((name or "", addr))
    return name


def _recipients(m) -> list[str]:
    out: list[str] = []
    r = m.recipients
    if r is None:
        return out
    for k in range(r.get_number_of_record_sets()):
        p = _props(r, k)
        addr = _text(p.get(_RECIPIENT_SMTP)) or _text(p.get(_RECIPIENT_EMAIL))
        if addr and "@" in addr:
            out.append(addr)
    return out


def _attachments(m) -> Iterator[tuple[bytes | None, str | None, str | None]]:
    for k in range(m.get_number_of_attachments()):
        a = m.get_attachment(k)
        p = _props(a)
        method = p.get(_ATTACH_METHOD)
        by_value = method is None or method[1] is None or int.from_bytes(method[1][:4], "little") == _ATTACH_BY_VALUE
        size = a.get_size() if by_value else 0
        if not by_value or size is None or size > MAX_MESSAGE_BYTES:
            yield None, None, None
            continue
        yield (a.read_buffer(size) if size else b""), a.long_filename, _text(p.get(_ATTACH_MIME))
