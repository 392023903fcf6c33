"""The checks, one module each, listed explicitly. Each declares its symbols; the engine runs them
in order and turns a crash into a CHECK_ERROR finding."""

from lurelens.checks import (
    attachments,
    auth,
    author,
    greeting,
    impersonation,
    intel,
    links,
    lookalike,
    lures,
    obfuscation,
    sender,
    structure,
    trackers,
    verify,
)
from lurelens.checks.base import LIMIT_SYMBOLS, Check, Context, Symbol

ENGINE_SYMBOLS = (
    Symbol("CHECK_ERROR", "A check crashed on this message; the scan went on without it"),
    Symbol("RENDER_UNLISTED_FETCH", "The real browser fetched from a host the static inventory did not list"),
    *LIMIT_SYMBOLS,
)

CHECKS: tuple[Check, ...] = (
    structure.CHECK,
    attachments.CHECK,
    auth.CHECK,
    verify.CHECK,
    sender.CHECK,
    author.CHECK,
    trackers.CHECK,
    links.CHECK,
    lures.CHECK,
    obfuscation.CHECK,
    greeting.CHECK,
    impersonation.CHECK,
    lookalike.CHECK,
    intel.CHECK,
)


def all_symbols(checks: tuple[Check, ...] = CHECKS) -> dict[str, Symbol]:
    out = {s.name: s for s in ENGINE_SYMBOLS}
    for c in checks:
        for s in c.symbols:
            out[s.name] = s
    return out


__all__ = ["CHECKS", "Check", "Context", "Symbol", "all_symbols"]
