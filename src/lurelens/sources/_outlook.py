"""One Outlook item (from a ``.msg`` file or a ``.pst``/``.ost`` store) turned into RFC 822 bytes.

Outlook keeps the transport headers of a received message (Received, Authentication-Results,
DKIM-Signature...) as one text property and the body as separate plain-text, HTML and attachment
properties; both readers hand those here, so the two formats are rebuilt the same way.
"""

from __future__ import annotations

import email.policy
import hashlib
import email.utils
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage

__all__ = ["rebuild_rfc822", "transport_headers"]

# Header fields describing the original MIME body, which is rebuilt here.
_BODY_FIELDS = ("content-type", "content-transfer-encoding", "mime-version", "content-disposition")


def transport_headers(text: str) -> bytes:
    """The stored header block minus the fields that describe the rebuilt body, CRLF line ends."""
    out: list[str] = []
    skipping = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if out:
                break  # end of the header block
            continue
        if line[0] in " \t":
            if not skipping:
                out.append(line)
            continue
        name = line.split(":", 1)[0].strip().lower()
        skipping = name in _BODY_FIELDS
        if not skipping:
            out.append(line)
    return "".join(f"{ln}\r\n" for ln in out).encode("utf-8", "surrogateescape")


def _synthetic_headers(what: str, sender: str | None, recipients: Iterable[str], subject: str | None,
                       date: datetime | None) -> bytes:
    fields: list[tuple[str, str]] = [("X-Lurelens-Converted", f"from {what} without transport headers")]
    if sender:
        fields.append(("From", sender))
    rcpts = [r for r in recipients if r]
    if rcpts:
        fields.append(("To", ", ".join(rcpts)))
    if subject:
        fields.append(("Subject", subject))
    if date:
        fields.append(("Date", email.utils.format_datetime(date)))
    h = EmailMessage(policy=email.policy.SMTP)
    for k, v in fields:
        h[k] = v.replace("\r", " ").replace("\n", " ")
    raw = h.as_bytes()
    return raw[: raw.find(b"\r\n\r\n") + 2] if b"\r\n\r\n" in raw else raw


def rebuild_rfc822(what: str, headers_text: str | None, text: str | None, html: str | None,
                   attachments: Iterable[tuple[bytes | None, str | None, str | None]], *,
                   sender: str | None = None, recipients: Iterable[str] = (), subject: str | None = None,
                   date: datetime | None = None) -> bytes:
    """RFC 822 bytes: the transport headers as stored (or headers made from the item's properties,
    marked ``X-Lurelens-Converted``, when it has none), then a MIME body rebuilt from the bodies and
    ``attachments`` (payload or None when not stored by value, file name, MIME type)."""
    body = EmailMessage(policy=email.policy.SMTP)
    body.set_content(text or "", subtype="plain")
    if html:
        body.add_alternative(html, subtype="html")
    skipped = 0
    for payload, name, mime_type in attachments:
        if payload is None:
            skipped += 1  # an embedded message or OLE object: not by value
            continue
        mime = (mime_type or "application/octet-stream").split("/", 1)
        if len(mime) != 2 or not all(mime):
            mime = ["application", "octet-stream"]
        body.add_attachment(payload, maintype=mime[0], subtype=mime[1], filename=name or "attachment")
    head = transport_headers(headers_text) if headers_text and headers_text.strip() else b""
    if not head:
        head = _synthetic_headers(what, sender, recipients, subject, date)
    if skipped:
        head += f"X-Lurelens-Converted: {skipped} embedded item(s) not by value were left out\r\n".encode()
    _fix_boundaries(body, head)
    return head + body.as_bytes()


def _fix_boundaries(body: EmailMessage, head: bytes) -> None:
    """MIME boundaries made from the content, not at random: the same item must give the same bytes
    (and sha256) every time it is read, or a resumed hunt would store it twice."""
    h = hashlib.sha256(head)
    parts = list(body.walk())
    for part in parts:
        if not part.is_multipart():
            h.update(f"{part.get('content-type')}\0{part.get_payload()}\0".encode("utf-8", "surrogateescape"))
    digest = h.hexdigest()[:32]
    for i, part in enumerate(p for p in parts if p.is_multipart()):
        part.set_boundary(f"=_lurelens_{digest}_{i}")
