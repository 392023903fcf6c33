"""Renderers only: text, JSON. They read a Verdict and never run checks."""
