"""``lurelens defuse``: a copy of a message that is safe to open in any mail client (no remote fetch,
trackers removed, links shown). ``message`` rewrites the MIME tree, ``html`` and ``css`` the parts.
Trackers, recipient tokens, redirects and srcset candidates are recognised by the same code the
scan uses (lurelens.parse), with the registries given (``Scanner.defuse`` passes its own)."""

import sys
import types
from typing import Any

from lurelens.defuse.message import HEADER, LINK_MODES, DefuseReport, DefuseResult, defuse, visible_words, word_retention

__all__ = ["DefuseReport", "DefuseResult", "HEADER", "LINK_MODES", "defuse", "visible_words", "word_retention"]


class _CallableModule(types.ModuleType):
    """``lurelens.defuse(raw, links="visible")``: the package called is its ``defuse`` function."""

    def __call__(self, raw: bytes, *, links: str = "visible", data: Any = None) -> DefuseResult:
        """A copy of the message ``raw`` that is safe to open in any mail client.

        Every remote fetch is removed or replaced, links are rewritten (``links``: ``"visible"``
        shows each destination, ``"defang"`` makes them unclickable, ``"warn"`` replaces them by a
        warning), read-receipt requests are disabled, attachments are copied through untouched.
        Returns a ``DefuseResult`` with ``data`` (the new message, bytes) and ``report`` (what was
        changed; ``report.to_dict()`` is the ``defuse --json`` object). Raises ValueError for an
        unknown ``links`` mode."""
        return defuse(raw, links=links, data=data)


sys.modules[__name__].__class__ = _CallableModule
