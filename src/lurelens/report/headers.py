"""The header fields a mail flow adds for a verdict: the milter and the API's rspamd-compatible
``/checkv2`` both add these, so a downstream filter sees the same values whichever stamped the mail."""

from __future__ import annotations

from typing import Iterable

__all__ = ["top_symbols", "verdict_header_values"]

MAX_REASON_SYMBOLS = 5
MAX_REASONS_CHARS = 200


def top_symbols(findings: Iterable) -> list[tuple[str, float]]:
    """(symbol, score) of the scoring findings, highest first."""
    return [(f.symbol, round(f.score, 1)) for f in sorted((f for f in findings if f.score > 0), key=lambda f: -f.score)]


def verdict_header_values(label: str, score: float, symbols: list[tuple[str, float]]) -> dict[str, str]:
    """X-Lurelens-Verdict, -Score and a short -Reasons (the strongest symbols with their scores)."""
    reasons = ", ".join(f"{s}({sc:g})" for s, sc in symbols[:MAX_REASON_SYMBOLS])
    if len(reasons) > MAX_REASONS_CHARS:
        reasons = reasons[: MAX_REASONS_CHARS - 3].rsplit(",", 1)[0] + ", ..."
    return {
        "X-Lurelens-Verdict": label,
        "X-Lurelens-Score": f"{score:g}",
        "X-Lurelens-Reasons": reasons or "none",
    }
