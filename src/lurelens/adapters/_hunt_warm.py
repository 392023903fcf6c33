"""Imported by the hunt's fork server as it starts (``multiprocessing``'s forkserver preload): builds
and warms the Scanner of the settings the driver left in ``LURELENS_HUNT_WARM``, so every local
worker is forked from a process that has it already instead of building its own."""

from __future__ import annotations

import base64
import os
import pickle

__all__ = ["ENV"]

ENV = "LURELENS_HUNT_WARM"


def _warm() -> None:
    blob = os.environ.pop(ENV, None)
    if not blob:
        return
    try:
        from lurelens.adapters.hunt import _scanner

        _scanner(pickle.loads(base64.b64decode(blob)))
    except Exception:  # noqa: BLE001 - a worker then builds its own Scanner, and reports what fails
        pass


_warm()
