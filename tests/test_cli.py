"""The command line, run as a subprocess: reports, JSON Lines, inputs, exit codes.

Each subprocess loads the data registries (about a second), so a few runs are shared by
several tests through module-scoped fixtures."""

from __future__ import annotations

import json
import random
from importlib import resources

import jsonschema
import pytest

from lurelens.testing import MessageBuilder

CLEAN = MessageBuilder().text("Lunch on Thursday?\r\n").build()
PIXEL = MessageBuilder().html('<img src="https://t.example.net/o.gif" width=1 height=1>').build()
MISSING = "/nonexistent/dir/x.eml"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((resources.files("lurelens") / "schema" / "verdict.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def jsonl(stdout: str) -> list[dict]:
    return [json.loads(ln) for ln in stdout.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    mail = d / "mail"
    (mail / "sub" / "deeper").mkdir(parents=True)
    (mail / "a.eml").write_bytes(CLEAN)
    (mail / "sub" / "b.eml").write_bytes(PIXEL)
    (mail / "sub" / "deeper" / "c.eml").write_bytes(CLEAN)
    (mail / ".hidden.eml").write_bytes(CLEAN)  # dot files are skipped
    (d / "clean.eml").write_bytes(CLEAN)
    (d / "noise.bin").write_bytes(b"\x00" + random.Random(7).randbytes(4096))
    return d


@pytest.fixture(scope="module")
def text_lure(run_cli, apt31_example):
    return run_cli(["scan", apt31_example])


@pytest.fixture(scope="module")
def text_clean_and_missing(run_cli, tree):
    return run_cli(["scan", MISSING, tree / "clean.eml"])


@pytest.fixture(scope="module")
def json_many(run_cli, tree, apt31_example):
    return run_cli(["scan", "--json", apt31_example, tree / "mail", MISSING, tree / "noise.bin"])


# -- text report -----------------------------------------------------------------------------------


def test_text_report(text_lure):
    code, out, err = text_lure
    assert code == 1, err  # suspicious or worse
    assert "Verdict: RECON" in out
    assert "Opening it would fetch (2 requests)" in out and "cdn.example.net" in out
    assert "Links (1)" in out and "track.example.net -> www.reuters.com" in out
    assert "Sender" in out and "daniel.hart.newsdesk@example.com" in out
    assert "Authentication: spf=softfail, dkim=none, dmarc=fail" in out
    assert "Findings" in out and "RECON_BEACON" in out
    assert "Traceback" not in err


def test_text_report_clean_and_missing_file(text_clean_and_missing):
    code, out, err = text_clean_and_missing
    assert code == 2  # the missing file; the other one is still reported
    assert MISSING in err and "no such file" in err
    assert "Verdict: CLEAN" in out
    assert "nothing: no remote content" in out
    assert "Authentication: not checked" in out


# -- JSON ------------------------------------------------------------------------------------------


def test_json_lines_validate_against_schema(json_many, validator):
    code, out, err = json_many
    rows = jsonl(out)
    assert len(rows) == 6
    for r in rows:
        validator.validate(r)
    assert "Traceback" not in err


def test_json_fields_of_the_lure(json_many, apt31_example):
    d = jsonl(json_many[1])[0]
    assert d["file"] == str(apt31_example) and d["verdict"] == "recon" and d["score"] > 0
    assert d["schema_version"].startswith("1.")
    assert {"RECON_BEACON", "TRACKER_RECIPIENT_TOKEN"} <= {f["symbol"] for f in d["findings"]}
    assert "email:base64" in [r["recipient_token"] for r in d["remote_resources"]]
    assert all(r["leaks"] for r in d["remote_resources"])
    assert d["auth"]["checked"] is True and d["auth"]["methods"]["dmarc"]["result"] == "fail"
    assert d["sender"]["from"][0]["addr"] == "daniel.hart.newsdesk@example.com"
    assert d["links"][0]["final_host"] == "www.reuters.com"
    assert d["reasons"][0].startswith("recon:")
    assert d["errors"] == []


def test_directories_are_walked_recursively_in_order(json_many, tree):
    rows = jsonl(json_many[1])
    mail = tree / "mail"
    assert [r["file"] for r in rows[1:4]] == [str(mail / "a.eml"), str(mail / "sub" / "b.eml"),
                                             str(mail / "sub" / "deeper" / "c.eml")]
    assert [r["verdict"] for r in rows[1:4]] == ["clean", "tracked", "clean"]


def test_missing_file_exit_2_and_others_still_reported(json_many):
    code, out, _ = json_many
    assert code == 2
    rows = jsonl(out)
    err_rows = [r for r in rows if r["verdict"] == "error"]
    assert [(r["file"], r["errors"]) for r in err_rows][0] == (MISSING, ["no such file or directory"])
    assert rows[-1]["file"].endswith("noise.bin")  # inputs after the missing one are still read


def test_named_non_mail_file_is_an_error_entry_never_clean(json_many):
    """Binary noise named on the command line is refused as not mail (exit 2), not scanned as clean."""
    d = jsonl(json_many[1])[-1]
    assert d["verdict"] == "error"
    assert d["errors"] == ["not an e-mail message: binary data"]


def test_stdin_clean_exit_0(run_cli, validator):
    code, out, err = run_cli(["scan", "--json", "-"], stdin=CLEAN)
    assert code == 0, err
    (d,) = jsonl(out)
    validator.validate(d)
    assert d["file"] == "-" and d["verdict"] == "clean"
    assert d["auth"]["checked"] is False
    assert {m: r["result"] for m, r in d["auth"]["methods"].items()}["dmarc"] == "not_checked"


def test_authserv_id_option(run_cli, tmp_path):
    raw = (MessageBuilder().auth("dmarc=fail header.from=example.com", authserv="mx.example.org")
           .auth("dmarc=pass header.from=example.com", authserv="edge.example.net").build())
    p = tmp_path / "m.eml"
    p.write_bytes(raw)
    _, out, _ = run_cli(["scan", "--json", "--authserv-id", "mx.example.org", p])
    (d,) = jsonl(out)
    assert d["auth"]["authserv_id"] == "mx.example.org"
    assert d["auth"]["methods"]["dmarc"]["result"] == "fail"


# -- usage errors and other commands ----------------------------------------------------------------


def test_bad_option_exit_2(run_cli, tree):
    code, out, err = run_cli(["scan", "--no-such-option", tree / "clean.eml"])
    assert code == 2
    assert "no-such-option" in err and out == ""


def test_bad_scoring_file_exit_2(run_cli, tree, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[verdict\n", encoding="utf-8")
    code, out, err = run_cli(["scan", "--scoring", bad, tree / "clean.eml"])
    assert code == 2
    assert "cannot load scoring file" in err and "Traceback" not in err


def test_symbols_command(run_cli):
    code, out, err = run_cli(["symbols"])
    assert code == 0, err
    for name in ("TRACKER_PIXEL_HIDDEN", "AUTH_NOT_CHECKED", "CHECK_ERROR", "RECON_BEACON", "LINK_USERINFO"):
        assert name in out
    assert "composite" in out


def test_closed_pipe_exits_quietly_not_as_suspicious(tmp_path):
    """`lurelens scan ... | head -1`: the reader goes away; exit 141, no traceback, never 1."""
    import subprocess
    import sys as _sys
    from pathlib import Path

    lure = Path(__file__).resolve().parents[1] / "examples" / "apt31-style-lure.eml"
    for i in range(40):
        (tmp_path / f"m{i}.eml").write_bytes(lure.read_bytes())
    for args in (["--json"], []):
        p = subprocess.Popen([_sys.executable, "-m", "lurelens.adapters.cli", "scan", *args, str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read().decode()
        assert p.wait(timeout=120) == 141
        assert "Traceback" not in err
