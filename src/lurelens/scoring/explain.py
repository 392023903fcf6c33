"""Plain-language reasons for a verdict, most important first: the label's sentence from the
scoring file's ``[labels]`` (the one place they are written), then the scoring findings."""

from __future__ import annotations

from functools import lru_cache

from lurelens.model import Verdict

__all__ = ["explain"]

MAX_REASONS = 8


@lru_cache(maxsize=1)
def _shipped_labels() -> dict[str, str]:
    from lurelens.scoring.engine import load_scoring

    return load_scoring().labels


def explain(v: Verdict, labels: dict[str, str] | None = None) -> list[str]:
    """``labels``: the label sentences of the scoring in use (None: the shipped scores.toml)."""
    sentences = labels if labels is not None else _shipped_labels()
    out = [f"{v.label}: {sentences.get(v.label, '')}"]
    if v.incomplete and v.label != "incomplete":
        out[0] += " The scan is incomplete: what was skipped may hide more."
    for f in v.findings:
        if f.score <= 0:
            continue
        text = f.description
        if f.evidence:
            text += f" ({f.evidence})"
        if f.nested:
            text = f"[attached message {f.nested}] " + text
        out.append(text)
        if len(out) >= MAX_REASONS:
            break
    return out
