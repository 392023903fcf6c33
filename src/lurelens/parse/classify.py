"""The one URL classifier: which tracking vendor a URL belongs to and how it names the recipient.
The enrichment step labels every resource with it; defuse and the leak report ask it about URLs
they meet, so all three agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lurelens.parse.tokens import RecipientMatcher, opaque_id
from lurelens.parse.urls import split_url

if TYPE_CHECKING:
    from lurelens.registry.data import TrackerIndex

__all__ = ["UrlClassifier"]

# Connection hints carry no path a recipient id could hide in.
_NO_PATH_KINDS = ("preconnect", "dns-prefetch")


class UrlClassifier:
    """Tracker and recipient-token labels of URLs, for one message's recipients."""

    def __init__(self, recipients: list[str], trackers: "TrackerIndex | None" = None):
        self.matcher = RecipientMatcher(recipients)
        self.trackers = trackers

    def tracker(self, url: str, host: str | None = None) -> str | None:
        """The tracking vendor whose pattern the URL matches (None without a tracker list)."""
        if self.trackers is None:
            return None
        if host is None:
            info = split_url(url)
            if info is None:
                return None
            host = info.host
        return self.trackers.match(url, host)

    def recipient_token(self, url: str) -> tuple[str, str] | None:
        """(how, evidence) when the URL carries a recipient's address (plain, encoded or hashed)."""
        return self.matcher.find(url) if self.matcher else None

    def token(self, url: str, kind: str | None = None, tracker: str | None = None) -> tuple[str, str] | None:
        """``recipient_token``, else ("opaque_id", the id) for a per-message opaque identifier: the
        tracker vendor's own per-recipient parameter when the data names one (Mailchimp's account
        id u= is longer and more random than its subscriber id e=), else the most random token."""
        found = self.recipient_token(url)
        if found:
            return found
        if kind in _NO_PATH_KINDS:
            return None
        info = split_url(url)
        params = self.trackers.recipient_params.get(tracker) if tracker and self.trackers is not None else None
        if info is not None and params:
            for pair in info.query.split("&"):
                name, _, value = pair.partition("=")
                if value and name.lower() in params:
                    return "opaque_id", f"{name}={value}"[:80]
        if info is not None:
            tok = opaque_id(url, info.path, info.query)
            if tok:
                return "opaque_id", tok[:80]
        return None
