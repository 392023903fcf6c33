"""Exceptions raised by lurelens.

Scanning never raises for bad mail: malformed input becomes defects and findings on the verdict.
These exceptions are for callers that misuse the API or ask for something that is not installed::

    LurelensError
    ├── ConfigError            a scoring or data file is missing or invalid
    ├── InputError             a path cannot be read (the CLI turns it into a per-file error entry)
    └── BrowserNotAvailable    rendering was asked for but Chromium or playwright is missing
                               (defined in lurelens.render.browser, subclass of this tree's root)
"""

from __future__ import annotations

__all__ = ["LurelensError", "ConfigError", "InputError"]


class LurelensError(Exception):
    """Root of every exception lurelens raises on purpose."""


class ConfigError(LurelensError):
    """A configuration or data file could not be loaded."""


class InputError(LurelensError):
    """An input could not be read."""
