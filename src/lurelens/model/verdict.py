"""The verdict: label, score, and every finding that explains it. Versioned and serialisable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1.1"  # 1.1: "features"

LABELS = ("clean", "tracked", "suspicious", "phishing", "recon")
# Labels from least to most severe; "suspicious or worse" means index >= 2.
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


@dataclass(slots=True)
class Verdict:
    label: str
    score: float
    findings: list[Finding]
    reasons: list[str]  # plain-language sentences, most important first
    attack: list[str]
    file: str | None = None
    message: Any = None  # lurelens.model.Message; not serialised as such
    errors: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # later stages (render, leaks) add here

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of this verdict (``scan --json``), described by schema/verdict.schema.json."""
        from lurelens.report.jsonout import verdict_to_dict

        return verdict_to_dict(self)

    @property
    def suspicious_or_worse(self) -> bool:
        return SEVERITY.get(self.label, 0) >= SEVERITY["suspicious"]
