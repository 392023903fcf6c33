"""lurelens.report.stored: a stored hit (the verdict JSON the hunt keeps) rendered as text."""

from __future__ import annotations

import json

from rich.console import Console

from lurelens.report.stored import print_hit_line, print_stored
from lurelens.testing import MessageBuilder


def _stored(scanner) -> dict:
    raw = (MessageBuilder().sender("Desk <desk@news-desk.example>").subject("Your [account] review")
           .html('<p>Please verify your account.</p><img src="https://t.track.example/o.gif" width="1" height="1">').build())
    d = json.loads(json.dumps(scanner.scan(raw).to_dict()))
    d.update(id=42, source="archive.mbox", locator="@1234")
    return d


def test_a_hit_line_shows_id_label_sender_and_subject(scanner):
    console = Console(record=True, width=300, no_color=True)
    d = _stored(scanner)
    print_hit_line(console, d)
    line = console.export_text()
    assert "42" in line and d["verdict"] in line and "desk@news-desk.example" in line
    assert "Your [account] review" in line  # markup characters are escaped, not swallowed


def test_a_stored_hit_lists_findings_and_fetches(scanner):
    console = Console(record=True, width=300, no_color=True)
    d = _stored(scanner)
    print_stored(console, d)
    text = console.export_text()
    assert "#42" in text and "Findings" in text and "t.track.example" in text
    assert any(f["symbol"] in text for f in d["findings"])
