"""Weights, group caps, composites and thresholds (all in data) turned into a labelled verdict."""

from lurelens.scoring.engine import ScoringConfig, load_scoring, score

__all__ = ["ScoringConfig", "load_scoring", "score"]
