"""ScannerSettings: a frozen, picklable description from which any process builds the same Scanner."""

import dataclasses
import pickle

import pytest

from lurelens import Scanner, ScannerSettings
from lurelens.parse import Limits
from lurelens.testing import MessageBuilder


def test_settings_pickle_and_are_frozen():
    s = ScannerSettings(limits=Limits(max_links=10), trusted_authserv_ids=("mx.example.org",))
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.scoring_file = "x"  # type: ignore[misc]


def test_from_settings_gives_the_same_verdicts_as_scanner():
    raw = (MessageBuilder().html('<p>Hi</p><img src="https://t.example.net/o.gif?u=bob%40example.org" width=1 height=1>')
           .build())
    a = Scanner.from_settings(ScannerSettings()).warm().scan(raw)
    b = Scanner().scan(raw)
    assert (a.label, a.score, [f.symbol for f in a.findings]) == (b.label, b.score, [f.symbol for f in b.findings])


def test_from_settings_honours_trusted_authserv_ids():
    raw = (MessageBuilder().prepend_header("Authentication-Results", "mx.example.org; spf=fail smtp.mailfrom=example.com")
           .build())
    trusted = Scanner.from_settings(ScannerSettings(trusted_authserv_ids=("mx.example.org",))).scan(raw)
    assert trusted.to_dict()["auth"]["methods"]["spf"]["result"] == "fail"
