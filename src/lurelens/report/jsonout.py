"""The JSON report: one object per message, described by schema/verdict.schema.json. The object is
``Verdict.to_dict()`` (lurelens.model.verdict); this module writes it as JSON Lines."""

from __future__ import annotations

import json
import re
from typing import Any

from lurelens.model import SCHEMA_VERSION, Verdict
from lurelens.model.verdict import error_to_dict

__all__ = ["SCHEMA_VERSION", "verdict_to_dict", "error_to_dict", "dumps"]


def verdict_to_dict(v: Verdict) -> dict[str, Any]:
    return v.to_dict()


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(d: dict[str, Any]) -> str:
    """One line of JSON that encodes to valid UTF-8 whatever bytes the message held: lone
    surrogates (undecodable header bytes kept by ``surrogateescape``) become U+FFFD."""
    text = json.dumps(d, ensure_ascii=False, separators=(",", ":"), default=str)
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
