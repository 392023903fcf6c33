"""Outlook ``.msg`` files (OLE compound files) turned into RFC 822 bytes with ``python-oxmsg`` (MIT).

The transport headers Outlook stored with a received message (Received, Authentication-Results,
DKIM-Signature...) are kept as they were; the MIME body is rebuilt from the stored plain-text and HTML
bodies and the attachments (``_outlook.rebuild_rfc822``, shared with the .pst reader). A message
without transport headers (a draft, or saved before delivery) gets headers made from its properties
and says so in ``X-Lurelens-Converted``.
"""

from __future__ import annotations

from lurelens.sources._outlook import rebuild_rfc822

__all__ = ["msg_to_rfc822"]


def msg_to_rfc822(data: bytes) -> tuple[bytes | None, str | None]:
    """(message bytes, None) or (None, error) for the bytes of an Outlook .msg file."""
    try:
        from oxmsg import Message
    except ImportError:
        return None, "unreadable: Outlook .msg file; install lurelens[msg] (python-oxmsg) to read it"
    try:
        msg = Message.load(data)
        atts = [(a.file_bytes, a.file_name, a.mime_type) for a in msg.attachments]
        return rebuild_rfc822("Outlook .msg", msg.properties.str_prop_value(0x007D), msg.body, msg.html_body, atts,
                              sender=msg.sender, recipients=[r.email_address for r in msg.recipients],
                              subject=msg.subject, date=msg.sent_date), None
    except Exception as exc:  # noqa: BLE001 - olefile/oxmsg raise many types on corrupt files
        return None, f"unreadable: corrupt Outlook .msg file: {type(exc).__name__}: {exc}"
