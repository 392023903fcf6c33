"""Characters used to disguise words: invisible ones, and Greek or Cyrillic look-alikes mixed into
Latin words. Shared by the content check (which reports them) and the entity index and
impersonation check (which see through them to the name being disguised)."""

from __future__ import annotations

import re

__all__ = ["INVISIBLE", "INVISIBLE_CHARS", "mixes_latin_and_lookalikes"]

# Zero-width space/joiners, word joiner, BOM, soft hyphen, combining grapheme joiner, Unicode tag
# characters and the supplementary variation selectors.
INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\U000e0000-\U000e007f\U000e0100-\U000e01ef"
INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")


def mixes_latin_and_lookalikes(word: str, min_latin: int = 1) -> bool:
    """True when ``word`` has at least ``min_latin`` ASCII letters and a Greek or Cyrillic one."""
    latin = sum(1 for c in word if c.isascii() and c.isalpha())
    return latin >= min_latin and any("\u0370" <= c <= "\u04ff" for c in word)
