"""Per-recipient tokens: does a URL say which recipient opened the message?

A tracker learns who opened a message when its URL carries the recipient's address, in clear or
encoded (URL-encoding, base64 at any alignment, hex, md5/sha1/sha256 of the address), or an
opaque identifier minted for that recipient. One message cannot prove an identifier is unique, so
an opaque identifier is reported as such, weaker than the address itself.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections import Counter
from urllib.parse import unquote, unquote_plus

__all__ = ["RecipientMatcher", "opaque_id"]

_SPLIT = re.compile(r"[/?&=;,:#.+!*()~]")


def _b64_variants(data: bytes) -> set[str]:
    """Base64 of ``data`` as it would appear inside a longer base64 string, at each alignment."""
    out = set()
    for k in range(3):
        enc = base64.b64encode(b"\x00" * k + data).decode()
        # Drop characters mixed with the unknown prefix and the unstable tail.
        start = (k * 4 + 2) // 3 + (1 if k else 0)
        core = enc[start:].rstrip("=")
        core = core[: len(core) - 2] if len(core) > 8 else core
        if len(core) >= 8:
            out.add(core)
            out.add(core.replace("+", "-").replace("/", "_"))
    return out


class RecipientMatcher:
    def __init__(self, addresses: list[str]):
        self.needles: list[tuple[str, str, bool]] = []  # (needle, label, case_sensitive)
        seen = set()
        for addr in addresses:
            addr = addr.strip()
            if "@" not in addr or len(addr) < 6:
                continue
            for a in {addr, addr.lower()}:
                if a in seen:
                    continue
                seen.add(a)
                raw = a.encode("utf-8", "replace")
                self.needles.append((a.lower(), "email:plain", False))
                self.needles.append((a.lower().replace("@", "%40"), "email:urlencoded", False))
                self.needles.append((raw.hex(), "email:hex", False))
                for name in ("md5", "sha1", "sha256"):
                    self.needles.append((hashlib.new(name, raw).hexdigest(), f"email:{name}", False))
                for v in _b64_variants(raw):
                    self.needles.append((v, "email:base64", True))

    def __bool__(self) -> bool:
        return bool(self.needles)

    def find(self, url: str) -> tuple[str, str] | None:
        if not self.needles:
            return None
        # The URL as written first, so an address written URL-encoded is reported as such;
        # then the decoded URL, for encodings of encodings.
        low = url.lower()
        for needle, label, case in self.needles:
            if needle in (url if case else low):
                return label, needle
        if "%" in url or "+" in url:
            dec = unquote_plus(url)
            dec_low = dec.lower()
            for needle, label, case in self.needles:
                if needle in (dec if case else dec_low):
                    return label, needle
        return None


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


_STATIC_EXT = re.compile(r"\.(png|jpe?g|gif|webp|svg|css|woff2?|ttf|ico|js)$", re.I)


def opaque_id(url: str, path: str, query: str) -> str | None:
    """A high-entropy path or query token that looks minted per recipient, or None."""
    candidates = []
    for seg in _SPLIT.split(unquote(query)):
        candidates.append(seg)
    path_segments = unquote(path).split("/")
    for seg in path_segments:
        if _STATIC_EXT.search(seg):
            if seg.count(".") >= 2:
                continue  # a hashed asset name (logo.5f3a9c.png) identifies a file, not a person
            seg = seg.rsplit(".", 1)[0]  # /open/<token>.gif: the token is the stem
        candidates.extend(_SPLIT.split(seg))
    best = None
    for tok in candidates:
        if len(tok) < 16 or len(tok) > 512:
            continue
        pieces = re.split(r"[-_]", tok)
        if len(pieces) > 1 and all(p.isdigit() or p.isalpha() for p in pieces):
            continue  # readable words and numbers (2026-11-10-newsletter), not an identifier
        has_digit = any(c.isdigit() for c in tok)
        has_alpha = any(c.isalpha() for c in tok)
        if not (has_digit and has_alpha):
            if not (tok.isdigit() and len(tok) >= 18):
                continue
        h = _entropy(tok)
        if h >= 3.3:
            if best is None or len(tok) > len(best):
                best = tok
    return best
