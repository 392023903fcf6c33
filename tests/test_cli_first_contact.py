"""The command line as a new user meets it: exit status with mixed inputs, the batch summary,
--fail-on/--only/--format csv, defuse that never overwrites silently, unwrapped piped text, UTF-8
JSON whatever the bytes, --version, symbols --json, JSON schemas, a --help without placeholders."""

from __future__ import annotations

import csv
import email
import hashlib
import io
import json
import os
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lurelens.testing import MessageBuilder

CLEAN = MessageBuilder().text("Lunch on Thursday?\r\n").build()
PIXEL = MessageBuilder().html('<p>News</p><img src="https://t.example.net/o.gif" width=1 height=1>').build()


def schema(name: str) -> jsonschema.Draft202012Validator:
    s = json.loads((resources.files("lurelens") / "schema" / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def jsonl(out: str) -> list[dict]:
    return [json.loads(ln) for ln in out.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def files(tmp_path_factory, apt31_example):
    d = tmp_path_factory.mktemp("fc")
    (d / "clean.eml").write_bytes(CLEAN)
    (d / "pixel.eml").write_bytes(PIXEL)
    (d / "lure.eml").write_bytes(apt31_example.read_bytes())
    (d / "notmail.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    return d


# -- exit status --------------------------------------------------------------------------------


def test_lure_wins_over_failures(run_cli, files):
    code, out, err = run_cli(["scan", "--json", files / "notmail.bin", "/nonexistent.eml", files / "lure.eml"])
    assert code == 1  # a lure was found: that is what the exit status must say
    rows = jsonl(out)
    # Not mail: skipped by the input reader (error) or scanned as not mail (incomplete); never clean.
    assert rows[0]["verdict"] in ("incomplete", "error") and [r["verdict"] for r in rows[1:]] == ["error", "recon"]
    assert rows[0]["incomplete"] is True and rows[1]["incomplete"] is True and rows[2]["incomplete"] is False


def test_not_mail_is_exit_2_never_clean(run_cli, files):
    code, out, err = run_cli(["scan", files / "clean.eml", files / "notmail.bin"])
    assert code == 2
    assert "Verdict: CLEAN" in out and "not an e-mail message" in (out + err)


def test_clean_only_exit_0(run_cli, files):
    assert run_cli(["scan", files / "clean.eml"])[0] == 0


def test_fail_on_and_only(run_cli, files):
    code, out, err = run_cli(["scan", "--json", "--fail-on", "tracked", "--only", "tracked", files / "clean.eml", files / "pixel.eml"])
    assert code == 1
    assert [r["verdict"] for r in jsonl(out)] == ["tracked"]  # clean one not printed, still counted
    assert "Scanned 2 inputs: 1 tracked, 1 clean" in err
    code, _, err = run_cli(["scan", "--fail-on", "bogus", files / "clean.eml"])
    assert code == 2 and "bogus" in err


def test_summary_names_the_worst(run_cli, files):
    code, out, err = run_cli(["scan", "--json", files / "clean.eml", files / "lure.eml", files / "notmail.bin"])
    assert "Scanned 3 inputs: 1 recon, 1 clean, 1 not scanned" in err
    assert "1 not fully scanned" in err
    assert "Worst:" in err and str(files / "lure.eml") in err
    code, out, err = run_cli(["scan", "--json", files / "clean.eml"])
    assert "Scanned" not in err  # one input: no summary unless asked


def test_csv_output(run_cli, files):
    code, out, err = run_cli(["scan", "--format", "csv", files / "lure.eml", files / "clean.eml", "/nonexistent.eml"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["verdict"] for r in rows] == ["recon", "clean", "error"]
    assert "RECON_BEACON" in rows[0]["symbols"].split() and rows[0]["fetch_hosts"] == "cdn.example.net img.example.net"
    assert rows[2]["incomplete"] == "yes" and "no such file" in rows[2]["error"]


# -- text report --------------------------------------------------------------------------------


def test_piped_text_is_not_wrapped_and_verbose_shows_full_urls(run_cli, files):
    env_narrow = dict(os.environ, COLUMNS="40")
    p = subprocess.run([sys.executable, "-m", "lurelens.adapters.cli", "scan", "-v", str(files / "lure.eml")],
                       capture_output=True, text=True, env=env_narrow, timeout=120)
    out = p.stdout
    full = "https://cdn.example.net/p/ai5zbWl0aEBwYXJsaWFtZW50LmV4YW1wbGUub3Jn.gif"
    assert any(line.strip() == full for line in out.splitlines())  # the fetch's whole URL on a line of its own
    assert "https://track.example.net/r?u=aHR0cHM6Ly93d3cucmV1dGVycy5jb20vd29ybGQvMjAyNi8xMS8xMC9zYW5jdGlvbnMtdm90ZS1kcmFmdC8%3D" in out
    assert "\x1b[" not in out  # no colour codes in a pipe
    assert "Opening it would fetch 2 URLs from 2 hosts" in out and "(2 hosts)" in out
    assert "(1 fetch; hidden)" in out  # singular


def test_cut_text_has_an_ellipsis(run_cli, files):
    code, out, _ = run_cli(["scan", files / "lure.eml"])
    link_line = next(ln for ln in out.splitlines() if "track.example.net -> www.reuters.com" in ln)
    assert link_line.rstrip().endswith('…"')


# -- JSON is valid UTF-8 whatever the bytes ------------------------------------------------------

FUZZ = settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HEADER_BYTES = st.binary(min_size=1, max_size=60).map(lambda b: b.replace(b"\r", b" ").replace(b"\n", b" "))


@FUZZ
@given(headers=st.lists(st.tuples(HEADER_BYTES, HEADER_BYTES), min_size=1, max_size=25))
def test_json_output_is_utf8_for_any_header_bytes(tmp_path_factory, headers):
    """Raw 8-bit header bytes (any encoding, invalid UTF-8, lone surrogates after decoding) must
    still give one parseable UTF-8 JSON line per message, even under an ASCII locale. One CLI run
    per example scans a whole generated folder (a run per message would cost seconds each)."""
    d = tmp_path_factory.mktemp("u8")
    paths = [str(d / f"m{i:03}.eml") for i in range(len(headers))]
    for i, (subject, name) in enumerate(headers):
        (d / f"m{i:03}.eml").write_bytes(
            b"From: " + name + b" <a@example.com>\r\nTo: bob@example.org\r\nSubject: " + subject
            + b"\r\nX-Raw: " + subject + b"\r\n\r\nbody\r\n")
    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C")  # a hostile locale
    # Files named one by one: each gets exactly one line, a verdict or an error entry (a directory
    # walk would skip files the input reader takes for binaries, such as NUL bytes in a header).
    p = subprocess.run([sys.executable, "-m", "lurelens.adapters.cli", "scan", "--json", *paths],
                       capture_output=True, env=env, timeout=300)
    assert p.returncode in (0, 1, 2) and b"Traceback" not in p.stderr
    rows = [json.loads(line.decode("utf-8")) for line in p.stdout.splitlines()]  # strict UTF-8
    assert [r["file"] for r in rows] == paths
    assert all(r["verdict"] != "clean" or not r["incomplete"] for r in rows)


def test_json_for_lone_surrogates_in_api_dict(scanner):
    from lurelens.report.jsonout import dumps

    v = scanner.scan(b"From: a@example.com\r\nSubject: caf\xe9 \xff\xfe\r\n\r\nx\r\n")
    text = dumps(v.to_dict())
    text.encode("utf-8")  # never raises
    json.loads(text)


# -- defuse -------------------------------------------------------------------------------------


def test_defuse_refuses_to_overwrite_without_force(run_cli, files, tmp_path):
    out = tmp_path / "safe.eml"
    out.write_bytes(b"precious")
    code, _, err = run_cli(["defuse", files / "lure.eml", "-o", out])
    assert code == 2 and "already exists" in err and out.read_bytes() == b"precious"
    code, _, err = run_cli(["defuse", files / "lure.eml", "-o", out, "--force"])
    assert code == 0, err
    assert b"X-Lurelens-Defused" in out.read_bytes()


def test_defuse_same_named_inputs_get_distinct_outputs(run_cli, files, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "m.eml").write_bytes(files.joinpath("lure.eml").read_bytes())
    (b / "m.eml").write_bytes(PIXEL)
    out = tmp_path / "out"
    code, stdout, err = run_cli(["defuse", "--json", a / "m.eml", b / "m.eml", "-o", f"{out}/"])
    assert code == 0, err
    rows = jsonl(stdout)
    assert [r["output"] for r in rows] == [str(out / "m.eml"), str(out / "m-2.eml")]
    assert sorted(p.name for p in out.iterdir()) == ["m-2.eml", "m.eml"]
    v = schema("defuse")
    for r in rows:
        v.validate(r)
    # A second run does not overwrite: every input is an error entry, exit 2.
    code, stdout, err = run_cli(["defuse", "--json", a / "m.eml", b / "m.eml", "-o", f"{out}/"])
    assert code == 2 and all("already exists" in r["error"] for r in jsonl(stdout))
    for r in jsonl(stdout):
        v.validate(r)


def test_defuse_single_file_into_new_directory(run_cli, files, tmp_path):
    code, _, err = run_cli(["defuse", files / "lure.eml", "-o", f"{tmp_path / 'new'}/"])
    assert code == 0, err
    assert (tmp_path / "new" / "lure.eml").is_file()


def test_defuse_max_bytes_refuses_and_scan_marks_incomplete(run_cli, files, tmp_path):
    size = files.joinpath("lure.eml").stat().st_size
    code, _, err = run_cli(["defuse", files / "lure.eml", "-o", tmp_path / "x.eml", "--max-bytes", size - 100])
    assert code == 2 and "--max-bytes" in err and not (tmp_path / "x.eml").exists()
    code, out, _ = run_cli(["scan", "--json", files / "lure.eml", "--max-bytes", size - 100])
    (row,) = jsonl(out)
    assert row["incomplete"] and any("PARSE_LIMIT_SIZE" in r for r in row["incomplete_reasons"])


@pytest.mark.slow
def test_defuse_38_mb_attachment_passes_through(run_cli, tmp_path):
    payload = hashlib.sha256(b"seed").digest() * (38 * 1000 * 1000 // 32)
    raw = (MessageBuilder().html('<p>Report attached</p><img src="https://t.example.net/o.gif" width=1 height=1>')
           .attach("report.zip", "application/zip", payload).build())
    src = tmp_path / "big.eml"
    src.write_bytes(raw)
    code, _, err = run_cli(["defuse", src, "-o", tmp_path / "safe.eml"], timeout=600)
    assert code == 0, err
    out = email.message_from_bytes((tmp_path / "safe.eml").read_bytes())
    att = [p for p in out.walk() if p.get_filename() == "report.zip"]
    assert len(att) == 1 and att[0].get_payload(decode=True) == payload
    html = next(p for p in out.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert b'src="https://t.example.net/o.gif"' not in html


# -- rough edges --------------------------------------------------------------------------------


def test_version(run_cli):
    import lurelens

    code, out, _ = run_cli(["--version"])
    assert code == 0 and out.strip() == f"lurelens {lurelens.__version__}"


def test_symbols_json(run_cli):
    code, out, _ = run_cli(["symbols", "--json"])
    rows = jsonl(out)
    v = schema("symbols")
    for r in rows:
        v.validate(r)
    names = {r["symbol"]: r for r in rows}
    assert names["RECON_BEACON"]["kind"] == "composite" and names["RECON_BEACON"]["expression"]
    assert names["READ_RECEIPT_REQUESTED"]["group"] == "tracking"


def test_render_schema_accepts_what_render_prints():
    v = schema("render")
    v.validate({"file": "m.eml", "requests": [{"url": "https://t.example.net/o.gif", "host": "t.example.net", "type": "image"}],
                "timed_out": False, "error": None})
    v.validate({"file": "m.eml", "requests": [], "timed_out": False, "error": None, "note": "no HTML body"})
    with pytest.raises(jsonschema.ValidationError):
        v.validate({"file": "m.eml", "requests": [{"url": 1}], "timed_out": False, "error": None})


@pytest.mark.parametrize("cmd", [[], ["scan"], ["defuse"], ["render"], ["symbols"]])
def test_help_has_no_type_placeholders(run_cli, cmd):
    code, out, _ = run_cli([*cmd, "--help"])
    assert code == 0
    assert "<bool>" not in out and "<list[str]>" not in out and "<int>" not in out and "<path>" not in out.lower()


def test_python_api_defuse_and_to_dict(apt31_example):
    import lurelens

    raw = apt31_example.read_bytes()
    res = lurelens.defuse(raw, links="defang")
    assert b"X-Lurelens-Defused" in res.data and res.report.to_dict()["fetches_removed"] == 2
    schema("defuse").validate({"file": "-", "output": "-", **res.report.to_dict()})
    with pytest.raises(ValueError):
        lurelens.defuse(raw, links="nope")
    d = lurelens.Scanner().scan(raw).to_dict()
    assert d["verdict"] == "recon" and d["incomplete"] is False


def test_verdict_json_with_receipt_and_attached_message_validates(scanner, apt31_example):
    from test_verdict_meaning import forward

    raw = forward(apt31_example.read_bytes()).replace(b"MIME-Version", b"Return-Receipt-To: carol@example.org\r\nMIME-Version", 1)
    d = scanner.scan(raw).to_dict()
    schema("verdict").validate(d)
    leaks = {h["host"]: h for h in d["open_leaks"]}
    assert leaks["cdn.example.net"]["attached"] == ["1"] and leaks["carol@example.org"]["seen_by"] == ["header"]


def test_summary_and_progress_units(apt31_example, scanner):
    from rich.console import Console

    from lurelens.adapters.batch import RunSummary, make_progress

    s = RunSummary(fail_on="recon")
    s.add("a", scanner.scan(CLEAN))
    assert s.exit_status() == 0
    s.add("b", None, "cannot read")
    assert s.exit_status() == 2
    s.add("c", scanner.scan(apt31_example.read_bytes()))
    assert s.exit_status() == 1
    buf = io.StringIO()
    s.print(Console(file=buf, width=200))
    assert "Scanned 3 inputs: 1 recon, 1 clean, 1 not scanned" in buf.getvalue() and "recon" in buf.getvalue()
    assert make_progress(Console(file=io.StringIO()), 5) is None  # not a terminal: no bar
    term = io.StringIO()
    bar = make_progress(Console(file=term, force_terminal=True, width=100), 2)
    assert bar is not None
    bar.advance("m1.eml"), bar.advance("m2.eml"), bar.stop()
    assert "2/2" in term.getvalue()
