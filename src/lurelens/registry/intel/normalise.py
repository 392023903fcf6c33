"""Indicators in the one form they are indexed and looked up in: refanged, hosts IDNA-encoded and
lower-cased, IPs and CIDR ranges parsed, URLs without scheme, default port or fragment."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from lurelens.parse.urls import host_to_ascii, normalise_host

__all__ = ["infer_type", "normalise_domain", "normalise_email", "normalise_url", "parse_ip", "parse_network", "refang",
           "url_key"]

_HASH_LEN = {32: "md5", 40: "sha1", 64: "sha256"}

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_HEX = re.compile(r"^[0-9a-f]+$")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*)://", re.I)

_REFANG = [
    (re.compile(r"^h(?:xx|\*\*)p(s?)(?=\[?:)", re.I), r"http\1"),
    (re.compile(r"^fxp(s?)(?=\[?:)", re.I), r"ftp\1"),
    (re.compile(r"\[\s*:\s*\]\s*//|\[://\]"), "://"),
    (re.compile(r"\[\s*:\s*\]"), ":"),
    (re.compile(r"\s*(?:\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\})\s*", re.I), "."),
    (re.compile(r"\s*(?:\[\s*(?:@|at)\s*\]|\(\s*(?:@|at)\s*\)|\{\s*(?:@|at)\s*\})\s*", re.I), "@"),
    (re.compile(r"\[/\]"), "/"),
]


def refang(value: str) -> str:
    """Undo the usual defanging of indicators: hxxp, [.], (dot), [@], [at], [:], [://]."""
    v = value.strip().strip("'\"<>").strip()
    for rx, rep in _REFANG:
        v = rx.sub(rep, v)
    return v


def normalise_domain(value: str) -> str | None:
    """Lowercase ASCII (IDNA) host name without trailing dot, or None when it is not one
    (lurelens.parse.urls.host_to_ascii, then a label check)."""
    v = refang(value)
    if v.startswith("*."):
        v = v[2:]
    if not v or "/" in v or ":" in v or "@" in v or " " in v.strip():
        return None
    ascii_host = host_to_ascii(v)
    if not ascii_host or len(ascii_host) > 253:
        return None
    v = ascii_host
    labels = v.split(".")
    if len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        return None
    if labels[-1].isdigit():  # 1.2.3.4 is an IP, not a domain
        return None
    return v


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    v = value.strip().strip("[]")
    if v.lower().startswith("ipv6:"):
        v = v[5:]
    v = v.split("%", 1)[0]  # zone index
    try:
        ip = ipaddress.ip_address(v)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An IP or CIDR range from an indicator (``1.2.3.4``, ``1.2.3.4:443``, ``[2001:db8::1]:443``, ``10.0.0.0/8``)."""
    v = refang(value)
    if "/" in v:
        try:
            return ipaddress.ip_network(v, strict=False)
        except ValueError:
            return None
    if v.startswith("[") and "]" in v:  # [v6]:port
        v = v[1 : v.index("]")]
    elif v.count(":") == 1:  # v4:port
        v = v.split(":", 1)[0]
    ip = _parse_ip(v)
    return ipaddress.ip_network(ip) if ip is not None else None


def _split_host_port(netloc: str) -> tuple[str, str]:
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        end = netloc.find("]")
        if end != -1:
            rest = netloc[end + 1 :]
            return netloc[: end + 1], rest[1:] if rest.startswith(":") else ""
    if netloc.count(":") == 1:
        h, _, p = netloc.partition(":")
        return h, p
    return netloc, ""


def _normalise_host(host: str) -> str | None:
    host = normalise_host(host)
    if not host:
        return None
    ip = _parse_ip(host)
    if ip is not None:
        return f"[{ip}]" if ip.version == 6 else str(ip)
    return normalise_domain(host)


def _url_key(value: str) -> tuple[str, str, str] | None:
    """(host[:port], path, query) of a URL, normalised; scheme-insensitive (http and https are alike)."""
    v = refang(value)
    v = re.sub(r"[\t\r\n]", "", v)
    m = _SCHEME.match(v)
    if not m:
        if v.startswith("//"):
            v = "http:" + v
        else:
            v = "http://" + v
        m = _SCHEME.match(v)
        if m is None:  # cannot happen once a scheme is prefixed; keeps the type narrow
            return None
    scheme = m.group(1).lower()
    v = v.replace("\\", "/")
    try:
        parts = urlsplit(v)
    except ValueError:
        return None
    host, port = _split_host_port(parts.netloc)
    nhost = _normalise_host(host)
    if nhost is None:
        return None
    if port and not port.isdigit():
        return None
    if (scheme, port) in (("http", "80"), ("https", "443"), ("ftp", "21")):
        port = ""
    netloc = f"{nhost}:{port}" if port else nhost
    return netloc, parts.path or "/", parts.query


def normalise_url(value: str) -> str | None:
    """The form URLs are indexed and looked up in: ``host[:port]/path[?query]``, no scheme or fragment."""
    k = _url_key(value)
    if k is None:
        return None
    netloc, path, query = k
    return f"{netloc}{path}" + (f"?{query}" if query else "")


def normalise_email(value: str) -> str | None:
    v = refang(value).strip().strip("<>").lower()
    if v.startswith("mailto:"):
        v = v[7:].split("?", 1)[0]
    local, at, dom = v.rpartition("@")
    if not at or not local or " " in local or len(local) > 128:
        return None
    d = normalise_domain(dom)
    return f"{local}@{d}" if d else None


def _infer_type(value: str) -> str | None:
    v = refang(value)
    low = v.lower()
    if _SCHEME.match(v):
        return "url"
    if "@" in v:
        return "email"
    if _parse_network(v) is not None:
        return "ip"
    if _HEX.match(low) and len(low) in _HASH_LEN:
        return _HASH_LEN[len(low)]
    if "/" in v:
        return "url"
    return "domain"


parse_ip = _parse_ip
parse_network = _parse_network
url_key = _url_key
infer_type = _infer_type
