"""The one srcset parser (lurelens.parse.srcset), as the HTML standard splits the attribute; the
inventory and defuse agree on it."""

from lurelens.parse.srcset import srcset_candidates, srcset_urls
from lurelens.testing import MessageBuilder


def test_url_with_a_comma_is_one_candidate():
    # Issue 9: the inventory used to list https://t.example/a and a bogus b.gif.
    assert srcset_candidates("https://t.example/a,b.gif 1x") == [("https://t.example/a,b.gif", "1x")]


def test_several_candidates_and_descriptors():
    assert srcset_candidates(" a.png 1x, b.png 2x ,c.png 300w") == [("a.png", "1x"), ("b.png", "2x"), ("c.png", "300w")]
    assert srcset_urls("a.png,b.png") == ["a.png,b.png"]  # no space: one URL, as a browser reads it
    assert srcset_urls("a.png, b.png") == ["a.png", "b.png"]
    assert srcset_urls("a.png,, b.png") == ["a.png", "b.png"]  # trailing commas end a candidate


def test_descriptors_with_parentheses_and_empty_values():
    assert srcset_candidates("a.png (x, y) 1x, b.png") == [("a.png", "(x, y) 1x"), ("b.png", "")]
    assert srcset_candidates("") == [] and srcset_candidates(" , ,") == []


def test_inventory_uses_it(scanner):
    v = scanner.scan(MessageBuilder().html('<img srcset="https://t.example.net/a,b.gif 1x, https://t.example.net/c.gif 2x">').build())
    assert [r.url for r in v.message.resources] == ["https://t.example.net/a,b.gif", "https://t.example.net/c.gif"]
