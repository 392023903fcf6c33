"""The site's allow lists (checks/local.py, registry/local.py): an allowed sender earns credit only
with an authenticated From domain, an allowed host is not counted as a beacon, and the lists are
re-read when their files change, safely while other threads scan."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import EXAMPLES

from lurelens import Scanner, ScannerSettings
from lurelens.registry.local import LocalLists
from lurelens.testing import MessageBuilder

PIXEL = '<img src="https://px.metrics-shop.example/o.gif?id=8f3a9c2e7b6d5a4f" width=1 height=1>'


def newsletter(auth: str = "dmarc=pass header.from=shop-offers.example", frm: str = "Deals <deals@shop-offers.example>") -> bytes:
    return (MessageBuilder().sender(frm).subject("Your weekly picks")
            .auth(f"spf=pass smtp.mailfrom=shop-offers.example; dkim=pass header.d=shop-offers.example; {auth}")
            .html(f"<p>Hello, here are this week's offers. {PIXEL}</p>").build())


@pytest.fixture
def overlay(tmp_path, scanner):
    """A Scanner over an overlay directory of its own (sharing the session's heavy registries)."""
    from lurelens.registry.data import DataRegistry

    data = DataRegistry(tmp_path)
    for name in DataRegistry.REGISTRIES:  # reuse what is already built; only `local` is per directory
        if name != "local" and name in scanner.data.__dict__:
            data.__dict__[name] = scanner.data.__dict__[name]
    sc = Scanner(data=data)
    return tmp_path, sc


def symbols(v) -> set[str]:
    return {f.symbol for f in v.findings}


def test_allowed_sender_with_dmarc_pass_lowers_the_score(overlay):
    d, sc = overlay
    before = sc.scan(newsletter())
    assert "LOCAL_ALLOW_SENDER" not in symbols(before)
    (d / "allowed_senders.txt").write_text("# ours\nshop-offers.example\n")
    assert sc.refresh_local()
    after = sc.scan(newsletter())
    assert {"LOCAL_ALLOW_SENDER", "LOCAL_ALLOWED_SENDER"} <= symbols(after)
    assert after.score <= before.score - 5


def test_allowed_address_covers_only_that_address(overlay):
    d, sc = overlay
    (d / "allowed_senders.txt").write_text("deals@shop-offers.example\n")
    sc.refresh_local()
    assert "LOCAL_ALLOW_SENDER" in symbols(sc.scan(newsletter()))
    other = sc.scan(newsletter(frm="Deals <promo@shop-offers.example>"))
    assert not symbols(other) & {"LOCAL_ALLOW_SENDER", "LOCAL_ALLOW_SENDER_UNAUTHENTICATED"}


@pytest.mark.parametrize("auth", ["dmarc=fail header.from=shop-offers.example", "dmarc=none",
                                  "dmarc=pass header.from=elsewhere.example"])
def test_forged_allowed_sender_gets_no_credit(overlay, auth):
    d, sc = overlay
    before = sc.scan(newsletter(auth=auth))
    (d / "allowed_senders.txt").write_text("shop-offers.example\n")
    sc.refresh_local()
    after = sc.scan(newsletter(auth=auth))
    assert "LOCAL_ALLOW_SENDER_UNAUTHENTICATED" in symbols(after)
    assert "LOCAL_ALLOWED_SENDER" not in symbols(after)
    assert after.score == before.score


def test_allowed_host_is_not_a_beacon(overlay):
    d, sc = overlay
    lure = (EXAMPLES / "apt31-style-lure.eml").read_bytes()
    before = sc.scan(lure)
    assert any(f.symbol == "TRACKER_PIXEL_HIDDEN" and "cdn.example.net" in f.evidence for f in before.findings)
    (d / "allowed_hosts.txt").write_text("example.net\n")  # a parent domain covers its hosts
    sc.refresh_local()
    after = sc.scan(lure)
    assert "LOCAL_ALLOW_HOST" in symbols(after)
    assert not [f for f in after.findings if f.symbol.startswith("TRACKER_") and f.symbol != "TRACKER_OPEN_REPORTED"]
    # Opening it still tells the host: the message stays reported as tracking, and the leak is listed.
    assert "TRACKER_OPEN_REPORTED" in symbols(after)
    assert "cdn.example.net" in {h.host if hasattr(h, "host") else h["host"] for h in after.open_leaks}
    assert after.score < before.score


def test_lists_follow_the_files_on_their_own(tmp_path):
    lists = LocalLists(tmp_path, recheck_seconds=0)
    assert lists.sender_entry("a@b.example") is None
    (tmp_path / "allowed_senders.txt").write_text("B.Example.\n")
    assert lists.sender_entry("a@mail.b.example") == "b.example"
    (tmp_path / "allowed_senders.txt").write_text("")
    assert lists.sender_entry("a@b.example") is None
    assert LocalLists(None).host_entry("x.example") is None


def test_reload_while_scanning_threads(overlay):
    """Scans in 4 threads while the list is rewritten and re-read 50 times: no error, and every
    verdict is one of the two consistent outcomes."""
    d, sc = overlay
    raw = newsletter()
    f = d / "allowed_senders.txt"
    stop = threading.Event()

    def flip():
        for i in range(50):
            f.write_text("shop-offers.example\n" if i % 2 else "# none\n")
            sc.refresh_local()
        stop.set()

    def scans():
        out = set()
        while not stop.is_set():
            v = sc.scan(raw)
            assert not v.errors and "CHECK_ERROR" not in symbols(v)
            out.add(("LOCAL_ALLOWED_SENDER" in symbols(v), round(v.score, 2)))
        return out

    with ThreadPoolExecutor(5) as ex:
        futs = [ex.submit(scans) for _ in range(4)]
        ex.submit(flip).result()
        seen = set().union(*(fu.result() for fu in futs))
    assert len({s for s in seen if s[0]}) <= 1 and len({s for s in seen if not s[0]}) <= 1, seen


def test_settings_overlay_reaches_the_lists(tmp_path):
    (tmp_path / "allowed_hosts.txt").write_text("px.metrics-shop.example\n")
    sc = Scanner.from_settings(ScannerSettings(data_dir=str(tmp_path)))
    assert "LOCAL_ALLOW_HOST" in symbols(sc.scan(newsletter()))
