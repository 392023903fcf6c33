"""Disguise: Unicode that dodges filters (mathematical letters, invisible characters, look-alike
scripts, spaced-out words), random strings and the recipient's own address in the subject or sender
name, and HTML whose text is mostly hidden from the reader.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from lurelens.checks.base import Check, Context, Symbol, limits_of, text_limit_finding
from lurelens.model import Finding, Message
from lurelens.parse.text import INVISIBLE, INVISIBLE_CHARS, LOOKALIKE_RANGES, SMALL_CAPS, foreign_marks, mixes_latin_and_lookalikes

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("HTML_HIDDEN_TEXT", "Much of the HTML's text is hidden from the reader (filler to fool filters)"),
    Symbol("SUBJECT_HAS_RECIPIENT", "The subject or sender name repeats the recipient's address to look personal"),
    Symbol("SUBJECT_RANDOM_TOKEN", "The subject or sender name carries a random string, a trick to defeat filters"),
    Symbol("TEXT_OBFUSCATED_UNICODE", "Look-alike Unicode (math letters, invisible characters) disguises words"),
    Symbol("TEXT_LOOKALIKE_LETTERS", "A lower-case l stands for a capital I, or a capital I for an l, in the subject, sender name or an attachment name ('lRS', 'Banco CentraI', 'lnvoice'): a word spelt to pass filters"),
)

_TOKEN = re.compile(r"(?<![\w@.])[A-Za-z0-9]{10,40}(?![\w@])")
_MATH_ALNUM = re.compile("[\U0001d400-\U0001d7ff]")
# Invisible characters between letters ("Mi\u200bcro\u200bsoft", or Unicode tag characters);
# soft hyphens (U+00AD) inside words are ordinary hyphenation and are not counted there.
_INVISIBLE_IN_WORD = re.compile("[^\\W\\d_][" + INVISIBLE_CHARS.replace("\u00ad", "") + "]+[^\\W\\d_]")
_SPACED = re.compile(r"(?:(?<!\S)\w ){5,}\w(?!\S)")
# Every match of _SPACED holds five spaces each followed by a letter from its second letter on;
# this opens with a literal space, which the engine finds fast, so most texts are passed over at
# once and the rest are read from one character before the first such run.
_SPACED_RUN = re.compile(r" \w \w \w \w \w")
# Invisible characters that _INVISIBLE_IN_WORD counts (any but the soft hyphen): without one it cannot match.
_INVISIBLE_NOT_SHY = re.compile("[" + INVISIBLE_CHARS.replace("\u00ad", "") + "]")
# ASCII look-alikes in short header text: 'lRS'/'lTAUCARD' (l before capitals), 'lnvoice' (no word
# starts with 'ln'), 'CentraI'/'PaypaI' (a capital I closing a lower-case word).
# Not read in the body: PGP armour, base64 and host names there spell 'lEAA' and 'lnksrv'.
_L_FOR_I = re.compile(r"(?<![A-Za-z])l[A-Z]{2,}(?![a-z])|(?<![A-Za-z])ln[a-z]{3,}|(?<![A-Za-z])[A-Z][a-z]{3,}I(?![A-Za-z])")


def _spaced_word(text: str) -> str | None:
    """A word written with its letters spaced out ("P a y P a l"); digit runs, table
    headings and the alphabet in order ("0 1 2 ... a b c") are not words."""
    run = _SPACED_RUN.search(text)
    if run is None:
        return None
    for m in _SPACED.finditer(text, max(0, run.start() - 1)):
        letters = m.group(0).replace(" ", "")
        if not letters.isalpha():
            continue
        low = letters.lower()
        if all(ord(b) - ord(a) == 1 for a, b in zip(low, low[1:])):
            continue
        return m.group(0)
    return None


def _random_token(s: str) -> str | None:
    for m in _TOKEN.finditer(s):
        tok = m.group(0)
        lower = sum(c.islower() for c in tok)
        upper = sum(c.isupper() for c in tok)
        digit = sum(c.isdigit() for c in tok)
        classes = (lower > 0) + (upper > 0) + (digit > 0)
        # Case changes inside a word, with digits, rarely happen in language or in product codes.
        if classes < 3 and not (classes == 2 and lower and upper and upper >= 3 and not tok[1:].islower()):
            continue
        if not digit and _CAMEL_OR_ACRONYMS.match(tok):
            continue  # CyberSLAPPs, GitHubAPIs: words and (plural) acronyms run together
        transitions = sum(1 for a, b in zip(tok, tok[1:]) if a.isupper() != b.isupper() and a.isalpha() and b.isalpha())
        n = len(tok)
        h = -sum(c / n * math.log2(c / n) for c in Counter(tok).values())
        if h >= 3.2 and transitions >= 3:
            return tok
    return None


_LOOKALIKE_CLASS = "[" + "".join(f"{lo}-{hi}" for lo, hi in LOOKALIKE_RANGES) + "]"
# Only words holding a look-alike letter are looked at (most text has none): a character-class
# search finds those letters, and the word around each is cut out.
_LOOKALIKE_LETTER = re.compile(_LOOKALIKE_CLASS)
_WORD_END = re.compile(r"\W")


def _mixed_script_word(text: str) -> str | None:
    """A word that mixes Latin letters with look-alikes ("Sаmsung" with a Cyrillic а)."""
    pos = 0
    for _ in range(50):
        m = _LOOKALIKE_LETTER.search(text, pos)
        if m is None:
            return None
        start = m.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
        e = _WORD_END.search(text, m.end())
        end = e.start() if e else len(text)
        w = text[start:end]
        if len(w) >= 3 and mixes_latin_and_lookalikes(w, min_latin=2):
            return w
        pos = end
    return None


_CAMEL_OR_ACRONYMS = re.compile(r"^(?:[A-Z][a-z]+|[A-Z]{2,}s?(?![a-z]))+$")
def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"  # the regex engine's \w for str


def _standalone(s: str, word: str) -> int:
    r"""Where ``word`` first stands alone in ``s`` as ``(?<![\w.\-])word(?![\w\-])`` finds it, or
    -1; by string search (a regex per recipient was compiled anew for almost every message)."""
    i = s.find(word)
    while i >= 0:
        before = s[i - 1] if i else ""
        after = s[i + len(word) : i + len(word) + 1]
        if not (before and (_is_word(before) or before in ".-")) and not (after and (_is_word(after) or after == "-")):
            return i
        i = s.find(word, i + 1)
    return -1


def _in_brackets(s: str, start: int) -> bool:
    return s.rfind("[", 0, start) > s.rfind("]", 0, start)


def run(msg: Message, ctx: Context):
    max_text = limits_of(ctx).check_text_chars
    if len(msg.visible_text) > max_text:
        yield text_limit_finding("obfuscation", max_text, len(msg.visible_text), "check_text_chars")
    frm = next((a for a in msg.from_ if a.addr), None)
    names = [msg.subject] + ([frm.display_name] if frm else [])
    list_id = (msg.header("List-Id") or "").lower() + (msg.header("List-Post") or "").lower()
    own_local = frm.addr.rpartition("@")[0].lower() if frm else ""
    for rcpt in msg.recipients[:5]:
        local = rcpt.rpartition("@")[0].lower()
        if local and local in list_id:
            continue  # the list's own address, as list subjects carry its tag
        hit = None
        for i, s in enumerate(names):
            if i and local == own_local:
                continue  # the sender's name, copying their own other mailbox: "Craig" to craig@elsewhere
            sl = s.lower()
            at = _standalone(sl, local) if len(local) >= 5 else -1
            if rcpt.lower() in sl or (at >= 0 and not _in_brackets(sl, at)):
                hit = s
                break
        if hit:
            yield Finding("SUBJECT_HAS_RECIPIENT", f"'{hit[:80]}' contains {rcpt}")
            break
    for s in names:
        tok = _random_token(s)
        if tok:
            yield Finding("SUBJECT_RANDOM_TOKEN", f"'{tok}' in '{s[:80]}'")
            break
    heads = msg.subject + " " + (frm.display_name if frm else "")
    # Short texts (a subject, a name, ten attachment names): each bounded, so one search is cheap.
    lookalike = _L_FOR_I.search(heads[:500] + " " + " ".join((a.filename or "")[:200] for a in msg.attachments[:10]))
    if lookalike:
        yield Finding("TEXT_LOOKALIKE_LETTERS", f"'{lookalike.group(0)}' in the subject, sender name or an attachment name")
    body_text = msg.visible_text[:max_text]
    # Tricks in the subject or sender name weigh fully (nobody's mail client writes them there);
    # tricks only in the body weigh less (pasted text, formulas and art can carry odd letters).
    tricks = []
    in_heads = False
    math_n = len(_MATH_ALNUM.findall(heads))
    in_heads |= math_n >= 3
    math_n += len(_MATH_ALNUM.findall(body_text))
    if math_n >= 3:
        tricks.append(f"{math_n} mathematical letters")
    inv_n = len(INVISIBLE.findall(heads))
    if inv_n >= 2:
        in_heads = True
        tricks.append(f"{inv_n} invisible characters in the headers")
    inv_words = len(_INVISIBLE_IN_WORD.findall(body_text)) if _INVISIBLE_NOT_SHY.search(body_text) else 0
    if inv_words >= 3:
        tricks.append(f"{inv_words} words split by invisible characters")
    mixed = _mixed_script_word(heads)
    in_heads |= bool(mixed)
    mixed = mixed or _mixed_script_word(body_text)
    if mixed:
        tricks.append(f"'{mixed}' mixes Latin and other scripts")
    marks = foreign_marks(heads)
    heads_marked = marks >= 2
    in_heads |= heads_marked
    marks += foreign_marks(body_text[:3000])
    if marks >= 3 or heads_marked:
        tricks.append(f"{marks} foreign accent marks between Latin letters")
    small = len(SMALL_CAPS.findall(heads))
    in_heads |= small >= 4
    small += len(SMALL_CAPS.findall(body_text[:3000]))
    if small >= 4:
        tricks.append(f"{small} small-capital letters standing in for Latin ones")
    spaced = _spaced_word(heads)
    in_heads |= bool(spaced)
    spaced = spaced or _spaced_word(body_text)
    if spaced:
        tricks.append(f"letters spaced out: '{spaced[:30]}'")
    if tricks:
        yield Finding("TEXT_OBFUSCATED_UNICODE", ("in the subject or sender name: " if in_heads else "in the body: ") + "; ".join(tricks),
                      strength=1.0 if in_heads else 0.7)
    if msg.hidden_text_chars >= 300 and msg.hidden_text_chars >= 0.3 * max(1, len(msg.visible_text)):
        yield Finding("HTML_HIDDEN_TEXT", f"{msg.hidden_text_chars} characters of hidden text, {len(msg.visible_text)} in all")


CHECK = Check("obfuscation", SYMBOLS, run)
