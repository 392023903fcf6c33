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


# --------------------------------------------------------------------------- the one host normaliser


def test_normalise_host_trims_lowercases_and_maps_what_a_browser_maps():
    from lurelens.parse.urls import normalise_host

    assert normalise_host("  WWW.Example.COM. ") == "www.example.com"
    assert normalise_host(".a..b.example.com") == "a.b.example.com"
    assert normalise_host("\uff4e\uff59\uff54\uff49\uff4d\uff45\uff53\u3002com") == "nytimes.com"  # full width, ideographic dot
    assert normalise_host("...") == ""


def test_host_to_ascii_and_host_labels_are_the_two_forms_of_one_host():
    from lurelens.parse.urls import host_labels, host_to_ascii

    cyr = "nyt\u0456mes.com"  # Cyrillic i
    ascii_form = host_to_ascii(cyr)
    assert ascii_form is not None and ascii_form.startswith("xn--") and ascii_form.endswith(".com")
    assert host_labels(ascii_form) == (("nyt\u0456mes", "com"), {0: ascii_form.split(".")[0]})
    assert host_labels(cyr) == (("nyt\u0456mes", "com"), {})  # written in Unicode: no punycode form given
    assert host_to_ascii("Example.COM.") == "example.com"
    assert host_to_ascii("") is None


def test_scan_lookalike_and_intel_agree_on_a_host():
    """The inventory, the lookalike index and the indicator store read a host the same way."""
    from lurelens.parse.urls import host_to_ascii, split_url
    from lurelens.registry.intel import normalise_domain
    from lurelens.registry.lookalike.hosts import _normalize_host

    host = "\uff2c\uff4f\uff47\uff49\uff4e.Paypa\u0131.COM."  # full-width "Login", dotless i
    info = split_url(f"https://{host}/x")
    assert info is not None
    assert info.host == host_to_ascii(host) == normalise_domain(host)
    norm = _normalize_host(host)
    assert norm is not None and norm[2] == "login.paypa\u0131.com"
