"""What the campaign summary leaves out of each member, read from the hunt store for the exports
(docs/sharing.md): Message-ID, Reply-To, Return-Path, origin IP, claimed identities, attachments."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["message_details", "is_payload"]


def message_details(store: Any, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per stored message id: ``message_id``, ``reply_to``, ``return_path``, ``origin_ip``,
    ``claims`` (entity ids) and ``attachments`` (``sha256``, ``filename``, ``content_type``)."""
    from sqlalchemy import select

    from lurelens.store.schema import AttachmentRow, Claim, StoredMessage

    m, c, a = StoredMessage.__table__, Claim.__table__, AttachmentRow.__table__
    out: dict[int, dict[str, Any]] = {i: {"claims": [], "attachments": []} for i in ids}
    with store.engine.connect() as conn:
        for i in range(0, len(ids), 500):
            chunk = list(ids[i:i + 500])
            for r in conn.execute(select(m.c.id, m.c.message_id, m.c.reply_to, m.c.return_path, m.c.origin_ip)
                                  .where(m.c.id.in_(chunk))):
                out[r.id].update(message_id=r.message_id, reply_to=r.reply_to, return_path=r.return_path,
                                 origin_ip=r.origin_ip)
            for mid, ent in conn.execute(select(c.c.message, c.c.entity).where(c.c.message.in_(chunk))
                                         .order_by(c.c.message, c.c.entity)):
                out[mid]["claims"].append(ent)
            for mid, sha, fname, ctype in conn.execute(select(a.c.message, a.c.sha256, a.c.filename, a.c.content_type)
                                                       .where(a.c.message.in_(chunk)).order_by(a.c.message, a.c.sha256)):
                out[mid]["attachments"].append({"sha256": sha, "filename": fname, "content_type": ctype or ""})
    return out


def is_payload(attachment: dict[str, Any]) -> bool:
    """Whether an attachment's hash is worth sharing as an indicator: not an image, which in a lure
    is as likely the impersonated outlet's real logo (a hash legitimate mail carries too)."""
    return bool(attachment.get("sha256")) and not str(attachment.get("content_type") or "").lower().startswith("image/")
