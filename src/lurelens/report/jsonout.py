"""The JSON report: one object per message, described by schema/verdict.schema.json."""

from __future__ import annotations

import json
from typing import Any

from lurelens.model import SCHEMA_VERSION, Message, Verdict
from lurelens.report.explain import leak_summary
from lurelens.report.leaks import open_leaks

__all__ = ["verdict_to_dict", "error_to_dict", "dumps"]


def _sender(msg: Message) -> dict[str, Any]:
    return {
        "from": [a.to_dict() for a in msg.from_],
        "sender": msg.sender.to_dict() if msg.sender else None,
        "reply_to": [a.to_dict() for a in msg.reply_to],
        "return_path": msg.return_path,
        "to": [a.to_dict() for a in msg.to[:50]],
        "subject": msg.subject,
        "subject_raw": msg.subject_raw,
        "message_id": msg.message_id,
        "date": msg.date,
    }


def _auth(msg: Message) -> dict[str, Any]:
    a = msg.auth
    methods = {}
    for name in ("spf", "dkim", "dmarc", "arc"):
        r = a.get("results", {}).get(name)
        methods[name] = {"result": r.result, "props": r.props} if r else {"result": "not_checked", "props": {}}
    for name, r in a.get("results", {}).items():
        if name not in methods:
            methods[name] = {"result": r.result, "props": r.props}
    return {
        "checked": bool(a.get("present")),
        "authserv_id": a.get("authserv_id"),
        "methods": methods,
        "ignored_headers": [i["raw"][:500] for i in a.get("ignored", [])],
    }


def _message_part(msg: Message) -> dict[str, Any]:
    return {
        "sender": _sender(msg),
        "auth": _auth(msg),
        "remote_resources": [
            {**r.to_dict(), "leaks": leak_summary(r.kind, r.hidden, r.recipient_token, r.condition)} for r in msg.resources
        ],
        "links": [lk.to_dict() for lk in msg.links],
        "attachments": [a.to_dict() for a in msg.attachments],
        "defects": [d.to_dict() for d in msg.defects],
        "limits_hit": list(msg.limits_hit),
        "features": msg.features.to_dict() if msg.features is not None else None,
    }


def verdict_to_dict(v: Verdict) -> dict[str, Any]:
    msg: Message = v.message
    d: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "file": v.file,
        "verdict": v.label,
        "score": v.score,
        "reasons": v.reasons,
        "attack": v.attack,
        "findings": [f.to_dict() for f in v.findings],
    }
    d.update(_message_part(msg))
    d["nested"] = [_message_part(n) for n in msg.nested]
    d["errors"] = list(v.errors)
    d["elapsed_ms"] = round(v.elapsed_ms, 3)
    d.update(v.extra)
    # After extra: with --render, the browser's requests (extra["requests"]) are merged in.
    d["open_leaks"] = [h.to_dict() for h in open_leaks(msg, v.extra.get("requests"))]
    return d


def error_to_dict(file: str | None, error: str) -> dict[str, Any]:
    """An entry for an input that could not be scanned at all (unreadable file)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "verdict": "error",
        "score": 0.0,
        "reasons": [error],
        "attack": [],
        "findings": [],
        "sender": None,
        "auth": None,
        "remote_resources": [],
        "links": [],
        "attachments": [],
        "defects": [],
        "limits_hit": [],
        "features": None,
        "nested": [],
        "open_leaks": [],
        "errors": [error],
    }


def dumps(d: dict[str, Any]) -> str:
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"), default=str)
