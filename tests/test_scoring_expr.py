"""lurelens.scoring.expr: composite expressions compile to a small picklable tree."""

import pickle

import pytest

from lurelens.scoring.expr import Expr, ExprError, compile_expr


@pytest.mark.parametrize("text,symbols,groups,want", [
    ("A & B", {"A", "B"}, set(), True),
    ("A & B", {"A"}, set(), False),
    ("A | B", {"B"}, set(), True),
    ("!A", set(), set(), True),
    ("A & !(B | C)", {"A", "C"}, set(), False),
    ("group:tracking & A", {"A"}, {"tracking"}, True),
    ("2 of (A, B, C)", {"A", "C"}, set(), True),
    ("2 of (A, B, C)", {"A"}, set(), False),
    ("A & 2 of (B, group:g, !C)", {"A", "B"}, set(), True),
])
def test_evaluation(text, symbols, groups, want):
    fn, _names = compile_expr(text)
    assert isinstance(fn, Expr) and fn(symbols, groups) is want
    assert pickle.loads(pickle.dumps(fn))(symbols, groups) is want


def test_names_used():
    assert compile_expr("A & !(B | group:g) & 1 of (C)")[1] == {"A", "B", "C"}


@pytest.mark.parametrize("bad", ["A &", "(A", "A B", "3 of (A, B)", "2 of A", "a & b", ""])
def test_errors(bad):
    with pytest.raises(ExprError):
        compile_expr(bad)
