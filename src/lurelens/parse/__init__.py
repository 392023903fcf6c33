"""Bytes to model: MIME, headers and addresses, HTML walking, URLs and domains, auth results."""

from lurelens.parse.mime import Limits, parse_message

__all__ = ["Limits", "parse_message"]
