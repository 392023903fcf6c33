"""Header decoding that keeps the raw form: checks look for tricks hidden in encoded words.

Python's compat32 policy leaves header values as raw text (cheap, and nothing is lost); decoding
happens here, on demand, with charset fallbacks instead of exceptions.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header
from email.utils import getaddresses

from lurelens.model import Address, Defect

__all__ = ["decode_value", "parse_addresses", "fix_8bit", "decode_bytes"]

_ENCODED_WORD = re.compile(r"=\?[^?\s]{1,64}\?[bBqQ]\?[^?\s]*\?=")
# No optional CR in front (every CR is dropped after the substitution anyway): a pattern that opens
# with a literal LF is found by a fast scan instead of a try at every character of the value.
_FOLD = re.compile(r"\n[ \t]+")
_SURROGATE = re.compile("[\udc80-\udcff]")


def fix_8bit(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; read them as UTF-8 (else cp1252)."""
    if value.isascii() or not _SURROGATE.search(value):
        return value
    raw = value.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def unfold(value: str) -> str:
    if "\n" not in value and "\r" not in value:
        return value  # most values: nothing to unfold, no regex pass
    return _FOLD.sub(" ", value).replace("\r", "").replace("\n", "")


def lookup_charset(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip('"').lower()
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):  # unknown label, or one with a NUL byte in it
        return None


def decode_bytes(data: bytes, charset: str | None, defects: list[Defect] | None = None, where: str = "") -> str:
    """Decode body bytes: the declared charset, else UTF-8, else cp1252. Never raises."""
    name = lookup_charset(charset)
    if charset and name is None and defects is not None:
        defects.append(Defect("unknown_charset", charset[:60], where))
    if name and name not in ("ascii", "us-ascii"):
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            if defects is not None:
                defects.append(Defect("charset_mismatch", f"bytes are not valid {name}", where))
            return data.decode(name, "replace")
        except Exception:  # noqa: BLE001 - codec implementations can raise odd things
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_value(value: str) -> str:
    """RFC 2047-decode a header value; unknown charsets fall back instead of raising."""
    value = fix_8bit(unfold(value))
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001
        return value
    out = []
    for chunk, cs in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, cs))
        else:
            out.append(chunk)
    # decode_header drops the whitespace between an encoded word and plain text; join as a client.
    text = ""
    for piece in out:
        if text and not text[-1].isspace() and piece and not piece[0].isspace() and len(chunks) > 1:
            text += " "
        text += piece
    return text


def has_encoded_word(value: str) -> bool:
    return bool(_ENCODED_WORD.search(value))


_ANGLE = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>")


def parse_mailbox_header(values: list[str], defects: list[Defect] | None = None, name: str = "From") -> list[Address]:
    """Like parse_addresses, for a header that should hold one mailbox. A display name with
    unquoted specials ("Bank, Support <a@b>", "Hi you@x <a@b>") is read as a client shows it,
    one mailbox named by its angle address, and recorded as a defect."""
    addrs = parse_addresses(values)
    if len(values) == 1 and (len(addrs) > 1 or not any("@" in a.addr for a in addrs)):
        raw = fix_8bit(unfold(values[0]))
        angles = _ANGLE.findall(raw)
        if len(angles) == 1:
            name_raw = raw[: raw.find("<")].strip().strip('"').strip()
            addr = angles[0]
            local, _, dom = addr.rpartition("@")
            if len(addrs) > 1 and defects is not None:
                defects.append(Defect("unquoted_specials_in_display_name", raw[:120], name))
            return [Address(decode_value(name_raw) if name_raw else "", f"{local}@{dom.lower().rstrip('.')}", name_raw)]
    return addrs


def parse_addresses(values: list[str]) -> list[Address]:
    """Mailboxes from address headers. Parsed on the raw text, then names decoded, so an encoded
    word cannot smuggle a second address past the parser."""
    out: list[Address] = []
    raws = [fix_8bit(unfold(v)) for v in values]
    try:
        pairs = getaddresses(raws)
    except Exception:  # noqa: BLE001
        pairs = []
    for name, addr in pairs:
        if not name and not addr:
            continue
        addr = addr.strip().strip("<>")
        if "@" in addr:
            local, _, dom = addr.rpartition("@")
            addr = f"{local}@{dom.lower().rstrip('.')}"
        out.append(Address(decode_value(name) if name else "", addr, name))
    return out


# Feed-to-mail gateways name each item after its source: From: guardian <rssfeeds@host>.
_FEED_LOCAL = re.compile(r"^(?:\w*rss\w*|\w*feeds?|feed2\w+|r2e)(?:[._\-+]|$)", re.I)


def is_feed_gateway_local(local: str) -> bool:
    """A mailbox name feed-to-mail gateways use (rssfeeds, feed2mail, r2e): its display name is the feed's."""
    return bool(_FEED_LOCAL.match(local))
