"""What a check is: a module that declares its symbols and maps a message to findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from lurelens.model import Finding, Message

if TYPE_CHECKING:
    from lurelens.parse import Limits
    from lurelens.registry.data import DataRegistry
    from lurelens.registry.intel import IntelStore

__all__ = ["ADDR_IN_NAME", "LIMIT_SYMBOLS", "Check", "Context", "Symbol", "capped", "first_time", "limit_finding",
           "known_domain", "limits_of", "sender_addresses", "text_limit_finding"]


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

