"""lurelens.registry.data: the word lists under data/words/ (provenance, overlay) and the
per-place strengths of scores.toml."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from lurelens import ConfigError, Scanner
from lurelens.registry.data import PATTERN_LISTS, WORD_LISTS, DataRegistry
from lurelens.scoring.engine import load_scoring
from lurelens.testing import MessageBuilder


def _symbols(scanner: Scanner, raw: bytes) -> set[str]:
    return {f.symbol for f in scanner.scan(raw).findings}


@pytest.mark.parametrize("name", WORD_LISTS + PATTERN_LISTS)
def test_every_word_list_is_shipped_with_its_provenance(name):
    text = (resources.files("lurelens") / "data" / "words" / f"{name}.txt").read_text(encoding="utf-8")
    head = [line for line in text.splitlines() if line.startswith("#")]
    assert any(line.startswith("# source:") for line in head) and any("licence:" in line for line in head)
    assert DataRegistry().vocabularies[name], f"{name} is empty"


def test_an_overlay_word_list_extends_the_shipped_one(tmp_path):
    raw = MessageBuilder().text("Moin customer,\nyour parcel is here.").build()
    assert "GREETING_GENERIC" not in _symbols(Scanner(), raw)
    (tmp_path / "words").mkdir()
    (tmp_path / "words" / "greeting_words.txt").write_text("# local: Low German\nmoin\n", encoding="utf-8")
    data = DataRegistry(extra_dir=tmp_path)
    assert "moin" in data.vocabularies["greeting_words"] and "dear" in data.vocabularies["greeting_words"]
    assert "GREETING_GENERIC" in _symbols(Scanner(data=data), raw)


def test_an_overlay_set_list_changes_a_result(tmp_path):
    # micros0ft.com reads as microsoft.com; declared an ordinary label locally, it is let be.
    raw = MessageBuilder().html('<p>Sign in <a href="https://micros0ft.com/login">here</a></p>').build()
    assert "LOOKALIKE_DOMAIN_EDIT" in _symbols(Scanner(), raw)
    (tmp_path / "words").mkdir()
    (tmp_path / "words" / "ordinary_labels.txt").write_text("micros0ft\n", encoding="utf-8")
    assert "LOOKALIKE_DOMAIN_EDIT" not in _symbols(Scanner(data=DataRegistry(extra_dir=tmp_path)), raw)


def test_a_broken_overlay_pattern_is_a_config_error_naming_the_list(tmp_path):
    (tmp_path / "words").mkdir()
    (tmp_path / "words" / "opt_out_phrases.txt").write_text("abmelden (hier\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="opt_out_phrases.txt"):
        DataRegistry(extra_dir=tmp_path).vocabularies


def test_lookalike_strength_by_place_comes_from_scores_toml(tmp_path):
    raw = MessageBuilder().html('<p>Sign in <a href="https://micros0ft.com/login">here</a></p>').build()

    def strength(scanner: Scanner) -> float:
        return next(f.strength for f in scanner.scan(raw).findings if f.symbol.startswith("LOOKALIKE_DOMAIN"))

    shipped = load_scoring()
    assert strength(Scanner()) == shipped.strengths["lookalike"]["link"]
    doc = tomllib.loads((resources.files("lurelens") / "scoring" / "scores.toml").read_text(encoding="utf-8"))
    text = (resources.files("lurelens") / "scoring" / "scores.toml").read_text(encoding="utf-8")
    custom = tmp_path / "scores.toml"
    custom.write_text(text.replace("\nlink = 0.7\n", "\nlink = 0.25\n"), encoding="utf-8")
    assert doc["strengths"]["lookalike"]["link"] == 0.7
    assert strength(Scanner(scoring=custom)) == 0.25
