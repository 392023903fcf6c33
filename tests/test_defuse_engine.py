"""Defuse is its own package (lurelens.defuse) on the scan's primitives and the Scanner's registries:
the user's overlay is honoured, and the old lurelens.report.defuse* imports still work."""

from __future__ import annotations

from conftest import LIST_HOSTS

from lurelens.testing import MessageBuilder


def _raw() -> bytes:
    return MessageBuilder().html(f'<p>News</p><img src="https://{LIST_HOSTS["tracker_host"]}/open.png" width=300 height=80>'
                                 '<img srcset="https://t.example.net/a,b.gif 1x">').build()


def test_scanner_defuse_reads_the_overlay(scanner, list_scanner):
    plain = scanner.defuse(_raw())
    listed = list_scanner.defuse(_raw())
    assert plain.report.trackers == 0
    assert listed.report.trackers == 1  # the overlay's tracker vendor is recognised
    # srcset: one URL with a comma, as the scan's inventory lists it
    assert listed.report.hosts.get("t.example.net") == 1


def test_defuse_and_scan_agree_on_recipients(scanner):
    raw = (MessageBuilder().header("Delivered-To", "carol@example.org")
           .html('<img src="https://mail.example.net/o.png?r=carol%40example.org" width=300 height=80>').build())
    assert any(r.recipient_token for r in scanner.scan(raw).message.resources)
    assert scanner.defuse(raw).report.trackers == 1


def test_old_import_paths():
    from lurelens.defuse import defuse
    from lurelens.report.defuse import defuse as old
    from lurelens.report.defuse_css import defuse_css, is_remote  # noqa: F401
    from lurelens.report.defuse_html import defang, remote_references, srcset_candidates  # noqa: F401
    from lurelens.report.explain import explain, leak_summary  # noqa: F401
    from lurelens.report.leaks import HostLeak, open_leaks  # noqa: F401

    assert old is defuse
