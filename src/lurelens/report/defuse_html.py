"""Moved to lurelens.defuse.html; re-exported here for old imports."""

from lurelens.defuse.html import LINK_MODES, HtmlContext, defang, defang_text, defuse_html, remote_references
from lurelens.parse.srcset import srcset_candidates

__all__ = ["LINK_MODES", "HtmlContext", "defuse_html", "remote_references", "defang", "defang_text",
           "srcset_candidates"]
