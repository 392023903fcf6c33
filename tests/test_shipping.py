"""A Scanner can be shipped to other processes and shared by threads: it pickles (composites,
lookalike index, indicator store), a process built from ScannerSettings gives the same verdicts,
and the engine reads no environment variable or home directory (only the CLI does)."""

from __future__ import annotations

import multiprocessing
import pickle
import threading

import pytest

from lurelens import Scanner, ScannerSettings
from lurelens.adapters.environment import data_overlay_dir, intel_dirs, settings_from_environment
from lurelens.registry.data import DataRegistry
from lurelens.registry.intel import IntelStore
from lurelens.scoring.expr import compile_expr
from lurelens.testing import MessageBuilder

from conftest import EXAMPLES


def _messages() -> list[bytes]:
    out = [
        MessageBuilder().sender("PayPal <service@paypa1-support.com>").subject("Verify your account")
        .html('<p>Dear customer</p><a href="https://www.google.com/url?q=https://login.paypa1.com/x">log in</a>'
              '<img src="https://t.example.net/o.gif?u=bob%40example.org" width=1 height=1>').build(),
        MessageBuilder().sender("Reuters <news@reuters-daily.net>").subject("Breaking")
        .html('<p>News</p><img src="http://p1.offline-microsoft.com/a.gif" width=1 height=1>').build(),
        MessageBuilder().text("plain hello").build(),
        b"not a message at all\x00\xff",
    ]
    ex = EXAMPLES / "apt31-style-lure.eml"
    if ex.is_file():
        out.append(ex.read_bytes())
    return out


def _key(v) -> dict:
    d = v.to_dict()
    d.pop("elapsed_ms", None)
    return d


def test_expressions_pickle_and_evaluate():
    fn, names = compile_expr("A & !(B | group:g) & 2 of (C, D, E)")
    back = pickle.loads(pickle.dumps(fn))
    for present, groups, want in [({"A", "C", "D"}, set(), True), ({"A", "C"}, set(), False),
                                  ({"A", "B", "C", "D"}, set(), False), ({"A", "C", "E"}, {"g"}, False)]:
        assert fn(present, groups) is want and back(present, groups) is want
    assert names == {"A", "B", "C", "D", "E"}


def test_warmed_scanner_pickles_and_gives_identical_verdicts(scanner):
    scanner.warm()
    blob = pickle.dumps(scanner)
    copy = pickle.loads(blob)
    for raw in _messages():
        assert _key(copy.scan(raw)) == _key(scanner.scan(raw))


def test_lookalike_index_pickles_without_its_caches(scanner):
    idx = scanner.data.lookalikes
    assert idx.check("paypa1.com") is not None
    copy = pickle.loads(pickle.dumps(idx))
    assert copy._results == {}  # caches are left behind
    for d in ("paypa1.com", "www.paypal.com", "rnicrosoft-login.com", "example.org"):
        assert copy.check_all(d) == idx.check_all(d)


def test_intel_store_pickles(tmp_path):
    (tmp_path / "x.txt").write_text("domain bad.example.net\n", encoding="utf-8")
    st = IntelStore([tmp_path], shipped=False)
    copy = pickle.loads(pickle.dumps(st))
    assert copy.match_domain("a.bad.example.net") is not None
    copy.reload()  # its lock was rebuilt
    assert copy.match_domain("bad.example.net") is not None


def _scan_in_child(settings: ScannerSettings, raws: list[bytes]) -> list[dict]:
    scanner = Scanner.from_settings(settings).warm()
    return [_key(scanner.scan(raw)) for raw in raws]


def test_from_settings_in_a_spawned_process_gives_the_same_verdicts(tmp_path):
    (tmp_path / "iocs").mkdir()
    (tmp_path / "iocs" / "mine.txt").write_text("domain reuters-daily.net\n", encoding="utf-8")
    settings = ScannerSettings(data_dir=str(tmp_path))
    raws = _messages()
    here = _scan_in_child(settings, raws)
    assert any(f["symbol"] == "INTEL_DOMAIN_LISTED" for f in here[1]["findings"])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        there = pool.apply(_scan_in_child, (settings, raws))
    assert there == here


def test_threads_share_one_scanner(scanner):
    scanner.warm()
    raws = _messages()
    want = [_key(scanner.scan(r)) for r in raws]
    scanner.data.lookalikes.cache_clear()  # so the threads fill the caches concurrently
    got: list[list[dict]] = []
    errors: list[BaseException] = []

    def work():
        try:
            got.append([_key(scanner.scan(r)) for r in raws for _ in range(3)][::3])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(g == want for g in got) and len(got) == 4


def test_engine_reads_no_environment(tmp_path, monkeypatch):
    (tmp_path / "freemail.txt").write_text("freemail.example.net\n", encoding="utf-8")
    (tmp_path / "iocs").mkdir()
    (tmp_path / "iocs" / "a.txt").write_text("domain env-listed.example.net\n", encoding="utf-8")
    monkeypatch.setenv("LURELENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LURELENS_INTEL_DIR", str(tmp_path / "iocs"))
    s = Scanner()
    assert s.data.extra_dir is None
    assert not s.data.is_freemail("freemail.example.net")
    assert s.intel.match_domain("env-listed.example.net") is None
    # The front ends' helper reads them and passes them in.
    assert data_overlay_dir() == tmp_path and intel_dirs() == [tmp_path / "iocs"]
    settings = settings_from_environment(trusted_authserv_ids=("mx.example.org",))
    assert settings.data_dir == str(tmp_path) and settings.trusted_authserv_ids == ("mx.example.org",)
    s2 = Scanner.from_settings(settings)
    assert s2.data.is_freemail("freemail.example.net")
    assert s2.intel.match_domain("env-listed.example.net") is not None


def test_implicit_environment_lookups_are_refused():
    with pytest.raises(ValueError):
        DataRegistry("auto")
    with pytest.raises(ValueError):
        IntelStore(env=True)


def test_intel_store_settable_without_extras(tmp_path):
    (tmp_path / "x.txt").write_text("domain only-here.example.net\n", encoding="utf-8")
    raw = MessageBuilder().sender("A <a@only-here.example.net>").text("hi").build()
    s = Scanner()
    assert not any(f.symbol == "INTEL_DOMAIN_LISTED" for f in s.scan(raw).findings)
    s2 = Scanner(data=s.data, intel=IntelStore([tmp_path], shipped=False))
    assert any(f.symbol == "INTEL_DOMAIN_LISTED" for f in s2.scan(raw).findings)
    s.intel = s2.intel
    assert any(f.symbol == "INTEL_DOMAIN_LISTED" for f in s.scan(raw).findings)


def test_warm_loads_every_registry():
    data = DataRegistry()
    Scanner(data=data).warm()
    for name in DataRegistry.REGISTRIES:
        assert name in data.__dict__, name  # cached_property stored its value
    # every cached registry property is listed, so warm() misses none
    from functools import cached_property

    props = {n for n, v in vars(DataRegistry).items() if isinstance(v, cached_property)}
    assert props == set(DataRegistry.REGISTRIES)
