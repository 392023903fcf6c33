"""Real-browser rendering: what a mail body makes a browser fetch, with nothing fetched.

Importing this package does not require Playwright; starting a renderer does.
"""

from lurelens.render.browser import (
    BrowserNotAvailable,
    BrowserRenderer,
    RenderedRequest,
    RenderResult,
    find_chromium,
    inline_cid,
)

__all__ = [
    "BrowserNotAvailable",
    "BrowserRenderer",
    "RenderedRequest",
    "RenderResult",
    "find_chromium",
    "inline_cid",
]
