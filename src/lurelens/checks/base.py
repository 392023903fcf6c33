"""What a check is: a module that declares its symbols and maps a message to findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from lurelens.model import Finding, Message

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry
    from lurelens.registry.intel import IntelStore

__all__ = ["ADDR_IN_NAME", "Check", "Context", "Symbol", "first_time", "sender_addresses"]

# An address written into a display name ("service@paypal.com" <x@elsewhere>); group 1 is its domain.
ADDR_IN_NAME = re.compile(r"[\w.+\-]+@([\w\-]+(?:\.[\w\-]+)+)", re.U)


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    description: str


@dataclass
class Context:
    """What checks may use besides the message: the data registries and the indicator store.
    Shared by every scan of a Scanner (and its threads), so checks only read it."""

    data: "DataRegistry"
    intel: "IntelStore | None" = None
    extras: dict[str, Any] = field(default_factory=dict)  # for third-party checks; the engine sets nothing here


@dataclass(frozen=True)
class Check:
    name: str
    symbols: tuple[Symbol, ...]
    run: Callable[[Message, Context], Iterable[Finding]]

    @property
    def symbol_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.symbols)


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

