"""What links two stored messages into one campaign: exact infrastructure keys (beacon and link hosts
and domains, tracker URL templates, origin IP, Reply-To and Return-Path domains) that are specific to
a sender, and the per-recipient tracking tokens decoded from the stored resources.

Shared platforms (free mail, URL shorteners, CDNs, ESPs, mail providers, help-desk tenants' parent
domains, the impersonated outlet's own domains) never make a key: thousands of unrelated senders
share them. The lists are data files (``shared_platforms.txt``, ``freemail.txt``, ``shorteners.txt``,
``tenant_senders.txt``, ``free_hosting.txt``), not code."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lurelens.parse.tokens import RecipientMatcher, opaque_id
from lurelens.parse.urls import registrable_domain
from lurelens.registry.data import DataRegistry, load_lines

__all__ = ["KeyMaker", "Token", "KEY_LABELS"]

# How each key kind reads in a campaign's evidence.
KEY_LABELS = {
    "beacon-host": "same beacon host",
    "beacon-domain": "same beacon domain",
    "tracker-template": "same tracker template",
    "link-host": "same link host",
    "link-domain": "same link domain",
    "origin-ip": "same origin IP",
    "reply-to-domain": "same Reply-To domain",
    "return-path-domain": "same Return-Path domain",
}
# Keys longer than this are cut: a hostile message must not make one key row unbounded.
_MAX_KEY = 400
_HEX_OR_B64 = re.compile(r"^[A-Za-z0-9_\-=+%.]+$")


@dataclass(frozen=True)
class Token:
    """A per-recipient tracking token found in one fetched URL: host, the URL with the token replaced
    by ``{token}``, the token itself, how it encodes the recipient, and the recipient it names
    (None when the token is opaque and the message had several recipients)."""

    host: str
    template: str
    token: str
    encoding: str  # email:plain, email:md5, ..., opaque_id
    recipient: str | None
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "template": self.template, "token": self.token, "encoding": self.encoding,
                "recipient": self.recipient, "url": self.url}


def _under(host: str, table: set[str]) -> bool:
    """``host`` is an entry of ``table`` or a subdomain of one."""
    parts = host.split(".")
    return any(".".join(parts[i:]) in table for i in range(len(parts)))


def _replace_ci(text: str, needle: str, repl: str) -> str:
    return re.sub(re.escape(needle), lambda _m: repl, text, flags=re.I)


class KeyMaker:
    """Link keys and tracking tokens of a stored message (its ``scan --json`` report and recipients)."""

    def __init__(self, data_dir: Path | str | None = None):
        self.data = DataRegistry(data_dir)

    @cached_property
    def shared(self) -> set[str]:
        d = self.data
        return (load_lines("shared_platforms.txt", d.extra_dir) | d.freemail | d.shorteners)

    @cached_property
    def _entities(self):
        return self.data.entities

    def platform(self, host: str) -> bool:
        """A host or domain of a big shared platform: never a key, neither the host nor its domain."""
        return not host or _under(host.lower(), self.shared)

    def _impersonated(self, domain: str) -> bool:
        # A lure links to the real outlet's article: that names the victim of the impersonation,
        # not the sender; every lure posing as that outlet would share it.
        return self._entities.entity_for_domain(domain) is not None

    def _host_keys(self, role: str, hosts: list[str], out: set[tuple[str, str]]) -> None:
        for h in hosts:
            h = h.lower().rstrip(".")[:_MAX_KEY]
            if not h or self.platform(h):
                continue
            d = registrable_domain(h) or h
            if self._impersonated(d):
                continue
            # A tenant of a free host or help-desk platform (evil.web.app) is specific; the platform's
            # own domain (web.app) is not.
            parent = self.data.free_hosting_suffix(h) or self.data.tenant_platform(h)
            if parent is None or h != parent:
                out.add((f"{role}-host", h))
            if parent is None and d not in self.data.free_hosting and d not in self.data.tenant_senders:
                out.add((f"{role}-domain", d))

    def _domain_key(self, kind: str, domain: str | None, out: set[tuple[str, str]]) -> None:
        d = (domain or "").lower().strip().rstrip(".")[:_MAX_KEY]
        if not d or "." not in d or self.platform(d) or self._impersonated(d):
            return
        if self.data.free_hosting_suffix(d) or self.data.tenant_platform(d):
            return
        out.add((kind, registrable_domain(d) or d))

    def keys(self, report: dict[str, Any], recipients: list[str]) -> set[tuple[str, str]]:
        """The (kind, value) link keys of one message."""
        f = report.get("features") or {}
        out: set[tuple[str, str]] = set()
        self._host_keys("beacon", list(f.get("beacon_hosts") or []), out)
        self._host_keys("link", list(f.get("link_hosts") or []), out)
        for d in f.get("reply_to_domains") or []:
            self._domain_key("reply-to-domain", d, out)
        self._domain_key("return-path-domain", f.get("return_path_domain"), out)
        ip = f.get("origin_ip")
        senders = list(f.get("sender_domains") or []) + [f.get("return_path_domain") or ""]
        # A message sent through a free-mail or ESP platform leaves from the platform's servers,
        # which it shares with everyone else on it.
        if ip and not any(s and self.platform(s.lower()) for s in senders):
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                addr = None
            if addr is not None and addr.is_global:
                out.add(("origin-ip", str(addr)))
        for t in self.tokens(report, recipients):
            if not self.platform(t.host):
                out.add(("tracker-template", t.template[:_MAX_KEY]))
        return out

    def tokens(self, report: dict[str, Any], recipients: list[str]) -> list[Token]:
        """The per-recipient tracking tokens of the fetches on open, decoded to their recipient."""
        out: list[Token] = []
        seen: set[str] = set()
        matchers = [(r, RecipientMatcher([r])) for r in sorted(set(recipients)) if r]
        for res in report.get("remote_resources") or []:
            url = str(res.get("url") or "")
            label = res.get("recipient_token")
            if not label or not url or url in seen:
                continue
            seen.add(url)
            host = str(res.get("host") or "").lower()
            tok = self._decode(url, label, matchers)
            if tok is not None:
                token, recipient = tok
                if label == "email:base64":
                    # The matcher finds an alignment-free core of the base64 text: widen it to the
                    # whole base64 run, the token as the recipient's URL carries it.
                    m = re.search(r"[A-Za-z0-9_\-+]*" + re.escape(token) + r"[A-Za-z0-9_\-+]*=*", url)
                    token = m.group(0) if m else token
                template = _template(_replace_ci(url, token, "{token}"))
                out.append(Token(host, template, token, label, recipient, url))
        return out

    @staticmethod
    def _decode(url: str, label: str, matchers: list[tuple[str, RecipientMatcher]]) -> tuple[str, str | None] | None:
        if label.startswith("email:"):
            for addr, m in matchers:
                found = m.find(url)
                if found:
                    return found[1], addr
            return None
        parts = urlsplit(url)
        tok = opaque_id(url, parts.path, parts.query)
        if not tok or not _HEX_OR_B64.match(tok):
            return None
        # An opaque token names a recipient only when the message went to exactly one.
        return tok, matchers[0][0] if len(matchers) == 1 else None


_NUMBER_VALUE = re.compile(r"(?<=[=/])\d+(?=[&/#]|$)")


def _template(url: str) -> str:
    """The URL without its scheme, numbers standing alone in a path segment or query value replaced
    by ``{n}`` (a message or campaign counter), so every message of a campaign has one template."""
    url = url.split("://", 1)[1] if "://" in url else url
    return _NUMBER_VALUE.sub("{n}", url)
