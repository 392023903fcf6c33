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


def select_trusted(headers: list[tuple[str, str]], trusted_ids: list[str] | None = None) -> dict[str, Any]:
    """Pick the trusted receiver's Authentication-Results among all header fields (top first).

    The trusted header is the topmost one (or the topmost naming a configured authserv-id). Some
    receivers split their results over several headers in the same hop (Proton Mail writes one per
    method), so every header with the trusted id in that hop (no Received line between) counts. A header
    with the trusted id further down was already in the message when the receiver got it: it is
    ignored and reported as forged.
    """
    parsed: list[tuple[int, dict[str, Any]]] = []
    hop = 0
    for name, value in headers:
        lname = name.lower()
        if lname == "received":
            hop += 1
        elif lname == "authentication-results" and len(parsed) < 50:
            parsed.append((hop, parse_auth_results(value)))
    trusted_hop = None
    trusted_id = None
    ids = {t.lower() for t in trusted_ids} if trusted_ids else None
    for h, p in parsed:
        if ids is None or p["authserv_id"] in ids:
            trusted_hop, trusted_id = h, p["authserv_id"]
            break
    merged: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    forged: list[dict[str, Any]] = []
    for h, p in parsed:
        if trusted_hop is not None and p["authserv_id"] == trusted_id and h == trusted_hop and (
            not merged or trusted_id is not None
        ):
            merged.append(p)
        else:
            ignored.append(p)
            if trusted_hop is not None and trusted_id is not None and p["authserv_id"] == trusted_id:
                forged.append(p)
            elif ids and p["authserv_id"] in ids:
                forged.append(p)
    results: dict[str, AuthResult] = {}
    for p in merged:
        for r in p["results"]:
            # The first result per method counts; of several DKIM signatures, keep a pass so one
            # broken extra signature does not hide a valid aligned one.
            prev = results.get(r.method)
            if prev is None or (r.method == "dkim" and prev.result != "pass" and r.result == "pass"):
                results[r.method] = r
    return {
        "present": bool(merged),
        "authserv_id": trusted_id,
        "hop": trusted_hop,  # Received fields above the trusted header
        "results": results,
        "ignored": ignored,
        "forged": forged,
        "raw": [p["raw"] for p in merged],  # the trusted header(s) as written: checks look for injected values
    }
