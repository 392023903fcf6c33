"""lurelens.parse.text: look-alike letters, invisible characters and foreign marks in text."""

from __future__ import annotations

from lurelens.parse.text import INVISIBLE, foreign_marks, is_lookalike_letter, mixes_latin_and_lookalikes


def test_cyrillic_letter_among_latin_ones_is_mixed():
    assert is_lookalike_letter("\u0430")  # Cyrillic a
    assert not is_lookalike_letter("a")
    assert mixes_latin_and_lookalikes("S\u0430msung")
    assert not mixes_latin_and_lookalikes("Samsung")
    assert not mixes_latin_and_lookalikes("\u0441\u043b\u043e\u0432\u043e")  # all Cyrillic: a word, no trick


def test_invisible_characters_are_found():
    assert INVISIBLE.findall("Mi\u200bcro\u200bsoft") == ["\u200b", "\u200b"]
    assert not INVISIBLE.findall("Microsoft")


def test_foreign_marks_between_latin_letters_are_counted():
    assert foreign_marks("A\u073fm\u073fa\u073fz\u073fon") >= 3
    assert foreign_marks("Cr\u00e8me br\u00fbl\u00e9e") == 0
