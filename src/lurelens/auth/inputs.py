"""Where SPF's inputs come from: the mail flow (a milter or API passes ``AuthInputs``), the
command line, or, for a stored file, the trusted ``Received`` hop and the ``Return-Path``."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["AuthInputs", "inputs_from_headers", "parse_received"]


@dataclass(frozen=True, slots=True)
class AuthInputs:
    """The SMTP facts SPF needs. ``source`` says where they were read: "smtp" (the mail flow),
    "cli", or "received:N" (the N-th Received header from the top)."""

    client_ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None  # "" is the null reverse-path; None: unknown
    source: str = "smtp"

    def to_dict(self) -> dict[str, Any]:
        return {"client_ip": self.client_ip, "helo": self.helo, "mail_from": self.mail_from, "source": self.source}

    def merged(self, other: AuthInputs) -> AuthInputs:
        """These inputs, with the gaps filled from ``other``."""
        return AuthInputs(
            self.client_ip or other.client_ip,
            self.helo or other.helo,
            self.mail_from if self.mail_from is not None else other.mail_from,
            self.source if self.client_ip else other.source,
        )


_FROM = re.compile(r"^\s*from\s+(\S+)\s*(\(([^()]*(?:\([^()]*\)[^()]*)*)\))?", re.IGNORECASE)
_BY = re.compile(r"\bby\s+([\w.\-]+)", re.IGNORECASE)
_IP = re.compile(r"\[(?:ipv6:)?([0-9a-f:.]+)\]", re.IGNORECASE)
_HELO = re.compile(r"\bhelo=([^\s)\]]+)", re.IGNORECASE)
_ENVFROM = re.compile(r"\benvelope-from\s+<([^<>\s]*)>", re.IGNORECASE)


def _ip(text: str) -> str | None:
    for cand in _IP.findall(text):
        try:
            return str(ipaddress.ip_address(cand))
        except ValueError:
            continue
    return None


def parse_received(value: str) -> dict[str, str | None]:
    """{"helo", "ip", "by", "envelope_from"} from one Received value (Postfix, Exim, Sendmail and
    Microsoft forms: ``from HELO (rdns [IP]) by HOST``, ``from rdns ([IP] helo=HELO)``)."""
    value = " ".join(value.split())[:2000]
    out: dict[str, str | None] = {"helo": None, "ip": None, "by": None, "envelope_from": None}
    m = _FROM.match(value)
    if m:
        first, paren = m.group(1), m.group(3) or ""
        helo = _HELO.search(paren)
        out["helo"] = helo.group(1) if helo else first.strip("[]")
        out["ip"] = _ip(paren) or _ip(first)
    by = _BY.search(value)
    if by:
        out["by"] = by.group(1).lower()
    env = _ENVFROM.search(value)
    if env:
        out["envelope_from"] = env.group(1)
    return out


def inputs_from_headers(headers: list[tuple[str, str]], *, hop: int = 1, by_host: str | None = None) -> AuthInputs:
    """SPF inputs from a stored message: the ``hop``-th Received header from the top (1: the one
    the receiving server added), or the topmost one written ``by`` ``by_host``; MAIL FROM from the
    topmost Return-Path (written at delivery) or the hop's envelope-from."""
    received = [v for k, v in headers if k.lower() == "received"]
    chosen: dict[str, str | None] | None = None
    source = ""
    if by_host:
        for n, v in enumerate(received, 1):
            r = parse_received(v)
            if r["by"] and (r["by"] == by_host.lower() or r["by"].endswith("." + by_host.lower())):
                chosen, source = r, f"received:{n}"
                break
    elif 1 <= hop <= len(received):
        chosen, source = parse_received(received[hop - 1]), f"received:{hop}"
    mail_from: str | None = None
    for k, v in headers:
        if k.lower() == "return-path":
            mail_from = v.strip().strip("<>").strip()
            break
    if mail_from is None and chosen and chosen["envelope_from"] is not None:
        mail_from = chosen["envelope_from"]
    if not chosen:
        return AuthInputs(None, None, mail_from, "none")
    return AuthInputs(chosen["ip"], chosen["helo"], mail_from, source)
