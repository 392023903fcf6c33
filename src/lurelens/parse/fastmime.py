"""A MIME splitter for well-formed mail that builds the very tree ``BytesParser(policy=compat32)``
builds, by string searches instead of the stdlib's line-by-line feed parser (a third of the parse).

It takes only the forms whose result it can reproduce exactly: header blocks of plain fields
ending at a blank line, multipart bodies with a start and a close delimiter, no bare CR line ends,
no message/* parts. On anything else (every case where the stdlib would record a defect, too) it
returns None and the caller runs the stdlib parser. ``tests/test_parse_fastmime.py`` compares both
trees on every dev-corpus message and on fuzzed bytes.
"""

from __future__ import annotations

import re
from email import errors, policy
from email.message import Message as EmailMessage

__all__ = ["parse_fast"]

# One header field: a name of printable ASCII without ":" (the stdlib's headerRE, at least one
# character), its first line, and its continuation lines (starting with a space or a tab).
_FIELD = re.compile(r"([\041-\071\073-\176]+):([^\n]*\n(?:[ \t][^\n]*\n)*)")
_BLOCK = re.compile(r"(?:[\041-\071\073-\176]+:[^\n]*\n(?:[ \t][^\n]*\n)*)*")
# What may follow "--boundary" on a delimiter line: "--" for the close delimiter, then blanks.
_TAIL = re.compile(r"(--)?[ \t]*(\r\n|\n|\r|\Z)")
_MAX_DEPTH = 20  # deeper nesting goes to the stdlib (and its RecursionError handling)
_COMPAT32 = policy.compat32


class _Unusual(Exception):
    """Raised inside the splitter: something the stdlib parser must handle."""


def parse_fast(raw: bytes) -> EmailMessage | None:
    """The compat32 tree of ``raw``, or None when the message needs the stdlib parser."""
    text = raw.decode("ascii", "surrogateescape")  # what BytesParser does first
    # A bare CR ends a line for the stdlib. It matters only where lines matter: header blocks and
    # delimiter lines, which are checked for it (in a leaf's body it changes nothing).
    try:
        return _part(text, 0, len(text), 0)
    except (_Unusual, RecursionError):
        return None
    except Exception:  # noqa: BLE001 - e.g. a parameter the stdlib's helpers trip on: let it decide
        return None


def _part(text: str, start: int, end: int, depth: int, in_digest: bool = False) -> EmailMessage:
    """The message whose bytes are text[start:end] (``end`` is at a line start or the end)."""
    if depth > _MAX_DEPTH:
        raise _Unusual
    msg = EmailMessage(_COMPAT32)
    if in_digest:
        msg._default_type = "message/rfc822"  # type: ignore[attr-defined]  # = set_default_type
    pos = start
    if text.startswith("From ", pos, end):  # an mbox envelope line, kept as the unixfrom
        nl = text.find("\n", pos, end)
        if nl == -1:
            raise _Unusual
        msg._unixfrom = text[pos : nl - 1 if text[nl - 1] == "\r" else nl]  # type: ignore[attr-defined]
        pos = nl + 1
    # The header block ends at the first empty line ("\n" or "\r\n").
    if text.startswith("\n", pos, end):
        block_end, body = pos, pos + 1
    elif text.startswith("\r\n", pos, end):
        block_end, body = pos, pos + 2
    else:
        crlf = text.find("\n\r\n", pos, end)
        lf = text.find("\n\n", pos, end if crlf == -1 else crlf + 1)
        i = lf if lf != -1 else crlf
        if i == -1:
            raise _Unusual  # no empty line: the stdlib reads the headers up to the end
        block_end, body = i + 1, i + (2 if lf != -1 else 3)
        # Every line before it a field or a continuation line, else the stdlib ends the headers
        # earlier (and records a defect): a continuation first, "From " later, odd names...
        if _BLOCK.fullmatch(text, pos, block_end) is None:
            raise _Unusual
    if text.count("\r", start, body) != text.count("\r\n", start, body):
        raise _Unusual  # a bare CR ends a line for the stdlib
    # compat32's header_source_parse: the value after the colon, left-stripped of blanks, with
    # its folding kept and the final line end dropped.
    msg._headers = [(n, v.lstrip(" \t").rstrip("\r\n")) for n, v in _FIELD.findall(text, pos, block_end)]  # type: ignore[attr-defined]
    pos = body

    ctype = msg.get_content_type()
    maintype = ctype.partition("/")[0]
    if maintype == "message":
        raise _Unusual
    if maintype != "multipart":
        msg._payload = text[pos:end]  # type: ignore[attr-defined]
        return msg
    boundary = msg.get_boundary()
    if boundary is None:
        raise _Unusual
    if str(msg.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
        msg.defects.append(errors.InvalidMultipartContentTransferEncodingDefect())
    _multipart(msg, text, pos, end, "--" + boundary, depth, ctype == "multipart/digest")
    return msg


def _delimiters(text: str, start: int, end: int, sep: str):
    """(line start, line end, is close) of each delimiter line in text[start:end]."""
    tail = _TAIL.match
    n = len(sep)
    if text.find("\r" + sep, start, end) != -1:
        raise _Unusual  # "--boundary" after a bare CR: a delimiter line to the stdlib
    i = start if text.startswith(sep, start, end) else text.find("\n" + sep, start, end)
    while i != -1:
        line = i if i == start and text.startswith(sep, start, end) else i + 1
        m = tail(text, line + n, end)
        if m is not None and m.group(2) == "\r":
            raise _Unusual  # a delimiter line ended by a bare CR
        if m is not None and (m.group(2) or m.end() == len(text)):
            yield line, m.end(), bool(m.group(1)), bool(m.group(2))
        i = text.find("\n" + sep, line + n, end)


def _multipart(msg: EmailMessage, text: str, body: int, end: int, sep: str, depth: int, digest: bool) -> None:
    parts: list[EmailMessage] = []
    prev_end = -1
    closed = None
    for line, line_end, is_close, has_eol in _delimiters(text, body, end, sep):
        if prev_end == -1:
            if is_close:
                raise _Unusual  # a close delimiter before any start delimiter
            if line > body:
                pre = text[body:line]  # the line end before the delimiter belongs to it
                msg.preamble = pre[:-2] if pre.endswith("\r\n") else pre[:-1]
        else:
            if line == prev_end:
                raise _Unusual  # two delimiter lines in a row: the stdlib skips them specially
            parts.append(_child(text, prev_end, line, depth, digest))
        if is_close:
            closed = (line_end, has_eol)
            break
        prev_end = line_end
    if prev_end == -1:
        raise _Unusual  # no start delimiter: the stdlib keeps the body as a string, with a defect
    if closed is None:
        # The body ends without a close delimiter: the last part runs to the end, no epilogue.
        if prev_end >= end:
            raise _Unusual  # a start delimiter last: the stdlib makes an empty part of nothing
        parts.append(_child(text, prev_end, end, depth, digest))
        msg.defects.append(errors.CloseBoundaryNotFoundDefect())
        msg._payload = parts  # type: ignore[attr-defined]
        return
    if not parts:
        raise _Unusual  # a close delimiter right after the start: no part at all
    msg._payload = parts  # type: ignore[attr-defined]
    msg.epilogue = text[closed[0] : end]


def _child(text: str, start: int, end: int, depth: int, digest: bool) -> EmailMessage:
    """A body part; the line end before the next delimiter belongs to the delimiter (RFC 2046)."""
    part = _part(text, start, end, depth + 1, digest)
    payload = part._payload  # type: ignore[attr-defined]
    if isinstance(payload, list):
        epi = part.epilogue
        if epi == "":
            part.epilogue = None
        elif epi is not None:
            part.epilogue = _chop(epi)
    else:
        part._payload = _chop(payload)  # type: ignore[attr-defined]
    return part


def _chop(s: str) -> str:
    if s.endswith("\r\n"):
        return s[:-2]
    if s.endswith(("\n", "\r")):
        return s[:-1]
    return s
