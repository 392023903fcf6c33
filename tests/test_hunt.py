"""``lurelens hunt``, ``hits`` and ``show`` end to end: local worker processes, resume (unchanged
partitions skipped, appended messages picked up, ``kill -9`` then the same command), error rows,
verdicts identical to a direct scan, and a real Dask cluster (scheduler and two workers started
here on loopback) that loses a worker mid-hunt."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lurelens.testing import MessageBuilder

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")

from lurelens.store import Store  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def messages(n: int, seed: int = 0) -> list[bytes]:
    """A mailbox-like mix built in code: mostly plain mail and newsletters, some beacon lures."""
    out = []
    for i in range(n):
        k = (i * 7 + seed) % 10
        b = MessageBuilder().subject(f"message {seed}-{i}").header("Message-ID", f"<m{seed}.{i}@example.com>")
        if k < 6:
            b.text(f"Hello, notes for meeting {i}.\nRegards")
        elif k < 8:
            b.header("From", "News <news@example.com>").html(
                f'<p>Weekly {i} <a href="https://example.com/a/{i}">read</a></p>'
                '<img src="https://example.com/logo.png" width="120" height="40">')
        else:
            b.header("From", f'"Reuters Desk" <desk{i}@example.net>').header("Reply-To", "desk@example.org").html(
                f'<p>Comment on story {i}? <a href="https://www.reuters.com/world/{i}">story</a></p>'
                f'<img src="https://cdn.example.net/p/{i}.gif" width="1" height="1" style="display:none">')
        # LF line ends, as mbox and Maildir files on Unix hold them, so the bytes read back are these.
        out.append(b.build().replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n")
    return out


def write_mbox(path: Path, msgs: list[bytes], mode: str = "wb") -> None:
    with open(path, mode) as fh:
        for raw in msgs:
            fh.write(b"From sender@example.com Tue Nov 10 08:00:00 2026\n")
            assert b"\nFrom " not in raw
            fh.write(raw + b"\n")


def write_maildir(path: Path, msgs: list[bytes]) -> None:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(msgs):
        (path / "cur" / f"{1700000000 + i}.M{i}P1.host:2,S").write_bytes(raw)


def hunt_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "lurelens.adapters.cli", "hunt", *map(str, args)]


def run(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))


def hunt_json(*args) -> dict:
    proc = run(hunt_cmd(*args, "--json"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def stored(db: str) -> list[dict]:
    with Store(db).migrate() as store:
        return store.table("messages")


def assert_each_once(db: str, msgs: list[bytes]) -> list[dict]:
    rows = stored(db)
    assert sorted(r["sha256"] for r in rows) == sorted(hashlib.sha256(m).hexdigest() for m in msgs)
    assert len({(r["source"], r["locator"]) for r in rows}) == len(rows)
    return rows


def test_hunt_mbox_stores_every_message_with_the_scanner_verdict(tmp_path, scanner):
    msgs = messages(120)
    write_mbox(tmp_path / "a.mbox", msgs)
    db = str(tmp_path / "h.db")
    s = hunt_json(tmp_path / "a.mbox", "--db", db, "-j", "2", "--partition-size", "25")
    assert (s["stored"], s["errors"], s["already_stored"], s["items_read"]) == (120, 0, 0, 120)
    assert s["partitions_scanned"] == 5 and sum(s["verdicts"].values()) == 120
    rows = assert_each_once(db, msgs)
    by_sha = {r["sha256"]: r for r in rows}
    for raw in msgs:
        v = scanner.scan(raw)
        r = by_sha[hashlib.sha256(raw).hexdigest()]
        assert (r["verdict"], r["score"]) == (v.label, v.score)
        assert [f["symbol"] for f in r["report"]["findings"]] == [f.symbol for f in v.findings]
    assert {r["verdict"] for r in rows} >= {"clean", "recon"} or len({r["verdict"] for r in rows}) >= 2


def test_rerun_skips_unchanged_partitions_and_picks_up_appended_messages(tmp_path):
    first, more = messages(60), messages(30, seed=1)
    mbox = tmp_path / "a.mbox"
    write_mbox(mbox, first)
    db = str(tmp_path / "h.db")
    assert hunt_json(mbox, "--db", db, "-j", "1", "--partition-size", "20")["stored"] == 60
    again = hunt_json(mbox, "--db", db, "-j", "1", "--partition-size", "20")
    assert (again["stored"], again["items_read"], again["partitions_scanned"]) == (0, 0, 0)
    assert again["partitions_unchanged"] == 3 and again["messages_in_unchanged"] == 60
    write_mbox(mbox, more, mode="ab")
    after = hunt_json(mbox, "--db", db, "-j", "1", "--partition-size", "20")
    assert after["stored"] == 30 and after["partitions_unchanged"] >= 2
    assert_each_once(db, first + more)
    with Store(db).migrate() as store:
        assert [r["state"] for r in store.runs()] == ["done", "done", "done"]


def test_unreadable_items_are_error_rows_and_the_hunt_goes_on(tmp_path):
    d = tmp_path / "mail"
    d.mkdir()
    (d / "ok.eml").write_bytes(messages(1)[0])
    (d / "gone.eml").symlink_to(tmp_path / "nowhere.eml")
    (d / "odd.eml").write_bytes(b"X-Only: \xff\xfe\n\nnot much of a message\n")  # a header, no From: a verdict
    (d / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # not mail: skipped, counted
    db = str(tmp_path / "h.db")
    s = hunt_json(d, "--db", db, "-j", "1")
    assert (s["errors"], s["stored"], s["skipped"]) == (1, 3, 1)  # photo.png: not mail, skipped
    rows = {Path(r["locator"]).name: r for r in stored(db)}
    assert rows["gone.eml"]["verdict"] == "error" and rows["gone.eml"]["error"]
    assert rows["odd.eml"]["verdict"] != "error" and "photo.png" not in rows
    proc = run([sys.executable, "-m", "lurelens.adapters.cli", "hits", "--db", db, "--verdict", "error", "--json"])
    (hit,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert hit["verdict"] == "error" and hit["locator"].endswith("gone.eml")


def test_hits_and_show(tmp_path):
    msgs = messages(20)
    write_maildir(tmp_path / "Maildir", msgs)
    db = str(tmp_path / "h.db")
    hunt_json(tmp_path / "Maildir", "--db", db, "-j", "1")
    cli = [sys.executable, "-m", "lurelens.adapters.cli"]
    proc = run([*cli, "hits", "--db", db, "--json"])
    hits = [json.loads(line) for line in proc.stdout.splitlines()]
    assert hits and all(h["verdict"] in ("suspicious", "phishing", "recon") for h in hits)
    assert all({"id", "source", "locator", "findings", "sender"} <= set(h) for h in hits)
    everything = [json.loads(line) for line in run([*cli, "hits", "--db", db, "--all", "--json"]).stdout.splitlines()]
    assert len(everything) == 20
    shown = run([*cli, "show", str(hits[0]["id"]), "--db", db])
    assert shown.returncode == 1  # suspicious or worse, as scan
    assert hits[0]["sender"]["subject"] in shown.stdout and "Findings" in shown.stdout
    assert run([*cli, "show", "999999", "--db", db]).returncode == 2
    assert run([*cli, "hits", "--db", str(tmp_path / "none.db")]).returncode == 2
    text = run([*cli, "hits", "--db", db]).stdout
    assert len(text.splitlines()) == len(hits)


@pytest.mark.services
def test_hunt_into_postgresql(tmp_path, postgres_server):
    msgs = messages(40)
    write_mbox(tmp_path / "a.mbox", msgs)
    url = postgres_server()
    s = hunt_json(tmp_path / "a.mbox", "--db", url, "-j", "2", "--partition-size", "10")
    assert s["stored"] == 40
    assert hunt_json(tmp_path / "a.mbox", "--db", url, "-j", "2", "--partition-size", "10")["stored"] == 0
    assert_each_once(url, msgs)


def _wait_for(pred, timeout: float, what: str, every: float = 0.2) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _count(db: str) -> int:
    try:
        with Store(db) as store:
            return store.count() if store.revision() else 0
    except Exception:  # noqa: BLE001 - the database may not exist yet
        return 0


def _partitions_done(db: str) -> int:
    try:
        with Store(db) as store, store.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM partitions WHERE state = 'done'").scalar() or 0
    except Exception:  # noqa: BLE001 - the database or its tables may not exist yet
        return 0


def _interrupt_a_hunt(tmp_path, msgs: list[bytes], sig: int) -> tuple[str, subprocess.Popen, bytes]:
    """Start a -j 2 hunt of ``msgs`` (a Maildir) in its own process group, send ``sig`` to the whole
    group (the driver, the fork server, the workers) once a partition is marked done (so the re-run
    has one to pass over; polled often: the whole hunt takes a couple of seconds once its workers
    are up), and return once every process of it is gone: (db, the process, its stderr)."""
    write_maildir(tmp_path / "Maildir", msgs)
    db = str(tmp_path / "h.db")
    cmd = hunt_cmd(tmp_path / "Maildir", "--db", db, "-j", "2", "--partition-size", "100")
    proc = subprocess.Popen(cmd, cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait_for(lambda: _partitions_done(db) >= 1 or proc.poll() is not None, 180, "a partition done", every=0.02)
        assert proc.poll() is None, "the hunt ended before it could be stopped"
        os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        # The workers too (children of the fork server, not of the driver): a write in progress
        # when they were killed ends before they do, so count only once none is left.
        _wait_for(lambda: _group_gone(proc.pid), 30, "every process of the stopped hunt to end", every=0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return db, proc, err


@pytest.mark.slow
def test_kill_9_then_the_same_command_stores_each_message_once(tmp_path):
    msgs = messages(1500, seed=2)
    db, _, _ = _interrupt_a_hunt(tmp_path, msgs, signal.SIGKILL)  # mid-write perhaps
    partial = _count(db)
    assert 0 < partial < 1500
    s = hunt_json(tmp_path / "Maildir", "--db", db, "-j", "2", "--partition-size", "100")
    assert s["stored"] == 1500 - partial and s["partitions_unchanged"] >= 1
    assert_each_once(db, msgs)
    with Store(db) as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert [r["state"] for r in store.runs()] == ["running", "done"]  # the killed run stays 'running'


@pytest.mark.slow
def test_ctrl_c_mid_hunt_exits_130_quietly_and_the_same_command_finishes(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) once the hunt is under way: exit 130 with
    no traceback from any process, none left running, and the same command then stores every
    message exactly once."""
    msgs = messages(1500, seed=8)
    db, proc, err = _interrupt_a_hunt(tmp_path, msgs, signal.SIGINT)
    assert proc.returncode == 130
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
    s = hunt_json(tmp_path / "Maildir", "--db", db, "-j", "2", "--partition-size", "100")
    assert s["errors"] == 0 and s["partitions_unchanged"] >= 1
    assert_each_once(db, msgs)


@pytest.mark.slow
@pytest.mark.services
def test_dask_hunt_survives_a_dead_worker_with_serial_verdicts(tmp_path, dask_cluster):
    address = dask_cluster.address
    msgs = messages(2000, seed=3)
    write_mbox(tmp_path / "a.mbox", msgs)
    db, serial_db = str(tmp_path / "dask.db"), str(tmp_path / "serial.db")
    cmd = hunt_cmd(tmp_path / "a.mbox", "--db", db, "--dask", address, "--partition-size", "50", "--json")
    proc = subprocess.Popen(cmd, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _count(db) >= 200 or proc.poll() is not None, 180, "the first partitions")
    assert proc.poll() is None, "the hunt ended before a worker could be killed"
    dask_cluster.kill_worker(0)  # the worker's nanny and process: the machine is gone
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["stored"] == 2000 and summary["errors"] == 0 and summary["mode"].startswith("dask")
    rows = assert_each_once(db, msgs)
    hunt_json(tmp_path / "a.mbox", "--db", serial_db, "-j", "1", "--partition-size", "500")
    serial = {r["locator"]: r for r in assert_each_once(serial_db, msgs)}
    for r in rows:
        s = serial[r["locator"]]
        assert (r["sha256"], r["verdict"], r["score"]) == (s["sha256"], s["verdict"], s["score"])
        assert r["report"]["findings"] == s["report"]["findings"]


class _DyingPartition:
    """A real partition whose first read kills the worker process reading it (as the OOM killer would)."""

    def __init__(self, inner, marker: str):
        self.inner, self.marker = inner, marker
        self.source, self.key, self.fingerprint = inner.source, inner.key, inner.fingerprint
        self.estimated_messages = inner.estimated_messages

    def read(self):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            yield from self.inner.read()
            return
        os.close(fd)
        os._exit(9)


class _DyingSource:
    def __init__(self, src, marker: str):
        self.src, self.marker = src, marker

    def total(self):
        return self.src.total()

    def partitions(self, target: int = 1000):
        for i, p in enumerate(self.src.partitions(target=target)):
            yield _DyingPartition(p, self.marker) if i == 1 else p


def test_a_dead_local_worker_loses_no_message(tmp_path):
    from lurelens.adapters.hunt import run_hunt
    from lurelens.settings import ScannerSettings
    from lurelens.sources import open_source

    msgs = messages(80, seed=4)
    write_mbox(tmp_path / "a.mbox", msgs)
    marker = str(tmp_path / "died-once")
    with Store(str(tmp_path / "h.db")).migrate() as store:
        r = run_hunt([str(tmp_path / "a.mbox")], store, ScannerSettings(), jobs=2, partition_size=20,
                     opener=lambda spec: _DyingSource(open_source(spec), marker))
    # The broken pool's other worker is killed too; if it had committed its rows but not yet
    # reported them, their second write finds them there: "already stored", not lost, not twice.
    assert os.path.exists(marker) and r.stored + r.already_stored == 80 and r.errors == 0
    assert_each_once(str(tmp_path / "h.db"), msgs)


def test_a_partition_is_done_only_with_its_last_slice(tmp_path):
    """A partition handed out as slices: each slice's rows are written as it ends (here by the
    worker itself, in any order) and the partition is marked done, with all its messages, only
    with the last one, so a hunt killed in between scans the whole partition again."""
    from collections import Counter

    from lurelens.adapters import hunt as h
    from lurelens.settings import ScannerSettings
    from lurelens.sources import open_source

    msgs = messages(40, seed=5)
    write_mbox(tmp_path / "a.mbox", msgs)
    with Store(str(tmp_path / "h.db")).migrate() as store:
        (part,) = open_source(str(tmp_path / "a.mbox")).partitions(40)
        slices = part.slices()
        assert len(slices) == 8
        run = store.begin_run([str(tmp_path / "a.mbox")], {})
        out = h.HuntResult(run=run, db="", sources=[])
        group = h._Group(part, len(slices))
        for i, sl in reversed(list(enumerate(slices))):
            res = h.scan_partition(sl, ScannerSettings(), i, sink=store.url, run_id=run)
            assert res.written is not None and res.rows == [] and res.packed is None  # no rows shipped
            group.left -= 1
            h._store(store, run, res, out, Counter(), group)
            done = store.done_partitions(part.source)
            assert (part.key in done) == (i == 0)
        assert done[part.key] == (part.fingerprint, 40) and out.stored == 40 and out.partitions_scanned == 1
    assert_each_once(str(tmp_path / "h.db"), msgs)


def test_a_pool_broken_between_submits_hands_back_a_failed_task():
    # A worker that dies after one submit and before the next breaks the pool for the next
    # submit: that one must come back as a failed task (which _execute resubmits on a new pool),
    # not raise out of the hunt (seen once in CI as a BrokenProcessPool traceback).
    import concurrent.futures as cf
    from lurelens.adapters.hunt import _Local
    from lurelens.settings import ScannerSettings

    runner = _Local(1, ScannerSettings())
    try:
        dead = runner.pool.submit(os._exit, 1)
        with pytest.raises(cf.process.BrokenProcessPool):
            dead.result(timeout=60)
        fut = runner.submit(None)
        assert fut.done() and isinstance(fut.exception(), cf.process.BrokenProcessPool)
        assert runner.lost(fut.exception())  # a new pool takes the work again
        assert runner.pool.submit(int, "7").result(timeout=60) == 7
    finally:
        runner.close()


def test_workers_are_forked_with_the_scanner_built_once_by_the_fork_server(tmp_path):
    """``prestart`` has the fork server build and warm the Scanner of the hunt's settings before any
    worker exists (the preload module lurelens.adapters._hunt_warm): a worker then finds it in its
    cache without building one. Run in a fresh interpreter: in this one, an earlier test may have
    started the fork server already."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import concurrent.futures as cf, multiprocessing, os\n"
        "from lurelens.adapters import hunt\n"
        "from lurelens.settings import ScannerSettings\n"
        "def probe(key):\n"
        "    return key in hunt._SCANNERS\n"
        "if __name__ == '__main__':\n"
        "    settings = ScannerSettings()\n"
        "    hunt.prestart(settings)\n"
        "    assert 'LURELENS_HUNT_WARM' not in os.environ\n"
        "    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('forkserver')) as pool:\n"
        "        print(pool.submit(probe, repr(settings)).result(), repr(settings) in hunt._SCANNERS)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # In the worker: built already (by the fork server). In the driver: never built.
    assert out.stdout.split() == ["True", "False"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_workers_write_their_own_rows_whatever_the_jobs(tmp_path, jobs):
    """-j N is N processes' work: the workers write their rows (and send back only counts) with one
    worker as with two; only an in-memory SQLite store, which no worker can open, has the driver
    write, and that hunt stores everything too."""
    from lurelens.adapters import hunt as h
    from lurelens.settings import ScannerSettings

    file_store = Store(str(tmp_path / "h.db")).migrate()
    assert h._sink(file_store) == file_store.url
    memory = Store("sqlite://").migrate()
    assert h._sink(memory) is None

    msgs = messages(30, seed=7)
    write_mbox(tmp_path / "a.mbox", msgs)
    r = h.run_hunt([str(tmp_path / "a.mbox")], file_store, ScannerSettings(), jobs=jobs, partition_size=10)
    assert (r.stored, r.errors) == (30, 0)
    assert_each_once(str(tmp_path / "h.db"), msgs)
    r = h.run_hunt([str(tmp_path / "a.mbox")], memory, ScannerSettings(), jobs=jobs, partition_size=10)
    assert (r.stored, r.errors) == (30, 0) and memory.count() == 30
    file_store.close()
    memory.close()
