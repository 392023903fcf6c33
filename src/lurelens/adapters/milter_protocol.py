"""The milter wire protocol (version 6, as Sendmail's libmilter and Postfix speak it): framing,
the commands an MTA sends and the replies a filter gives. Pure functions over bytes, so that the
asyncio server in :mod:`lurelens.adapters.milter` owns every read, timeout and failure path."""

from __future__ import annotations

import asyncio
import struct

__all__ = [
    "MAX_FRAME",
    "ProtocolError",
    "decode_connect",
    "decode_macros",
    "decode_optneg",
    "decode_strs",
    "encode_optneg",
    "frame",
    "read_frame",
    "reply_add_header",
    "reply_change_header",
    "reply_code",
    "reply_quarantine",
    "reply_replace_body",
]

VERSION = 6
# Larger than anything Postfix sends (body chunks are <= 64 KiB, a header is bounded by
# header_size_limit); a bigger length is a broken or hostile peer, not a message to buffer.
MAX_FRAME = 4 * 1024 * 1024
BODY_CHUNK = 65535  # the largest SMFIR_REPLBODY chunk libmilter sends

# Commands (MTA -> filter)
C_ABORT, C_BODY, C_CONNECT, C_MACRO, C_BODYEOB = b"A", b"B", b"C", b"D", b"E"
C_HELO, C_QUIT_NC, C_HEADER, C_MAIL, C_EOH = b"H", b"K", b"L", b"M", b"N"
C_OPTNEG, C_QUIT, C_RCPT, C_DATA, C_UNKNOWN = b"O", b"Q", b"R", b"T", b"U"

# Replies (filter -> MTA)
R_ACCEPT, R_REPLBODY, R_CONTINUE, R_DISCARD = b"a", b"b", b"c", b"d"
R_ADDHEADER, R_CHGHEADER, R_PROGRESS, R_QUARANTINE = b"h", b"m", b"p", b"q"
R_REJECT, R_TEMPFAIL, R_REPLYCODE = b"r", b"t", b"y"

# Actions the filter may take (SMFIF_*)
F_ADDHDRS, F_CHGBODY, F_CHGHDRS, F_QUARANTINE = 0x01, 0x02, 0x10, 0x20

# Protocol steps the filter may ask the MTA to skip or change (SMFIP_*)
P_NOUNKNOWN = 0x100
P_NODATA = 0x200
P_HDR_LEADSPC = 0x100000  # header values keep their leading space: the message is rebuilt exactly
# "No reply" for a step: the MTA does not wait for CONTINUE, saving a round trip per header and chunk.
P_NR_HDR, P_NR_CONN, P_NR_HELO, P_NR_MAIL = 0x80, 0x1000, 0x2000, 0x4000
P_NR_RCPT, P_NR_DATA, P_NR_UNKN, P_NR_EOH, P_NR_BODY = 0x8000, 0x10000, 0x20000, 0x40000, 0x80000
P_NO_REPLY = P_NR_HDR | P_NR_CONN | P_NR_HELO | P_NR_MAIL | P_NR_RCPT | P_NR_DATA | P_NR_UNKN | P_NR_EOH | P_NR_BODY


class ProtocolError(Exception):
    """The peer sent something that is not the milter protocol; the connection is dropped (and
    Postfix applies ``milter_default_action``)."""


async def read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """The next (command, data) from the MTA; None on a clean end of stream between frames."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ProtocolError("connection closed inside a frame length") from exc
    (length,) = struct.unpack("!I", head)
    if length < 1 or length > MAX_FRAME:
        raise ProtocolError(f"frame length {length} out of range")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("connection closed inside a frame") from exc
    return body[:1], body[1:]


def frame(cmd: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + cmd + data


def _cstr(s: bytes | str) -> bytes:
    b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
    # A NUL would end the string early on the MTA side: drop it rather than send a truncated field.
    return b.replace(b"\0", b"") + b"\0"


def decode_strs(data: bytes) -> list[bytes]:
    """NUL-terminated strings (MAIL and RCPT arguments, HEADER name and value)."""
    parts = data.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def decode_optneg(data: bytes) -> tuple[int, int, int]:
    if len(data) < 12:
        raise ProtocolError("short OPTNEG")
    return struct.unpack("!III", data[:12])


def encode_optneg(actions: int, protocol: int) -> bytes:
    return frame(C_OPTNEG, struct.pack("!III", VERSION, actions, protocol))


def decode_connect(data: bytes) -> dict[str, str]:
    """CONNECT: hostname, family (4, 6, L unix, U unknown), port, address; missing parts empty."""
    host, _, rest = data.partition(b"\0")
    out = {"client_name": text(host), "client_address": "", "client_port": "", "family": ""}
    if rest:
        out["family"] = chr(rest[0])
        if out["family"] in "46" and len(rest) >= 3:
            out["client_port"] = str(struct.unpack("!H", rest[1:3])[0])
            out["client_address"] = text(rest[3:].split(b"\0", 1)[0])
        elif out["family"] == "L":
            out["client_address"] = text(rest[3:].split(b"\0", 1)[0])
    return out


def decode_macros(data: bytes) -> dict[str, str]:
    """MACRO: the command it precedes, then name/value pairs (either may be missing or odd)."""
    strs = decode_strs(data[1:]) if data else []
    return {text(strs[i]).strip("{}"): text(strs[i + 1]) for i in range(0, len(strs) - 1, 2)}


def reply_add_header(name: str, value: str) -> bytes:
    return frame(R_ADDHEADER, _cstr(name) + _cstr(value))


def reply_change_header(index: int, name: str, value: str) -> bytes:
    """Change the ``index``-th (1-based) header called ``name``; an empty value deletes it."""
    return frame(R_CHGHEADER, struct.pack("!I", index) + _cstr(name) + _cstr(value))


def reply_quarantine(reason: str) -> bytes:
    """Postfix puts the message on hold (``postqueue -p`` shows it with a ``!``)."""
    return frame(R_QUARANTINE, _cstr(reason))


def reply_replace_body(body: bytes) -> list[bytes]:
    return [frame(R_REPLBODY, body[i:i + BODY_CHUNK]) for i in range(0, len(body), BODY_CHUNK)] or [
        frame(R_REPLBODY, b"")
    ]


def reply_code(smtp: str) -> bytes:
    """REPLYCODE: ``"451 4.7.1 text"``; the first digit (4 or 5) decides tempfail or reject.
    A ``%`` would be expanded by the MTA, so it is doubled."""
    return frame(R_REPLYCODE, _cstr(smtp.replace("%", "%%").replace("\r", " ").replace("\n", " ")))
