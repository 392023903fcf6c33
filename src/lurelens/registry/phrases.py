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

__all__ = ["expand"]

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
