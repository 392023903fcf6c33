"""Authentication-Results (RFC 8601): only the header added by the trusted receiving host counts.

Anyone can write an Authentication-Results header into a message before sending it. A receiving
MTA adds its own at the top, so by default the topmost header is trusted and every other one is
kept only as evidence that someone may have forged one. Microsoft 365 writes the header without
an authserv-id; such a header is accepted when it is the topmost one.
"""

from __future__ import annotations

import re
from typing import Any

from lurelens.model import AuthResult

__all__ = ["parse_auth_results", "select_trusted"]

_COMMENT = re.compile(r"\([^()]*\)")
_METHOD = re.compile(r"^\s*([a-zA-Z][\w\-]*)\s*(?:/\s*\d+)?\s*=\s*([a-zA-Z]+)(.*)$", re.S)
_PROP = re.compile(r"([a-zA-Z][\w\-]*(?:\.[\w\-]+)?)\s*=\s*(\"[^\"]*\"|[^\s;]+)")
KNOWN_METHODS = {"spf", "dkim", "dmarc", "arc", "compauth", "iprev", "auth", "smime", "bimi", "dkim-atps", "x-dkim"}


def _strip_comments(value: str) -> tuple[str, str]:
    comments = []
    for _ in range(5):  # nested comments, bounded
        found = _COMMENT.findall(value)
        if not found:
            break
        comments.extend(found)
        value = _COMMENT.sub(" ", value)
    return value, " ".join(comments)


def parse_auth_results(value: str) -> dict[str, Any]:
    """Parse one header value into {"authserv_id": str|None, "results": [AuthResult]}."""
    value = value.replace("\r", " ").replace("\n", " ")[:8192]
    stripped, _ = _strip_comments(value)
    clauses = [c.strip() for c in stripped.split(";")]
    authserv_id = None
    first = clauses[0] if clauses else ""
    first_word = first.split()[0] if first.split() else ""
    if first_word and "=" not in first_word:
        authserv_id = first_word.lower()
        rest = clauses[1:]
    else:
        rest = clauses
    results: list[AuthResult] = []
    for clause in rest:
        m = _METHOD.match(clause)
        if not m:
            continue
        method, result, tail = m.group(1).lower(), m.group(2).lower(), m.group(3)
        props = {k.lower(): v.strip('"') for k, v in _PROP.findall(tail)}
        results.append(AuthResult(method, result, props))
    return {"authserv_id": authserv_id, "results": results, "raw": value.strip()[:2000]}


def select_trusted(values: list[str], trusted_ids: list[str] | None = None) -> dict[str, Any]:
    """Pick the trusted header among all Authentication-Results values (top first)."""
    parsed = [parse_auth_results(v) for v in values[:50]]
    trusted = None
    if trusted_ids:
        ids = {t.lower() for t in trusted_ids}
        for p in parsed:
            if p["authserv_id"] in ids:
                trusted = p
                break
    elif parsed:
        trusted = parsed[0]
    ignored = [p for p in parsed if p is not trusted]
    results: dict[str, AuthResult] = {}
    if trusted:
        for r in trusted["results"]:
            # The first result per method counts; a DKIM header may carry several signatures, keep
            # the best so one passing aligned signature is not hidden by a broken second one.
            prev = results.get(r.method)
            if prev is None or (r.method == "dkim" and prev.result != "pass" and r.result == "pass"):
                results[r.method] = r
    return {
        "present": trusted is not None,
        "authserv_id": trusted["authserv_id"] if trusted else None,
        "results": results,
        "ignored": ignored,
    }
