"""lurelens.parse.redirects: where a redirect or link wrapper leads, through several layers."""

from __future__ import annotations

from urllib.parse import quote

from lurelens.parse.redirects import decode_redirect
from lurelens.registry.data import DataRegistry

DATA = DataRegistry()


def test_google_wrapper_is_unwrapped():
    assert decode_redirect("https://www.google.com/url?q=https://login.paypa1.com/x", DATA) == "https://login.paypa1.com/x"


def test_nested_wrappers_are_followed_to_the_end():
    inner = "https://www.google.com/url?q=" + quote("https://evil.example.net/a", safe="")
    outer = "https://www.google.com/url?q=" + quote(inner, safe="")
    assert decode_redirect(outer, DATA) == "https://evil.example.net/a"


def test_a_plain_link_has_no_destination():
    assert decode_redirect("https://www.example.org/news/article-1", DATA) is None
