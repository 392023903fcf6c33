"""Phrase patterns rewritten so Python's regex engine can skip them fast.

The lure scanner tries ~160 phrase patterns at every word start of a text. An alternative that
opens with a literal is rejected in one step when the character differs; one that opens with an
optional or alternative group (``(?:your )?account``, ``(?:update|validate) ...``) makes the engine
enter the group every time, ten times the cost, and those were most of the scan of legitimate
mail. ``expand`` distributes such leading groups into plain alternatives, in the order the engine
tries them (``(?:x)?y`` is ``(?:x)y|y``; ``(?:a|b)c`` is ``ac|bc``), so every match, and which
alternative makes it, is unchanged.
"""

from __future__ import annotations

import re
from typing import Iterator

__all__ = ["PhraseScanner", "dispatch", "expand", "grouped"]

_BACKREF = re.compile(r"\\[1-9]|\\g<|\(\?P=")


def _structure(p: str):
    """(index, character, depth after it) for each character of ``p`` that is not escaped and not
    inside a character class; the depth counts open parentheses."""
    depth, i, in_class = 0, 0, False
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if p[i + 1 : i + 2] == "]" or p[i + 1 : i + 3] == "^]":
                i += 1 if p[i + 1] == "]" else 2
        else:
            depth += (c == "(") - (c == ")")
            yield i, c, depth
        i += 1
    if in_class:
        yield len(p), "[", -1  # an open class: unbalanced


def _split_top(p: str) -> list[str] | None:
    """``p``'s top-level alternatives, or None when its brackets do not balance."""
    out, start, depth = [], 0, 0
    for i, c, depth in _structure(p):
        if depth < 0:
            return None
        if c == "|" and depth == 0:
            out.append(p[start:i])
            start = i + 1
    if depth:
        return None
    out.append(p[start:])
    return out


def _close(p: str) -> int:
    """Index of the ')' closing the group that opens ``p``, or -1."""
    for i, c, depth in _structure(p):
        if c == ")" and depth == 0:
            return i
    return -1


def expand(p: str, budget: int = 64) -> list[str]:
    """``p`` as alternatives that, tried in order, match what ``p`` matches the way ``p`` does;
    ``[p]`` itself where it opens with anything else or would expand into more than ``budget``."""
    if "\\" in p and _BACKREF.search(p):
        return [p]  # copies of a group would renumber what a back-reference points at
    out = _expand(p, [budget])
    return out if out is not None else [p]


def _expand(p: str, budget: list[int]) -> list[str] | None:
    budget[0] -= 1
    if budget[0] < 0:
        return None
    alts = _split_top(p)
    if alts is None:
        return None
    if len(alts) > 1:
        out: list[str] = []
        for a in alts:
            e = _expand(a, budget)
            if e is None:
                return None
            out += e
        return out
    if not p.startswith("(?:"):
        return [p]
    end = _close(p)
    if end == -1:
        return None
    inner, after = p[3:end], p[end + 1 :]
    if after[:1] == "?" and after[1:2] not in ("?", "+"):  # greedy optional: with it, then without
        with_it, without = _expand(f"(?:{inner}){after[1:]}", budget), _expand(after[1:], budget)
        return None if with_it is None or without is None else with_it + without
    if after[:1] in ("?", "*", "+", "{"):
        return [p]
    parts = _split_top(inner)
    if parts is None:
        return None
    if len(parts) == 1:
        return [p]  # a non-capturing group of one alternative compiles to its contents
    out = []
    for part in parts:
        e = _expand(part + after, budget)
        if e is None:
            return None
        out += e
    return out


def _first_chars(items) -> tuple[set[str] | None, bool]:
    """(the characters a match of the parsed sequence ``items`` can start with, whether it can
    match the empty string); None for the set where it is not a short, known list of characters."""
    chars: set[str] = set()
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            return chars | {chr(av)}, False
        if name == "IN":
            for iop, iav in av:
                iname = str(iop)
                if iname == "LITERAL":
                    chars.add(chr(iav))
                elif iname == "RANGE" and iav[1] - iav[0] <= 64:
                    chars.update(chr(c) for c in range(iav[0], iav[1] + 1))
                elif iname == "CATEGORY" and str(iav) == "CATEGORY_DIGIT":
                    chars.update("0123456789")
                else:
                    return None, False
            return chars, False
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero-width: it only narrows what follows
        if name == "SUBPATTERN":
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return None, False
            first, empty = _first_chars(sub.data)
        elif name == "BRANCH":
            first, empty = set(), False
            for sub in av[1]:
                f, e = _first_chars(sub.data)
                if f is None:
                    return None, False
                first |= f
                empty = empty or e
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, _hi, sub = av
            first, empty = _first_chars(sub.data)
            empty = empty or lo == 0
        else:
            return None, False
        if first is None:
            return None, False
        chars |= first
        if not empty:
            return chars, False
    return chars, True


def _unwrap(alt: str) -> list[str]:
    """``alt`` with a leading one-alternative group opened (``(?:your )account`` is ``your
    account``) and a leading class of plain letters spelt out (``[uú]ltimo`` is ``ultimo|último``;
    one character matches one member only, so the order does not matter), so that it opens with a
    letter; the same matches."""
    if alt.startswith("(?:"):
        end = _close(alt)
        if end > 0 and alt[end + 1 : end + 2] not in ("?", "*", "+", "{"):
            inner = alt[3:end]
            parts = _split_top(inner)
            if parts is not None and len(parts) == 1:
                return _unwrap(inner + alt[end + 1 :])
    elif alt.startswith("[") and not alt.startswith("[^"):
        end = alt.find("]", 1)
        members = alt[1:end]
        if end > 1 and alt[end + 1 : end + 2] not in ("?", "*", "+", "{") and members.isalnum() \
                and len(set(members)) == len(members):
            return [c + alt[end + 1 :] for c in members]
    return [alt]


_SYNTAX = frozenset(".^$*+?{}[]\\|()# \t\n\r\f\v")


def dispatch(alternatives: list[str]) -> str | None:
    """An alternation equivalent to ``(?:a0)|(?:a1)|...``, arranged so the engine rejects a
    position in a few steps: alternatives that open with a letter are grouped under it
    (``c(?:onfirm...|laim...)``), so at a word start only those of its first letter are tried, in
    their order. Every match, and which alternative makes it, is unchanged: alternatives that may
    start with the same character keep their relative order, and those that open with anything
    else stay flat together with every alternative sharing a possible first character with them.
    None when some alternative's first character cannot be told (or it may match nothing)."""
    import re._parser as sre_parse  # the standard library's own parser: exact for any pattern

    parsed = []
    tainted: set[str] = set()
    for alt in (u for a in alternatives for u in _unwrap(a)):
        try:
            items = sre_parse.parse(alt).data
        except re.error:
            return None
        first, empty = _first_chars(items)
        if first is None or empty:
            return None
        # The opening literal as written: a letter or plain sign, or an escaped sign ("\\-").
        lead, width = alt[:1], 1
        if lead == "\\" and alt[1:2] and not alt[1].isalnum():
            lead, width = alt[1], 2
        plain = (bool(items) and str(items[0][0]) == "LITERAL" and chr(items[0][1]) == lead
                 and (width == 2 or lead.isalnum() or lead not in _SYNTAX))
        if not plain:
            tainted |= first
        parsed.append((alt, lead if plain else "", width))
    buckets: dict[str, list[str]] = {}
    flat: list[str] = []
    for alt, lead, width in parsed:
        if lead and lead not in tainted:
            buckets.setdefault(lead, []).append(alt[width:])
        else:
            flat.append(alt)
    parts = [f"{re.escape(c)}(?:" + "|".join(f"(?:{a})" for a in items) + ")" for c, items in buckets.items()]
    parts += [f"(?:{a})" for a in flat]
    return "|".join(parts)


class PhraseScanner:
    """Phrases of several categories found in one pass over a text: ``head``, then the first
    alternative (categories in order, each's alternatives in order) that matches, then ``tail``.
    The pass uses the letter-grouped alternation without groups; the category of each match (rare)
    is the first category whose own pattern matches at its start: the same alternative, so the
    same span."""

    def __init__(self, categories: dict[str, list[str]], head: str, tail: str):
        alts = {cat: [a for p in pats for a in expand(p)] for cat, pats in categories.items()}
        plain = "|".join(f"(?:{a})" for al in alts.values() for a in al)
        body = dispatch([a for al in alts.values() for a in al])
        self.pattern = re.compile(head + "(?:" + (plain if body is None else body) + ")" + tail)
        self.by_category = [(cat, re.compile(head + "(?:" + "|".join(f"(?:{a})" for a in al) + ")" + tail))
                            for cat, al in alts.items() if al]

    def finditer(self, text: str) -> Iterator[tuple[str, re.Match[str]]]:
        """(category, match) for each phrase in ``text``, left to right, none overlapping."""
        for m in self.pattern.finditer(text):
            start = m.start()
            for cat, rx in self.by_category:
                cm = rx.match(text, start)
                if cm is not None:
                    yield cat, cm
                    break


def grouped(pattern: str) -> str:
    """The alternation ``pattern`` rearranged by :func:`dispatch` (leading groups distributed by
    :func:`expand`, then alternatives grouped by first letter): the same matches, found faster;
    ``pattern`` itself when that cannot be done."""
    alts = _split_top(pattern)
    if alts is None:
        return pattern
    body = dispatch([a for p in alts for a in expand(p)])
    return pattern if body is None else body
