"""What a check is: a module that declares its symbols and maps a message to findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from lurelens.model import Finding, Message

if TYPE_CHECKING:
    from lurelens.parse import Limits
    from lurelens.registry.data import DataRegistry
    from lurelens.registry.intel import IntelStore

__all__ = ["ADDR_IN_NAME", "LIMIT_SYMBOLS", "CaseBlind", "Check", "Context", "Symbol", "capped", "first_time", "fold",
           "limit_finding", "known_domain", "limits_of", "sender_addresses", "text_limit_finding"]


# An address written into a display name ("service@paypal.com" <x@elsewhere>); group 1 is its domain.
ADDR_IN_NAME = re.compile(r"[\w.+\-]+@([\w\-]+(?:\.[\w\-]+)+)", re.U)


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    description: str


T = TypeVar("T")

# Any check may emit these: a per-check cap of Limits was reached.
LIMIT_SYMBOLS = (
    Symbol("CHECK_LIMIT_ITEMS", "A check reached its item limit: the riskiest items were checked, the rest were not"),
    Symbol("CHECK_LIMIT_TEXT", "A check read only the first part of a long text"),
)


@dataclass
class Context:
    """What checks may use besides the message: the data registries and the indicator store.
    Shared by every scan of a Scanner (and its threads), so checks only read it."""

    data: "DataRegistry"
    intel: "IntelStore | None" = None
    limits: "Limits | None" = None  # None: the defaults
    extras: dict[str, Any] = field(default_factory=dict)  # for third-party checks; the engine sets nothing here
    # Strengths by where a finding's item sits, per check ([strengths.<check>] in scores.toml,
    # e.g. the lookalike check's {"From": 1.0, "link": 0.7, "default": 0.8}); empty: 1.0 everywhere.
    strengths: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    symbols: tuple[Symbol, ...]
    run: Callable[[Message, Context], Iterable[Finding]]

    @cached_property
    def symbol_names(self) -> frozenset[str]:
        # Cached: the engine tests every finding against it (cached_property writes the instance
        # dict directly, which a frozen dataclass allows).
        return frozenset(s.name for s in self.symbols)


def limits_of(ctx: Context) -> "Limits":
    if ctx.limits is not None:
        return ctx.limits
    from lurelens.parse import Limits

    return Limits()


def capped(items: list[T], cap: int, risky: Callable[[T], bool]) -> tuple[list[T], int]:
    """At most ``cap`` items and how many there were. Over the cap, the risky ones come first
    (each group in its order); under it the items are returned as they are."""
    if len(items) <= cap:
        return items, len(items)
    ordered = [i for i in items if risky(i)] + [i for i in items if not risky(i)]
    return ordered[:cap], len(items)


def limit_finding(check: str, what: str, cap: int, total: int, name: str) -> Finding:
    """The finding that says a check stopped at a cap of Limits."""
    return Finding("CHECK_LIMIT_ITEMS", f"{check}: checked {cap} of {total} {what} (Limits.{name}); "
                   "hosts unrelated to the sender first")


def text_limit_finding(check: str, cap: int, total: int, name: str) -> Finding:
    return Finding("CHECK_LIMIT_TEXT", f"{check}: read the first {cap} of {total} characters of text (Limits.{name})")


def known_domain(domain: str, ctx: Context) -> bool:
    """A free-mail provider, or a domain a news outlet, brand or protected organisation uses."""
    domain = (domain or "").lower().strip()
    if not domain:
        return False
    if ctx.data.free_hosting_suffix(domain) or ctx.data.tenant_platform(domain):
        return False  # the platform is known; its tenants, anyone, are not
    return ctx.data.is_freemail(domain) or ctx.data.entities.entity_for_domain(domain) is not None


def first_time() -> Callable[[str, str], bool]:
    """A predicate true the first time it sees a (symbol, key) pair: one finding per symbol and host."""
    seen: set[tuple[str, str]] = set()

    def once(symbol: str, key: str) -> bool:
        if (symbol, key) in seen:
            return False
        seen.add((symbol, key))
        return True

    return once


def sender_addresses(msg: Message) -> Iterable[tuple[str, str]]:
    """(header, address) for every address that says who sent the message: From, Reply-To,
    Sender and Return-Path."""
    for a in msg.from_:
        if a.addr:
            yield "From", a.addr
    for a in msg.reply_to:
        if a.addr:
            yield "Reply-To", a.addr
    if msg.sender is not None and msg.sender.addr:
        yield "Sender", msg.sender.addr
    if msg.return_path and "@" in msg.return_path:
        yield "Return-Path", msg.return_path.strip().strip("<>")



def _canonical_letters() -> dict[int, int]:
    """Lower-case letters the regex engine takes as one letter when ignoring case (ı and i, ſ and
    s, ς and σ: the standard library's own table), each mapped to the smallest of its group."""
    try:
        from re._casefix import _EXTRA_CASES
    except ImportError:  # pragma: no cover - a Python without the table: no pattern passes folded()
        return {}
    out: dict[int, int] = {}
    for lo, others in _EXTRA_CASES.items():
        group = {lo, *others}
        for c in group:
            if c != min(group):
                out[c] = min(group)
    return out


_CANON = _canonical_letters()
_CANON_CHARS = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_CANON)) + "]") if _CANON else None


def fold(text: str) -> str:
    """``text`` lower-cased the way the regex engine compares letters when it ignores case, with
    every character kept in its place (same length; U+0130 İ, the one letter whose lower case is
    two characters, is ``i`` as the engine reads it). A case-sensitive pattern of folded letters
    matches ``fold(text)`` at the same places, with the same spans, as the same pattern with
    ``re.IGNORECASE`` matches ``text``; that search is several times cheaper."""
    if text.isascii():
        return text.lower()
    text = text.replace("\u0130", "i").lower()
    if _CANON_CHARS is not None and _CANON_CHARS.search(text):
        text = text.translate(_CANON)
    return text


_ESCAPE = re.compile(r"\\.")
_RANGE = re.compile(r"\[[^\]]*[^\[]-[^\]]")  # a class with a range: its letters are not all spelt out


def folded(pattern: str) -> bool:
    """True when every letter ``pattern`` names outside its escapes is already folded, and it has
    no negated class: compiled without ``re.IGNORECASE`` it then finds in ``fold(text)`` what it
    finds in ``text`` with that flag."""
    bare = _ESCAPE.sub("", pattern)
    return ("[^" not in bare and "(?i" not in bare and not _RANGE.search(bare)
            and fold(bare) == bare and not any(ord(c) in _CANON for c in bare))


class CaseBlind:
    """A case-insensitive pattern searched fast: ``prefix`` (the pattern's opening, written in
    folded letters) is searched case-sensitively in the folded text, and the whole pattern is
    tried only where it matches. Every match of ``full`` starts where ``prefix`` matches the folded
    text, so the results are exactly ``full.search``/``full.finditer``'s. When ``prefix`` is not
    folded (an overlay word in capitals) the plain search is used."""

    def __init__(self, full: re.Pattern[str], prefix: str):
        self.full = full
        self.prefix = re.compile(prefix) if folded(prefix) else None

    def search(self, text: str, folded_text: str | None = None) -> re.Match[str] | None:
        """As ``full.search``: the first match (the walk of :meth:`finditer` stops there)."""
        return next(self.finditer(text, folded_text), None)

    def finditer(self, text: str, folded_text: str | None = None) -> Iterator[re.Match[str]]:
        """As ``full.finditer`` for a pattern that never matches the empty string (the first
        match is ``full.search``'s for any pattern)."""
        if self.prefix is None:
            yield from self.full.finditer(text)
            return
        low = fold(text) if folded_text is None else folded_text
        pos, n = 0, len(text)
        while pos <= n:
            q = self.prefix.search(low, pos)
            if q is None:
                return
            m = self.full.match(text, q.start())
            if m is None:
                pos = q.start() + 1
            else:
                yield m
                pos = m.end() if m.end() > m.start() else m.end() + 1
