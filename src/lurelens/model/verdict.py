"""The verdict: label, score, and every finding that explains it. Versioned and serialisable:
``Verdict.to_dict()`` is the ``scan --json`` object (described by schema/verdict.schema.json) and
``Verdict.from_dict()`` reads one back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lurelens.model.features import ClusterFeatures
from lurelens.model.leaks import HostLeak, leak_summary

if TYPE_CHECKING:
    from lurelens.model.message import Message

__all__ = ["LABELS", "SCHEMA_VERSION", "SEVERITY", "Finding", "Verdict", "error_to_dict"]

SCHEMA_VERSION = "1.1"  # 1.1: "features"; incomplete, incomplete_reasons, verdict "incomplete"

LABELS = ("clean", "incomplete", "tracked", "suspicious", "phishing", "recon")
# Labels from least to most severe; "suspicious or worse" means SEVERITY >= SEVERITY["suspicious"].
# `incomplete` replaces `clean` when part of the message could not be scanned (see scores.toml).
SEVERITY = {label: i for i, label in enumerate(LABELS)}


@dataclass(slots=True)
class Finding:
    symbol: str
    evidence: str = ""
    strength: float = 1.0  # 0..1, multiplies the symbol's weight
    score: float = 0.0  # filled by scoring
    description: str = ""  # filled from the check's declaration
    group: str = ""
    attack: list[str] = field(default_factory=list)
    nested: str | None = None  # path of the nested message the finding comes from

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "symbol": self.symbol,
            "score": round(self.score, 3),
            "description": self.description,
            "evidence": self.evidence,
            "group": self.group,
            "attack": self.attack,
        }
        if self.nested:
            d["nested"] = self.nested
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        """A finding read back from ``to_dict`` (its strength is not stored: 1.0)."""
        return cls(symbol=d["symbol"], evidence=d.get("evidence", ""), score=float(d.get("score", 0.0)),
                   description=d.get("description", ""), group=d.get("group", ""), attack=list(d.get("attack", [])),
                   nested=d.get("nested"))


@dataclass(slots=True)
class Verdict:
    """What the scanner concluded about one message.

    ``label`` is one of :data:`LABELS`; ``score`` the capped sum of the findings' scores;
    ``findings`` every finding (composites included), highest score first; ``reasons`` plain
    sentences for a reader; ``attack`` MITRE ATT&CK technique ids; ``incomplete`` and
    ``incomplete_reasons`` say whether and why part of the input was not scanned. ``message`` is
    the parsed :class:`lurelens.model.Message`. :meth:`to_dict` gives the ``scan --json`` object.
    """

    label: str
    score: float
    findings: list[Finding]
    reasons: list[str]  # plain-language sentences, most important first
    attack: list[str]
    file: str | None = None
    message: Any = None  # lurelens.model.Message; None for a verdict read back with from_dict
    errors: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # later stages add here (render: "requests")
    open_leaks: list[HostLeak] | None = None  # per host contacted on open; filled by the scan
    record: dict[str, Any] | None = None  # the message's part of to_dict(), for a verdict read back
    # True when part of the input was not scanned (not mail, a limit, a timeout, a crashed check);
    # the reasons say what. Any label can be incomplete; `clean` never is (it becomes `incomplete`).
    incomplete: bool = False
    incomplete_reasons: list[str] = field(default_factory=list)

    @property
    def features(self) -> ClusterFeatures | None:
        """The message's cluster features (also for a verdict read back)."""
        if self.message is not None:
            return self.message.features
        f = (self.record or {}).get("features")
        return ClusterFeatures.from_dict(f) if f else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of this verdict (``scan --json``), described by schema/verdict.schema.json."""
        msg = self.message
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "file": self.file,
            "verdict": self.label,
            "score": self.score,
            "incomplete": self.incomplete,
            "incomplete_reasons": list(self.incomplete_reasons),
            "reasons": self.reasons,
            "attack": self.attack,
            "findings": [f.to_dict() for f in self.findings],
        }
        if msg is not None:
            d.update(_message_part(msg))
            d["nested"] = [_message_part(n) for n in msg.nested]
        else:
            record = self.record or {}
            d.update({k: record.get(k, empty) for k, empty in _MESSAGE_KEYS.items()})
            d["nested"] = list(record.get("nested", []))
        # lurelens's own verification with the DNS answers it used (None: not verified).
        if msg is not None:
            d["auth_verification"] = msg.verification.to_dict() if msg.verification is not None else None
        else:
            d["auth_verification"] = (self.record or {}).get("auth_verification")
        d["errors"] = list(self.errors)
        d["elapsed_ms"] = round(self.elapsed_ms, 3)
        d.update(self.extra)
        leaks = self.open_leaks
        if leaks is None and msg is not None:
            from lurelens.parse.leaks import open_leaks

            leaks = open_leaks(msg, self.extra.get("requests"))
        d["open_leaks"] = [h.to_dict() for h in leaks or []]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Verdict":
        """A verdict read back from ``to_dict()`` (a stored ``scan --json`` line): everything but the
        parsed message, whose part of the report is kept in ``record`` and written out again."""
        version = str(d.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"cannot read verdict schema version {version!r} (this is {SCHEMA_VERSION})")
        record = {k: d.get(k, empty) for k, empty in _MESSAGE_KEYS.items()}
        record["nested"] = list(d.get("nested", []))
        record["auth_verification"] = d.get("auth_verification")
        extra = {k: v for k, v in d.items() if k not in _TOP_KEYS and k not in record}
        return cls(
            label=d["verdict"],
            score=float(d["score"]),
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            reasons=list(d.get("reasons", [])),
            attack=list(d.get("attack", [])),
            file=d.get("file"),
            errors=list(d.get("errors", [])),
            elapsed_ms=float(d.get("elapsed_ms", 0.0)),
            extra=extra,
            open_leaks=[HostLeak.from_dict(h) for h in d.get("open_leaks", [])],
            record=record,
            incomplete=bool(d.get("incomplete", False)),
            incomplete_reasons=list(d.get("incomplete_reasons", [])),
        )

    @property
    def suspicious_or_worse(self) -> bool:
        return SEVERITY.get(self.label, 0) >= SEVERITY["suspicious"]


# The message's keys of to_dict() and their value when there is no message.
_MESSAGE_KEYS: dict[str, Any] = {"sender": None, "auth": None, "remote_resources": [], "links": [], "attachments": [],
                                 "defects": [], "limits_hit": [], "features": None}
_TOP_KEYS = frozenset({"schema_version", "file", "verdict", "score", "incomplete", "incomplete_reasons", "reasons", "attack", "findings", "nested",
                       "auth_verification", "errors", "elapsed_ms", "open_leaks"})


def _sender(msg: "Message") -> dict[str, Any]:
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
        # Who wrote it, as each implementation reads it (docs/from-ambiguity.md).
        "author_readings": [r.to_dict() for r in msg.author.readings],
    }


def _auth(msg: "Message") -> dict[str, Any]:
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


def _message_part(msg: "Message") -> dict[str, Any]:
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


def error_to_dict(file: str | None, error: str) -> dict[str, Any]:
    """An entry for an input that could not be scanned at all (unreadable file)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "verdict": "error",
        "score": 0.0,
        "incomplete": True,
        "incomplete_reasons": [error],
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
        "auth_verification": None,
        "errors": [error],
    }
