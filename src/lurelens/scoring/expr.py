"""Composite expressions: symbol names joined by & (and), | (or), ! (not) and parentheses.

``group:NAME`` is true when any symbol of that group fired with a positive score.
``N of (A, B, C)`` is true when at least N of the listed expressions are (SpamAssassin's
``(A + B + C) >= N`` meta rules): weak signs that each say little, together more.
"""

from __future__ import annotations

import re
from typing import Callable

__all__ = ["compile_expr", "ExprError"]

_TOKEN = re.compile(r"\s*(?:(group:[a-z_]+)|([A-Z][A-Z0-9_]*)|([&|!(),])|([1-9][0-9]*)\s+of\b)")


class ExprError(ValueError):
    pass


def compile_expr(text: str) -> tuple[Callable[[set[str], set[str]], bool], set[str]]:
    """Compile to a predicate over (symbols present, groups present); also return names used."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot read composite expression at {text[pos:pos + 20]!r}")
        if m.group(1):
            tokens.append(("group", m.group(1)[6:]))
        elif m.group(2):
            tokens.append(("sym", m.group(2)))
        elif m.group(4):
            tokens.append(("count", m.group(4)))
        else:
            tokens.append(("op", m.group(3)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    names: set[str] = {v for k, v in tokens if k == "sym"}
    i = 0

    def peek():
        return tokens[i] if i < len(tokens) else (None, None)

    def parse_or():
        nonlocal i
        left = parse_and()
        while peek() == ("op", "|"):
            i += 1
            right = parse_and()
            left = (lambda a, b: lambda s, g: a(s, g) or b(s, g))(left, right)
        return left

    def parse_and():
        nonlocal i
        left = parse_not()
        while peek() == ("op", "&"):
            i += 1
            right = parse_not()
            left = (lambda a, b: lambda s, g: a(s, g) and b(s, g))(left, right)
        return left

    def parse_not():
        nonlocal i
        if peek() == ("op", "!"):
            i += 1
            inner = parse_not()
            return lambda s, g: not inner(s, g)
        return parse_atom()

    def parse_atom():
        nonlocal i
        kind, val = peek()
        if kind == "sym":
            i += 1
            return lambda s, g, v=val: v in s
        if kind == "group":
            i += 1
            return lambda s, g, v=val: v in g
        if kind == "count":
            i += 1
            if peek() != ("op", "("):
                raise ExprError(f"'{val} of' needs a parenthesised list in {text!r}")
            i += 1
            items = [parse_or()]
            while peek() == ("op", ","):
                i += 1
                items.append(parse_or())
            if peek() != ("op", ")"):
                raise ExprError(f"missing ')' in {text!r}")
            i += 1
            need = int(val)
            if need > len(items):
                raise ExprError(f"'{val} of' a list of {len(items)} can never hold in {text!r}")
            return lambda s, g, its=tuple(items), n=need: sum(1 for f in its if f(s, g)) >= n
        if (kind, val) == ("op", "("):
            i += 1
            inner = parse_or()
            if peek() != ("op", ")"):
                raise ExprError(f"missing ')' in {text!r}")
            i += 1
            return inner
        raise ExprError(f"unexpected {val!r} in {text!r}")

    fn = parse_or()
    if i != len(tokens):
        raise ExprError(f"trailing tokens in {text!r}")
    return fn, names
