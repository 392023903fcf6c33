"""Plain-language reasons for a verdict, most important first."""

from __future__ import annotations

from lurelens.model import Verdict

__all__ = ["explain", "leak_summary"]

_LABEL_SENTENCE = {
    "clean": "No sign of deception and nothing that reports the reader to anyone.",
    "incomplete": "Nothing suspicious was found in what could be scanned, but the scan is incomplete: not a clean bill of health.",
    "tracked": "Opening it reports the reader to the sender, but nothing suggests deception (typical of newsletters).",
    "suspicious": "Several signs of deception or risk: check before trusting it.",
    "phishing": "Strong signs this is a lure.",
    "recon": "Reconnaissance lure: opening it alone tells an unauthenticated or disguised sender your IP address, "
    "location, device and mail client.",
}


def leak_summary(kind: str, hidden: bool, token: str | None, condition: str | None = None) -> str:
    """What one fetch tells its host, in a few words (the per-host account is report.leaks)."""
    from lurelens.report.leaks import learns_for

    return ", ".join(learns_for([kind], token, [condition] if condition else [], []))


def explain(v: Verdict) -> list[str]:
    out = [f"{v.label}: {_LABEL_SENTENCE.get(v.label, '')}"]
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
        if len(out) >= 8:
            break
    return out
