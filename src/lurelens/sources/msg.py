"""Outlook ``.msg`` files (OLE compound files) turned into RFC 822 bytes with ``python-oxmsg`` (MIT).

The transport headers Outlook stored with a received message (Received, Authentication-Results,
DKIM-Signature...) are kept as they were; the MIME body is rebuilt from the stored plain-text and HTML
bodies and the attachments. A message without transport headers (a draft, or saved before delivery)
gets headers made from its properties and says so in ``X-Lurelens-Converted``.
"""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage

__all__ = ["msg_to_rfc822"]

# Header fields describing the original MIME body, which is rebuilt here.
_BODY_FIELDS = ("content-type", "content-transfer-encoding", "mime-version", "content-disposition")


def _transport_headers(text: str) -> bytes:
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


def msg_to_rfc822(data: bytes) -> tuple[bytes | None, str | None]:
    """(message bytes, None) or (None, error) for the bytes of an Outlook .msg file."""
    try:
        from oxmsg import Message
    except ImportError:
        return None, "unreadable: Outlook .msg file; install lurelens[msg] (python-oxmsg) to read it"
    try:
        msg = Message.load(data)
        headers_text = msg.properties.str_prop_value(0x007D) or ""
        body = EmailMessage(policy=email.policy.SMTP)
        text, html = msg.body, msg.html_body
        if html:
            body.set_content(text or "", subtype="plain")
            body.add_alternative(html, subtype="html")
        else:
            body.set_content(text or "", subtype="plain")
        skipped = 0
        for att in msg.attachments:
            payload = att.file_bytes
            if payload is None:
                skipped += 1  # an embedded message or OLE object: not by value
                continue
            mime = (att.mime_type or "application/octet-stream").split("/", 1)
            if len(mime) != 2:
                mime = ["application", "octet-stream"]
            body.add_attachment(payload, maintype=mime[0], subtype=mime[1], filename=att.file_name or "attachment")
        head = _transport_headers(headers_text) if headers_text.strip() else b""
        if not head:
            head = _synthetic_headers(msg)
        if skipped:
            head += f"X-Lurelens-Converted: {skipped} embedded item(s) not by value were left out\r\n".encode()
        rebuilt = body.as_bytes()
        return head + rebuilt, None
    except Exception as exc:  # noqa: BLE001 - olefile/oxmsg raise many types on corrupt files
        return None, f"unreadable: corrupt Outlook .msg file: {type(exc).__name__}: {exc}"


def _synthetic_headers(msg) -> bytes:
    fields: list[tuple[str, str]] = [("X-Lurelens-Converted", "from Outlook .msg without transport headers")]
    if msg.sender:
        fields.append(("From", msg.sender))
    rcpts = [r.email_address for r in msg.recipients if r.email_address]
    if rcpts:
        fields.append(("To", ", ".join(rcpts)))
    if msg.subject:
        fields.append(("Subject", msg.subject))
    if msg.sent_date:
        fields.append(("Date", email.utils.format_datetime(msg.sent_date)))
    h = EmailMessage(policy=email.policy.SMTP)
    for k, v in fields:
        h[k] = v.replace("\r", " ").replace("\n", " ")
    raw = h.as_bytes()
    return raw[: raw.find(b"\r\n\r\n") + 2] if b"\r\n\r\n" in raw else raw
