"""Loaders for shipped data lists (trackers, shorteners, redirectors, free mail, outlets, brands)
and the indexes built from them."""

from lurelens.registry.data import DataRegistry, TrackerIndex

__all__ = ["DataRegistry", "TrackerIndex"]
