"""Facts derived from the parsed message that need the data registries, computed once for every
consumer (checks, renderers, defuse, the hunt): tracker vendor and recipient token of each
resource, where each redirect link leads, and the cluster features."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lurelens.model import Message
from lurelens.parse.classify import UrlClassifier
from lurelens.parse.features import compute_features
from lurelens.parse.redirects import decode_redirect
from lurelens.parse.urls import split_url

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry

__all__ = ["enrich"]

_SCRIPT_SCHEMES = ("javascript:", "data:", "vbscript:")


def enrich(msg: Message, data: "DataRegistry") -> None:
    classify = UrlClassifier(msg.recipients, data.trackers)
    for res in msg.resources:
        res.tracker = classify.tracker(res.url, res.host)
        found = classify.token(res.url, res.kind, res.tracker)
        if found:
            res.recipient_token, res.token_evidence = found
    for lk in msg.links:
        if lk.kind == "form" or lk.href[:12].lower().startswith(_SCRIPT_SCHEMES):
            continue
        final = decode_redirect(lk.href, data)
        if final:
            fi = split_url(final)
            lk.final_url = final
            lk.final_host = fi.host if fi else None
    msg.features = compute_features(msg, data)
    for nested in msg.nested:
        enrich(nested, data)
