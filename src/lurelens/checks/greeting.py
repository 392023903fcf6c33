"""Greetings: a message that greets the reader by their e-mail address, or as a generic "customer"
or "user", was written for a list of addresses rather than for a person.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lurelens.checks.base import CaseBlind, Check, Context, Symbol, fold, limits_of
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("GREETING_USES_ADDRESS", "The text greets the reader by their e-mail address instead of a name"),
    Symbol("GREETING_GENERIC", "The text greets a generic 'customer', 'user' or 'account holder'"),
)

@lru_cache(maxsize=8)
def _greeting_patterns(words: str, addressees: str) -> tuple[CaseBlind, CaseBlind]:
    """A greeting to an address, and a greeting to a generic addressee, for the vocabularies of
    data/words/greeting_words.txt and generic_addressees.txt (compiled once per pair of lists).
    Each is tried only where a greeting word and a non-word character open (checks/base.py
    CaseBlind: a case-blind search of every word at every position was this check's cost)."""
    to_address = re.compile(rf"(?:{words})\W{{1,3}}([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*)", re.I)
    generic = re.compile(
        rf"(?<!\w)(?:{words})\W{{1,3}}(?:valued |dear |esteemed |prezado |estimado )?(?:[A-Z][\w.&-]+ ){{0,2}}"
        rf"(?:{addressees})(?!\w)",
        re.I,
    )
    return CaseBlind(to_address, rf"(?:{words})\W"), CaseBlind(generic, rf"(?<!\w)(?:{words})\W")


def run(msg: Message, ctx: Context):
    # Greetings open a message: the first 3,000 characters are read (within check_text_chars).
    head = msg.visible_text[:min(3000, limits_of(ctx).check_text_chars)]
    to_address, generic = _greeting_patterns(ctx.data.pattern("greeting_words"), ctx.data.pattern("generic_addressees"))
    # The address greeting needs an "@": most texts have none, and the case-blind search of every
    # greeting word at every position is the cost of this check.
    low = fold(head)
    g = ("@" in head and to_address.search(head, low)) or ("@" in msg.subject and to_address.search(msg.subject))
    if g:
        yield Finding("GREETING_USES_ADDRESS", f"'{g.group(0)[:80]}'")
    else:
        g = generic.search(head, low)
        if g:
            yield Finding("GREETING_GENERIC", f"'{g.group(0)[:60]}'")


CHECK = Check("greeting", SYMBOLS, run)
