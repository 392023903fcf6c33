"""Moved: ``explain`` lives in lurelens.scoring.explain (the engine calls it), ``leak_summary`` in
lurelens.model.leaks. Re-exported here for old imports."""

from lurelens.model.leaks import leak_summary
from lurelens.scoring.explain import explain

__all__ = ["explain", "leak_summary"]
