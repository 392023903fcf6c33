"""The verdict in model/: ``to_dict()`` is the schema's object and ``from_dict()`` reads it back;
open-time leaks, reasons and rendering are computed by the engine, not by the renderers."""

from __future__ import annotations

import json
from importlib import resources
from types import SimpleNamespace

import jsonschema
import pytest

from lurelens import Scanner
from lurelens.model import Verdict
from lurelens.model.verdict import error_to_dict
from lurelens.scoring import load_scoring
from lurelens.testing import MessageBuilder

from conftest import EXAMPLES


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((resources.files("lurelens") / "schema" / "verdict.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _raws() -> list[bytes]:
    out = [
        MessageBuilder().html('<p>Hi</p><img srcset="https://i.example.net/a.png 1x, https://i.example.net/b.png 2x">'
                              '<img src="https://t.example.net/o.gif?u=bob%40example.org" width=1 height=1>').build(),
        MessageBuilder().text("plain").build(),
        b"\x00\xffgarbage",
    ]
    if (EXAMPLES / "apt31-style-lure.eml").is_file():
        out.append((EXAMPLES / "apt31-style-lure.eml").read_bytes())
    return out


def test_round_trip_through_the_schema(scanner, validator):
    for raw in _raws():
        d = scanner.scan(raw, file="x.eml").to_dict()
        validator.validate(d)
        back = Verdict.from_dict(json.loads(json.dumps(d)))
        assert back.message is None and back.label == d["verdict"] and back.score == d["score"]
        assert back.to_dict() == d
        assert back.features == (scanner.scan(raw).message.features)


def test_error_entries_read_back(validator):
    d = error_to_dict("gone.eml", "cannot read")
    validator.validate(d)
    v = Verdict.from_dict(d)
    assert v.label == "error" and v.to_dict() == {**d, "elapsed_ms": 0.0}


def test_other_major_versions_are_refused():
    with pytest.raises(ValueError):
        Verdict.from_dict({"schema_version": "2.0", "verdict": "clean", "score": 0})


def test_open_leaks_are_computed_during_the_scan(scanner):
    v = scanner.scan(_raws()[0])
    assert v.open_leaks is not None
    by_host = {h.host: h for h in v.open_leaks}
    # The srcset choice is read from the parse, not from the HTML again.
    assert any("pixel density" in x for x in by_host["i.example.net"].learns)
    assert by_host["t.example.net"].recipient_token and by_host["t.example.net"].hidden
    assert v.to_dict()["open_leaks"] == [h.to_dict() for h in v.open_leaks]


def test_label_sentences_come_from_the_scoring_file(scanner):
    labels = load_scoring().labels
    v = scanner.scan(_raws()[1])
    assert v.reasons[0] == f"{v.label}: {labels[v.label]}"


class _FakeRenderer:
    def __init__(self):
        self.calls = 0

    def render(self, html, cid=None, timeout=None):
        self.calls += 1
        req = SimpleNamespace(url="https://late.example.org/x.gif", host="late.example.org", type="image")
        return SimpleNamespace(requests=[req], error=None, timed_out=False)

    def close(self):
        pass


def test_render_is_a_scanner_stage(scanner):
    from lurelens.render.merge import RenderStage

    stage = RenderStage.__new__(RenderStage)
    stage.timeout, stage.executable_path, stage.renderer = 1.0, None, _FakeRenderer()
    s = Scanner(data=scanner.data, intel=scanner.intel, render=stage)
    v = s.scan(MessageBuilder().html('<p>x</p><img src="cid:logo">').related("logo", "image/png", b"\x89PNG").build())
    assert stage.renderer.calls == 1
    assert v.extra["requests"][0]["host"] == "late.example.org"
    assert "RENDER_UNLISTED_FETCH" in {f.symbol for f in v.findings}
    assert v.message.cid_parts  # kept for the browser without parsing the message again
    assert "late.example.org" in {h.host for h in v.open_leaks}
    assert {h.host: h.seen_by for h in v.open_leaks}["late.example.org"] == ["browser"]
