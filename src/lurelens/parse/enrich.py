"""Fill the inventory's per-resource facts that need data lists: tracker vendor, recipient token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lurelens.model import Message
from lurelens.parse.tokens import RecipientMatcher, opaque_id
from lurelens.parse.urls import split_url

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry

__all__ = ["enrich"]


def _param(query: str, names: list[str]) -> str | None:
    """``name=value`` for the first of ``names`` present with a value in the query string."""
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value and name.lower() in names:
            return f"{name}={value}"
    return None


def enrich(msg: Message, data: "DataRegistry") -> None:
    matcher = RecipientMatcher(msg.recipients)
    trackers = data.trackers
    for res in msg.resources:
        res.tracker = trackers.match(res.url, res.host)
        found = matcher.find(res.url) if matcher else None
        if found:
            res.recipient_token, res.token_evidence = found
            continue
        info = split_url(res.url)
        if info is not None and res.tracker in trackers.recipient_params:
            # The vendor's own per-recipient parameter, not whichever token looks most random
            # (Mailchimp's account id u= is longer and more random than its subscriber id e=).
            found_param = _param(info.query, trackers.recipient_params[res.tracker])
            if found_param:
                res.recipient_token, res.token_evidence = "opaque_id", found_param[:80]
                continue
        if info is not None and res.kind not in ("preconnect", "dns-prefetch"):
            tok = opaque_id(res.url, info.path, info.query)
            if tok:
                res.recipient_token = "opaque_id"
                res.token_evidence = tok[:80]
    for nested in msg.nested:
        enrich(nested, data)
