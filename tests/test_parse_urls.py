"""lurelens.parse.urls: URL splitting as a browser does, registrable domains from the one PSL."""

from lurelens.parse.urls import (
    PSL,
    clean_attr_url,
    decode_label,
    has_known_suffix,
    is_ip_literal,
    is_public_ip,
    registrable_domain,
    resolve,
    scheme_of,
    split_url,
    to_unicode_host,
)


def test_registrable_domains():
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("foo.blogspot.com") == "foo.blogspot.com"  # private suffixes count
    assert registrable_domain("1.2.3.4") == "1.2.3.4"
    assert registrable_domain("") == ""
    assert PSL.publicsuffix("a.example.co.uk") == "co.uk"


def test_suffixes_and_ips():
    assert has_known_suffix("example.com") and not has_known_suffix("report.pdf")
    assert is_ip_literal("1.2.3.4") and is_ip_literal("[::1]") and not is_ip_literal("a.com")
    assert is_public_ip("8.8.8.8") and not is_public_ip("10.0.0.1")


def test_idna():
    assert to_unicode_host("xn--nxasmq6b.com") == "βόλοσ.com"
    assert decode_label("xn--nxasmq6b") == ("βόλοσ", True)


def test_split_url():
    u = split_url("https://user:pw@Example.COM:8080/p/a?q=1#f")
    assert (u.scheme, u.host, u.userinfo, u.port, u.path, u.query, u.domain) == (
        "https", "example.com", "user:pw", "8080", "/p/a", "q=1", "example.com")
    assert split_url("javascript:alert(1)") is None and split_url("mailto:a@b.c") is None


def test_attribute_cleaning_and_resolution():
    assert clean_attr_url(" \thttps://a.example/\nx ") == "https://a.example/x"
    assert resolve("/x", "https://a.example/b/") == "https://a.example/x"
    assert resolve("//cdn.example/x", None) == "https://cdn.example/x"
    assert scheme_of("HTTPS://a") == "https"
