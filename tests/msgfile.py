"""Build small Outlook .msg files for tests: a minimal writer of the OLE compound file format
([MS-CFB] version 3, 512-byte sectors, mini stream for small streams) holding the [MS-OXMSG] storages
and properties a reader looks at (subject, bodies, transport headers, sender, recipients, attachments).

No library on PyPI writes .msg files, and no permissively licensed sample ships in an installed
package, so the tests make their own."""

from __future__ import annotations

import struct

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR, MINI, CUTOFF = 512, 64, 4096
PT_INT32, PT_UNICODE, PT_BINARY = 0x0003, 0x001F, 0x0102


class _Node:
    def __init__(self, name: str, data: bytes | None = None):
        self.name, self.data, self.children = name, data, []  # data None -> storage

    def add(self, node: _Node) -> _Node:
        self.children.append(node)
        return node


def _props(storage: _Node, props: list[tuple[int, int, object]], header: bytes) -> None:
    """Write a __properties_version1.0 stream and a __substg1.0_ stream per variable-length property."""
    stream = bytearray(header)
    for pid, ptyp, value in props:
        tag = (pid << 16) | ptyp
        if ptyp == PT_INT32:
            stream += struct.pack("<IIIi", tag, 0x6, int(value), 0)  # flags: readable | writable
            continue
        raw = value.encode("utf-16-le") + b"\0\0" if ptyp == PT_UNICODE else bytes(value)  # type: ignore[union-attr]
        stream += struct.pack("<IIII", tag, 0x6, len(raw), 0)
        storage.add(_Node(f"__substg1.0_{pid:04X}{ptyp:04X}", raw if ptyp != PT_UNICODE else raw[:-2]))
    storage.add(_Node("__properties_version1.0", bytes(stream)))


def build_msg(*, subject: str, body: str, html: str | None = None, headers: str | None = None,
              sender: str = "", recipients: tuple[str, ...] = (),
              attachments: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    """The bytes of an Outlook .msg file (Unicode string properties)."""
    root = _Node("Root Entry")
    props: list[tuple[int, int, object]] = [
        (0x001A, PT_UNICODE, "IPM.Note"), (0x0037, PT_UNICODE, subject), (0x1000, PT_UNICODE, body),
        (0x340D, PT_INT32, 0x00040000),  # PidTagStoreSupportMask: STORE_UNICODE_OK
    ]
    if html is not None:
        props.append((0x1013, PT_BINARY, html.encode("utf-8")))
        props.append((0x3FDE, PT_INT32, 65001))  # PidTagInternetCodepage: UTF-8
    if headers is not None:
        props.append((0x007D, PT_UNICODE, headers))
    if sender:
        props += [(0x0C1A, PT_UNICODE, sender.split("<")[0].strip()), (0x0C1F, PT_UNICODE, sender.split("<")[-1].rstrip(">"))]
    for i, addr in enumerate(recipients):
        r = root.add(_Node(f"__recip_version1.0_#{i:08X}"))
        _props(r, [(0x3001, PT_UNICODE, addr), (0x39FE, PT_UNICODE, addr), (0x0C15, PT_INT32, 1)], b"\0" * 8)
    for i, (name, data, mime) in enumerate(attachments):
        a = root.add(_Node(f"__attach_version1.0_#{i:08X}"))
        _props(a, [(0x3705, PT_INT32, 1), (0x3707, PT_UNICODE, name), (0x370E, PT_UNICODE, mime),
                   (0x3701, PT_BINARY, data)], b"\0" * 8)
    _props(root, props, struct.pack("<8xIIII8x", len(recipients), len(attachments), len(recipients), len(attachments)))
    return _write_cfb(root)


def _key(n: _Node) -> tuple[int, str]:
    return len(n.name), n.name.upper()  # [MS-CFB] 2.6.4: shorter names first, then case-insensitive


def _write_cfb(root: _Node) -> bytes:
    entries: list[_Node] = []

    def number(n: _Node) -> None:
        entries.append(n)
        n.children.sort(key=_key)
        for c in n.children:
            number(c)

    number(root)
    index = {id(n): i for i, n in enumerate(entries)}
    streams = [n for n in entries if n.data is not None]
    mini_data, mini_fat, mini_start = bytearray(), [], {}
    for s in streams:
        if len(s.data) < CUTOFF:
            mini_start[id(s)] = len(mini_data) // MINI
            count = max(1, -(-len(s.data) // MINI))
            first = len(mini_fat)
            mini_fat += [first + k + 1 for k in range(count - 1)] + [ENDOFCHAIN]
            mini_data += s.data.ljust(count * MINI, b"\0")
    # Regular sectors (after the FAT): directory, mini FAT, mini stream container, big streams.
    dir_bytes = bytearray()
    chains_big: list[tuple[_Node, bytes]] = [(s, s.data) for s in streams if len(s.data) >= CUTOFF]
    blobs = [("dir", None), ("minifat", struct.pack(f"<{len(mini_fat)}I", *mini_fat) if mini_fat else b""),
             ("ministream", bytes(mini_data))] + [(f"big{id(s)}", d) for s, d in chains_big]

    def nsec(b: bytes) -> int:
        return -(-len(b) // SECTOR)

    dir_len = len(entries) * 128
    sizes = {"dir": -(-dir_len // SECTOR)}
    for name, b in blobs[1:]:
        sizes[name] = nsec(b)
    body = sum(sizes.values())
    nfat = 1
    while nfat * (SECTOR // 4) < body + nfat:
        nfat += 1
    start, pos = {}, nfat
    for name, _ in blobs:
        start[name] = pos if sizes[name] else ENDOFCHAIN
        pos += sizes[name]
    fat = [FATSECT] * nfat
    for name, _ in blobs:
        n = sizes[name]
        fat += [start[name] + k + 1 for k in range(n - 1)] + ([ENDOFCHAIN] if n else [])
    fat += [FREESECT] * (nfat * (SECTOR // 4) - len(fat))

    for n in entries:
        name = n.name.encode("utf-16-le") + b"\0\0"
        kind = 5 if n is root else (2 if n.data is not None else 1)
        siblings = _siblings(entries, index)
        left, right = NOSTREAM, siblings.get(id(n), NOSTREAM)
        child = index[id(n.children[0])] if n.children else NOSTREAM
        if n is root:
            first, size = start["ministream"], len(mini_data)
        elif n.data is None:
            first, size = 0, 0
        elif len(n.data) < CUTOFF:
            first, size = mini_start[id(n)], len(n.data)
        else:
            first, size = start[f"big{id(n)}"], len(n.data)
        dir_bytes += struct.pack("<64sHBBIII16sIQQIQ", name.ljust(64, b"\0"), len(name), kind, 1, left, right,
                                 child, b"\0" * 16, 0, 0, 0, first, size)
    blob_bytes = {"dir": bytes(dir_bytes)}
    blob_bytes.update({name: b for name, b in blobs[1:]})
    difat = list(range(nfat)) + [FREESECT] * (109 - nfat)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), b"\0" * 16, 0x3E, 3, 0xFFFE,
                         9, 6, b"\0" * 6, 0, nfat, start["dir"], 0, CUTOFF,
                         start["minifat"], sizes["minifat"], ENDOFCHAIN, 0)
    header += struct.pack("<109I", *difat)
    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)
    for name, _ in blobs:
        b = blob_bytes[name]
        out += b.ljust(sizes[name] * SECTOR, b"\0")
    return bytes(out)


def _siblings(entries: list[_Node], index: dict[int, int]) -> dict[int, int]:
    """A storage's children as a right-leaning chain in sort order (a valid, if unbalanced, tree)."""
    out: dict[int, int] = {}
    for n in entries:
        for a, b in zip(n.children, n.children[1:]):
            out[id(a)] = index[id(b)]
    return out
