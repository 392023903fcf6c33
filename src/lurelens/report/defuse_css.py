"""Moved to lurelens.defuse.css; re-exported here for old imports."""

from lurelens.defuse.css import css_remote_urls, defuse_css, defuse_data_css, defuse_style_attr, host_of, is_remote

__all__ = ["is_remote", "host_of", "defuse_css", "defuse_style_attr", "css_remote_urls", "defuse_data_css"]
