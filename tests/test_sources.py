"""Archive readers (lurelens.sources): files, directories, mbox (plain and compressed), Maildir, zip,
Outlook .msg, sniffing of odd bytes, and partitions. Every fixture is built by the tests themselves."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import pickle
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lurelens.sources import (
    DirSource,
    FileSource,
    Item,
    MaildirSource,
    SourceError,
    display_name,
    iter_items,
    open_source,
    sniff,
)
from lurelens.sources.mbox import iter_boundaries, split_mbox_bytes

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def msg(n: int, body: str = "hello") -> bytes:
    return (f"From: sender{n}@example.com\nTo: you@example.org\nSubject: message {n}\n"
            f"Message-ID: <{n}@example.com>\n\n{body}\n").encode()


def envelope(n: int) -> bytes:
    return f"From sender{n}@example.com Mon Jan  1 00:00:{n % 60:02d} 2024\n".encode()


def mbox(*messages: bytes) -> bytes:
    """An mboxrd file as a writer makes it: envelope line, body with From quoted, blank line after."""
    out = b""
    for m in messages:
        quoted = b"\n".join((b">" + ln) if ln.lstrip(b">").startswith(b"From ") else ln for ln in m.split(b"\n"))
        out += envelope(len(out)) + quoted + (b"" if quoted.endswith(b"\n") else b"\n") + b"\n"
    return out


def items(*specs, **kw) -> list[Item]:
    return list(iter_items([str(s) for s in specs], **kw))


def with_timeout(fn, seconds: float = 20):
    """Run fn in a thread; fail (instead of hanging the suite) if it does not return in time."""
    result: dict = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"did not return within {seconds}s (hung)"
    if "error" in result:
        raise result["error"]
    return result["value"]


# -- files and directories ---------------------------------------------------------------------------


def test_one_eml_file_identity(tmp_path):
    p = tmp_path / "a.eml"
    p.write_bytes(msg(1))
    (it,) = items(p)
    assert it.source == str(p) and it.locator == str(p)
    assert it.data == msg(1) and it.error is None
    assert it.sha256 == hashlib.sha256(msg(1)).hexdigest()
    assert display_name(it, "a.eml") == "a.eml"


def test_directory_walk_in_order_skips_hidden_housekeeping_and_not_mail(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "b.eml").write_bytes(msg(2))
    (tmp_path / "a.eml").write_bytes(msg(1))
    (tmp_path / "sub" / "c.eml").write_bytes(msg(3))
    (tmp_path / "sub" / "deeper" / "d.eml").write_bytes(msg(4))
    (tmp_path / ".hidden.eml").write_bytes(msg(9))
    (tmp_path / "dovecot.index.log").write_bytes(b"\x01\x02\x00\x00" * 100)
    (tmp_path / "dovecot-uidlist").write_bytes(b"3 V1700000000 N5\n")
    (tmp_path / "SOURCE.md").write_text("# Where these came from\n\nA list of files.\n")
    (tmp_path / "config.yml").write_text("- name: x\n  value: 1\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    got = items(tmp_path)
    mail = [it for it in got if it.data is not None]
    assert [Path(it.locator).name for it in mail] == ["a.eml", "b.eml", "c.eml", "d.eml"]
    assert all(it.source == str(tmp_path) for it in got)
    skipped = {Path(it.locator).name: it.note for it in got if it.skipped}
    assert set(skipped) == {"SOURCE.md", "config.yml", "logo.png"}
    assert skipped["logo.png"] == "skipped: not mail (PNG image)"
    assert not any(it.error for it in got)
    assert display_name(mail[2], "dir") == os.path.join("dir", "sub", "c.eml")


def test_glob_limits_the_walk(tmp_path):
    (tmp_path / "a.eml").write_bytes(msg(1))
    (tmp_path / "b.txt").write_bytes(msg(2))
    got = items(tmp_path, glob="*.eml")
    assert [Path(it.locator).name for it in got] == ["a.eml"]


def test_fifo_in_a_directory_is_skipped_without_hanging(tmp_path):
    (tmp_path / "a.eml").write_bytes(msg(1))
    os.mkfifo(tmp_path / "pipe.eml")  # nobody ever writes to it
    (tmp_path / "z.eml").write_bytes(msg(2))
    got = with_timeout(lambda: items(tmp_path))
    assert [it.data for it in got if it.data] == [msg(1), msg(2)]
    (fifo,) = [it for it in got if it.locator.endswith("pipe.eml")]
    assert fifo.skipped and fifo.note == "skipped: not a regular file (FIFO)"


def test_fifo_named_explicitly_is_read_as_a_stream(tmp_path):
    """bash's <(cat x.eml) is a pipe the user named: read it (the writer is there)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as fh:
            fh.write(msg(7))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    (it,) = with_timeout(lambda: items(fifo))
    assert it.data == msg(7)


def test_missing_path_is_an_error_item_and_open_source_raises(tmp_path):
    missing = tmp_path / "nope.eml"
    (it,) = items(missing)
    assert it.data is None and it.error == "no such file or directory"
    assert display_name(it, str(missing)) == str(missing)
    with pytest.raises(SourceError):
        open_source(str(missing))


@pytest.mark.parametrize("content, error", [
    (b"", "not an e-mail message: empty file"),
    (Path("/bin/ls").read_bytes() if Path("/bin/ls").exists() else b"\x7fELF\x02\x01", "not an e-mail message: ELF executable"),
    (b"just some words\nand more\n", "not an e-mail message: no header field at the start"),
    (b"%PDF-1.7\n...", "not an e-mail message: PDF document"),
])
def test_named_file_that_is_not_mail_is_an_error_not_a_skip(tmp_path, content, error):
    p = tmp_path / "x.eml"
    p.write_bytes(content)
    (it,) = items(p)
    assert it.data is None and it.error == error


def test_bin_ls_by_its_own_path():
    (it,) = items("/bin/ls")
    assert it.error == "not an e-mail message: ELF executable"


# -- sniffing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrap, note_part", [
    (lambda m: b"\xef\xbb\xbf" + m, "byte-order mark"),
    (lambda m: "\ufeff".encode("utf-16-le") + m.decode().encode("utf-16-le"), "UTF-16"),
    (lambda m: m.decode().encode("utf-16"), "UTF-16"),
    (lambda m: m.decode().encode("utf-16-le"), "UTF-16"),  # no BOM
    (lambda m: m.decode().encode("utf-16-be"), "UTF-16"),
    (lambda m: b"\n" + m, "1 leading blank line removed"),
    (lambda m: b"\r\n \r\n\t\n" + m, "3 leading blank lines removed"),
    (lambda m: gzip.compress(m), "gzip"),
    (lambda m: lzma.compress(m), "xz"),
    (lambda m: _zip({"lure.eml": m}), "zip"),
])
def test_sniff_normalises(wrap, note_part):
    data, err, note = sniff(wrap(msg(1)))
    assert err is None and data == msg(1)
    assert note_part in note


def test_sniff_zstd():
    zstandard = pytest.importorskip("zstandard")
    data, err, note = sniff(zstandard.ZstdCompressor().compress(msg(1)))
    assert err is None and data == msg(1) and "zstd" in note


@pytest.mark.parametrize("data, why", [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
    (b"name: lurelens\nversion: 1\n", "no mail header field"),
    (b"\x00\x01\x02garbage" * 20, "binary data"),
    ("zip2", "zip archive with 2 members"),
])
def test_sniff_refuses_what_is_not_mail(data, why):
    if data == "zip2":
        data = _zip({"a.eml": msg(1), "b.eml": msg(2)})
    out, err, _ = sniff(data)
    assert out is None and err.startswith("not an e-mail message") and why in err


def test_sniff_gzip_bomb_is_refused_not_materialised():
    bomb = gzip.compress(b"From: a@b\n\n" + b"\0" * (40 << 20))
    out, err, _ = sniff(bomb, max_bytes=1 << 20)
    assert out is None and "larger than" in err


@FUZZ
@given(st.binary(max_size=4096))
def test_sniff_never_raises(data):
    out, err, _note = sniff(data)
    assert (out is None) != (err is None)


@FUZZ
@given(st.lists(st.sampled_from([b"From a Mon Jan  1 00:00:00 2024\n", b"From x\n", b">From y\n", b"\n", b"\r\n",
                                 b"Subject: s\n", b"body\n", b"\x00\xff", b"From: a@b\n", b"x"]), max_size=40))
def test_mbox_split_never_raises_and_keeps_every_byte_offset(parts):
    data = b"".join(parts)
    got = list(split_mbox_bytes("s", data))
    offsets = [int(it.locator[1:]) for it in got]
    assert offsets == sorted(set(offsets))
    assert all((it.data is None) != (it.error is None) for it in got)


@FUZZ
@given(st.lists(st.sampled_from([b"From a Mon Jan  1 00:00:00 2024\n", b"From x\n", b"\n", b"\r\n", b"Subject: s\n",
                                 b"From: a@b\n", b"x" * 70 + b"\n", b"From "]), min_size=1, max_size=60),
       st.integers(1, 300))
def test_chunked_file_index_agrees_with_the_in_memory_split(tmp_path_factory, parts, chunk):
    """The streaming index (read in chunks of any size) finds the same boundaries as one regex pass."""
    import io

    from lurelens.sources import mbox as mbox_mod

    data = b"From first Mon Jan  1 00:00:00 2024\n" + b"".join(parts)
    old = mbox_mod._CHUNK
    mbox_mod._CHUNK = chunk
    try:
        got = list(mbox_mod.scan_boundaries(io.BytesIO(data), 0, len(data)))
        streamed = list(mbox_mod.iter_mbox_stream("s", io.BytesIO(data)))
    finally:
        mbox_mod._CHUNK = old
    assert got == list(iter_boundaries(data))
    # ... as the chunked splitter of compressed streams does, with the same messages ...
    assert got == [int(it.locator[1:]) for it in streamed]
    assert [(it.data, it.error) for it in streamed] == [(it.data, it.error) for it in split_mbox_bytes("s", data)]
    # ... and as the rule reads line by line (an independent oracle).
    oracle, off, prev_blank = [], 0, True
    for line in io.BytesIO(data):
        if line.startswith(b"From ") and (prev_blank or mbox_mod._STRICT.match(line)):
            oracle.append(off)
        prev_blank, off = line in (b"\n", b"\r\n"), off + len(line)
    assert got == oracle


def _zip(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- mbox --------------------------------------------------------------------------------------------


def test_mbox_is_split_with_from_quoting(tmp_path):
    m1 = msg(1, "Dear reader,\nFrom the desk of the editor: hello.\n>From quoted already\n")
    m2 = msg(2, "From here on, a body line after a blank line.")
    m3 = msg(3)
    p = tmp_path / "box.mbox"
    p.write_bytes(mbox(m1, m2, m3))
    got = items(p)
    assert [it.data for it in got] == [m1, m2, m3]
    assert [it.note for it in got] == ["mbox: message 1 of 3", "mbox: message 2 of 3", "mbox: message 3 of 3"]
    assert got[0].locator == "@0" and all(it.locator.startswith("@") for it in got)
    raw = p.read_bytes()
    assert all(raw[int(it.locator[1:]):].startswith(b"From ") for it in got)
    assert display_name(got[1], "box.mbox") == f"box.mbox{got[1].locator}"


def test_from_inside_a_body_without_blank_line_is_not_a_boundary(tmp_path):
    # mboxo writers that did not quote: "From " after a non-blank line stays body text.
    raw = envelope(1) + b"Subject: one\nFrom: a@b\n\nline\nFrom me to you: hi\n\n" + envelope(2) + b"Subject: two\nFrom: c@d\n\nx\n"
    p = tmp_path / "m"
    p.write_bytes(raw)
    got = items(p)
    assert len(got) == 2 and b"From me to you: hi" in got[0].data


def test_torn_last_message_is_an_error_item_not_lost(tmp_path):
    p = tmp_path / "box.mbox"
    p.write_bytes(mbox(msg(1), msg(2)) + envelope(3) + b"From: x@y\nSubject: cut")
    got = items(p)
    assert len(got) == 3
    assert got[0].data == msg(1) and got[1].data == msg(2)
    assert got[2].data is None and got[2].error.startswith("torn last message")
    assert got[2].note == "mbox: message 3 of 3"


@pytest.mark.parametrize("compress, suffix", [(gzip.compress, ".gz"), (lzma.compress, ".xz"), ("zstd", ".zst")])
def test_compressed_mbox_is_streamed_and_split(tmp_path, compress, suffix):
    if compress == "zstd":
        zstandard = pytest.importorskip("zstandard")
        compress = zstandard.ZstdCompressor().compress
    messages = [msg(i, f"body {i}\nFrom inside\n") for i in range(5)]
    p = tmp_path / f"box.mbox{suffix}"
    p.write_bytes(compress(mbox(*messages)))
    src = open_source(str(p))
    parts = list(src.partitions(2))
    assert len(parts) == 1  # a compressed file cannot be cut into byte ranges cheaply
    got = list(parts[0].read())
    assert [it.data for it in got] == messages
    assert all(it.error is None for it in got)


def test_mbox_partitions_are_byte_ranges_of_about_target_messages(tmp_path):
    messages = [msg(i) for i in range(25)]
    p = tmp_path / "big.mbox"
    p.write_bytes(mbox(*messages))
    parts = list(open_source(str(p)).partitions(10))
    assert [pt.estimated_messages for pt in parts] == [10, 10, 5]
    assert parts[0].key.startswith("bytes:0-")
    ends = [tuple(map(int, pt.key[6:].split("-"))) for pt in parts]
    assert ends[0][1] == ends[1][0] and ends[-1][1] == p.stat().st_size
    # A worker reads a partition from its pickled descriptor alone.
    got = [it for pt in parts for it in pickle.loads(pickle.dumps(pt)).read()]
    assert [it.data for it in got] == messages
    # Appending mail changes only the last partition; the others keep key and fingerprint.
    with open(p, "ab") as fh:
        fh.write(mbox(msg(99)))
    again = list(open_source(str(p)).partitions(10))
    assert [(a.key, a.fingerprint) for a in again[:2]] == [(b.key, b.fingerprint) for b in parts[:2]]
    assert again[2].key != parts[2].key and again[2].estimated_messages == 6


def test_boundaries_ignore_unquoted_from_in_body():
    data = envelope(1) + b"Subject: a\n\nline\nFrom not-a-boundary\n"
    assert list(iter_boundaries(data)) == [0]


# -- Maildir -----------------------------------------------------------------------------------------


def _maildir(root: Path, messages: dict[str, bytes]) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name, data in messages.items():
        (root / name).write_bytes(data)


def test_maildir_with_dovecot_layout_and_maildirplusplus_folders(tmp_path):
    md = tmp_path / "Maildir"
    _maildir(md, {"cur/1700000001.M1P1.host,S=100,W=104:2,S": msg(1),
                  "new/1700000002.M2P1.host,S=100,W=104": msg(2),
                  "tmp/1700000003.M3P1.host": msg(3)})  # tmp: delivery in progress, never read
    _maildir(md / ".Sent", {"cur/1700000004.M4P1.host:2,RS": msg(4)})
    _maildir(md / ".Sent.2023", {"new/1700000005.M5P1.host": msg(5)})
    for name in ("dovecot.index", "dovecot.index.log", "dovecot.index.cache", "dovecot-uidlist",
                 "dovecot-keywords", "subscriptions"):
        (md / name).write_bytes(b"\x01\x00binary index" if "index" in name else b"1 V1 N1\n")
    (md / ".Sent" / "maildirfolder").write_bytes(b"")
    src = open_source(str(md))
    assert isinstance(src, MaildirSource) and src.total() == 4
    got = items(md)
    assert [it.data for it in got] == [msg(1), msg(2), msg(4), msg(5)]
    assert [it.locator for it in got] == ["1700000001.M1P1.host,S=100,W=104", "1700000002.M2P1.host,S=100,W=104",
                                          ".Sent/1700000004.M4P1.host", ".Sent.2023/1700000005.M5P1.host"]
    assert not any(it.error or it.note for it in got)


def test_maildir_key_survives_a_move_from_new_to_cur(tmp_path):
    md = tmp_path / "md"
    _maildir(md, {"new/123.M1.host": msg(1)})
    (part,) = open_source(str(md)).partitions()
    os.rename(md / "new" / "123.M1.host", md / "cur" / "123.M1.host:2,S")  # a client read it meanwhile
    (it,) = list(part.read())
    assert it.locator == "123.M1.host" and it.data == msg(1)


def test_maildir_inside_a_walked_directory(tmp_path):
    (tmp_path / "loose.eml").write_bytes(msg(9))
    _maildir(tmp_path / "user" / "Maildir", {"cur/1.M1.h:2,": msg(1)})
    got = items(tmp_path)
    assert [it.data for it in got] == [msg(9), msg(1)]
    assert got[1].locator == f"{tmp_path}/user/Maildir/1.M1.h"


# -- zip, .msg ----------------------------------------------------------------------------------------


def test_zip_of_messages_and_an_mbox(tmp_path):
    p = tmp_path / "export.zip"
    p.write_bytes(_zip({"one.eml": msg(1), "README.txt": b"exported by a tool\n", "box.mbox": mbox(msg(2), msg(3))}))
    got = items(p)
    assert [(it.locator, it.data) for it in got if it.data] == [("one.eml", msg(1)), ("box.mbox@0", msg(2)),
                                                               (f"box.mbox@{len(mbox(msg(2)))}", msg(3))]
    (readme,) = [it for it in got if it.locator == "README.txt"]
    assert readme.skipped
    assert display_name(got[0], "export.zip") == "export.zip/one.eml"


def test_outlook_msg_keeps_transport_headers_and_bodies(tmp_path):
    from msgfile import build_msg

    headers = ("Received: from mx.news.example.net by mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
               "Authentication-Results: mail.example.org; spf=fail; dmarc=fail\r\n"
               "From: Desk <desk@news.example.com>\r\nTo: analyst@example.org\r\nSubject: Story\r\n"
               "Message-ID: <42@news.example.com>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/alternative;\r\n\tboundary=\"old\"\r\n\r\n")
    html = '<p>Read it<img src="https://t.example.net/o.gif?e=YW5hbHlzdEBleGFtcGxlLm9yZw" width=1 height=1></p>'
    p = tmp_path / "lure.msg"
    p.write_bytes(build_msg(subject="Story", body="Read it" * 700, html=html, headers=headers,
                            attachments=(("notes.txt", b"n" * 10, "text/plain"),)))
    (it,) = items(p)
    assert it.error is None and "Outlook .msg" in it.note
    import email
    import email.policy

    m = email.message_from_bytes(it.data, policy=email.policy.default)
    assert m["Authentication-Results"] == "mail.example.org; spf=fail; dmarc=fail"
    assert m["Received"].startswith("from mx.news.example.net") and m["Message-ID"] == "<42@news.example.com>"
    assert "old" not in m["Content-Type"]  # the body was rebuilt; the stale boundary is gone
    assert m.get_body(("html",)).get_content().rstrip() == html
    assert m.get_body(("plain",)).get_content().startswith("Read itRead it")
    assert [a.get_filename() for a in m.iter_attachments()] == ["notes.txt"]


def test_outlook_msg_reads_to_the_same_bytes_every_time(tmp_path):
    # A resumed hunt finds a message by (source, locator, sha256): a random MIME boundary in the
    # rebuilt body would make every read a new message and store it twice.
    from msgfile import build_msg

    p = _write(tmp_path / "a.msg", build_msg(subject="s", body="b", html="<p>h</p>",
                                             attachments=(("n.txt", b"n", "text/plain"),)))
    first, second = items(p)[0].data, items(p)[0].data
    assert first == second and b"multipart/mixed" in first


def test_outlook_msg_without_transport_headers_says_so(tmp_path):
    from msgfile import build_msg

    (it,) = items(_write(tmp_path / "draft.msg", build_msg(subject="Draft", body="b", sender="Me <me@example.org>",
                                                            recipients=("x@example.org",))))
    assert b"X-Lurelens-Converted: from Outlook .msg without transport headers" in it.data
    assert b"To: x@example.org" in it.data and b"Subject: Draft" in it.data


def test_corrupt_msg_is_an_error(tmp_path):
    from msgfile import build_msg

    data = build_msg(subject="s", body="b")
    (it,) = items(_write(tmp_path / "bad.msg", data[:700]))
    assert it.data is None and it.error.startswith("unreadable: corrupt Outlook .msg")


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


# -- stdin list ----------------------------------------------------------------------------------------


def test_list_of_paths_on_stdin(tmp_path):
    import io

    from lurelens.sources import PathListSource

    (tmp_path / "a.eml").write_bytes(msg(1))
    (tmp_path / "b.mbox").write_bytes(mbox(msg(2), msg(3)))
    listing = f"{tmp_path / 'a.eml'}\n{tmp_path / 'b.mbox'}\n{tmp_path / 'gone.eml'}\n\n".encode()
    src = PathListSource("-", stream=io.BytesIO(listing))
    got = [it for p in src.partitions() for it in p.read()]
    assert [it.data for it in got[:3]] == [msg(1), msg(2), msg(3)]
    assert got[3].error == "no such file or directory"
    assert got[0].source == str(tmp_path / "a.eml")


def test_glob_with_a_slash_matches_the_path_below_the_walked_directory(tmp_path):
    (tmp_path / "inbox" / "2024").mkdir(parents=True)
    (tmp_path / "inbox" / "2024" / "a.eml").write_bytes(msg(1))
    (tmp_path / "inbox" / "b.eml").write_bytes(msg(2))
    got = items(tmp_path, glob="inbox/2024/*.eml")
    assert [it.data for it in got] == [msg(1)]


def _same_items(a: list[Item], b: list[Item]) -> None:
    assert [(i.source, i.locator, i.data, i.error) for i in a] == [(i.source, i.locator, i.data, i.error) for i in b]


@pytest.mark.parametrize("n", [1, 7, 8, 9, 25, 64])
def test_slices_of_a_partition_read_exactly_its_items(tmp_path, n):
    """A hunt's smaller tasks: an mbox partition's slices (cut where the listing recorded it) and a
    directory partition's slices give the partition's items, in order, with the same key."""
    messages = [msg(i, "From the start\n" * (i % 3)) for i in range(n)]
    box = tmp_path / "m.mbox"
    box.write_bytes(mbox(*messages) + b"From x Thu Jan  1 00:00:00 2026\nSubject: torn")  # a torn last one
    d = tmp_path / "dir"
    d.mkdir()
    for i, m in enumerate(messages):
        (d / f"{i:03d}.eml").write_bytes(m)
    for spec, target in ((box, 10), (box, 1000), (d, 10), (d, 1000)):
        parts = list(open_source(str(spec)).partitions(target))
        assert parts
        for part in parts:
            cut = pickle.loads(pickle.dumps(part)).slices()
            assert {(c.key, c.fingerprint, c.source) for c in cut} == {(part.key, part.fingerprint, part.source)}
            assert sum(c.estimated_messages for c in cut) == part.estimated_messages
            assert len(cut) <= 8
            if target == 10:  # slices of about target/8 messages
                assert len(cut) > 1 or part.estimated_messages < 4
            whole = list(part.read())
            _same_items([it for c in cut for it in c.read()], whole)
            assert [it.note for c in cut for it in c.read()] == [it.note for it in whole]
    assert items(box)[-1].error.startswith("torn last message")


def test_an_mbox_is_listed_as_it_is_indexed(tmp_path, monkeypatch):
    """The first partition of a large mbox is yielded before the rest of the file is read."""
    from lurelens.sources import mbox as mbox_mod

    p = tmp_path / "big.mbox"
    p.write_bytes(mbox(*[msg(i, "x" * 2000) for i in range(400)]))
    monkeypatch.setattr(mbox_mod, "_CHUNK", 4096)
    reads = []
    real = mbox_mod.scan_boundaries

    def counting(fh, start, end):
        for off in real(fh, start, end):
            reads.append(fh.tell())
            yield off

    monkeypatch.setattr(mbox_mod, "scan_boundaries", counting)
    parts = open_source(str(p)).partitions(10)
    first = next(parts)
    assert first.estimated_messages == 10 and reads[-1] < p.stat().st_size // 4
    rest = list(parts)
    assert sum(pt.estimated_messages for pt in [first, *rest]) == 400


def test_total_of_an_mbox_then_partitions_index_it_once(tmp_path):
    p = tmp_path / "box"
    p.write_bytes(mbox(*[msg(i) for i in range(7)]))
    src = open_source(str(p))
    assert isinstance(src, FileSource) and src.total() == 7
    assert [pt.estimated_messages for pt in src.partitions()] == [7]
    assert isinstance(open_source(str(tmp_path)), DirSource)


def test_mbox_with_crlf_line_ends(tmp_path):
    m1, m2 = (msg(i).replace(b"\n", b"\r\n") for i in (1, 2))
    raw = envelope(1).replace(b"\n", b"\r\n") + m1 + b"\r\n" + envelope(2).replace(b"\n", b"\r\n") + m2 + b"\r\n"
    p = tmp_path / "crlf.mbox"
    p.write_bytes(raw)
    assert [it.data for it in items(p)] == [m1, m2]


def test_partition_keys_in_a_directory_are_unique_and_stable(tmp_path, monkeypatch):
    from lurelens.sources import files

    monkeypatch.setattr(files, "_PEEK_ABOVE", 10)  # every mbox gets its own byte-range partitions
    for name in ("a", "b"):
        (tmp_path / f"{name}.mbox").write_bytes(mbox(msg(1), msg(2), msg(3)))
        _maildir(tmp_path / f"{name}-md", {"cur/1.M1.h:2,": msg(1)})
    (tmp_path / "loose.eml").write_bytes(msg(4))
    parts = list(open_source(str(tmp_path)).partitions(2))
    keys = [p.key for p in parts]
    assert len(keys) == len(set(keys)) == 7  # 2 per mbox, 1 per Maildir, 1 batch of loose files
    assert [(p.key, p.fingerprint) for p in open_source(str(tmp_path)).partitions(2)] == \
        [(p.key, p.fingerprint) for p in parts]
    assert sum(len(list(p.read())) for p in parts) == 3 + 3 + 1 + 1 + 1


_MAGIC_PREFIXES = [b"", b"From ", b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd",
                   b"BZh9", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf", b"\xff\xfe", b"!BDN"]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_MAGIC_PREFIXES), st.binary(max_size=2048),
       st.sampled_from(["x.eml", "x.mbox.gz", "x.zip", "x.msg", "x.zst", "x.xz"]))
def test_any_file_bytes_give_items_never_a_traceback(tmp_path_factory, prefix, body, name):
    """Corrupt archives of every kind (truncated gzip, broken zip, fake .msg...) are error items."""
    d = tmp_path_factory.mktemp("fuzz")
    (d / name).write_bytes(prefix + body)
    for spec in (d / name, d):  # named, and found in a walk
        got = items(spec)
        assert got and all(isinstance(it, Item) for it in got)
        assert all(it.data is None or (it.error is None and it.data) for it in got)


def test_truncated_gzip_mbox_keeps_what_was_read_and_reports_the_rest(tmp_path):
    data = gzip.compress(mbox(*[msg(i, "x" * 2000) for i in range(20)]))
    p = tmp_path / "cut.mbox.gz"
    p.write_bytes(data[: len(data) // 2])
    got = items(p)
    assert [it.data for it in got[:-1]] == [msg(i, "x" * 2000) for i in range(len(got) - 1)]
    assert got[-1].data is None and "corrupt gzip" in got[-1].error


def test_stream_drops_an_oversized_message_and_goes_on(monkeypatch):
    import io

    from lurelens.sources import mbox as mbox_mod

    monkeypatch.setattr(mbox_mod, "MAX_MESSAGE_BYTES", 1000)
    monkeypatch.setattr(mbox_mod, "_CHUNK", 300)
    data = mbox(msg(1), msg(2, "y" * 5000), msg(3))
    got = list(mbox_mod.iter_mbox_stream("s", io.BytesIO(data)))
    assert [it.data for it in got] == [msg(1), None, msg(3)]
    assert got[1].error == "unreadable: message larger than 1000 bytes"
    assert got[1].locator == f"@{len(mbox(msg(1)))}"
