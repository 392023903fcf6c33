"""The IMAP reader against a real Dovecot started by the test session (tests/dovecot_server.py):
read-only (flags unchanged after a read), UIDVALIDITY:UID locators, UID-window partitions, IMAPS and
STARTTLS with certificate checks, passwords from the environment or .netrc, clear errors."""

from __future__ import annotations

import pickle
import re

import pytest
from conftest import require_component
from dovecot_server import PASSWORD, USER, DovecotServer, DovecotUnavailable, problem

from lurelens.sources import SourceError, display_name, iter_items, open_source
from lurelens.sources.imap import CA_FILE_ENV, PASSWORD_ENV

pytestmark = pytest.mark.services


def lure(n: int) -> bytes:
    return (f"From: desk{n}@news.example.com\r\nTo: analyst@example.org\r\nSubject: story {n}\r\n"
            f"Message-ID: <{n}@news.example.com>\r\n\r\nRead the story {n}.\r\n").encode()


@pytest.fixture(scope="module")
def dovecot():
    require_component("Dovecot IMAP server", problem())
    try:
        server = DovecotServer().start()
    except DovecotUnavailable as exc:
        require_component("Dovecot IMAP server", str(exc))
        raise
    try:
        c = server.client()
        for n in range(1, 8):
            c.append("INBOX", r"(\Seen)" if n % 2 else None, None, lure(n))
        c.create("Archive.2024")  # Maildir++: '.' is this server's hierarchy delimiter
        c.append("Archive.2024", None, None, lure(100))
        c.select("INBOX")
        c.store("3", "+FLAGS", r"(\Flagged)")
        c.logout()
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_env(dovecot, monkeypatch, tmp_path):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv(CA_FILE_ENV, dovecot.ca_file)
    monkeypatch.setenv("HOME", str(tmp_path))  # no stray ~/.netrc
    return dovecot


def flags(server: DovecotServer, folder: str = "INBOX") -> dict[int, str]:
    c = server.client()
    try:
        c.select(folder, readonly=True)
        _typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        out = {}
        for line in data:
            m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)
            out[int(m.group(1))] = " ".join(sorted(m.group(2).decode().split()))
        return out
    finally:
        c.logout()


@pytest.mark.parametrize("tls", [False, True], ids=["imap-starttls", "imaps"])
def test_reads_every_message_read_only(imap_env, tls):
    before = flags(imap_env)
    assert before[2] == "\\Recent" or "\\Seen" not in before[2]  # unread ones exist
    got = list(iter_items([imap_env.url("INBOX", tls=tls)]))
    assert [it.data for it in got] == [lure(n) for n in range(1, 8)]
    assert all(it.error is None for it in got)
    uidvalidity = got[0].locator.split(":")[0]
    assert [it.locator for it in got] == [f"{uidvalidity}:{n}" for n in range(1, 8)]
    assert got[0].source == imap_env.url("INBOX", tls=tls)
    # Nothing changed: unread messages are still unread, flags are as they were (EXAMINE + BODY.PEEK[]).
    after = flags(imap_env)
    assert {u: f.replace("\\Recent", "").strip() for u, f in after.items()} == \
        {u: f.replace("\\Recent", "").strip() for u, f in before.items()}
    assert "\\Seen" not in after[2] and "\\Seen" in after[1] and "\\Flagged" in after[3]


def test_partitions_are_uid_windows_read_by_a_worker_from_a_pickle(imap_env):
    src = open_source(imap_env.url("INBOX"))
    assert src.total() == 7
    parts = list(src.partitions(3))
    assert [p.key for p in parts] == ["uids:1-3", "uids:4-6", "uids:7-9"]
    assert [p.estimated_messages for p in parts] == [3, 3, 1]
    got = [it for p in parts for it in pickle.loads(pickle.dumps(p)).read()]
    assert [it.data for it in got] == [lure(n) for n in range(1, 8)]
    # Unchanged folder -> same keys and fingerprints on the next run.
    again = list(open_source(imap_env.url("INBOX")).partitions(3))
    assert [(p.key, p.fingerprint) for p in again] == [(p.key, p.fingerprint) for p in parts]


def test_sub_folder_and_display_name(imap_env):
    url = imap_env.url("Archive/2024", tls=True)
    (it,) = list(iter_items([url]))
    assert it.data == lure(100)
    assert display_name(it, url) == f"{url}/{it.locator}"


def test_password_from_netrc(dovecot, monkeypatch, tmp_path):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setenv(CA_FILE_ENV, dovecot.ca_file)
    monkeypatch.setenv("HOME", str(tmp_path))
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    assert len(list(iter_items([dovecot.url("INBOX")]))) == 7


def test_explicit_password_travels_hidden_in_partitions(dovecot, monkeypatch, tmp_path):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setenv(CA_FILE_ENV, dovecot.ca_file)
    monkeypatch.setenv("HOME", str(tmp_path))
    parts = list(open_source(dovecot.url("INBOX"), imap_password=PASSWORD).partitions(1000))
    assert PASSWORD not in repr(parts)
    assert len(list(pickle.loads(pickle.dumps(parts[0])).read())) == 7


@pytest.mark.parametrize("case", ["wrong password", "no password", "untrusted certificate", "no folder", "url password"])
def test_errors_are_clear(dovecot, monkeypatch, tmp_path, case):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(CA_FILE_ENV, dovecot.ca_file)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    url, expect = dovecot.url("INBOX", tls=True), None
    if case == "wrong password":
        monkeypatch.setenv(PASSWORD_ENV, "nope")
        expect = "IMAP error"
    elif case == "no password":
        monkeypatch.delenv(PASSWORD_ENV)
        expect = PASSWORD_ENV
    elif case == "untrusted certificate":
        monkeypatch.delenv(CA_FILE_ENV)
        expect = "certificate verify failed"
    elif case == "no folder":
        url, expect = dovecot.url("Nope", tls=True), "no such IMAP folder"
    else:
        url, expect = url.replace(f"{USER}@", f"{USER}:pw@"), "not in the URL"
    with pytest.raises(SourceError, match=re.escape(expect)):
        list(open_source(url).partitions())
    (it,) = list(iter_items([url]))  # the scan/hunt path: one error item, no traceback
    assert it.data is None and expect in it.error


def test_scan_reads_an_imap_folder(imap_env, run_cli):
    import json

    url = imap_env.url("INBOX", tls=True)
    code, out, err = run_cli(["scan", "--json", url])
    rows = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    assert code in (0, 1) and len(rows) == 7 and all(r["verdict"] != "error" for r in rows), err
    assert rows[0]["file"].startswith(f"{url}/") and rows[0]["file"].endswith(":1")
    assert "\\Seen" not in flags(imap_env)[2]
