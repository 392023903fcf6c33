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
    assert "Opening it would fetch 2 URLs from 2 hosts" in out and "cdn.example.net" in out
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


def test_missing_file_and_others_still_reported(json_many):
    code, out, _ = json_many
    assert code == 1  # the lure among the inputs decides the exit status, not the missing file
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


# -- inputs through lurelens.sources (issue 15: what a new user hit) ---------------------------------


@pytest.fixture(scope="module")
def lure_forms(tmp_path_factory, apt31_example):
    """The bundled lure as users save it: .msg, gzipped, zipped, with a BOM, as UTF-16, after a blank line."""
    import email
    import email.policy
    import gzip
    import io
    import zipfile

    from msgfile import build_msg

    raw = apt31_example.read_bytes()
    d = tmp_path_factory.mktemp("forms")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].decode()
    html = parsed.get_body(("html",))
    (d / "lure.msg").write_bytes(build_msg(subject=str(parsed["Subject"]), body="see HTML", headers=head + "\r\n\r\n",
                                           html=html.get_content() if html else None))
    (d / "lure.eml.gz").write_bytes(gzip.compress(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("lure.eml", raw)
    (d / "lure.zip").write_bytes(buf.getvalue())
    (d / "bom.eml").write_bytes(b"\xef\xbb\xbf" + raw)
    (d / "utf16.eml").write_bytes(raw.decode("utf-8").encode("utf-16"))
    (d / "blank.eml").write_bytes(b"\r\n" + raw)
    return d


def test_every_saved_form_of_the_lure_is_scanned_as_recon(run_cli, lure_forms):
    names = ["lure.msg", "lure.eml.gz", "lure.zip", "bom.eml", "utf16.eml", "blank.eml"]
    code, out, err = run_cli(["scan", "--json", *[lure_forms / n for n in names]])
    rows = jsonl(out)
    assert [r["verdict"] for r in rows] == ["recon"] * 6, err
    assert [r["file"] for r in rows] == [str(lure_forms / n) for n in names[:2]] + \
        [str(lure_forms / "lure.zip" / "lure.eml")] + [str(lure_forms / n) for n in names[3:]]
    assert code == 1
    assert "UTF-16" in err and "byte-order mark" in err and "Outlook .msg" in err


@pytest.mark.parametrize("content", [b"", "ls"])
def test_empty_file_and_binary_are_errors_never_clean(run_cli, tmp_path, content):
    p = tmp_path / "x.eml"
    p.write_bytes(b"" if content == b"" else open("/bin/ls", "rb").read())
    code, out, err = run_cli(["scan", p])
    assert code == 2 and "Verdict: CLEAN" not in out
    assert "not an e-mail message" in err


def test_mbox_gives_one_verdict_per_message(run_cli, tmp_path, apt31_example):
    raw = apt31_example.read_bytes().replace(b"\r\n", b"\n")
    box = b"".join(b"From sender@example.com Mon Jan  1 00:00:00 2024\n" + m + b"\n"
                   for m in [CLEAN, raw, PIXEL] * 3 for m in [m.replace(b"\r\n", b"\n")])
    (tmp_path / "box.mbox").write_bytes(box)
    code, out, err = run_cli(["scan", "--json", tmp_path / "box.mbox"])
    rows = jsonl(out)
    assert [r["verdict"] for r in rows] == ["clean", "recon", "tracked"] * 3
    assert rows[0]["file"] == f"{tmp_path / 'box.mbox'}@0"
    assert "is an mbox: split into 9 messages" in err and code == 1


def test_walk_skips_fifo_notes_and_housekeeping_and_honours_glob(run_cli, tmp_path):
    import os

    (tmp_path / "a.eml").write_bytes(CLEAN)
    (tmp_path / "SOURCE.md").write_text("# Source\n\nWhere these came from.\n")
    (tmp_path / "list.yml").write_text("- one\n- two\n")
    (tmp_path / "dovecot.index.log").write_bytes(b"\x01\x02\x00\x00" * 10)
    os.mkfifo(tmp_path / "pipe.eml")
    code, out, err = run_cli(["scan", "--json", tmp_path], timeout=60)
    assert [r["file"] for r in jsonl(out)] == [str(tmp_path / "a.eml")] and code == 0
    assert "SOURCE.md: skipped: not mail" in err and "pipe.eml: skipped: not a regular file (FIFO)" in err
    assert "dovecot" not in err
    code, out, err = run_cli(["scan", "--json", "--glob", "*.md", tmp_path], timeout=60)
    assert jsonl(out) == [] and "SOURCE.md" in err


def test_defuse_walk_skips_fifo_and_not_mail(run_cli, tmp_path):
    import os

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / "a.eml").write_bytes(PIXEL)
    (src / "SOURCE.md").write_text("# Source\n\nWhere these came from.\n")
    (src / "dovecot-uidlist").write_text("3 V1 N1\n")
    os.mkfifo(src / "pipe.eml")
    code, _, err = run_cli(["defuse", "-o", f"{out}/", src], timeout=60)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.eml"]
