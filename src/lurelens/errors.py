"""Exceptions raised by lurelens.

Scanning never raises for bad mail: malformed input becomes defects and findings on the verdict.
These exceptions are for callers that misuse the API or ask for something that is not installed::

    LurelensError
    ├── ConfigError            a scoring or data file is missing or invalid
    │   └── ExprError          a composite rule's expression does not parse (lurelens.scoring.expr;
    │                          also a ValueError)
    ├── InputError             scan() was given something other than a message's bytes
    ├── SourceError            a source (path, mbox, IMAP URL) cannot be opened at all
    │                          (lurelens.sources; also a ValueError)
    └── BrowserNotAvailable    rendering was asked for but Chromium or playwright is missing
                               (also importable from lurelens.render.browser)

Bad or hostile mail is never an exception: any bytes give a verdict.
"""

from __future__ import annotations

__all__ = ["BrowserNotAvailable", "ConfigError", "InputError", "LurelensError"]


class LurelensError(Exception):
    """Root of every exception lurelens raises on purpose."""


class ConfigError(LurelensError):
    """A configuration or data file could not be loaded."""


class InputError(LurelensError):
    """The caller passed something that is not an input (e.g. text instead of the message's bytes)."""


class BrowserNotAvailable(LurelensError):
    """Headless Chromium (or the Playwright driver for it) cannot be used."""
