"""lurelens.parse.headers: unfolding, RFC 2047 decoding, charsets and address lists."""

from lurelens.parse.headers import decode_bytes, decode_value, has_encoded_word, lookup_charset, parse_addresses, unfold


def test_unfold_and_encoded_words():
    assert unfold("a\r\n b") == "a b"
    assert decode_value("=?utf-8?b?SGVsbG8=?= world") == "Hello world"
    assert has_encoded_word("=?utf-8?q?x?=") and not has_encoded_word("plain")


def test_addresses_lowercase_the_domain_and_keep_names():
    got = [a.to_dict() for a in parse_addresses(['"Bob" <bob@Example.ORG>, carol@example.net'])]
    assert got[0]["name"] == "Bob" and got[0]["addr"] == "bob@example.org"
    assert got[1]["addr"] == "carol@example.net" and got[1]["name"] == ""


def test_charsets_never_raise():
    assert decode_bytes("café".encode("latin-1"), "iso-8859-1") == "café"
    assert isinstance(decode_bytes(b"\xff\xfe", "nonsense-charset"), str)
    assert lookup_charset("latin1") == "iso8859-1" and lookup_charset("bogus") is None
