"""Characters used to disguise words: invisible ones, and Greek or Cyrillic look-alikes mixed into
Latin words. Shared by the content check (which reports them) and the entity index and
impersonation check (which see through them to the name being disguised)."""

from __future__ import annotations

import re

__all__ = ["INVISIBLE", "INVISIBLE_CHARS", "LOOKALIKE_RANGES", "SMALL_CAPS", "email_matches", "foreign_marks", "is_lookalike_letter", "mixes_latin_and_lookalikes"]

# Zero-width space/joiners, word joiner, BOM, soft hyphen, combining grapheme joiner, Unicode tag
# characters and the supplementary variation selectors.
INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\U000e0000-\U000e007f\U000e0100-\U000e01ef"
INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")


# Scripts whose letters pass for Latin ones: Greek, Cyrillic, Cherokee, Canadian syllabics (ᑕ, ᗩ),
# the phonetic small capitals (ᴘᴀʏ). IPA letters such as ə, ɛ and ɔ are left out: Azerbaijani and
# several African languages write them inside Latin words.
LOOKALIKE_RANGES = (("\u0370", "\u04ff"), ("\u13a0", "\u13ff"), ("\u1400", "\u167f"), ("\u1d00", "\u1d2b"))
SMALL_CAPS = re.compile("[\u1d00-\u1d22\u0262\u026a\u0274\u0280\u028f\u0299\u029c\u029f]")


def is_lookalike_letter(c: str) -> bool:
    return any(lo <= c <= hi for lo, hi in LOOKALIKE_RANGES)


def mixes_latin_and_lookalikes(word: str, min_latin: int = 1) -> bool:
    """True when ``word`` has at least ``min_latin`` ASCII letters and a letter of a script that
    passes for Latin (Greek, Cyrillic, small capitals, Cherokee, Canadian syllabics)."""
    latin = sum(1 for c in word if c.isascii() and c.isalpha())
    return latin >= min_latin and any(is_lookalike_letter(c) for c in word)


# Combining marks of other scripts (Cyrillic, Hebrew, Arabic, Syriac, Thaana, NKo, Devanagari)
# and the extended/supplementary combining blocks; the ordinary Latin accents (U+0300-036F) are not here.
_FOREIGN_MARK_AFTER_LATIN = re.compile(
    "[A-Za-z][\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0711"
    "\u0730-\u074a\u07a6-\u07b0\u07eb-\u07f3\u0816-\u082d\u0859-\u085b\u08d3-\u0903\u093a-\u094f"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


def foreign_marks(text: str) -> int:
    """Combining marks of other scripts sprinkled after Latin letters to break words up for
    filters ("Aܿmܿaܿzܿoܿn" with Syriac marks); ordinary accents do not count."""
    return len(_FOREIGN_MARK_AFTER_LATIN.findall(text))


# Addresses written in text, found from each "@" (a literal the regex engine finds fast) rather
# than by trying a 64-character local part at every position of the text, which on long bodies
# cost more than the rest of the check that asked.
_AT_DOMAIN = re.compile(r"@([\w\-]+(?:\.[\w\-]+)+)")
_LOCAL_TAILS = {n: re.compile(rf"[\w.+\-]{{{n},64}}\Z") for n in (1, 2)}


def email_matches(text: str, min_local: int = 1):
    """(start, address, domain) for each match of ``[\\w.+\\-]{min_local,64}@([\\w\\-]+(?:\\.[\\w\\-]+)+)``
    in ``text``, exactly as ``finditer`` finds them (leftmost, not overlapping)."""
    tail = _LOCAL_TAILS[min_local]
    pos = 0
    while True:
        m = _AT_DOMAIN.search(text, pos)
        if m is None:
            return
        at = m.start()
        local = tail.search(text, max(pos, at - 64), at)
        if local is None:
            pos = at + 1
            continue
        yield local.start(), text[local.start() : m.end()], m.group(1)
        pos = m.end()
