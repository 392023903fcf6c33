"""Helpers for tests and rule authors: build messages in code, assert a symbol fires or stays quiet.

    from lurelens.testing import MessageBuilder, assert_fires, assert_quiet
    raw = MessageBuilder().html('<img src="https://t.example.net/o.gif" width=1 height=1>').build()
    assert_fires(raw, "TRACKER_PIXEL_HIDDEN")
"""

from lurelens.testing.builder import MessageBuilder, assert_fires, assert_quiet, scan

__all__ = ["MessageBuilder", "assert_fires", "assert_quiet", "scan"]
