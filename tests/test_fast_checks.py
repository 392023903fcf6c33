"""The checks' and scoring's speed rewrites give exactly what the general forms they replace gave
(docs/performance.md, "Checks and scoring"): each fast path is run beside its plain form on every
dev-corpus message (parsed once for the whole file) and on random inputs."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

# The dev sets of bench/common.py.
DEV_SETS = ("phishing_pot", "spamassassin/easy_ham", "spamassassin/hard_ham", "spamassassin/spam",
            "mailinglists/usrp-users", "newsletters/unspy", "malformed", "auth-tests")


@pytest.fixture(scope="module")
def scanner():
    from lurelens import Scanner

    return Scanner().warm()


@pytest.fixture(scope="module")
def corpus_messages(corpus: Path, scanner):
    """Every dev-corpus message, parsed and enriched as a scan does (nested messages included)."""
    out = []
    for folder in DEV_SETS:
        for p in sorted((corpus / folder).rglob("*.eml")):
            msg = scanner.parse(p.read_bytes())
            stack = [msg]
            while stack:
                m = stack.pop()
                out.append(m)
                stack.extend(m.nested)
    assert len(out) > 5000
    return out


def _plain_lure_pattern(cats: dict[str, list[str]]) -> re.Pattern[str]:
    """The lure alternation as it was first written: a named group per category, phrases as given."""
    body = "|".join(f"(?P<g{i}>" + "|".join(f"(?:{p})" for p in pats) + ")" for i, pats in enumerate(cats.values()))
    return re.compile(r"(?<!\w)(?:" + body + r")(?!\w|['’]t\b)")


def _lure_categories() -> dict[str, list[str]]:
    from lurelens.registry.data import load_json

    cats: dict[str, list[str]] = {}
    for _src, doc in load_json("lure_phrases.json", None):
        for cat, pats in doc.get("categories", {}).items():
            cats.setdefault(cat, []).extend(pats)
    return cats


def _lure_text(msg) -> str:
    att = " ".join((a.filename or "") for a in msg.attachments[:10])
    return (msg.subject.replace("_", " ") + "\n" + re.sub(r"[_.]", " ", att) + "\n" + msg.visible_text[:8000]).lower()


def test_lure_scanner_finds_what_the_plain_alternation_finds_on_the_corpus(corpus_messages, scanner):
    cats = _lure_categories()
    names = list(cats)
    plain = _plain_lure_pattern(cats)
    fast = scanner.data.lure_scanner
    assert fast.pattern.pattern != plain.pattern
    found = 0
    for msg in corpus_messages:
        text = _lure_text(msg)
        want = [(names[int(m.lastgroup[1:])], m.span()) for m in plain.finditer(text)]
        assert [(cat, m.span()) for cat, m in fast.finditer(text)] == want, msg.subject
        found += bool(want)
    assert found > 1000  # the comparison saw matches, not only empty lists


def test_dispatch_keeps_order_and_matches():
    from lurelens.registry.phrases import PhraseScanner, dispatch

    # Alternatives sharing a first letter keep their order; ones that open with a class or a
    # group stay flat together with every letter they may open with.
    body = dispatch(["ab", "(?:x)yz", "ac", "[bc]d", "bq", "\\d+x"])
    assert body is not None and body.startswith("a(?:(?:b)|(?:c))")
    assert dispatch([".x"]) is None and dispatch(["x?"]) is None
    cats = {"one": ["(?:your )?account (?:locked|closed)", "win", "[uú]ltimo aviso", "wins?"],
            "two": ["account locked now", "winner", "(?<!\\d)\\d+ ?btc"], "three": ["w(?:in|on)", "(?:e-?)?mail"]}
    scan = PhraseScanner(cats, r"(?<!\w)", r"(?!\w)")
    plain = _plain_lure_pattern(cats)
    names = list(cats)
    words = ["your", "account", "locked", "closed", "now", "win", "wins", "winner", "won", "último", "ultimo",
             "aviso", "12", "btc", "12btc", "e-mail", "email", "mail", "x"]
    rnd = random.Random(3)
    for _ in range(5000):
        t = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 10)))
        want = [(names[int(m.lastgroup[1:])], m.span()) for m in plain.finditer(t)]
        assert [(c, m.span()) for c, m in scan.finditer(t)] == want, t
