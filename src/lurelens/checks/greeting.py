"""Greetings: a message that greets the reader by their e-mail address, or as a generic "customer"
or "user", was written for a list of addresses rather than for a person.
"""

from __future__ import annotations

import re

from lurelens.checks.base import Check, Context, Symbol, limits_of
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("GREETING_USES_ADDRESS", "The text greets the reader by their e-mail address instead of a name"),
    Symbol("GREETING_GENERIC", "The text greets a generic 'customer', 'user' or 'account holder'"),
)

_GREETING_WORDS = (
    r"dear|hello|hi|hey|greetings|attention|attn|ol[aá]|prezad[oa]|car[oa]|aten[cç][aã]o|estimad[oa]|hola|"
    r"sehr geehrte[rs]?|hallo|liebe[rs]?|bonjour|cher|ch[eè]re|gentile|beste|geachte"
)
_GREETING_ADDR = re.compile(rf"(?:{_GREETING_WORDS})\W{{1,3}}([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*)", re.I)
_GREETING_GENERIC = re.compile(
    rf"(?<!\w)(?:{_GREETING_WORDS})\W{{1,3}}(?:valued |dear |esteemed |prezado |estimado )?(?:[A-Z][\w.&-]+ ){{0,2}}"
    r"(?:customer|client|user|member|account ?holder|e-?mail (?:owner|user)|beneficiary|friend|sir(?:/| or )madam|"
    r"cliente|usu[aá]rio|utilizador|kunde|kundin|nutzer|utilisateur|klant)(?!\w)",
    re.I,
)



def run(msg: Message, ctx: Context):
    # Greetings open a message: the first 3,000 characters are read (within check_text_chars).
    head = msg.visible_text[:min(3000, limits_of(ctx).check_text_chars)]
    g = _GREETING_ADDR.search(head) or _GREETING_ADDR.search(msg.subject)
    if g:
        yield Finding("GREETING_USES_ADDRESS", f"'{g.group(0)[:80]}'")
    else:
        g = _GREETING_GENERIC.search(head)
        if g:
            yield Finding("GREETING_GENERIC", f"'{g.group(0)[:60]}'")


CHECK = Check("greeting", SYMBOLS, run)
