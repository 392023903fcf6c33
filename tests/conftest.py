"""Shared fixtures for the lurelens test suite.

* ``scanner``: one default :class:`lurelens.Scanner` for the whole session.
* ``make_scanner(**kw)``: a Scanner with other settings that shares ``scanner``'s data registry.
* ``list_scanner``: a Scanner whose data registry has a small overlay (``LIST_HOSTS``) that puts
  reserved ``example.*`` hosts on the tracker, shortener, redirector, free-mail and free-hosting
  lists, so checks that depend on those lists can be tested without naming real services.
* ``corpus``: ``../shared/corpus`` next to the repository; tests using it are skipped when absent.
* ``run_cli``: run ``python -m lurelens.adapters.cli ARGS`` in a subprocess -> (code, stdout, stderr).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CORPUS = REPO.parent / "shared" / "corpus"

# Hosts the overlay adds to the shipped lists (all under reserved example.* names).
LIST_HOSTS = {
    "tracker_vendor": "Example Tracker",
    "tracker_host": "pixel.tracker.example.net",
    "click_tracker": "click.example.net",
    "shortener": "s.example.net",
    "open_redirector": "go.example.net",
    "freemail": "freemail.example.net",
    "free_hosting": "pages.example.org",
}


@pytest.fixture(scope="session", autouse=True)
def _hermetic_data_dir(tmp_path_factory):
    """Keep a user's own data overlay (~/.config/lurelens/data.d) and indicator directories out of
    the CLI runs (the engine itself reads no environment; the CLI does, and passes them in)."""
    empty = tmp_path_factory.mktemp("no-overlay")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LURELENS_DATA_DIR", str(empty))
        mp.delenv("LURELENS_INTEL_DIR", raising=False)
        yield


@pytest.fixture(scope="session")
def scanner(_hermetic_data_dir):
    import lurelens

    return lurelens.Scanner()


@pytest.fixture(scope="session")
def make_scanner(scanner):
    """``make_scanner(limits=..., ...)``: a Scanner sharing the session scanner's data registry
    (building the registries and indexes again for every Scanner costs most of a second)."""
    from lurelens import Scanner

    def make(**kw):
        kw.setdefault("data", scanner.data)
        return Scanner(**kw)

    return make


@pytest.fixture(scope="session")
def list_overlay(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("overlay")
    h = LIST_HOSTS
    (d / "trackers.json").write_text(
        json.dumps(
            {
                "vendors": [
                    {
                        "name": h["tracker_vendor"],
                        "hosts": [h["tracker_host"]],
                        "patterns": [r"pixel\.tracker\.example\.net/"],
                        "host_free_patterns": [],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    (d / "shorteners.txt").write_text(h["shortener"] + "\n", encoding="utf-8")
    (d / "freemail.txt").write_text(h["freemail"] + "\n", encoding="utf-8")
    (d / "free_hosting.txt").write_text(h["free_hosting"] + "\n", encoding="utf-8")
    (d / "redirectors.json").write_text(
        json.dumps(
            {
                "hosts": [
                    {"host": h["open_redirector"], "match": "exact", "path": None, "params": ["url"],
                     "dest_in_path": None, "kind": "open_redirect"},
                    {"host": h["click_tracker"], "match": "exact", "path": None, "params": [],
                     "dest_in_path": None, "kind": "click_tracker"},
                ],
                "generic_params": [],
            }
        ),
        encoding="utf-8",
    )
    return d


@pytest.fixture(scope="session")
def list_scanner(list_overlay):
    from lurelens import Scanner
    from lurelens.registry import DataRegistry

    return Scanner(data=DataRegistry(extra_dir=list_overlay))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {CORPUS} (only available in the development checkout)")
    return CORPUS


@pytest.fixture(scope="session")
def apt31_example() -> Path:
    p = EXAMPLES / "apt31-style-lure.eml"
    if not p.is_file():
        pytest.skip(f"{p} is missing")
    return p


def _run_cli(args, stdin: bytes | None = None, cwd: Path | None = None, timeout: float = 120):
    env = dict(os.environ)
    env.setdefault("COLUMNS", "200")
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        [sys.executable, "-m", "lurelens.adapters.cli", *[str(a) for a in args]],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=str(cwd or REPO),
        env=env,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


@pytest.fixture(scope="session")
def run_cli(_hermetic_data_dir):
    """``run_cli(args, stdin=None) -> (exit code, stdout, stderr)``."""
    return _run_cli




def text(body: str, subject: str = "Hello", sender: str | None = None) -> bytes:
    """A plain-text message for the per-check symbol cases."""
    from lurelens.testing import MessageBuilder

    b = MessageBuilder().subject(subject).text(body)
    if sender:
        b.sender(sender)
    return b.build()


def html(body: str) -> bytes:
    """An HTML-only message for the per-check symbol cases."""
    from lurelens.testing import MessageBuilder

    return MessageBuilder().html(body).build()


def symbol_case_tests(module, cases):
    """The tests every check's case table gets: each declared symbol has a case, fires on the first
    message and stays quiet on the near miss. A case is (fires, near_miss, needs_list_overlay).

        test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(links, CASES)
    """
    from lurelens.testing import assert_fires, assert_quiet

    def test_every_symbol_has_a_case():
        assert {s.name for s in module.SYMBOLS} == set(cases)

    @pytest.mark.parametrize("symbol", sorted(cases))
    def test_fires(symbol, scanner, list_scanner):
        raw, _, lists = cases[symbol]
        assert_fires(raw, symbol, list_scanner if lists else scanner)

    @pytest.mark.parametrize("symbol", sorted(cases))
    def test_near_miss_quiet(symbol, scanner, list_scanner):
        _, raw, lists = cases[symbol]
        assert_quiet(raw, symbol, list_scanner if lists else scanner)

    return test_every_symbol_has_a_case, test_fires, test_near_miss_quiet


def require_component(what: str, problem: str | None) -> None:
    """Fail when a real component a test needs is missing under ``make test`` (which sets
    LURELENS_REQUIRE_SERVICES=1 and installs every component); skip when run by hand without it.
    ``problem`` is None when the component is there, else why it is not."""
    if problem is None:
        return
    if os.environ.get("LURELENS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required under make test but missing: {problem}")
    pytest.skip(f"{what} not available ({problem}); run make test to install it")



@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server (Debian's binaries, installed by scripts/install-postgres.sh) on a
    free loopback port, stopped at the end. Yields ``new_db()``: an empty database's URL."""
    from lurelens.testing.services import TempPostgres, postgres_bindir

    require_component("PostgreSQL server", None if postgres_bindir() else "initdb not found (scripts/install-postgres.sh)")
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        require_component("psycopg (the hunt extra)", str(exc))
    server = TempPostgres().start()
    try:
        yield server.new_db
    finally:
        server.stop()


@pytest.fixture
def dask_cluster(tmp_path):
    """A real dask scheduler and two single-threaded workers on loopback (lurelens.testing.services)."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        require_component("dask.distributed (the hunt extra)", str(exc))
    from lurelens.testing.services import TempDask

    cluster = TempDask(2, logdir=str(tmp_path))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


# The real authoritative DNS server (Knot) for the authentication tests: one per session.
from dnsserver import knot_dns  # noqa: E402,F401 - a fixture


def make_hunt_db(path: Path, messages: list[tuple[str, bytes]], scanner=None) -> Path:
    """A hunt store (SQLite) at ``path`` holding the verdicts of ``messages`` [(locator, raw)], as
    ``lurelens hunt`` would write them; skips when the store (the hunt extra) is not installed."""
    import hashlib

    pytest.importorskip("sqlalchemy", reason="needs the hunt extra")
    store_mod = pytest.importorskip("lurelens.store", reason="the hunt's store is not in this install")
    from lurelens import Scanner
    from lurelens.store.rows import message_row

    scanner = scanner or Scanner()
    with store_mod.Store(str(path)).migrate() as store:
        rows = [message_row("box.mbox", loc, hashlib.sha256(raw).hexdigest(), len(raw), scanner.scan(raw, file=loc))
                for loc, raw in messages]
        assert store.write(rows).stored == len(rows)
    return path
