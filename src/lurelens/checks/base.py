"""What a check is: a module that declares its symbols and maps a message to findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from lurelens.model import Finding, Message

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry

__all__ = ["Check", "Context", "Symbol"]


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    description: str


@dataclass
class Context:
    """What checks may use besides the message: data registries and settings. Shared by scans."""

    data: "DataRegistry"
    config: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # later stages: lookalike index, intel


@dataclass(frozen=True)
class Check:
    name: str
    symbols: tuple[Symbol, ...]
    run: Callable[[Message, Context], Iterable[Finding]]

    @property
    def symbol_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.symbols)
