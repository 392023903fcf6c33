"""``lurelens defuse``: a copy of a message that is safe to open in any mail client (no remote fetch,
trackers removed, links shown). ``message`` rewrites the MIME tree, ``html`` and ``css`` the parts.
Trackers, recipient tokens, redirects and srcset candidates are recognised by the same code the
scan uses (lurelens.parse), with the registries given (``Scanner.defuse`` passes its own)."""

from lurelens.defuse.message import HEADER, LINK_MODES, DefuseReport, DefuseResult, defuse, visible_words, word_retention

__all__ = ["DefuseReport", "DefuseResult", "HEADER", "LINK_MODES", "defuse", "visible_words", "word_retention"]
