"""Renderers only: text, JSON. They read a Verdict and never run checks."""

__all__: list[str] = []
