"""Shared helpers for the evaluation and benchmark scripts: where the dev corpus is, which sets."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = Path(os.environ.get("LURELENS_CORPUS", HERE.parent.parent / "shared" / "corpus"))

# (set name, folder under the corpus, expected label kind)
SETS = [
    ("phishing_pot", "phishing_pot", "phish"),
    ("easy_ham", "spamassassin/easy_ham", "ham"),
    ("hard_ham", "spamassassin/hard_ham", "ham-tracked"),
    ("spam", "spamassassin/spam", "spam"),
    ("usrp-users", "mailinglists/usrp-users", "ham"),
    ("unspy", "newsletters/unspy", "ham-tracked"),
    ("malformed", "malformed", "malformed"),
    ("auth-tests", "auth-tests", "mixed"),
]


def message_files(corpus: Path, folder: str) -> list[Path]:
    root = corpus / folder
    return sorted(p for p in root.rglob("*.eml") if p.is_file())
