"""Checks are pure: they read the message and never write it, so their order does not matter, and
no check, renderer or front end imports another check."""

from __future__ import annotations

import ast
import copy
import random
from pathlib import Path

import pytest

from lurelens import Scanner
from lurelens.checks import CHECKS
from lurelens.testing import MessageBuilder

from conftest import CORPUS, EXAMPLES, REPO

SRC = REPO / "src" / "lurelens"

WRAPPED = (MessageBuilder().sender('"PayPal" <service@paypa1-support.com>').subject("Verify your account")
           .html('<p>Dear customer</p><a href="https://www.google.com/url?q=https://login.paypa1.com/x">log in</a>'
                 '<img src="https://t.example.net/o.gif?u=bob%40example.org" width=1 height=1>').build())


def _sample(folder: str, n: int) -> list[Path]:
    files = sorted((CORPUS / folder).rglob("*.eml"))
    if not files:
        return []
    return random.Random(9).sample(files, min(n, len(files)))


def _summary(v) -> tuple:
    return (v.label, v.score, sorted((f.symbol, f.evidence, round(f.score, 6), f.nested or "") for f in v.findings))


def test_link_wrapper_is_read_whatever_the_order(make_scanner):
    # The bug of issue 9: the lookalike check read a destination the links check used to write.
    by_links_first = make_scanner(checks=tuple(c for c in CHECKS if c.name in ("links", "lookalike")))
    by_lookalike_first = make_scanner(checks=tuple(c for c in CHECKS if c.name in ("lookalike", "links"))[::-1])
    assert [c.name for c in by_lookalike_first.checks] == ["lookalike", "links"]
    a, b = by_links_first.scan(WRAPPED), by_lookalike_first.scan(WRAPPED)
    assert "LOOKALIKE_DOMAIN_EDIT" in {f.symbol for f in a.findings}
    assert _summary(a) == _summary(b)


def test_each_check_leaves_the_message_unchanged(scanner):
    raws = [WRAPPED]
    if (EXAMPLES / "apt31-style-lure.eml").is_file():
        raws.append((EXAMPLES / "apt31-style-lure.eml").read_bytes())
    raws += [p.read_bytes() for p in _sample("phishing_pot", 25)]
    for raw in raws:
        msg = scanner.parse(raw)
        for check in CHECKS:
            before = copy.deepcopy(msg)
            list(check.run(msg, scanner.context))
            assert msg == before, f"{check.name} changed the message"


@pytest.mark.slow
def test_corpus_verdicts_do_not_depend_on_check_order(scanner, corpus):
    files = _sample("phishing_pot", 200) + _sample("spamassassin/hard_ham", 100)
    if not files:
        pytest.skip("phishing_pot and hard_ham absent")
    orders = [CHECKS, CHECKS[::-1]]
    shuffled = list(CHECKS)
    random.Random(4).shuffle(shuffled)
    orders.append(tuple(shuffled))
    scanners = [Scanner(checks=o, data=scanner.data, scoring=scanner.scoring, intel=scanner.intel) for o in orders]
    for f in files:
        raw = f.read_bytes()
        results = [_summary(s.scan(raw)) for s in scanners]
        assert results[1] == results[0] and results[2] == results[0], f.name


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_check_imports_another_check():
    for path in (SRC / "checks").glob("*.py"):
        if path.name in ("__init__.py", "base.py"):
            continue
        own = f"lurelens.checks.{path.stem}"
        bad = {m for m in _imports(path) if m.startswith("lurelens.checks.")
               and m not in ("lurelens.checks.base",) and not m.startswith("lurelens.checks.base.") and m != own}
        assert not bad, f"{path.name} imports {bad}"


def test_no_renderer_or_front_end_imports_a_check():
    for folder in ("report", "render", "adapters", "defuse"):
        for path in (SRC / folder).rglob("*.py"):
            bad = {m for m in _imports(path) if m == "lurelens.checks" or m.startswith("lurelens.checks.")}
            assert not bad, f"{path.relative_to(SRC)} imports {bad}"
