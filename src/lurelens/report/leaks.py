"""Moved: the leak vocabulary and ``HostLeak`` live in lurelens.model.leaks, ``open_leaks`` in
lurelens.parse.leaks (computed during the scan, as ``verdict.open_leaks``). Re-exported here."""

from lurelens.model.leaks import (
    LEARN_DNS,
    LEARN_IP,
    LEARN_TIME,
    LEARN_UA,
    HostLeak,
    condition_reveals,
    learns_for,
    recipient_phrase,
)
from lurelens.parse.leaks import open_leaks

__all__ = ["HostLeak", "open_leaks", "learns_for", "recipient_phrase", "condition_reveals", "LEARN_IP", "LEARN_UA",
           "LEARN_TIME", "LEARN_DNS"]
