"""Greetings: a message that greets the reader by their e-mail address, or as a generic "customer"
or "user", was written for a list of addresses rather than for a person.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lurelens.checks.base import Check, Context, Symbol, limits_of
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("GREETING_USES_ADDRESS", "The text greets the reader by their e-mail address instead of a name"),
    Symbol("GREETING_GENERIC", "The text greets a generic 'customer', 'user' or 'account holder'"),
)

@lru_cache(maxsize=8)
def _greeting_patterns(words: str, addressees: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A greeting to an address, and a greeting to a generic addressee, for the vocabularies of
    data/words/greeting_words.txt and generic_addressees.txt (compiled once per pair of lists)."""
    to_address = re.compile(rf"(?:{words})\W{{1,3}}([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*)", re.I)
    generic = re.compile(
        rf"(?<!\w)(?:{words})\W{{1,3}}(?:valued |dear |esteemed |prezado |estimado )?(?:[A-Z][\w.&-]+ ){{0,2}}"
        rf"(?:{addressees})(?!\w)",
        re.I,
    )
    return to_address, generic


def run(msg: Message, ctx: Context):
    # Greetings open a message: the first 3,000 characters are read (within check_text_chars).
    head = msg.visible_text[:min(3000, limits_of(ctx).check_text_chars)]
    to_address, generic = _greeting_patterns(ctx.data.pattern("greeting_words"), ctx.data.pattern("generic_addressees"))
    g = to_address.search(head) or to_address.search(msg.subject)
    if g:
        yield Finding("GREETING_USES_ADDRESS", f"'{g.group(0)[:80]}'")
    else:
        g = generic.search(head)
        if g:
            yield Finding("GREETING_GENERIC", f"'{g.group(0)[:60]}'")


CHECK = Check("greeting", SYMBOLS, run)
