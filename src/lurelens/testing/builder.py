"""Build RFC 5322 messages in code (bytes, exactly as given) and check which symbols fire."""

from __future__ import annotations

import base64
from functools import lru_cache

from lurelens.model import Verdict

__all__ = ["MessageBuilder", "assert_fires", "assert_quiet", "scan"]


class MessageBuilder:
    """A small fluent builder. Headers are written as given (no encoding), so tests can craft
    malformed or encoded-word headers precisely."""

    def __init__(self) -> None:
        self.headers: list[tuple[str, str]] = [
            ("From", '"Alice Example" <alice@example.com>'),
            ("To", "bob@example.org"),
            ("Subject", "Hello"),
            ("Date", "Tue, 10 Nov 2026 08:00:00 +0000"),
            ("Message-ID", "<test@example.com>"),
        ]
        self._text: str | None = None
        self._html: str | None = None
        self._attachments: list[tuple[str, str, bytes]] = []
        self._related: list[tuple[str, str, bytes]] = []

    def header(self, name: str, value: str, *, replace: bool = True) -> "MessageBuilder":
        if replace:
            self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))
        return self

    def prepend_header(self, name: str, value: str) -> "MessageBuilder":
        self.headers.insert(0, (name, value))
        return self

    def remove_header(self, name: str) -> "MessageBuilder":
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        return self

    def sender(self, value: str) -> "MessageBuilder":
        return self.header("From", value)

    def subject(self, value: str) -> "MessageBuilder":
        return self.header("Subject", value)

    def auth(self, value: str, authserv: str = "mx.example.org") -> "MessageBuilder":
        """Add a trusted Authentication-Results header at the top."""
        return self.prepend_header("Authentication-Results", f"{authserv}; {value}")

    def text(self, body: str) -> "MessageBuilder":
        self._text = body
        return self

    def html(self, body: str) -> "MessageBuilder":
        self._html = body
        return self

    def attach(self, filename: str, content_type: str, data: bytes) -> "MessageBuilder":
        self._attachments.append((filename, content_type, data))
        return self

    def related(self, cid: str, content_type: str, data: bytes) -> "MessageBuilder":
        self._related.append((cid, content_type, data))
        return self

    def _body_part(self) -> tuple[str, str]:
        if self._html is not None and self._related:
            inner_h, inner_b = self._html_part()
            parts = [f"{inner_h}\r\n\r\n{inner_b}"]
            for cid, ct, data in self._related:
                b64 = base64.encodebytes(data).decode()
                parts.append(f"Content-Type: {ct}\r\nContent-ID: <{cid}>\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}")
            return self._multipart("related", parts)
        if self._html is not None and self._text is not None:
            th = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
            hh, hb = self._html_part()
            return self._multipart("alternative", [f"{th}\r\n\r\n{self._text}", f"{hh}\r\n\r\n{hb}"])
        if self._html is not None:
            return self._html_part()
        return ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit", self._text or "Hello.\r\n")

    def _html_part(self) -> tuple[str, str]:
        return ("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit", self._html or "")

    @staticmethod
    def _multipart(sub: str, parts: list[str]) -> tuple[str, str]:
        boundary = f"=_lurelens_{sub}_{len(parts)}"
        body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
        return (f'Content-Type: multipart/{sub}; boundary="{boundary}"', body)

    def build(self) -> bytes:
        ch, cb = self._body_part()
        if self._attachments:
            parts = [f"{ch}\r\n\r\n{cb}"]
            for name, ct, data in self._attachments:
                b64 = base64.encodebytes(data).decode()
                parts.append(
                    f'Content-Type: {ct}; name="{name}"\r\nContent-Disposition: attachment; filename="{name}"\r\n'
                    f"Content-Transfer-Encoding: base64\r\n\r\n{b64}"
                )
            ch, cb = self._multipart("mixed", parts)
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return (head + "MIME-Version: 1.0\r\n" + ch + "\r\n\r\n" + cb).encode("utf-8")


@lru_cache(maxsize=1)
def _default_scanner():
    from lurelens.scanner import Scanner

    return Scanner()


def scan(raw: bytes, scanner=None) -> Verdict:
    return (scanner or _default_scanner()).scan(raw)


def _symbols(v: Verdict) -> set[str]:
    return {f.symbol for f in v.findings}


def assert_fires(raw: bytes, symbol: str, scanner=None) -> Verdict:
    v = scan(raw, scanner)
    if symbol not in _symbols(v):
        raise AssertionError(f"{symbol} did not fire; fired: {sorted(_symbols(v))}")
    return v


def assert_quiet(raw: bytes, symbol: str, scanner=None) -> Verdict:
    v = scan(raw, scanner)
    if symbol in _symbols(v):
        ev = [f.evidence for f in v.findings if f.symbol == symbol]
        raise AssertionError(f"{symbol} fired unexpectedly: {ev}")
    return v
