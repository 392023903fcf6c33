"""Composite expressions: symbol names joined by & (and), | (or), ! (not) and parentheses.

``group:NAME`` is true when any symbol of that group fired with a positive score.
``N of (A, B, C)`` is true when at least N of the listed expressions are (SpamAssassin's
``(A + B + C) >= N`` meta rules): weak signs that each say little, together more.
"""

from __future__ import annotations

import re
from typing import Callable

from lurelens.errors import ConfigError

__all__ = ["Expr", "ExprError", "compile_expr"]

_TOKEN = re.compile(r"\s*(?:(group:[a-z_]+)|([A-Z][A-Z0-9_]*)|([&|!(),])|([1-9][0-9]*)\s+of\b)")


class ExprError(ConfigError, ValueError):
    pass


def compile_expr(text: str) -> tuple["Expr", set[str]]:
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

    # The expression compiles to a tree of tuples (``("sym", NAME)``, ``("group", NAME)``,
    # ``("not", X)``, ``("and", X, Y)``, ``("or", X, Y)``, ``("atleast", N, (X, ...))``) wrapped in
    # an ``Expr``: closures would not pickle, and a Scanner holding the scoring must.
    def parse_or():
        nonlocal i
        left = parse_and()
        while peek() == ("op", "|"):
            i += 1
            left = ("or", left, parse_and())
        return left

    def parse_and():
        nonlocal i
        left = parse_not()
        while peek() == ("op", "&"):
            i += 1
            left = ("and", left, parse_not())
        return left

    def parse_not():
        nonlocal i
        if peek() == ("op", "!"):
            i += 1
            return ("not", parse_not())
        return parse_atom()

    def parse_atom():
        nonlocal i
        kind, val = peek()
        if kind in ("sym", "group"):
            i += 1
            return (kind, val)
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
            return ("atleast", need, tuple(items))
        if (kind, val) == ("op", "("):
            i += 1
            inner = parse_or()
            if peek() != ("op", ")"):
                raise ExprError(f"missing ')' in {text!r}")
            i += 1
            return inner
        raise ExprError(f"unexpected {val!r} in {text!r}")

    tree = parse_or()
    if i != len(tokens):
        raise ExprError(f"trailing tokens in {text!r}")
    return Expr(tree), names


def _eval(node: tuple, s: set[str], g: set[str]) -> bool:
    op = node[0]
    if op == "sym":
        return node[1] in s
    if op == "group":
        return node[1] in g
    if op == "not":
        return not _eval(node[1], s, g)
    if op == "and":
        return _eval(node[1], s, g) and _eval(node[2], s, g)
    if op == "or":
        return _eval(node[1], s, g) or _eval(node[2], s, g)
    # "atleast"
    return sum(1 for item in node[2] if _eval(item, s, g)) >= node[1]


def _source(node: tuple) -> str:
    """The Python expression over ``s`` (symbols) and ``g`` (groups) that ``_eval`` computes for ``node``."""
    op = node[0]
    if op == "sym":
        return f"({node[1]!r} in s)"
    if op == "group":
        return f"({node[1]!r} in g)"
    if op == "not":
        return f"(not {_source(node[1])})"
    if op in ("and", "or"):
        return f"({_source(node[1])} {op} {_source(node[2])})"
    # "atleast": each item is a bool, so their sum counts the true ones
    return "((" + " + ".join(_source(item) for item in node[2]) + f") >= {int(node[1])})"


def _compiled(tree: tuple) -> Callable[[set[str], set[str]], bool]:
    """``tree`` as one Python function (Python's own compiler, once per expression): a composite is
    tested on every message, and walking the tree cost several calls per node. Names are the
    tokenizer's (``[A-Z][A-Z0-9_]*``, ``[a-z_]+``), quoted with repr. The tree walk where the
    expression is too deep for the compiler."""
    try:
        fn = eval(compile("lambda s, g: " + _source(tree), "<composite>", "eval"), {"__builtins__": {}})  # noqa: S307
    except (RecursionError, MemoryError, SyntaxError):
        return lambda s, g: _eval(tree, s, g)
    return fn  # type: ignore[no-any-return]


class Expr:
    """A compiled composite expression: a predicate over (symbols present, groups present).
    It pickles as its tree (a compiled function would not) and compiles again when loaded."""

    __slots__ = ("tree", "_fn")

    def __init__(self, tree: tuple):
        self.tree = tree
        self._fn = _compiled(tree)

    def __call__(self, symbols: set[str], groups: set[str]) -> bool:
        return self._fn(symbols, groups)

    def __reduce__(self):
        return (Expr, (self.tree,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.tree == self.tree

    def __hash__(self) -> int:
        return hash(self.tree)

    def __repr__(self) -> str:
        return f"Expr(tree={self.tree!r})"
