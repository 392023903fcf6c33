"""Input sniffing: turn the bytes of one file into the bytes of one message, or say clearly why not.

Handles what real exports and hand-saved files look like (byte-order marks, UTF-16, leading blank
lines, gzip/xz/zstd/zip of a message, Outlook .msg) and refuses what is clearly not mail (binary magic
numbers, no mail header at the start) so that nothing unread is ever reported as ``clean``.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import zlib

__all__ = ["binary_kind", "container_kind", "decode_utf16", "looks_like_mail", "sniff"]

# Larger than anything a mail server accepts; bounds decompression of a single message (zip bombs).
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
NOT_MAIL = "not an e-mail message"

# Formats that are never a message; a file starting with one of these is refused (or skipped in a walk).
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
    (b"\x00asm", "WebAssembly module"),
    (b"#!", "script"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"BM", "BMP image"),
    (b"RIFF", "RIFF media file"),
    (b"OggS", "Ogg media file"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (b"%PDF-", "PDF document"),
    (b"{\\rtf", "RTF document"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"ustar", "tar archive"),
    (b"!<arch>", "ar archive"),
    (b"!BDN", "Outlook .pst/.ost mail store (give the file itself as a source; needs lurelens[pst])"),
    (b"\x00\x00\x01\x00", "icon"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
)
_GZIP, _XZ, _ZSTD, _BZ2 = b"\x1f\x8b", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"BZh"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: Outlook .msg (also .doc/.xls)

# A header field name (RFC 5322 ftext), optional obsolete white space, colon.
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
# Names that show a header block is mail and not, say, YAML or an HTTP dump.
_MAIL_FIELDS = frozenset(
    b"from to cc bcc subject date received message-id return-path mime-version delivered-to sender "
    b"reply-to content-type content-transfer-encoding x-mailer user-agent dkim-signature "
    b"authentication-results arc-seal arc-message-signature arc-authentication-results in-reply-to "
    b"references x-original-to envelope-to list-id list-unsubscribe thread-topic thread-index "
    b"x-ms-exchange-organization-authas x-received x-google-smtp-source feedback-id".split()
)
_BLANK_PREFIX = re.compile(rb"\A(?:[ \t]*\r?\n)+")


def binary_kind(head: bytes) -> str | None:
    """The name of a non-mail format recognised by its magic number, or None."""
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            if name == "BMP image" and not head[2:6].isascii():
                return name
            if name in ("BMP image", "script") and _FIELD.match(head):
                continue  # "BM..." / "#!" could not start a header line anyway, but stay safe
            return name
    if len(head) > 257 + 5 and head[257:262] == b"ustar":
        return "tar archive"
    return None


def container_kind(head: bytes) -> str | None:
    """'gzip', 'xz', 'zstd', 'bzip2', 'zip' or 'msg' when the bytes are a container we can open."""
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_XZ):
        return "xz"
    if head.startswith(_ZSTD):
        return "zstd"
    if head.startswith(_BZ2) and len(head) > 3 and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(_ZIP):
        return "zip"
    if head.startswith(OLE):
        return "msg"
    return None


def decode_utf16(data: bytes) -> tuple[bytes, str] | None:
    """(UTF-8 bytes, note) when ``data`` is UTF-16 text (with a BOM, or ASCII-range text with a NUL
    in every other byte, as Windows tools save it); else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        head = data[:64]
        if len(head) < 8:
            return None
        even, odd = head[0::2], head[1::2]
        if odd.count(0) == len(odd) and even.count(0) == 0:
            enc = "utf-16-le"
        elif even.count(0) == len(even) and odd.count(0) == 0:
            enc = "utf-16-be"
        else:
            return None
    text = data[: len(data) - (len(data) % 2)].decode(enc, errors="replace")
    return text.encode("utf-8", errors="replace"), f"decoded from {enc.upper().replace('UTF-16', 'UTF-16')}"


def looks_like_mail(data: bytes) -> str | None:
    """None when ``data`` starts with a mail header block; else why not (for the error text)."""
    head = data[:16384]
    if not head:
        return "empty file"
    kind = binary_kind(head)
    if kind:
        return kind
    if b"\x00" in head[:1024]:
        return "binary data"
    lines = head.split(b"\n", 60)[:60]
    if not _FIELD.match(lines[0]):
        return "no header field at the start"
    for ln in lines:
        if ln in (b"", b"\r"):
            break
        m = _FIELD.match(ln)
        if m and m.group(0).rstrip(b" \t:").lower() in _MAIL_FIELDS:
            return None
        if m and m.group(0).lower().startswith(b"x-"):
            return None
    return "no mail header field (From, To, Subject, Received...) at the start"


def _decompress(data: bytes, kind: str, limit: int) -> bytes:
    """Decompress at most ``limit`` + 1 bytes (so a bomb is detected, not materialised)."""
    if kind == "gzip":
        out = zlib.decompressobj(wbits=47).decompress(data, limit + 1)  # gzip or zlib header
    elif kind == "xz":
        out = lzma.LZMADecompressor().decompress(data, max_length=limit + 1)
    elif kind == "bzip2":
        out = bz2.BZ2Decompressor().decompress(data, max_length=limit + 1)
    else:  # zstd
        import zstandard  # optional extra: lurelens[hunt]

        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as r:
            out = r.read(limit + 1)
    return out


def sniff(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES, _depth: int = 0
          ) -> tuple[bytes | None, str | None, str | None]:
    """(normalised message bytes, error, note) for the bytes of one file or one stdin.

    Handles a UTF-8 byte-order mark, UTF-16, leading blank lines, a gzip/xz/zstd/bzip2 file or a
    one-message zip around a message, an Outlook .msg; refuses with ``error`` ("not an e-mail
    message: ...") what is clearly not mail. Never raises on any input.
    """
    try:
        return _sniff(data, max_bytes, _depth)
    except Exception as exc:  # noqa: BLE001 - any bytes: a clear per-item error, never a traceback
        return None, f"unreadable: {type(exc).__name__}: {exc}", None


def _sniff(data: bytes, max_bytes: int, depth: int) -> tuple[bytes | None, str | None, str | None]:
    notes: list[str] = []
    if not data:
        return None, f"{NOT_MAIL}: empty file", None
    kind = container_kind(data[:16])
    if kind is not None:
        if depth >= 2:
            return None, f"{NOT_MAIL}: {kind} nested too deeply", None
        if kind == "msg":
            from lurelens.sources.msg import msg_to_rfc822

            inner, err = msg_to_rfc822(data)
            if inner is None:
                return None, err, None
            return inner, None, "Outlook .msg converted to RFC 822"
        if kind == "zip":
            inner, err = _one_zip_member(data, max_bytes)
            if inner is None:
                return None, err, None
            label = "zip"
        else:
            try:
                inner = _decompress(data, kind, max_bytes)
            except ImportError:
                return None, f"unreadable: {kind}-compressed; install lurelens[hunt] for zstandard", None
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
                return None, f"unreadable: corrupt {kind} data: {exc}", None
            if len(inner) > max_bytes:
                return None, f"unreadable: {kind} data larger than {max_bytes} bytes when decompressed", None
            label = kind
        out, err, note = _sniff(inner, max_bytes, depth + 1)
        return out, err, "; ".join(filter(None, [f"{label}-compressed" if label != "zip" else "from a zip", note]))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("UTF-8 byte-order mark removed")
    u16 = decode_utf16(data)
    if u16 is not None:
        data, note = u16
        notes.append(note)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
    m = _BLANK_PREFIX.match(data)
    if m:
        n = m.group(0).count(b"\n")
        data = data[m.end():]
        notes.append(f"{n} leading blank line{'s' if n != 1 else ''} removed")
    if data.startswith((b"From ", b">From ")):
        # A single message saved with its mbox envelope line: the line is not a header field.
        nl = data.find(b"\n")
        data = data[nl + 1:] if nl >= 0 else b""
        notes.append("mbox envelope line removed")
    why = looks_like_mail(data)
    if why is not None:
        return None, f"{NOT_MAIL}: {why}", "; ".join(notes) or None
    return data, None, "; ".join(notes) or None


def _one_zip_member(data: bytes, max_bytes: int) -> tuple[bytes | None, str | None]:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) != 1:
                return None, (f"{NOT_MAIL}: zip archive with {len(members)} members "
                              "(give the .zip file itself as a path to read each member)")
            info = members[0]
            if info.file_size > max_bytes:
                return None, f"unreadable: zip member larger than {max_bytes} bytes"
            with zf.open(info) as fh:
                return fh.read(max_bytes + 1), None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, zlib.error, lzma.LZMAError) as exc:
        return None, f"unreadable: corrupt zip archive: {exc}"
