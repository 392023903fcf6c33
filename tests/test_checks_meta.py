"""Every symbol a check can emit is tested, scored, grouped and tagged with valid ATT&CK ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lurelens.checks import CHECKS, all_symbols
from lurelens.scoring import load_scoring

TESTS = Path(__file__).resolve().parent
ATTACK_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
SYMBOLS = sorted(all_symbols())


@pytest.fixture(scope="module")
def test_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(TESTS.rglob("test_*.py")))


@pytest.fixture(scope="module")
def cfg():
    return load_scoring()


def test_symbols_are_collected():
    assert len(SYMBOLS) > 50
    assert {"CHECK_ERROR", "TRACKER_PIXEL_HIDDEN", "AUTH_NOT_CHECKED"} <= set(SYMBOLS)


def test_symbol_names_are_unique_across_checks():
    names = [s.name for c in CHECKS for s in c.symbols]
    assert len(names) == len(set(names))


def test_every_symbol_is_named_in_a_test(test_sources):
    """A new symbol needs a test that names it (a firing message and a near miss)."""
    untested = [s for s in SYMBOLS if not re.search(rf"\b{s}\b", test_sources)]
    assert untested == [], f"symbols with no test under tests/: {', '.join(untested)}"


def test_every_symbol_is_scored_in_a_known_group(cfg):
    problems = []
    for symbol in SYMBOLS:
        entry = cfg.symbols.get(symbol)
        if entry is None:
            problems.append(f"{symbol}: no entry in scoring/scores.toml")
        elif not isinstance(entry.get("weight"), (int, float)):
            problems.append(f"{symbol}: weight missing")
        elif entry.get("group") not in cfg.groups:
            problems.append(f"{symbol}: unknown group {entry.get('group')!r}")
    assert problems == []


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_symbol_has_a_description(symbol):
    assert len(all_symbols()[symbol].description) >= 10


def test_scored_symbols_exist(cfg):
    """No stale entries: every symbol in scores.toml is declared by a check or the engine."""
    assert set(cfg.symbols) - set(SYMBOLS) == set()


def test_attack_ids_are_well_formed(cfg):
    ids = [(name, a) for name, s in cfg.symbols.items() for a in s.get("attack", [])]
    ids += [(c.name, a) for c in cfg.composites for a in c.attack]
    assert ids
    bad = [(n, a) for n, a in ids if not ATTACK_ID.match(a)]
    assert bad == []


def test_composites_name_only_known_symbols(cfg):
    from lurelens.scoring.expr import compile_expr

    known = set(SYMBOLS) | {c.name for c in cfg.composites}
    for c in cfg.composites:
        _, names = compile_expr(c.expression)
        assert names <= known, f"{c.name} uses unknown symbols {names - known}"
        assert c.description
