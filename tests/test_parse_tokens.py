"""lurelens.parse.tokens: the recipient's address hidden in a URL, and per-message opaque ids."""

import base64
import hashlib

from lurelens.parse.tokens import RecipientMatcher, opaque_id


def test_recipient_forms():
    m = RecipientMatcher(["bob@example.org"])
    assert m.find("https://t.example/o?e=bob%40example.org")[0] == "email:urlencoded"
    assert m.find("https://t.example/o?h=" + hashlib.md5(b"bob@example.org").hexdigest())[0] == "email:md5"
    assert m.find("https://t.example/" + base64.b64encode(b"bob@example.org").decode())[0] == "email:base64"
    assert m.find("https://t.example/x") is None
    assert not RecipientMatcher([])


def test_opaque_ids():
    hexid = "8f3a9c2e71b54d0f9a6e2c1b7d4f8e3a"
    assert opaque_id(f"https://t.example/o/{hexid}.gif", f"/o/{hexid}.gif", "") == hexid
    assert opaque_id("https://t.example/logo.png", "/logo.png", "") is None
