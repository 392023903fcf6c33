"""The parsed message: everything checks may read. Built once per message by lurelens.parse.

Checks never touch raw MIME; they read this model. Fields that are costly to compute (decoded text,
the HTML inventory) are filled by the parser only for the parts a mail client would display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lurelens.model.features import ClusterFeatures

__all__ = ["Address", "Attachment", "AuthResult", "Defect", "Link", "Message", "Part", "RemoteResource"]


@dataclass(slots=True)
class Address:
    """One mailbox from an address header. ``raw`` keeps the header text before RFC 2047 decoding."""

    display_name: str
    addr: str  # local@domain, lowercased domain; "" when none could be found
    raw: str = ""

    @property
    def local(self) -> str:
        return self.addr.rpartition("@")[0] if "@" in self.addr else self.addr

    @property
    def domain(self) -> str:
        return self.addr.rpartition("@")[2].lower() if "@" in self.addr else ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.display_name, "addr": self.addr, "raw": self.raw}


@dataclass(slots=True)
class Defect:
    """Something malformed in the message. Recorded, never raised: a defect is itself a signal."""

    kind: str  # e.g. "MissingHeaderBodySeparator", "undecodable_charset"
    detail: str = ""
    where: str = ""  # part path such as "1.2", or a header name

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "where": self.where}


@dataclass(slots=True)
class Part:
    """One MIME leaf part."""

    path: str  # "1", "1.2", ... as IMAP numbers parts
    content_type: str
    charset: str | None
    disposition: str | None
    filename: str | None
    size: int  # decoded size in bytes
    content_id: str | None = None
    displayed: bool = False  # chosen for display as a mail client would


@dataclass(slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int
    sha256: str
    path: str
    content_id: str | None = None
    inline: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "path": self.path,
            "inline": self.inline,
        }


@dataclass(slots=True)
class RemoteResource:
    """A network fetch that opening the message in an HTML mail client would make."""

    url: str
    host: str
    domain: str  # registrable domain (eTLD+1), or the host for IP literals
    kind: str  # img, srcset, background, css-url, css-import, font, stylesheet, icon, ...
    element: str  # the tag or css construct that causes the fetch
    hidden: bool = False
    hidden_reason: str | None = None
    tiny: bool = False  # declared 0-2 px in either dimension
    tracker: str | None = None  # vendor name from the tracker list
    recipient_token: str | None = None  # how the recipient is encoded, e.g. "email:md5"
    token_evidence: str | None = None
    condition: str | None = None  # e.g. a CSS media query that must match for the fetch
    part: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "host": self.host,
            "domain": self.domain,
            "kind": self.kind,
            "element": self.element,
            "hidden": self.hidden,
            "hidden_reason": self.hidden_reason,
            "tiny": self.tiny,
            "tracker": self.tracker,
            "recipient_token": self.recipient_token,
            "condition": self.condition,
            "part": self.part,
        }


@dataclass(slots=True)
class Link:
    href: str
    text: str
    host: str
    domain: str
    part: str = ""
    final_url: str | None = None  # destination decoded from a redirect parameter
    final_host: str | None = None
    via: list[str] = field(default_factory=list)  # redirector hosts the link passes through
    kind: str = "a"  # a, area, form, text (a bare URL in a text/plain part)

    def to_dict(self) -> dict[str, Any]:
        return {
            "href": self.href,
            "text": self.text,
            "host": self.host,
            "domain": self.domain,
            "final_url": self.final_url,
            "final_host": self.final_host,
            "kind": self.kind,
            "part": self.part,
        }


@dataclass(slots=True)
class AuthResult:
    """One method result (spf, dkim, dmarc, arc, ...) from the trusted Authentication-Results."""

    method: str
    result: str  # pass, fail, softfail, neutral, none, temperror, permerror, policy, ...
    props: dict[str, str] = field(default_factory=dict)  # header.from, header.d, smtp.mailfrom ...
    comment: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "result": self.result, "props": self.props}


@dataclass(slots=True)
class AuthorField:
    """A From, Sender or Resent-From field as found in the raw header block, before any parser
    decided what is a field: ``issue`` says how its name was written when not plainly."""

    name: str  # "from", "sender" or "resent-from"
    raw_name: str  # as written, e.g. " From", "From ", "From\\r\\n "
    value: str  # unfolded, not decoded
    issue: str = ""  # "", "leading_space", "space_before_colon", "folded_name"


@dataclass(slots=True)
class AuthorReading:
    """Who wrote the message, as one implementation reads it: the addresses (or bare domains, for
    the DMARC identity) it finds, and where it found them."""

    reader: str  # python-compat32, python-default, rfc5322, dmarc, display, ...
    addrs: list[str]
    source: str = ""
    note: str = ""

    @property
    def domains(self) -> list[str]:
        return [a.rpartition("@")[2].lower().rstrip(".") for a in self.addrs if a.rpartition("@")[2]]

    def to_dict(self) -> dict[str, Any]:
        return {"reader": self.reader, "addrs": self.addrs, "source": self.source, "note": self.note}


@dataclass(slots=True)
class AuthorReadings:
    """Every reading of the author (parse/author.py) and the syntax tricks met on the way."""

    fields: list[AuthorField] = field(default_factory=list)
    readings: list[AuthorReading] = field(default_factory=list)
    tricks: list[tuple[str, str]] = field(default_factory=list)  # (kind, evidence)

    def reading(self, reader: str) -> AuthorReading | None:
        return next((r for r in self.readings if r.reader == reader), None)


@dataclass(slots=True)
class Message:
    """The parsed message. ``nested`` holds message/rfc822 parts, each parsed the same way."""

    headers: list[tuple[str, str]]  # (name, raw value, unfolded), in order
    from_: list[Address]
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    return_path: str | None
    subject: str
    subject_raw: str
    message_id: str | None
    date: str | None
    parts: list[Part]
    text: str  # displayed text/plain content (bounded)
    html: str  # displayed HTML, concatenated (bounded)
    visible_text: str  # text a reader sees in the HTML (or plain text when no HTML)
    resources: list[RemoteResource]
    links: list[Link]
    attachments: list[Attachment]
    auth: dict[str, Any]  # {"authserv_id", "results": [AuthResult], "ignored": [...], "present": bool}
    defects: list[Defect]
    limits_hit: list[str]  # names of PARSE_LIMIT_* symbols
    nested: list["Message"] = field(default_factory=list)
    size: int = 0
    recipients: list[str] = field(default_factory=list)  # addresses tokens are looked for
    has_html: bool = False
    hidden_text_chars: int = 0  # characters of text inside hidden HTML elements
    alt_texts: list[str] = field(default_factory=list)  # img alt text (mastheads, logos)
    html_title: str = ""
    html_parts: list[tuple[str, str]] = field(default_factory=list)  # (part path, HTML) displayed
    cid_parts: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # only with Limits.keep_cids
    srcset_choices: dict[str, str] = field(default_factory=dict)  # URL -> what picking it reveals
    features: ClusterFeatures | None = None  # filled at enrich time (lurelens.parse.features)
    author: AuthorReadings = field(default_factory=AuthorReadings)  # the From readings (parse/author.py)
    verification: Any = None  # lurelens.auth.AuthVerification when the scan verified auth itself

    # Values by lower-cased name, built on the first lookup: checks ask for headers dozens of
    # times per message, and a scan of every header per question cost more than the lookups.
    _by_name: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)

    def _index(self) -> dict[str, list[str]]:
        idx = self._by_name
        if idx is None:
            idx = {}
            for k, v in self.headers:
                idx.setdefault(k.lower(), []).append(v)
            self._by_name = idx
        return idx

    def header(self, name: str) -> str | None:
        values = self._index().get(name.lower())
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return list(self._index().get(name.lower(), ()))
