"""What each host learns when the message is opened (IP, User-Agent, time, which recipient, and what
guarded fetches reveal), in words: the per-host account (``HostLeak``) a verdict carries, and the
vocabulary renderers and the engine share. Computed during the scan by lurelens.parse.leaks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["HostLeak", "LEARN_DNS", "LEARN_IP", "LEARN_TIME", "LEARN_UA", "condition_reveals", "leak_summary",
           "learns_for", "recipient_phrase"]

LEARN_IP = "IP address (hence approximate location and network)"
LEARN_UA = "User-Agent (device, operating system, mail client)"
LEARN_TIME = "time of opening"
LEARN_DNS = "time of opening and the reader's DNS resolver (network or provider), via a DNS lookup"
_NO_HTTP = {"dns-prefetch", "preconnect"}  # no HTTP request: no User-Agent, no URL

_REVEALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:min-|max-)?(?:device-)?(?:width|height)|aspect-ratio", re.I),
     "screen or window size (a width/height media query decides the fetch)"),
    (re.compile(r"resolution|device-pixel-ratio", re.I), "screen pixel density (high-DPI display or not)"),
    (re.compile(r"prefers-color-scheme", re.I), "dark or light mode setting"),
    (re.compile(r"\bprint\b", re.I), "that the message was printed"),
    (re.compile(r"orientation", re.I), "device orientation (portrait or landscape)"),
    (re.compile(r"\b(?:any-)?(?:hover|pointer)\b", re.I), "touch screen or mouse"),
    (re.compile(r"prefers-(?:reduced-motion|contrast|reduced-transparency)|forced-colors|inverted-colors", re.I),
     "accessibility settings (reduced motion, contrast)"),
    (re.compile(r"@supports", re.I), "which CSS features the client supports (fingerprints the mail client)"),
]


@dataclass(slots=True)
class HostLeak:
    host: str
    fetches: int = 0
    kinds: list[str] = field(default_factory=list)
    learns: list[str] = field(default_factory=list)
    recipient_token: str | None = None
    conditions: list[str] = field(default_factory=list)
    tracker: str | None = None
    hidden: bool = False
    seen_by: list[str] = field(default_factory=list)  # "static", "browser", "header"
    attached: list[str] = field(default_factory=list)  # attached messages (1, 1.2) that fetch from it

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "fetches": self.fetches,
            "kinds": self.kinds,
            "learns": self.learns,
            "recipient_token": self.recipient_token,
            "conditions": self.conditions,
            "tracker": self.tracker,
            "hidden": self.hidden,
            "seen_by": self.seen_by,
            "attached": self.attached,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "HostLeak":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def recipient_phrase(token: str | None) -> str | None:
    if not token:
        return None
    if token.startswith("email:"):
        return f"which recipient opened it (the address, as {token[6:]}, is in the URL)"
    if token == "opaque_id":
        return "probably which recipient opened it (a unique identifier is in the URL)"
    return f"which recipient opened it ({token})"


def condition_reveals(condition: str | None) -> list[str]:
    """What a fetch guarded by this condition (``@media ...``, ``media ...``) tells its host."""
    if not condition:
        return []
    return [text for pat, text in _REVEALS if pat.search(condition)]


def learns_for(kinds: Iterable[str], token: str | None, conditions: list[str], extra: list[str]) -> list[str]:
    kinds = set(kinds)
    if kinds and kinds <= _NO_HTTP:
        out = [LEARN_IP, LEARN_TIME] if "preconnect" in kinds else [LEARN_DNS]
    else:
        out = [LEARN_IP, LEARN_UA, LEARN_TIME]
        phrase = recipient_phrase(token)
        if phrase:
            out.append(phrase)
    for cond in conditions:
        out.extend(condition_reveals(cond))
    out.extend(extra)
    if kinds & {"frame", "meta-refresh", "object"}:
        out.append("loads a whole web page: cookies and further fingerprinting are possible")
    if kinds & {"css-import", "stylesheet", "render:stylesheet"}:
        out.append("serves a style sheet that can trigger further fetches")
    return list(dict.fromkeys(out))


def leak_summary(kind: str, hidden: bool, token: str | None, condition: str | None = None) -> str:
    """What one fetch tells its host, in a few words (the per-host account is ``HostLeak``)."""
    return ", ".join(learns_for([kind], token, [condition] if condition else [], []))
