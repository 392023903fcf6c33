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


def iter_sets(corpus: Path, only: list[str] | None = None):
    """(name, kind, files) for each dev set asked for; a set absent from the corpus is said and skipped."""
    for name, folder, kind in SETS:
        if only and name not in only:
            continue
        files = message_files(corpus, folder)
        if not files:
            print(f"{name:14} (absent: {corpus / folder})")
            continue
        yield name, kind, files
