"""Campaigns over the hunt store: which stored lures belong together, who else received them, and the
per-recipient tracking tokens that tell who opened them. An adapter over :mod:`lurelens.store`; it
reads the stored verdicts and imports no check."""

from lurelens.campaigns.cluster import DEFAULT_NEAR_DISTANCE, Campaigns, Updated, campaign_id
from lurelens.campaigns.keys import KEY_LABELS, KeyMaker, Token

__all__ = ["Campaigns", "Updated", "campaign_id", "DEFAULT_NEAR_DISTANCE", "KeyMaker", "Token", "KEY_LABELS"]
