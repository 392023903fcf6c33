"""Where a front end finds the user's data overlay and indicator directories: the environment
(``$LURELENS_DATA_DIR``, ``$LURELENS_INTEL_DIR``) and the home directory
(``~/.config/lurelens/data.d``). The engine reads neither; front ends read them here and pass the
directories in through ``ScannerSettings``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lurelens.settings import ScannerSettings

__all__ = ["data_overlay_dir", "intel_dirs", "settings_from_environment"]


def data_overlay_dir() -> Path | None:
    """``$LURELENS_DATA_DIR``, else ``~/.config/lurelens/data.d`` when it exists, else None."""
    env = os.environ.get("LURELENS_DATA_DIR")
    if env:
        return Path(env)
    home = Path(os.path.expanduser("~/.config/lurelens/data.d"))
    return home if home.is_dir() else None


def intel_dirs() -> list[Path]:
    """The indicator directories or files listed in ``$LURELENS_INTEL_DIR`` (``os.pathsep``-separated)."""
    env = os.environ.get("LURELENS_INTEL_DIR", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def settings_from_environment(**changes: Any) -> ScannerSettings:
    """Settings with the user's data overlay and indicator directories from the environment,
    then ``changes`` applied (any ``ScannerSettings`` field)."""
    overlay = data_overlay_dir()
    base = ScannerSettings(
        data_dir=str(overlay) if overlay is not None else None,
        intel_dirs=tuple(str(p) for p in intel_dirs()),
    )
    return base.with_(**changes) if changes else base
