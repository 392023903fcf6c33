"""Moved to lurelens.defuse (its own package); re-exported here for old imports."""

from lurelens.defuse.message import HEADER, LINK_MODES, DefuseReport, DefuseResult, defuse, visible_words, word_retention

__all__ = ["DefuseReport", "DefuseResult", "defuse", "visible_words", "word_retention", "LINK_MODES", "HEADER"]
